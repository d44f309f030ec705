"""The self-test's checks that need no window: time zones, the schema, the demo data, one timer.

``dispatch-console self-test`` (``ui/shell/self_test.py``) runs these on a temporary SQLite
database of its own, then the window, map and PDF checks. Each function returns the one line a
passed check prints, and raises (any exception; :class:`CheckFailed` for a finding) when it fails.
"""

from __future__ import annotations

import time
from datetime import datetime

from db.engine import Database, db_now
from db.migrate import schema_status, upgrade
from dispatch_console.demo.database import prepare_demo_database
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.queue import QueueQuery
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.console import ConsoleContext
from dispatch_console.kernel.i18n import _
from dispatch_console.timers import engine as timers

STATION = "self-test"
TIME_ZONE = "Asia/Shanghai"


class CheckFailed(Exception):
    """A check did not pass; its text says what was found."""


def time_zone() -> str:
    """The street's time zone resolves (from the bundled tzdata when the machine has none)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(TIME_ZONE)
    return f"{TIME_ZONE} UTC{datetime(2026, 1, 1, tzinfo=zone).strftime('%z')}"


def migrate(url: str) -> str:
    db = Database(url)
    try:
        upgrade(db)
        status = schema_status(db)
    finally:
        db.dispose()
    if not status.ok:
        raise CheckFailed(_("schema {state} after the upgrade").format(state=status.state))
    return _("schema {revision}").format(revision=status.current)


def seed(url: str) -> str:
    if not prepare_demo_database(url, Actor.system(STATION)):
        raise CheckFailed(_("the demo data was not written"))
    db = Database(url)
    try:
        rows = incidents.query_incidents(db, QueueQuery(open_only=False, limit=1000)).rows
    finally:
        db.dispose()
    if not rows:
        raise CheckFailed(_("the demo street has no incidents"))
    return _("demo street, {n} incidents").format(n=len(rows))


def console(url: str) -> ConsoleContext:
    """The console of the self-test: an observer (it looks, and signs nobody in)."""
    context = ConsoleContext(Database(url), STATION, Resources.from_env())
    context.actor = Actor(user_id=None, username=STATION, role="observer", station=STATION,
                          display_name=_("Self-test (observer)"))
    return context


def fire_one_timer(url: str, timeout_s: float = 60.0) -> str:
    """A reminder due now, and a running timer engine (APScheduler and all) that fires it."""
    db = Database(url)
    engine = timers.TimerEngine(db, STATION, sweep_interval=0.5)
    try:
        with db.write() as s:
            timer_id = timers.schedule(s, kind="reminder", due_at=db_now(s), payload={
                "title": _("Self-test"), "body": _("The timer engine fires.")}).id
        engine.start()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not any(f.id == timer_id for f in engine.fired):
            time.sleep(0.05)
    finally:
        engine.stop()
        db.dispose()
    fired = [f for f in engine.fired if f.id == timer_id]
    if not fired:
        raise CheckFailed(_("the reminder was not fired within {s} s").format(s=int(timeout_s)))
    return _("a reminder fired {ms} ms after it was due").format(ms=fired[0].late_ms)
