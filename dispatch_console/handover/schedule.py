"""Handover reminders from the shift types: cron jobs on the timer engine that create timer rows.

For every active shift type the engine carries an APScheduler cron job at the shift's local end
time minus ``reminder_before`` minus ``prepare`` (in the shift type's timezone), plus one run at
start-up and an hourly resync of the shift types. Each run calls :func:`ensure_reminders`, which
creates a ``handover_reminder`` timer row per shift ending within the horizon, due
``reminder_before`` ahead of the shift's end, unless the shift has one already.

The timer rows are the truth: they are made under the writers' lock, so any number of consoles
and agents may run these jobs and each shift still gets exactly one reminder, which the timer
engine fires once on the database clock. The cron job only needs to run *before* the reminder
is due, so a workstation clock a few minutes off changes nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import Shift, ShiftType, Timer
from dispatch_console.handover.content import HandoverPolicy, load_policy, shift_row
from dispatch_console.kernel import transient
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changes import serialise_writers
from dispatch_console.rosters import describe_shift
from dispatch_console.timers import engine as timers

if TYPE_CHECKING:
    from dispatch_console.timers.engine import TimerEngine

log = logging.getLogger(__name__)

HORIZON = timedelta(hours=24)
JOB_PREFIX = "handover-cron-"


def _missing_in(s: Session, policy: HandoverPolicy, horizon: timedelta, now: datetime) -> list[int]:
    """Shifts ending within the horizon (not yet ended) that have no reminder row."""
    reminded = select(Timer.shift_id).where(Timer.kind == "handover_reminder", Timer.shift_id.is_not(None))
    return list(s.execute(
        select(Shift.id).where(Shift.ends_at > now, Shift.ends_at <= now + horizon + policy.reminder_before,
                               Shift.id.not_in(reminded)).order_by(Shift.ends_at)).scalars())


def ensure_reminders(db: Database, station: str, *, policy: HandoverPolicy | None = None,
                     horizon: timedelta = HORIZON) -> int:
    """Create the missing reminder rows of shifts ending within ``horizon``; returns how many."""
    policy = policy or load_policy()
    with db.read() as s:
        missing = _missing_in(s, policy, horizon, db_now(s))
    if not missing:  # the usual case: no write transaction for nothing
        return 0
    made = 0
    with db.write() as s:
        serialise_writers(s)  # check and insert under the writers' lock: one row per shift
        now = db_now(s)
        for shift_id in _missing_in(s, policy, horizon, now):
            shift = shift_row(s, shift_id)
            assert shift is not None
            timers.schedule(s, kind="handover_reminder", due_at=shift.ends_at - policy.reminder_before,
                            shift_id=shift.id, target_role="shift_leader", actor=Actor.system(station),
                            payload={"shift": describe_shift(shift)})
            made += 1
    return made


def cron_times(db: Database, policy: HandoverPolicy) -> dict[str, tuple[str, time]]:
    """Per active shift type: (timezone, local time of day) at which its cron job runs."""
    with db.read() as s:
        types = s.execute(select(ShiftType).where(ShiftType.active.is_(True))).scalars().all()
    out: dict[str, tuple[str, time]] = {}
    for t in types:
        hh, mm = (int(x) for x in t.start_time.split(":"))
        end = datetime(2000, 1, 1, hh, mm) + timedelta(minutes=t.length_minutes)
        run = end - policy.reminder_before - policy.prepare
        out[t.code] = (t.timezone, run.time().replace(second=0, microsecond=0))
    return out


def attach(engine: TimerEngine) -> None:
    """Timer engine companion: the cron jobs of the shift types, a start-up run, an hourly resync.

    A database that went away is weather: one line when it goes and one when it is back (the next
    run or resync catches up), not a traceback at every sweep."""
    outage = transient.Outage(log, f"station {engine.station}: handover reminders")

    def run() -> None:
        try:
            made = ensure_reminders(engine.db, engine.station)
            if made:
                engine.rearm()
        except Exception as exc:
            if transient.is_transient(exc):
                outage.lost(exc)
                return
            log.exception("handover reminders could not be created on %s", engine.station)
        else:
            outage.back()

    def sync() -> None:
        try:
            policy = load_policy()
            wanted = cron_times(engine.db, policy)
        except Exception as exc:
            if transient.is_transient(exc):
                outage.lost(exc)
            else:
                log.exception("handover cron jobs could not be read on %s", engine.station)
            return
        for job_id in engine.job_ids():
            if job_id.startswith(JOB_PREFIX) and job_id[len(JOB_PREFIX):] not in wanted:
                engine.remove_job(job_id)
        for code, (tz, at) in wanted.items():
            engine.add_job(run, CronTrigger(hour=at.hour, minute=at.minute, timezone=ZoneInfo(tz)),
                           job_id=JOB_PREFIX + code)
        run()

    engine.add_job(sync, "interval", job_id="handover-sync", hours=1, next_run_time=datetime.now(UTC))
