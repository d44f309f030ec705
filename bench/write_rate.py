"""Shared write rate: eight stations (processes) record incidents as fast as the database takes them.

Every new incident used to take the writers' lock (the audit chain's and change_log's order) at
its first statement and hold it through its whole transaction — grid, number, incident, timeline,
checklist, escalation timers, audit rows — so the street's writers took turns for all of it.
Now (PostgreSQL) a new incident takes the lock, its number and writes its audit and change rows
in one short last step. Both run here, in the same run on the same database: the baseline is
today's lock-held-throughout path (the writers' lock taken first), then the short step.

Besides the rate, each phase reports how long each write held the lock (granted → committed)
and that every incident written is in the database once with a number of its own; afterwards
the audit chain must verify. (change_log's commit order holds by construction: its seqs are
taken under the lock, which is held to the commit; tests/kernel/test_change_feed.py checks it.)
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import func, select

from bench import databases
from bench.common import Figure, Sizes, percentile
from bench.workers import WorkerPool
from db.models import Incident
from dispatch_console.kernel import audit

TARGET_PER_S = 150.0


def _phase(db: Any, pool: WorkerPool, writers: int, seconds: float, lock_throughout: bool) -> dict[str, Any]:
    with db.read() as s:
        before = int(s.execute(select(func.count()).select_from(Incident)).scalar_one())
    start_at = time.monotonic() + 1.0
    stop_at = start_at + seconds
    for i in range(writers):
        pool.submit(i, "bench.stations:write_flat_out", url=databases.url_of(db), station=f"ws-{i + 1}",
                    start_at=start_at, stop_at=stop_at, seed=300 + i, lock_throughout=lock_throughout)
    results = [pool.result(i, timeout=seconds + 600) for i in range(writers)]
    committed = sorted(t for r in results for t in r["committed"])
    held = [h * 1000 for r in results for h in r["lock_held"]]
    ended = max(committed, default=start_at)
    with db.read() as s:
        after = int(s.execute(select(func.count()).select_from(Incident)).scalar_one())
        numbers = int(s.execute(select(func.count(func.distinct(Incident.number)))).scalar_one())
        pending = int(s.execute(select(func.count()).select_from(Incident)
                                .where(Incident.number.like("~%"))).scalar_one())
        total = int(s.execute(select(func.count()).select_from(Incident)).scalar_one())
    written = len(committed)
    return {
        "writers": writers,
        "written": written,
        "stored": after - before,
        "rate_per_s": written / max(ended - start_at, 1e-9),
        "lock_held_ms": {"p50": percentile(held, 50), "p95": percentile(held, 95), "n": len(held)},
        "numbers_unique": numbers == total,
        "placeholder_numbers_committed": pending,
    }


def run(backend: str, sizes: Sizes, pool: WorkerPool) -> list[Figure]:
    template, _built = databases.base(backend)
    writers = min(sizes.surge_stations, pool.size)
    seconds = max(sizes.surge_seconds / 3, 1.0)
    with databases.fresh(backend, template=template, tag="writes") as db:
        pool.ready()
        _phase(db, pool, writers, 1.0, lock_throughout=False)  # warm-up: catalogs, connections, caches
        baseline = _phase(db, pool, writers, seconds, lock_throughout=True)
        short = _phase(db, pool, writers, seconds, lock_throughout=False)
        chain = audit.verify(db)
    exact = all(p["written"] == p["stored"] and p["numbers_unique"] and not p["placeholder_numbers_committed"]
                for p in (baseline, short))
    error = None
    if not exact:
        error = "an incident was lost, stored twice or kept a placeholder number"
    elif not chain.ok:
        error = f"the audit chain does not verify: {chain.describe()}"
    return [Figure(
        "incidents written per second, 8 writers", backend, short["rate_per_s"], "/s",
        target=TARGET_PER_S if backend == "postgresql" else None, compare=">=",
        baseline=baseline["rate_per_s"], baseline_label="lock held throughout (same run)",
        details={"short_step": short, "lock_held_throughout": baseline, "seconds_per_phase": seconds,
                 "audit_chain_rows_checked": chain.rows_checked, "audit_chain_ok": chain.ok},
        error=error)]
