"""The change feed delivers every committed change, in order, across connections and reconnects."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from db.engine import Database
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changefeed import Change, ChangeFeed, libpq_url
from dispatch_console.kernel.changes import record


def _write(db: Database, actor: Actor, entity_id: int) -> int:
    with db.write() as s:
        return record(s, actor, entity="incident", entity_id=entity_id, op="update")


class Collector:
    def __init__(self) -> None:
        self.changes: list[Change] = []
        self.cond = threading.Condition()

    def __call__(self, batch: list[Change]) -> None:
        with self.cond:
            self.changes.extend(batch)
            self.cond.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.changes) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True


def test_change_from_another_connection_arrives_within_a_second(db: Database, system: Actor) -> None:
    writer = Database(db.url)  # a second workstation: its own engine and connections
    got = Collector()
    feed = ChangeFeed(db, got, safety_interval=30.0).start()  # no safety sweep: the doorbell must work
    try:
        assert feed.connected.wait(5)
        seq = _write(writer, system, 42)
        assert got.wait_for(1, timeout=1.0), "change not delivered within 1 s"
        assert [c.seq for c in got.changes] == [seq]
        assert got.changes[0].entity == "incident" and got.changes[0].entity_id == 42
        assert got.changes[0].station == "test-station"
    finally:
        feed.stop()
        writer.dispose()


def test_changes_arrive_in_commit_order_without_gaps(db: Database, system: Actor) -> None:
    got = Collector()
    feed = ChangeFeed(db, got).start()
    writers = [Database(db.url) for _ in range(4)]
    try:
        assert feed.connected.wait(5)

        def burst(w: Database, base: int) -> None:
            for i in range(25):
                _write(w, system, base + i)

        threads = [threading.Thread(target=burst, args=(w, n * 100)) for n, w in enumerate(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert got.wait_for(100, timeout=10)
        seqs = [c.seq for c in got.changes]
        assert seqs == sorted(seqs)
        assert len(set(seqs)) == 100
        assert seqs[-1] - seqs[0] == 99, "a seq was skipped"
    finally:
        feed.stop()
        for w in writers:
            w.dispose()


def test_catch_up_after_start_seq(db: Database, system: Actor) -> None:
    first = _write(db, system, 1)
    _write(db, system, 2)
    _write(db, system, 3)
    got = Collector()
    feed = ChangeFeed(db, got, start_seq=first)
    assert feed.catch_up() == 2
    assert [c.entity_id for c in got.changes] == [2, 3]


@pytest.mark.pg
def test_killed_listener_connection_loses_no_change(pg_db: Database, system: Actor) -> None:
    got = Collector()
    feed = ChangeFeed(pg_db, got, safety_interval=30.0).start()
    try:
        assert feed.connected.wait(5)
        _write(pg_db, system, 1)
        assert got.wait_for(1, 2)
        pid = feed.backend_pid
        with psycopg.connect(libpq_url(pg_db), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        # changes committed while the listener is down or reconnecting
        for i in range(2, 12):
            _write(pg_db, system, i)
        assert got.wait_for(11, timeout=10), f"only {len(got.changes)} of 11 delivered"
        assert [c.entity_id for c in got.changes] == list(range(1, 12))
        assert feed.reconnects >= 1
        assert feed.backend_pid != pid
    finally:
        feed.stop()


def test_a_timer_change_carries_its_incident_and_a_scheduled_one_its_due_time(db: Database, system: Actor) -> None:
    from datetime import timedelta

    from db.engine import db_now
    from dispatch_console.incidents.draft import IncidentDraft
    from dispatch_console.incidents.service import create_incident
    from dispatch_console.kernel.changefeed import changes_after, latest_seq
    from dispatch_console.timers import engine as timers

    incident = create_incident(db, system, IncidentDraft(category="dispute", severity=3, source="walk_in",
                                                         description="楼道堆物纠纷")).row
    start = latest_seq(db)
    with db.write() as s:
        due = db_now(s) - timedelta(seconds=1)
        timer_id = timers.schedule(s, kind="reminder", due_at=due, incident_id=incident.id).id
        reminder = timers.schedule(s, kind="reminder", due_at=due + timedelta(hours=1)).id  # of no incident
    timers.fire_due(db, "ws-feed")
    mine = {(c.entity_id, c.op): c for c in changes_after(db, start) if c.entity == "timer"}
    assert mine[(timer_id, "schedule")].incident_id == incident.id
    assert mine[(timer_id, "schedule")].due_at == due
    assert mine[(timer_id, "fire")].incident_id == incident.id and mine[(timer_id, "fire")].due_at is None
    assert mine[(reminder, "schedule")].incident_id is None
    with db.read() as s:  # the audit row is what it was: the chain's content did not grow
        from sqlalchemy import select

        from db.models import AuditLog

        after = s.execute(select(AuditLog.after).where(AuditLog.entity == "timer", AuditLog.entity_id == timer_id,
                                                       AuditLog.action == "timer.fire")).scalar_one()
    assert "incident_id" not in after


def test_migration_0019_matches_the_models_and_goes_down_and_up(db: Database) -> None:
    import sqlalchemy as sa
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from db.migrate import alembic_config, upgrade
    from db.models import Base

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if "change_log" in repr(d)] == []
    config = alembic_config(db)
    before = ScriptDirectory.from_config(config).get_revision("0019").down_revision  # wherever it is chained
    command.downgrade(config, str(before))
    assert {"incident_id", "due_at"}.isdisjoint({c["name"] for c in sa.inspect(db.engine).get_columns("change_log")})
    upgrade(db)
    assert {"incident_id", "due_at"} <= {c["name"] for c in sa.inspect(db.engine).get_columns("change_log")}
