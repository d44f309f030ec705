"""Housekeeping the timer engine carries: the query planner's statistics, kept current.

A duty room's database grows by hundreds of incidents a day; on SQLite the planner's statistics
are only what ``ANALYZE`` last wrote, so every engine refreshes them a minute after it starts and
every six hours (bounded work, a write-lock turn of about a tenth of a second). PostgreSQL's
autovacuum does the same on its own.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dispatch_console.timers.engine import TimerEngine

log = logging.getLogger(__name__)

STATISTICS_EVERY = timedelta(hours=6)
FIRST_AFTER = timedelta(minutes=1)


def attach(engine: TimerEngine) -> None:
    """Timer engine companion: planner statistics a minute after start, then every six hours;
    and, on the machine that holds the audit key (the agent's), a signed audit checkpoint."""
    _attach_checkpoints(engine)
    if engine.db.is_postgres:
        return

    def refresh() -> None:
        try:
            engine.db.refresh_statistics()
        except Exception:
            log.exception("planner statistics could not be refreshed on %s", engine.station)

    engine.add_job(refresh, "interval", job_id="upkeep-statistics", seconds=STATISTICS_EVERY.total_seconds(),
                   next_run_time=datetime.now(UTC) + FIRST_AFTER)


def _attach_checkpoints(engine: TimerEngine) -> None:
    from dispatch_console.kernel import audit

    try:
        key = audit.load_key()
    except Exception as exc:  # a broken key file disables the checkpoints, not the engine
        log.error("audit checkpoints disabled on %s: %s", engine.station, exc)
        return
    if key is None:
        return

    def checkpoint() -> None:
        try:
            audit.checkpoint_if_due(engine.db, key, engine.station)
        except Exception:
            log.exception("audit checkpoint could not be made on %s", engine.station)

    engine.add_job(checkpoint, "interval", job_id="upkeep-audit-checkpoint",
                   seconds=audit.CHECKPOINT_EVERY.total_seconds() / 3, next_run_time=datetime.now(UTC) + FIRST_AFTER)
