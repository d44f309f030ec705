"""Paging the queue while incidents keep arriving: no row skipped, none shown twice."""

from __future__ import annotations

from db.engine import Database
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.service import IncidentDraft, QueueQuery


def _report(db: Database, officer, severity: int, n: int):  # type: ignore[no-untyped-def]
    return incidents.create_incident(db, officer, IncidentDraft(
        category="dispute", severity=severity, source="hotline_12345", description=f"来电{n}")).row


def test_keyset_pages_survive_incidents_arriving_between_pages(db: Database, make_actor) -> None:  # type: ignore[no-untyped-def]
    officer = make_actor("duty_officer")
    first_batch = [_report(db, officer, 3, n) for n in range(10)]
    page1 = incidents.query_incidents(db, QueueQuery(open_only=True, limit=4))
    last = page1.rows[-1]
    # while the officer scrolls, two graver reports arrive: they sort before the rows on page 1
    arrived = [_report(db, officer, 1, 100), _report(db, officer, 2, 101)]
    page2 = incidents.query_incidents(db, QueueQuery(open_only=True, limit=100,
                                                     after=(last.severity, last.created_at, last.id)))
    shown = [r.id for r in page1.rows] + [r.id for r in page2.rows]
    assert len(shown) == len(set(shown)), "a row was shown twice"
    assert set(shown) == {r.id for r in first_batch}, "a row was skipped"
    # the offset page would have repeated page 1's last row (the classic race this replaces)
    by_offset = incidents.query_incidents(db, QueueQuery(open_only=True, limit=100, offset=4))
    assert {r.id for r in by_offset.rows} & {r.id for r in page1.rows}
    assert page2.total == len(first_batch) + len(arrived)
