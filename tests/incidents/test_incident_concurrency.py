"""Several workstations and intake processes at once, on both backends."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from db.engine import Database
from db.models import Incident
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.service import IncidentDraft
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.errors import ConcurrentChange


def _draft(external_id: str | None = None) -> IncidentDraft:
    return IncidentDraft(category="public_order", severity=3, source="police_110", description="110转警：打架",
                         external_id=external_id)


def _race(workers: list[Callable[[], Any]]) -> list[Any]:
    """Run the callables at the same moment on threads; each result or exception, in order."""
    barrier = threading.Barrier(len(workers))
    results: list[Any] = [None] * len(workers)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = workers[i]()
        except Exception as exc:  # the loser's error is the result under test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def test_two_workstations_acknowledging_at_once_one_wins(db: Database, make_actor) -> None:  # type: ignore[no-untyped-def]
    zhang = make_actor("duty_officer", username="zhang", station="ws-1")
    wang = make_actor("duty_officer", username="wang", station="ws-2")
    row = incidents.create_incident(db, zhang, _draft()).row
    other_station = Database(db.url)  # a second workstation: its own engine and connections
    try:
        results = _race([
            lambda: incidents.acknowledge(db, zhang, row.id, row.version),
            lambda: incidents.acknowledge(other_station, wang, row.id, row.version),
        ])
    finally:
        other_station.dispose()
    winners = [r for r in results if isinstance(r, incidents.IncidentRow)]
    losers = [r for r in results if isinstance(r, ConcurrentChange)]
    assert len(winners) == 1 and len(losers) == 1, results
    winner = zhang if winners[0].owner_user_id == zhang.user_id else wang
    assert losers[0].by == f"{winner.username}@{winner.station}"
    assert losers[0].at is not None and winner.username in str(losers[0])
    detail = incidents.get_incident(db, row.id)
    assert detail.row.owner_user_id == winner.user_id and detail.row.version == row.version + 1
    assert [e.kind for e in detail.events].count("acknowledged") == 1


def test_one_external_id_sent_at_once_by_several_senders_is_stored_once(db: Database, make_actor) -> None:  # type: ignore[no-untyped-def]
    hotline = make_actor("integration")
    results = _race([lambda: incidents.create_incident(db, hotline, _draft("12345-0001")) for _ in range(4)])
    assert all(isinstance(r, incidents.CreateResult) for r in results), results
    assert sorted(r.duplicate for r in results) == [False, True, True, True]
    assert len({r.row.id for r in results}) == 1
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Incident)).scalar_one() == 1


def test_a_repeated_external_id_returns_the_earlier_incident(db: Database, make_actor) -> None:  # type: ignore[no-untyped-def]
    hotline = make_actor("integration")
    first = incidents.create_incident(db, hotline, _draft("110-77"))
    again = incidents.create_incident(db, hotline, _draft("110-77"))
    assert not first.duplicate and again.duplicate and again.row.id == first.row.id


def _record_many(url: str, actor: Actor, count: int) -> list[str]:
    from station import composition

    composition.install()  # a spawned child: the reactions a station runs with
    db = Database(url)
    try:
        return [incidents.create_incident(db, actor, _draft()).row.number for _ in range(count)]
    finally:
        db.dispose()


@pytest.mark.slow
def test_four_intake_processes_get_200_unique_numbers(db: Database, make_actor) -> None:  # type: ignore[no-untyped-def]
    actor = make_actor("integration")
    url = db.url.render_as_string(hide_password=False)
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        batches = pool.starmap(_record_many, [(url, actor, 50)] * 4)
    numbers = [n for batch in batches for n in batch]
    assert len(numbers) == 200 and len(set(numbers)) == 200
    sequences = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    day = {n.split("-")[1] for n in numbers}
    if len(day) == 1:  # no midnight (Asia/Shanghai) during the test: the sequence has no gaps
        assert sequences == list(range(1, 201))
    with db.read() as s:
        stored = set(s.execute(select(Incident.number)).scalars())
    assert stored == set(numbers)
