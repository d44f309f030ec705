"""Helpers for the timer tests: engine processes (multiprocessing spawn) and test effects.

No tests here: the functions must live in an importable module so that spawned children and
test effects given as "module:function" strings can reach them.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from db.engine import Database, db_now
from db.models import AuditLog, ChangeLog, Notification, Timer


def skew_clocks(seconds: float) -> None:
    """Make this process's wall clock wrong by ``seconds`` (time.time and datetime.now).

    Patched where the engine and APScheduler read the wall clock; the monotonic clock and the
    database clock are untouched, as on a workstation whose clock is simply set wrong.
    """
    import apscheduler.executors.base
    import apscheduler.schedulers.base
    import apscheduler.triggers.date
    import apscheduler.triggers.interval

    import dispatch_console.timers.engine

    real_datetime = datetime
    real_time = time.time

    class SkewedDateTime(real_datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return real_datetime.now(tz) + timedelta(seconds=seconds)

    time.time = lambda: real_time() + seconds  # type: ignore[assignment]
    for module in (apscheduler.schedulers.base, apscheduler.executors.base, apscheduler.triggers.date,
                   apscheduler.triggers.interval, dispatch_console.timers.engine):
        module.datetime = SkewedDateTime  # type: ignore[attr-defined]


def run_engine(url: str, station: str, mode: str, ready: Any, stop: Any, results: Any, *,
               sweep: float = 1.0, skew_s: float = 0.0, effects: dict[str, Any] | None = None,
               env: dict[str, str] | None = None) -> None:
    """A child process: one TimerEngine like an agent (own change feed) or a console (shared feed)."""
    logging.basicConfig(level=logging.WARNING)
    os.environ.update(env or {})
    from dispatch_console.kernel.i18n import set_language

    set_language("en")
    if skew_s:
        skew_clocks(skew_s)
    import importlib

    from dispatch_console.kernel.changefeed import ChangeFeed
    from dispatch_console.timers import engine as timers
    from station import composition

    composition.install()
    if effects:  # "module:function" strings: a spawned child gets them by name
        for kind, target in effects.items():
            if isinstance(target, str):
                module_name, _sep, func_name = target.partition(":")
                target = getattr(importlib.import_module(module_name), func_name)
            timers.EFFECTS[kind] = target
    db = Database(url)
    engine = timers.TimerEngine(db, station, sweep_interval=sweep, own_feed=(mode == "agent"))
    feed = ChangeFeed(db, engine.on_changes, name="console-feed") if mode == "console" else None
    engine.start()
    if feed is not None:
        feed.start()
    ready.put((station, os.getpid(), engine.clock_skew))
    stop.wait(240)
    if feed is not None:
        feed.stop()
    engine.stop()
    results.put((station, [f.id for f in engine.fired]))
    db.dispose()


def sleepy_effect(session: Any, timer: Timer, now: datetime, fired_by: str) -> None:
    """Hold the claim open: tell the test we are inside the transaction, then sleep (to be killed)."""
    Path(os.environ["DC_TEST_MARKER"]).write_text(str(timer.id), encoding="utf-8")
    time.sleep(120)


def failing_effect(session: Any, timer: Timer, now: datetime, fired_by: str) -> None:
    raise RuntimeError("the printer is on fire")


def url_of(db: Database) -> str:
    return db.url.render_as_string(hide_password=False)


def schedule_reminders(db: Database, count: int, *, first_s: float, spread_s: float,
                       kind: str = "reminder") -> list[int]:
    from dispatch_console.timers import engine as timers

    with db.write() as s:
        now = db_now(s)
        return [
            timers.schedule(s, kind=kind, due_at=now + timedelta(seconds=first_s + spread_s * i / max(count, 1)),
                            payload={"title": f"T{i}"}).id
            for i in range(count)
        ]


def wait_until(predicate: Any, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def pending_count(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(Timer).where(
            Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))).scalar_one())


def firing_evidence(db: Database, timer_ids: list[int]) -> dict[str, Any]:
    """Per timer: notifications, audit rows and change_log rows of its firing."""
    with db.read() as s:
        notes = dict(s.execute(select(Notification.timer_id, func.count()).where(
            Notification.timer_id.in_(timer_ids)).group_by(Notification.timer_id)).all())
        audits = dict(s.execute(select(AuditLog.entity_id, func.count()).where(
            AuditLog.action == "timer.fire").group_by(AuditLog.entity_id)).all())
        changes = dict(s.execute(select(ChangeLog.entity_id, func.count()).where(
            ChangeLog.entity == "timer", ChangeLog.op == "fire").group_by(ChangeLog.entity_id)).all())
        rows = s.execute(select(Timer).where(Timer.id.in_(timer_ids))).scalars().all()
        return {"notifications": notes, "audits": audits, "changes": changes,
                "timers": {t.id: (t.fired_at, t.fired_by, t.due_at, t.late_ms) for t in rows},
                "now": db_now(s)}


def utc(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
