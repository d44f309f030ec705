"""Shared write rate: eight stations (processes) record incidents as fast as the database takes them.

Every new incident used to take the writers' lock (the audit chain's and change_log's order) at
its first statement and hold it through its whole transaction — grid, number, incident, timeline,
checklist, escalation timers, audit rows — so the street's writers took turns for all of it.
Now (PostgreSQL) a new incident takes the lock, its number and writes its audit and change rows
in one statement at its end (``dc_write_step``), and holds the lock for that and the commit.
Both run here, in the same run on the same database: the baseline is the lock-held-throughout
path (the writers' lock taken first), then the short step.

Besides the rate, each phase reports how long each write held the lock (granted → committed;
the rate the lock alone would allow is one write per mean hold) and that every incident written
is in the database once with a number of its own; afterwards the audit chain must verify.
Where the time goes: the CPU each incident cost the writer process and its PostgreSQL backend
(so what one core can do, and this machine's CPU-bound ceiling), how busy the machine was and
with what, and each kind of statement's round trips per incident. (change_log's commit order
holds by construction: its seqs are taken under the lock, which is held to the commit;
tests/incidents/test_shared_writes.py checks it against a reader following the log meanwhile.)

Issue #20 cut the follow-ups of a new incident (checklist, escalation, handover, case hooks) from
about 31 statements to 16 in this mix (12 for a public-order incident with a checklist, report
steps and deadlines; tests/incidents/test_write_statements.py holds that bound on each backend),
and the writer's CPU per incident by about half; one writer measured alone (cProfile, statement
listener) says where the rest goes: SQLAlchemy and psycopg per statement, the ORM flush of the
incident, the case a dispute opens, and on the server dc_write_step's hashing of every audit row.
"""

from __future__ import annotations

import os
import time
from typing import Any

from sqlalchemy import func, select

from bench import databases
from bench.common import Figure, Sizes, percentile
from bench.workers import WorkerPool
from db.models import Incident
from dispatch_console.kernel import audit

TARGET_PER_S = 150.0
CORES = os.cpu_count() or 1


def cpu_ticks() -> tuple[float, float] | None:
    """(busy, total) CPU time of the whole machine so far (Linux /proc/stat), else None."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            values = [float(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = values[3] + (values[4] if len(values) > 4 else 0.0)  # idle + iowait
    return sum(values) - idle, sum(values)


def _phase(db: Any, pool: WorkerPool, writers: int, seconds: float, lock_throughout: bool) -> dict[str, Any]:
    with db.read() as s:
        before = int(s.execute(select(func.count()).select_from(Incident)).scalar_one())
    start_at = time.monotonic() + 1.0
    stop_at = start_at + seconds
    for i in range(writers):
        pool.submit(i, "bench.stations:write_flat_out", url=databases.url_of(db), station=f"ws-{i + 1}",
                    start_at=start_at, stop_at=stop_at, seed=300 + i, lock_throughout=lock_throughout)
    delay = start_at - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    ticks_before, load_before = cpu_ticks(), os.getloadavg()
    results = [pool.result(i, timeout=seconds + 600) for i in range(writers)]
    ticks_after, load_after = cpu_ticks(), os.getloadavg()
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
    elapsed = max(ended - start_at, 1e-9)
    rate = written / elapsed
    client_s = sum(r["cpu"].get("client_s") or 0.0 for r in results)
    backend = [r["cpu"].get("backend_s") for r in results]
    backend_s = sum(b for b in backend if b is not None) if all(b is not None for b in backend) else None
    per_incident = {"client_ms": client_s * 1000 / max(written, 1),
                    "postgres_backend_ms": backend_s * 1000 / max(written, 1) if backend_s is not None else None}
    cpu_ms = per_incident["client_ms"] + (per_incident["postgres_backend_ms"] or 0.0)
    machine = None
    if ticks_before and ticks_after and ticks_after[1] > ticks_before[1]:
        busy = (ticks_after[0] - ticks_before[0]) / (ticks_after[1] - ticks_before[1])
        ours = (client_s + (backend_s or 0.0)) / (elapsed * CORES)
        machine = {"busy_pct": round(100 * busy, 1), "used_by_the_writers_pct": round(100 * ours, 1),
                   "used_by_everything_else_pct": round(100 * max(busy - ours, 0.0), 1),
                   "load_average_1min": [round(load_before[0], 1), round(load_after[0], 1)]}
    kinds: dict[str, list[float]] = {}
    for r in results:
        for kind, (n, took) in r["statements"].items():
            got = kinds.setdefault(kind, [0.0, 0.0])
            got[0] += n
            got[1] += took
    statements = {kind: {"per_incident": round(n / max(written, 1), 2),
                         "ms_per_incident": round(took * 1000 / max(written, 1), 2)}
                  for kind, (n, took) in sorted(kinds.items(), key=lambda kv: -kv[1][1])[:14]}
    mean_held = sum(held) / len(held) if held else None
    return {
        "writers": writers,
        "written": written,
        "stored": after - before,
        "rate_per_s": rate,
        "lock_held_ms": {"p50": percentile(held, 50), "p95": percentile(held, 95),
                         "mean": mean_held, "n": len(held)},
        # the writers' lock alone would allow one write per mean hold
        "lock_bound_per_s": 1000 / mean_held if mean_held else None,
        "lock_busy_pct": round(rate * mean_held / 10, 1) if mean_held else None,
        "cpu_ms_per_incident": {k: round(v, 2) if v is not None else None for k, v in per_incident.items()},
        # what one core does when it does nothing else: this machine's ceiling is CORES times it
        "per_core_per_s": round(1000 / cpu_ms, 1) if cpu_ms else None,
        "cpu_bound_per_s_on_this_machine": round(CORES * 1000 / cpu_ms, 1) if cpu_ms else None,
        "machine_cpu": machine,
        "statements": statements,
        "statements_per_incident": round(sum(n for n, _t in kinds.values()) / max(written, 1), 1),
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
    # beside the rate: what the serialised part alone allows (one write per mean hold of the
    # lock) and what this machine's cores allow (CPU per incident: writer process + its backend)
    details = {"lock_bound_per_s": {"short_step": short["lock_bound_per_s"],
                                    "lock_held_throughout": baseline["lock_bound_per_s"]},
               "cpu_bound_per_s_on_this_machine": {"short_step": short["cpu_bound_per_s_on_this_machine"],
                                                   "lock_held_throughout":
                                                       baseline["cpu_bound_per_s_on_this_machine"]},
               "short_step": short, "lock_held_throughout": baseline, "seconds_per_phase": seconds,
               "cores": CORES, "audit_chain_rows_checked": chain.rows_checked, "audit_chain_ok": chain.ok}
    return [
        Figure("incidents written per second, 8 writers", backend, short["rate_per_s"], "/s",
               target=TARGET_PER_S if backend == "postgresql" else None, compare=">=",
               baseline=baseline["rate_per_s"], baseline_label="lock held throughout (same run)",
               details=details, error=error),
    ]
