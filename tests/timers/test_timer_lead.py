"""One engine per PostgreSQL database arms the alarms; the others sweep and take over when it goes.

Also the write bookkeeping a firing relies on: one writers' lock, one audit-chain read and one
NOTIFY per transaction, forgotten when a savepoint rolls back.
"""

from __future__ import annotations

import time

import psycopg
from sqlalchemy import select
from support.timer_workers import failing_effect, firing_evidence, schedule_reminders, wait_until

from db.engine import Database
from db.models import AuditLog
from dispatch_console.kernel import audit
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changefeed import libpq_url
from dispatch_console.kernel.changes import NOTIFY_CHANNEL, record
from dispatch_console.timers import engine as timers


def _engines(db: Database, *names: str, sweep: float = 0.3) -> list[timers.TimerEngine]:
    engines = [timers.TimerEngine(db, name, sweep_interval=sweep, own_feed=True) for name in names]
    for engine in engines:
        engine.start()
    return engines


def test_one_engine_arms_the_others_only_sweep(pg_db: Database) -> None:
    engines = _engines(pg_db, "值班台1", "值班台2", "agent")
    try:
        assert wait_until(lambda: sum(e.leading for e in engines) == 1, 20)
        time.sleep(1.0)  # several sweeps each: the lead stays where it is
        leads = [e for e in engines if e.leading]
        assert len(leads) == 1
        followers = [e for e in engines if not e.leading]
        ids = schedule_reminders(pg_db, 3, first_s=0.5, spread_s=0.2)
        assert wait_until(lambda: all(e.armed_for is None for e in followers) and leads[0].armed_for is not None, 10)
        assert all("alarm" not in e.job_ids() for e in followers)
        assert all(e._feed is None for e in followers)  # a follower does not listen to the floor
        assert wait_until(lambda: sum(len(e.fired) for e in engines) == 3, 30)
    finally:
        for engine in engines:
            engine.stop()
    ev = firing_evidence(pg_db, ids)
    assert all(ev["audits"][i] == 1 for i in ids)


def test_a_follower_takes_the_lead_when_the_lead_stops(pg_db: Database) -> None:
    first, second = _engines(pg_db, "值班台1", "值班台2")
    try:
        assert wait_until(lambda: first.leading or second.leading, 20)
        lead, follower = (first, second) if first.leading else (second, first)
        lead.stop()
        assert wait_until(lambda: follower.leading, 10)
        ids = schedule_reminders(pg_db, 2, first_s=0.5, spread_s=0.5)
        assert wait_until(lambda: follower.armed_for is not None, 10)
        assert wait_until(lambda: len(follower.fired) == 2, 30)
    finally:
        first.stop()
        second.stop()
    assert sorted(f.id for f in follower.fired) == sorted(ids)


def test_a_lead_whose_connection_dies_gives_the_lead_up(pg_db: Database) -> None:
    first, second = _engines(pg_db, "值班台1", "值班台2")
    try:
        assert wait_until(lambda: first.leading or second.leading, 20)
        lead, follower = (first, second) if first.leading else (second, first)
        pid = lead._lead.backend_pid()
        assert pid is not None
        with psycopg.connect(libpq_url(pg_db), autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        # whichever takes the lock next, exactly one engine leads again and nothing fires twice
        assert wait_until(lambda: first.leading != second.leading and lead._lead.backend_pid() != pid, 20)
        ids = schedule_reminders(pg_db, 4, first_s=0.3, spread_s=0.3)
        assert wait_until(lambda: len(first.fired) + len(second.fired) == 4, 30)
    finally:
        first.stop()
        second.stop()
    ev = firing_evidence(pg_db, ids)
    assert all(ev["audits"][i] == 1 and ev["changes"][i] == 1 for i in ids)
    assert follower is not lead


def test_sqlite_engines_all_arm(sqlite_db: Database) -> None:
    engines = _engines(sqlite_db, "值班台1", "值班台2", sweep=600)
    try:
        assert all(e.leading for e in engines)
        assert all("upkeep-statistics" in e.job_ids() for e in engines)  # the planner statistics
    finally:
        for engine in engines:
            engine.stop()


def test_an_alarm_due_soon_is_armed_for_its_time_not_the_retry_delay(db: Database) -> None:
    # an alarm that woke a hair before the database clock reached the due time re-arms with
    # the retry delay; that delay is for timers held elsewhere, not for one still ahead
    engine = timers.TimerEngine(db, "ws-early", sweep_interval=600, min_rearm=60).start()
    try:
        assert wait_until(lambda: engine.leading, 20)
        ids = schedule_reminders(db, 1, first_s=0.4, spread_s=0)
        engine.rearm(engine.min_rearm)
        assert wait_until(lambda: len(engine.fired) == 1, 15)
    finally:
        engine.stop()
    assert [f.id for f in engine.fired] == ids


def test_one_notify_per_transaction_however_many_changes(pg_db: Database) -> None:
    with psycopg.connect(libpq_url(pg_db), autocommit=True) as listener:
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        with pg_db.write() as s:
            for n in range(3):
                record(s, Actor.system("ws-1"), entity="timer", entity_id=n, op="schedule")
        got = list(listener.notifies(timeout=2.0))
    assert len(got) == 1


def test_a_savepoint_rolled_back_takes_its_audit_rows_and_the_chain_stays_whole(db: Database) -> None:
    actor = Actor.system("ws-1")
    with db.write() as s:
        record(s, actor, entity="timer", entity_id=1, op="schedule")
        nested = s.begin_nested()
        record(s, actor, entity="timer", entity_id=2, op="schedule")
        nested.rollback()
        record(s, actor, entity="timer", entity_id=3, op="schedule")
        with s.begin_nested():
            record(s, actor, entity="timer", entity_id=4, op="schedule")
        record(s, actor, entity="timer", entity_id=5, op="schedule")
    with db.write() as s:  # the next transaction reads the chain's end afresh
        record(s, actor, entity="timer", entity_id=6, op="schedule")
    with db.read() as s:
        rows = s.execute(select(AuditLog.id, AuditLog.entity_id).order_by(AuditLog.id)).all()
    assert [r.entity_id for r in rows] == [1, 3, 4, 5, 6]
    assert [r.id for r in rows] == [1, 2, 3, 4, 5]
    result = audit.verify(db)
    assert result.ok and result.rows_checked == 5


def test_a_failing_effect_in_a_batch_leaves_the_others_effects_whole(db: Database) -> None:
    good = schedule_reminders(db, 2, first_s=-2, spread_s=0)
    broken = schedule_reminders(db, 1, first_s=-1, spread_s=0, kind="broken")
    effects = {**timers.EFFECTS, "broken": failing_effect}
    fired = timers.fire_batch(db, "ws-a", effects=effects)
    assert sorted(f.id for f in fired) == sorted(good + broken)
    ev = firing_evidence(db, good + broken)
    assert all(ev["notifications"][i] == 1 and ev["audits"][i] == 1 for i in good + broken)
    assert audit.verify(db).ok



def test_a_timer_scheduled_while_the_first_sweep_starts_listening_is_armed_for(db: Database) -> None:
    """The first sweep looks for due timers, then starts the engine's feed, which delivers only what
    comes after its start: a timer scheduled in between is in neither, unless the sweep reads again
    once it listens. With sweeping off (an hour), nothing else would find it. (The wrong-clock test
    lost its timers this way about once in twenty runs; here the interleaving is forced.)"""
    engine = timers.TimerEngine(db, "值班台1", sweep_interval=3600.0, own_feed=True)
    scheduled: list[int] = []
    real_look = engine._look

    def look_then_schedule() -> tuple[object, float]:
        seen = real_look()
        if not scheduled:  # committed after the look, before the feed starts
            scheduled.extend(schedule_reminders(db, 2, first_s=0.5, spread_s=0.5))
        return seen

    engine._look = look_then_schedule  # type: ignore[method-assign]
    engine.start()
    try:
        assert wait_until(lambda: len(engine.fired) == 2, 30)
    finally:
        engine.stop()
    assert sorted(f.id for f in engine.fired) == sorted(scheduled)
