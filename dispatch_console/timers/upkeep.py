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
    """Timer engine companion: planner statistics a minute after start, then every six hours."""
    if engine.db.is_postgres:
        return

    def refresh() -> None:
        try:
            engine.db.refresh_statistics()
        except Exception:
            log.exception("planner statistics could not be refreshed on %s", engine.station)

    engine.add_job(refresh, "interval", job_id="upkeep-statistics", seconds=STATISTICS_EVERY.total_seconds(),
                   next_run_time=datetime.now(UTC) + FIRST_AFTER)
