"""Handover reminders: cron jobs create one timer row per shift; the timer engine fires it once."""

from __future__ import annotations

import time
from datetime import time as clock
from datetime import timedelta

from sqlalchemy import select
from support.roster_fixtures import REQUIRED, duty_room

from db.engine import Database
from db.models import Handover, Notification, Timer
from dispatch_console import rosters as roster
from dispatch_console.handover import schedule as handover_schedule
from dispatch_console.handover.content import load_policy
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.timefmt import local
from dispatch_console.timers import engine as timers


def _reminders(db: Database) -> list[Timer]:
    with db.read() as s:
        return list(s.execute(select(Timer).where(Timer.kind == "handover_reminder").order_by(Timer.id)).scalars())


def test_a_shift_ending_soon_gets_one_reminder_that_fires_once(db: Database, system: Actor) -> None:
    started = local(db.now() - timedelta(minutes=60))  # a 70-minute shift: it ends in about 10 minutes
    roster.define_shift_type(db, system, code="short", name="加班", start_time=started.strftime("%H:%M"),
                             length_minutes=70, required_roles=REQUIRED)
    roster.ensure_shifts(db, system, started.date(), started.date())
    shift = roster.shift_at(db)
    assert shift is not None and shift.code == "short"

    assert handover_schedule.ensure_reminders(db, "值班台1") == 1
    assert handover_schedule.ensure_reminders(db, "agent") == 0  # another console: nothing more
    [reminder] = _reminders(db)
    assert reminder.shift_id == shift.id and reminder.target_role == "shift_leader"
    assert reminder.due_at == shift.ends_at - timedelta(minutes=15)

    first, second = timers.TimerEngine(db, "值班台1"), timers.TimerEngine(db, "agent")
    first.fire_due()
    second.fire_due()
    assert [f.kind for f in first.fired + second.fired].count("handover_reminder") == 1
    with db.read() as s:
        sent = s.execute(select(Notification).where(Notification.kind == "handover_reminder")).scalars().all()
        drafted = s.execute(select(Handover).where(Handover.shift_id == shift.id)).scalar_one()
    assert len(sent) == 1 and sent[0].target_role == "shift_leader" and "加班" in sent[0].title
    assert drafted.status == "draft"  # the record is ready for the leader to review


def test_the_timer_engine_carries_the_handover_cron_jobs(sqlite_db: Database, system: Actor) -> None:
    duty_room(sqlite_db, system)
    today = local(sqlite_db.now()).date()
    roster.ensure_shifts(sqlite_db, system, today - timedelta(days=1), today + timedelta(days=1))
    policy = load_policy()
    assert handover_schedule.cron_times(sqlite_db, policy) == {
        "day": ("Asia/Shanghai", clock(19, 35)), "night": ("Asia/Shanghai", clock(7, 35))}
    engine = timers.TimerEngine(sqlite_db, "agent", sweep_interval=600).start()
    try:
        for _ in range(200):  # the start-up run happens on the scheduler's thread
            if len(_reminders(sqlite_db)) >= 2 and "handover-cron-night" in engine.job_ids():
                break
            time.sleep(0.05)
        assert {"handover-sync", "handover-cron-day", "handover-cron-night"} <= set(engine.job_ids())
        now = sqlite_db.now()
        due = sorted(t.due_at for t in _reminders(sqlite_db))
        assert len(due) >= 2 and all(d > now - timedelta(minutes=15) for d in due)
    finally:
        engine.stop()
