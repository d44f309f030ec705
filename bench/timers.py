"""Timers: 1,000 deadlines due within 10 s, eight engine processes competing to fire them.

Each process runs the real :class:`~dispatch_console.timers.engine.TimerEngine`: once with the safety
sweep alone (every second), once with armed date jobs (an agent with its own change feed,
sweep every five seconds). The timers are scheduled through the timer service far ahead, then
moved in one transaction to come due over the window (so that scheduling time does not count as
lateness); a change_log row tells the armed engines to re-arm. Lateness is what the engine
itself records (firing time minus due time, both on the database clock). Exactly once is read
from the evidence: fire audit rows and change_log rows per timer, and the claims per process.
Baseline: one process claiming already-due timers with nobody competing (the claim's own cost).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from bench import databases
from bench.common import Figure, Sizes, ms, ms_summary, percentile
from bench.workers import WorkerPool
from db.engine import Database, db_now
from db.models import AuditLog, ChangeLog, Timer
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changes import record
from dispatch_console.timers import engine as timers

SWEEP_S = {"sweep": 1.0, "armed": 5.0}
TARGET_P99_MS = {"sweep": 1000.0, "armed": 100.0}
LEAD_S = 1.0
FAR = timedelta(hours=1)


def run_engine(url: str, station: str, arm: bool, sweep_s: float, stop_path: str, ready_dir: str,
               max_s: float = 900.0) -> dict[str, Any]:
    """A station process: one TimerEngine until ``stop_path`` exists; returns what it fired."""
    db = Database(url)
    engine = timers.TimerEngine(db, station, sweep_interval=sweep_s, arm=arm, own_feed=arm)
    engine.start()  # its feed reads change_log after the seq of this moment: nothing later is missed
    Path(ready_dir, station).touch()
    deadline = time.monotonic() + max_s
    while not os.path.exists(stop_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    engine.stop()
    db.dispose()
    return {"station": station, "fired": [f.id for f in engine.fired]}


def schedule(db: Database, count: int, due_in: timedelta) -> list[int]:
    with db.write() as s:
        now = db_now(s)
        return [timers.schedule(s, kind="reminder", due_at=now + due_in, payload={"title": f"基准提醒 {i + 1}"}).id
                for i in range(count)]


def bring_forward(db: Database, ids: list[int], window_s: float) -> None:
    """Make the timers come due evenly over the next ``window_s`` seconds (after a short lead)."""
    with db.write() as s:
        now = db_now(s)
        for k, timer_id in enumerate(ids):
            due = now + timedelta(seconds=LEAD_S + window_s * k / max(len(ids), 1))
            s.execute(update(Timer).where(Timer.id == timer_id).values(due_at=due))
        record(s, Actor.system("bench"), entity="timer", entity_id=None, op="reschedule",
               action="timer.reschedule", after={"count": len(ids)}, at=now)


def pending(db: Database, ids: list[int]) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(Timer).where(
            Timer.id.in_(ids), Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))).scalar_one())


def claim_times(db: Database, samples: int) -> list[float]:
    """Seconds per claim by a lone process, timers already due (the baseline)."""
    schedule(db, samples, -timedelta(seconds=1))
    out = []
    for _i in range(samples):
        t0 = time.perf_counter()
        if timers.fire_next(db, "baseline") is None:
            break
        out.append(time.perf_counter() - t0)
    return out


def evidence(db: Database, ids: list[int]) -> dict[str, Any]:
    with db.read() as s:
        audits = Counter(dict(s.execute(select(AuditLog.entity_id, func.count()).where(
            AuditLog.action == "timer.fire", AuditLog.entity_id.in_(ids)).group_by(AuditLog.entity_id)).all()))
        changes = Counter(dict(s.execute(select(ChangeLog.entity_id, func.count()).where(
            ChangeLog.entity == "timer", ChangeLog.op == "fire", ChangeLog.entity_id.in_(ids))
            .group_by(ChangeLog.entity_id)).all()))
        rows = {t.id: t for t in s.execute(select(Timer).where(Timer.id.in_(ids))).scalars()}
    return {"audits": audits, "changes": changes, "rows": rows}


def run_mode(backend: str, sizes: Sizes, pool: WorkerPool, mode: str) -> list[Figure]:
    processes = min(sizes.timer_processes, pool.size)
    folder = Path(tempfile.mkdtemp(prefix="dc_bench_timers_"))
    stop = folder / "stop"
    with databases.fresh(backend, tag="timers") as db:
        claims = claim_times(db, sizes.claim_samples)
        ids = schedule(db, sizes.timer_count, FAR)
        pool.ready()
        for i in range(processes):
            pool.submit(i, "bench.timers:run_engine", url=databases.url_of(db), station=f"engine-{i + 1}",
                        arm=mode == "armed", sweep_s=SWEEP_S[mode], stop_path=str(stop), ready_dir=str(folder))
        try:
            deadline = time.monotonic() + 180
            while len(list(folder.glob("engine-*"))) < processes and time.monotonic() < deadline:
                time.sleep(0.1)
            bring_forward(db, ids, sizes.timer_window_s)
            deadline = time.monotonic() + LEAD_S + sizes.timer_window_s + 60
            while pending(db, ids) and time.monotonic() < deadline:
                time.sleep(0.25)
        finally:
            stop.touch()
            results = [pool.result(i, timeout=120) for i in range(processes)]
            shutil.rmtree(folder, ignore_errors=True)
        ev = evidence(db, ids)
    claimed = Counter(i for r in results for i in r["fired"] if i in set(ids))
    rows = ev["rows"]
    fired_once = sum(1 for i in ids if rows[i].fired_at is not None and ev["audits"][i] == 1
                     and ev["changes"][i] == 1 and claimed[i] == 1)
    duplicated = sum(max(0, n - 1) for n in ev["audits"].values()) + sum(max(0, n - 1) for n in claimed.values())
    missed = sum(1 for i in ids if rows[i].fired_at is None)
    lateness = [rows[i].late_ms / 1000 for i in ids if rows[i].late_ms is not None]
    early = sum(1 for i in ids if rows[i].fired_at is not None and rows[i].fired_at < rows[i].due_at)
    n = len(ids)
    details = {"mode": mode, "processes": processes, "timers": n, "window_s": sizes.timer_window_s,
               "sweep_s": SWEEP_S[mode], "lateness_ms": ms_summary(lateness), "fired_before_due": early,
               "fired_by_station": dict(Counter(rows[i].fired_by for i in ids if rows[i].fired_by)),
               "lone_claim_ms": ms_summary(claims)}
    label = f"{mode}"
    claim50, claim99 = percentile(claims, 50), percentile(claims, 99)
    p50, p99 = percentile(lateness, 50), percentile(lateness, 99)
    return [
        Figure(f"timers fired exactly once ({label})", backend, fired_once, "timers", n, "==", n,
               "timers scheduled", details),
        Figure(f"timer firings duplicated ({label})", backend, duplicated, "firings", 0, "==", n,
               "timers scheduled", details),
        Figure(f"timers missed ({label})", backend, missed, "timers", 0, "==", n, "timers scheduled", details),
        Figure(f"timer lateness p50 ({label})", backend, ms(p50) if p50 is not None else None, "ms", None, "<=",
               ms(claim50) if claim50 is not None else None, "one lone process's claim time p50", details),
        Figure(f"timer lateness p99 ({label})", backend, ms(p99) if p99 is not None else None, "ms",
               TARGET_P99_MS[mode], "<=", ms(claim99) if claim99 is not None else None,
               "one lone process's claim time p99", details),
    ]


def run(backend: str, sizes: Sizes, pool: WorkerPool) -> list[Figure]:
    return [*run_mode(backend, sizes, pool, "sweep"), *run_mode(backend, sizes, pool, "armed")]
