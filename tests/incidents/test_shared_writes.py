"""Several stations recording at once: the short serialised step at the end of a new incident keeps
the audit chain verifiable, the change_log visible in commit order, every number once and every
request stored once however often it is tried (both backends; PostgreSQL does the step in one
statement, ``dc_write_step``)."""

from __future__ import annotations

import hashlib
import random
import threading
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from db.engine import Database
from db.models import AuditLog, CaseIncident, ChangeLog, Incident
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.service import IncidentDraft
from dispatch_console.kernel import audit
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changes import GENESIS_HASH, audit_hash, hash_parts

# public_order records an incident and its checklist and timers; dispute also opens a case, a
# follow-up that takes the writers' lock in the middle of the transaction (it needs the number)
CATEGORIES = ("public_order", "dispute", "fire", "public_order")


def _draft(rng: random.Random, n: int) -> IncidentDraft:
    category = CATEGORIES[n % len(CATEGORIES)]
    return IncidentDraft(category=category, severity=rng.choice((2, 3, 4)), source="police_110",
                         description=f"110转警：第{n}起 \"引号\" ,\"id\":0, 求助", reporter_name="王伟",
                         reporter_phone="13800138000")


def _stations(db: Database, actors: list[Actor], per_station: int,
              job: Any) -> tuple[list[Any], list[BaseException]]:
    """Each actor records on a thread and an engine of its own (a workstation), all at once."""
    barrier = threading.Barrier(len(actors))
    results: list[Any] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def station(i: int, actor: Actor) -> None:
        own = Database(db.url)
        try:
            barrier.wait()
            for n in range(per_station):
                got = job(own, actor, i, n)
                with lock:
                    results.append(got)
        except BaseException as exc:
            with lock:
                failures.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=station, args=(i, a)) for i, a in enumerate(actors)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    return results, failures


def test_the_hash_cut_around_the_id_finishes_as_the_chain_computes_it() -> None:
    rows: list[dict[str, Any]] = [
        {"at": datetime(2026, 12, 4, 10, 0, 0, 123456, tzinfo=UTC), "user_id": 3, "username": "wang",
         "station": 'ws-1,"id":0,', "action": "incident.create", "entity": "incident", "entity_id": 12,
         "before": None, "after": {"id": 0, "number": "~abc", "nested": {"id": 0, "x": [1, 2.5, None]}}},
        {"at": datetime(2026, 12, 4, 10, 0, 0, tzinfo=UTC), "user_id": None, "username": None,
         "station": None, "action": "timer.fire", "entity": "timer", "entity_id": None,
         "before": {"note": '",\"id\":0,"'}, "after": "报警 ,\"id\":0, 完"},
    ]
    prev = GENESIS_HASH
    for row_id, row in enumerate(rows, start=41):
        head, tail = hash_parts(row)
        finished = hashlib.sha256((prev + head + str(row_id) + tail).encode("utf-8")).hexdigest()
        assert finished == audit_hash(prev, {**row, "id": row_id})
        prev = finished


def test_stations_recording_at_once_keep_chain_numbers_and_commit_order(db: Database, make_actor) -> None:  # type: ignore[no-untyped-def]
    actors = [make_actor("duty_officer", username=f"officer{i}", station=f"ws-{i + 1}") for i in range(4)]
    per_station = 8
    with db.read() as s:
        start_seq = int(s.execute(select(func.coalesce(func.max(ChangeLog.seq), 0))).scalar_one())
    # A reader that follows the change_log as the feed does ("after seq N"), polling throughout:
    # if a seq became visible before a lower one that committed later, it would skip that one.
    seen: list[int] = []
    done = threading.Event()

    def follow() -> None:
        after = start_seq
        while True:
            finished = done.is_set()
            with db.read() as s:
                new = [int(x) for x in s.execute(
                    select(ChangeLog.seq).where(ChangeLog.seq > after).order_by(ChangeLog.seq)).scalars()]
            seen.extend(new)
            after = new[-1] if new else after
            if finished:
                return
            time.sleep(0.002)

    follower = threading.Thread(target=follow)
    follower.start()
    try:
        rngs = [random.Random(7 + i) for i in range(len(actors))]
        results, failures = _stations(
            db, actors, per_station,
            lambda own, actor, i, n: incidents.create_incident(own, actor, _draft(rngs[i], i * per_station + n)))
    finally:
        done.set()
        follower.join(60)
    assert not failures, failures
    assert len(results) == len(actors) * per_station and not any(r.duplicate for r in results)
    with db.read() as s:
        stored = list(s.execute(select(Incident.id, Incident.number)).all())
        all_seqs = [int(x) for x in s.execute(
            select(ChangeLog.seq).where(ChangeLog.seq > start_seq).order_by(ChangeLog.seq)).scalars()]
        creates = int(s.execute(select(func.count()).select_from(AuditLog)
                                .where(AuditLog.action == "incident.create")).scalar_one())
        cases = int(s.execute(select(func.count()).select_from(CaseIncident)).scalar_one())
    numbers = [n for _i, n in stored]
    assert len(stored) == len(results) == creates
    assert len(set(numbers)) == len(numbers) and not any(n.startswith("~") for n in numbers)
    assert {r.row.number for r in results} == set(numbers)  # the numbers the stations were told
    day = {n.split("-")[1] for n in numbers}
    if len(day) == 1:  # no midnight (Asia/Shanghai) meanwhile: one day's numbers, without a gap
        assert sorted(int(n.rsplit("-", 1)[1]) for n in numbers) == list(range(1, len(numbers) + 1))
    assert cases == sum(1 for r in results if r.row.category == "dispute") > 0
    assert seen == all_seqs, "the change_log became visible out of commit order"
    chain = audit.verify(db)
    assert chain.ok, chain.describe()
    assert chain.rows_checked >= len(all_seqs)


def test_a_request_tried_again_and_again_is_stored_once(db: Database, make_actor) -> None:  # type: ignore[no-untyped-def]
    """Four stations retry the same five requests (as after a lost answer): one incident each."""
    actors = [make_actor("duty_officer", username=f"retry{i}", station=f"ws-{i + 1}") for i in range(4)]
    requests = [f"req-{n}" for n in range(5)]
    rng = random.Random(3)

    def attempt(own: Database, actor: Actor, i: int, n: int) -> tuple[str, int, str, bool]:
        request = requests[(n + i) % len(requests)]
        for _try in range(5):
            try:
                got = incidents.create_incident(own, actor, _draft(rng, n), request_id=request)
                return request, got.row.id, got.row.number, got.replayed
            except IntegrityError:  # another station stored it first: the next try finds it
                continue
        raise AssertionError(f"{request} never stored")

    results, failures = _stations(db, actors, len(requests), attempt)
    assert not failures, failures
    by_request: dict[str, set[tuple[int, str]]] = {}
    for request, incident_id, number, _replayed in results:
        by_request.setdefault(request, set()).add((incident_id, number))
    assert all(len(v) == 1 for v in by_request.values()), by_request
    assert sum(1 for r in results if not r[3]) == len(requests)  # the others were replays
    with db.read() as s:
        stored = s.execute(select(Incident.request_id, Incident.id, Incident.number)
                           .where(Incident.request_id.in_(requests))).all()
    assert sorted(r.request_id for r in stored) == sorted(requests)
    assert {r.request_id: {(r.id, r.number)} for r in stored} == by_request
    chain = audit.verify(db)
    assert chain.ok, chain.describe()


def test_postgres_holds_the_writers_lock_for_one_statement_and_the_commit(pg_db: Database) -> None:
    """A new incident on PostgreSQL: every statement of its transaction runs without the writers'
    lock but the last, ``dc_write_step`` (lock, number, audit and change rows, notify)."""
    actor = Actor(user_id=None, username="wang", role="duty_officer", station="ws-1", display_name="王伟")
    incidents.create_incident(pg_db, actor, _draft(random.Random(1), 0))  # catalogs and caches warm
    statements: list[str] = []

    @event.listens_for(pg_db.engine, "before_cursor_execute")
    def _statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    @event.listens_for(pg_db.engine, "commit")
    def _commit(_conn: Any) -> None:
        statements.append("COMMIT")

    try:
        got = incidents.create_incident(pg_db, actor, _draft(random.Random(2), 0))
    finally:
        event.remove(pg_db.engine, "before_cursor_execute", _statement)
        event.remove(pg_db.engine, "commit", _commit)
    end = statements.index("COMMIT")
    assert "dc_write_step" in statements[end - 1]
    assert not any("dc_write_step" in x or "pg_advisory" in x for x in statements[:end - 1])
    assert len(statements[:end]) > 10  # the incident, its timeline, checklist and timers came first
    assert not got.row.number.startswith("~")
    with pg_db.read() as s:
        assert s.execute(select(Incident.number).where(Incident.id == got.row.id)).scalar_one() == got.row.number
        after = s.execute(select(AuditLog.after).where(AuditLog.entity == "incident",
                                                       AuditLog.entity_id == got.row.id,
                                                       AuditLog.action == "incident.create")).scalar_one()
    assert after["number"] == got.row.number  # the audit row was hashed with the number
    assert audit.verify(pg_db).ok


def test_the_number_prefix_is_the_nearest_up_to_the_street(db: Database) -> None:
    """One statement walks up from the grid: the first prefix found (an empty one is none), never
    above the street, at most four areas; else TY."""
    from db.models import Area
    from dispatch_console.incidents.numbers import street_prefix

    with db.write() as s:
        def area(level: str, code: str, parent: Area | None, prefix: str | None) -> Area:
            row = Area(level=level, code=code, name=code, parent_id=parent.id if parent else None,
                       number_prefix=prefix, version=1)
            s.add(row)
            s.flush()
            return row

        district = area("district", "d", None, "DD")
        plain_street = area("street", "s1", district, None)
        xl = area("street", "s2", district, "XL")
        community = area("community", "c1", xl, "")
        own = area("community", "c2", xl, "CM")
        grids = {
            "via an empty community to the street": area("grid", "g1", community, None),
            "the community's own": area("grid", "g2", own, None),
            "the grid's own": area("grid", "g3", own, "GR"),
            "never above the street": area("grid", "g4", area("community", "c3", plain_street, None), None),
            "no parents": area("grid", "g5", None, None),
        }
        got = {what: street_prefix(s, g.id) for what, g in grids.items()}
        assert street_prefix(s, None) == "TY" and street_prefix(s, 10_000_000) == "TY"
    assert got == {"via an empty community to the street": "XL", "the community's own": "CM",
                   "the grid's own": "GR", "never above the street": "TY", "no parents": "TY"}
