"""Exactly once across processes: many engines, a killed engine, a workstation with a wrong clock.

Each child is a real TimerEngine in its own process (multiprocessing spawn) — agents with their
own change feed, and console-like engines fed by a separate ChangeFeed as the UI wires it.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from support.timer_workers import (
    firing_evidence,
    pending_count,
    run_engine,
    schedule_reminders,
    url_of,
    wait_until,
)

from db.engine import Database
from dispatch_console.notifications import service as notifications
from dispatch_console.timers import engine as timers

SPAWN = multiprocessing.get_context("spawn")


def _start(db: Database, stations: list[tuple[str, str]], **kwargs: Any) -> tuple[list[Any], Any, Any, Any]:
    ready, results, stop = SPAWN.Queue(), SPAWN.Queue(), SPAWN.Event()
    procs = [SPAWN.Process(target=run_engine, args=(url_of(db), station, mode, ready, stop, results),
                           kwargs=kwargs, daemon=True) for station, mode in stations]
    for p in procs:
        p.start()
    return procs, ready, results, stop


def _stop(procs: list[Any], stop: Any, results: Any) -> dict[str, list[int]]:
    # every process still running now reports once; asking each one's exitcode after the stop
    # skipped the report of any that had already exited, and lost what it had fired (flaky)
    running = sum(1 for p in procs if p.exitcode is None)
    stop.set()
    fired = dict(results.get(timeout=120) for _ in range(running))
    for p in procs:
        p.join(30)
        if p.is_alive():
            p.kill()
    return fired


def _exactly_once(db: Database, count: int, stations: list[tuple[str, str]]) -> None:
    procs, ready, results, stop = _start(db, stations, sweep=1.0)
    try:
        for _ in procs:
            ready.get(timeout=120)
        ids = schedule_reminders(db, count, first_s=1.0, spread_s=9.0)
        assert wait_until(lambda: pending_count(db) == 0, 240, interval=0.5)
    finally:
        fired = _stop(procs, stop, results)
    ev = firing_evidence(db, ids)
    assert all(ev["timers"][i][0] is not None for i in ids)
    assert all(ev["timers"][i][0] >= ev["timers"][i][2] for i in ids)  # never before due (database time)
    assert sorted(i for got in fired.values() for i in got) == sorted(ids)  # each claimed by one process
    assert Counter(ev["notifications"][i] for i in ids) == Counter({1: count})
    assert Counter(ev["audits"][i] for i in ids) == Counter({1: count})
    assert Counter(ev["changes"][i] for i in ids) == Counter({1: count})
    by_station = Counter(ev["timers"][i][1] for i in ids)
    assert set(by_station) <= {s for s, _m in stations}
    print(f"\nfired per station: {dict(by_station)}; "
          f"max lateness {max(ev['timers'][i][3] for i in ids)} ms")


@pytest.mark.slow
def test_eight_processes_fire_a_thousand_timers_exactly_once_on_postgresql(pg_db: Database) -> None:
    stations = [(f"console-{i}", "console") for i in (1, 2)] + [(f"agent-{i}", "agent") for i in range(1, 7)]
    _exactly_once(pg_db, 1000, stations)


@pytest.mark.slow
def test_four_processes_fire_a_thousand_timers_exactly_once_on_sqlite(sqlite_db: Database) -> None:
    stations = [("console-1", "console")] + [(f"agent-{i}", "agent") for i in range(1, 4)]
    _exactly_once(sqlite_db, 1000, stations)


def test_engine_killed_inside_its_claim_loses_nothing_and_fires_nothing_twice(
        db: Database, tmp_path: Path) -> None:
    marker = tmp_path / "inside-claim"
    procs, ready, _results, _stop_event = _start(
        db, [("doomed", "agent")], sweep=0.5, effects={"probe": "support.timer_workers:sleepy_effect"},
        env={"DC_TEST_MARKER": str(marker)})
    try:
        _station, pid, _skew = ready.get(timeout=120)
        (timer_id,) = schedule_reminders(db, 1, first_s=0, spread_s=0, kind="probe")
        assert wait_until(marker.exists, 60)
        os.kill(pid, signal.SIGKILL)
        procs[0].join(30)
    finally:
        # No stop.set(): the killed child still counts as a waiter on the event and would block it.
        if procs[0].is_alive():
            procs[0].kill()
    assert procs[0].exitcode == -signal.SIGKILL
    assert firing_evidence(db, [timer_id])["timers"][timer_id][0] is None  # the claim died with it
    effects = {**timers.EFFECTS, "probe": notifications.on_timer}
    assert wait_until(lambda: bool(timers.fire_due(db, "survivor", effects=effects)), 60)
    ev = firing_evidence(db, [timer_id])
    assert ev["timers"][timer_id][1] == "survivor"
    assert ev["notifications"] == {timer_id: 1}
    assert ev["audits"].get(timer_id) == 1 and ev["changes"].get(timer_id) == 1


@pytest.mark.parametrize("skew_s", [-600.0, 600.0])
def test_workstation_with_a_wrong_clock_fires_on_database_time(pg_db: Database, skew_s: float) -> None:
    # Sweeping is off (one hour): only the armed job, converted from database time, can fire them.
    procs, ready, results, stop = _start(pg_db, [("wrong-clock", "agent")], sweep=3600.0, skew_s=skew_s)
    try:
        _station, _pid, measured_skew = ready.get(timeout=120)
        ids = schedule_reminders(pg_db, 5, first_s=2.0, spread_s=3.0)
        assert wait_until(lambda: pending_count(pg_db) == 0, 120, interval=0.5)
    finally:
        fired = _stop(procs, stop, results)
    assert measured_skew == pytest.approx(skew_s, abs=30)
    ev = firing_evidence(pg_db, ids)
    assert sorted(fired["wrong-clock"]) == sorted(ids)
    for fired_at, fired_by, due_at, late_ms in ev["timers"].values():
        assert fired_by == "wrong-clock"
        assert fired_at >= due_at
        # Ten minutes of wrong clock would show as ten minutes of lateness (or firing only at the
        # next sweep, an hour away); on database time the lateness is ordinary jitter.
        assert late_ms < abs(skew_s) * 1000 / 2
