"""The handover-reminder companion in a database outage: one line when the database goes (and one when
it is back), never a traceback at every sweep of the timer engine."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from db.engine import Database
from dispatch_console.handover import schedule


class Engine:
    """What the companion uses of a timer engine: its database, its station and its jobs."""

    def __init__(self, db: Database) -> None:
        self.db, self.station = db, "值班台1"
        self.jobs: dict[str, Callable[[], None]] = {}

    def add_job(self, func: Callable[[], None], *_args: Any, job_id: str, **_kwargs: Any) -> None:
        self.jobs[job_id] = func

    def job_ids(self) -> list[str]:
        return list(self.jobs)

    def remove_job(self, job_id: str) -> None:
        self.jobs.pop(job_id, None)

    def rearm(self) -> None:
        pass


def test_an_unreachable_database_is_one_warning_not_a_traceback_per_sweep(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    gone = Database(f"sqlite:///{tmp_path / 'taken-away' / 'dispatch.sqlite3'}")  # its folder is not there
    engine = Engine(gone)
    schedule.attach(engine)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger=schedule.log.name):
        for _sweep in range(3):
            engine.jobs["handover-sync"]()
    records = [r for r in caplog.records if r.name == schedule.log.name]
    assert len(records) == 1 and records[0].levelno == logging.WARNING, [r.getMessage() for r in records]
    assert "unreachable" in records[0].getMessage() and records[0].exc_info is None
    gone.dispose()
