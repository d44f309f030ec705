"""What the live queue needs beyond a page of rows: refresh by id under the current filter,
the next deadline of each incident, the serious incidents nobody has acknowledged yet, and where
an incident stands in the queue.

Each answer carries the database time it was read at, so the console can show ages and
countdowns that tick locally without asking the database again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import ChecklistItem, Incident
from dispatch_console.incidents.queue import (
    IncidentRow,
    QueuePage,
    QueueQuery,
    find_incident_id,
    query_incidents_in,
    queue_filters,
    row_select,
    to_row,
)
from dispatch_console.timers.engine import Deadline, pending_deadlines_in

ALERT_SEVERITIES = (1, 2)


@dataclass(frozen=True)
class PageLoad:
    page: QueuePage
    deadlines: dict[int, Deadline]
    db_time: datetime


@dataclass(frozen=True)
class RowRefresh:
    """Fresh rows for changed ids, split by whether they still belong under the current filter."""

    matching: dict[int, IncidentRow]
    other: dict[int, IncidentRow]
    missing: frozenset[int]
    deadlines: dict[int, Deadline]
    db_time: datetime


def next_deadlines(db: Database, incident_ids: Iterable[int]) -> dict[int, Deadline]:
    """Per incident, its earliest running deadline: an escalation target
    (:func:`dispatch_console.timers.engine.pending_deadlines`) or an open checklist step's due time."""
    with db.read() as s:
        return next_deadlines_in(s, incident_ids)


def next_deadlines_in(s: Session, incident_ids: Iterable[int]) -> dict[int, Deadline]:
    """:func:`next_deadlines` inside an open session."""
    ids = sorted(set(incident_ids))
    if not ids:
        return {}
    found = dict(pending_deadlines_in(s, ids))
    for start in range(0, len(ids), 500):
        items = s.execute(
            select(ChecklistItem.incident_id, ChecklistItem.due_at, ChecklistItem.created_at)
            .where(ChecklistItem.incident_id.in_(ids[start:start + 500]), ChecklistItem.done_at.is_(None),
                   ChecklistItem.due_at.is_not(None))
        )
        for incident_id, due, created in items:
            current = found.get(int(incident_id))
            if current is None or due < current.due_at:
                found[int(incident_id)] = Deadline("checklist", due, created)
    return found


def load_page(db: Database, query: QueueQuery) -> PageLoad:
    """One page of the queue with its rows' deadlines and the database time, in one transaction."""
    with db.read() as s:
        page = query_incidents_in(s, query)
        deadlines = next_deadlines_in(s, [r.id for r in page.rows if r.is_open])
        return PageLoad(page, deadlines, db_now(s))


def refresh_rows(db: Database, query: QueueQuery, incident_ids: Iterable[int]) -> RowRefresh:
    """Fresh rows for ``incident_ids``; ``matching`` are those the query (run in SQL) still selects."""
    with db.read() as s:
        return refresh_rows_in(s, query, incident_ids)


def refresh_rows_in(s: Session, query: QueueQuery, incident_ids: Iterable[int]) -> RowRefresh:
    """:func:`refresh_rows` inside an open session."""
    ids = sorted(set(incident_ids))
    matching: dict[int, IncidentRow] = {}
    other: dict[int, IncidentRow] = {}
    where = queue_filters(s, query)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        selects = s.execute(select(Incident.id).where(Incident.id.in_(chunk), and_(True, *where)))
        selected = {int(i) for i in selects.scalars()}
        for r in s.execute(row_select(s).where(Incident.id.in_(chunk))):
            row = to_row(r)
            (matching if row.id in selected else other)[row.id] = row
    now = db_now(s)
    deadlines = next_deadlines_in(s, [i for i, r in matching.items() if r.is_open])
    missing = frozenset(set(ids) - set(matching) - set(other))
    return RowRefresh(matching, other, missing, deadlines, now)


@dataclass(frozen=True)
class PendingAlert:
    """A serious incident nobody has acknowledged yet: what the alarm needs to show and select."""

    id: int
    number: str
    severity: int
    is_drill: bool
    created_at: datetime | None = None  # the alarm's order: oldest first


def alert_of(row: IncidentRow) -> PendingAlert | None:
    """The alarm for this row, if it is one: severity 1–2 and nobody has acknowledged it yet."""
    if row.status == "new" and row.severity in ALERT_SEVERITIES:
        return PendingAlert(row.id, row.number, row.severity, row.is_drill, row.created_at)
    return None


def pending_alerts(db: Database) -> tuple[PendingAlert, ...]:
    """Severity 1–2 incidents still new (nobody has acknowledged them), oldest first.

    Read when a console starts and when the whole database changed; afterwards the console keeps
    the list from the rows of the changed incidents it reads anyway (:func:`alert_of`). It reads
    five columns and nothing else (a surge leaves hundreds of these until the room catches up).
    """
    with db.read() as s:
        stmt = (
            select(Incident.id, Incident.number, Incident.severity, Incident.is_drill, Incident.created_at)
            .where(Incident.status == "new", Incident.severity.in_(ALERT_SEVERITIES))
            .order_by(Incident.created_at, Incident.id)
        )
        return tuple(PendingAlert(int(i), n, int(sev), bool(d), at) for i, n, sev, d, at in s.execute(stmt))


def queue_position(db: Database, query: QueueQuery, number_or_id: str | int) -> tuple[int, int | None]:
    """(incident id, its 0-based place in the queue under ``query``, or None if the query omits it)."""
    with db.read() as s:
        incident_id = find_incident_id(s, number_or_id)
        where = queue_filters(s, query)
        inc = s.get(Incident, incident_id)
        assert inc is not None
        selected = s.execute(
            select(Incident.id).where(Incident.id == incident_id, and_(True, *where))
        ).first()
        if selected is None:
            return incident_id, None
        before = or_(
            Incident.severity < inc.severity,
            and_(Incident.severity == inc.severity, Incident.created_at < inc.created_at),
            and_(Incident.severity == inc.severity, Incident.created_at == inc.created_at,
                 Incident.id < inc.id),
        )
        place = s.execute(select(func.count(Incident.id)).where(before, and_(True, *where))).scalar_one()
        return incident_id, int(place)
