"""Propagation: a commit at one station → the row present in another station's queue model.

A station process records incidents one at a time through the incident service; this process
runs the real queue view with its change feed and notes when each new row arrives in the model
(``rowsInserted``). Latency is arrival minus the writer's commit (``time.monotonic`` is one clock
for all processes of the machine). Baseline: the raw transport in the same run — a PostgreSQL
``NOTIFY`` round trip between two connections, and on SQLite a commit seen through ``PRAGMA
data_version`` by a second connection.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path

import psycopg

from bench import databases
from bench.common import Figure, Sizes, ms, ms_summary, percentile
from bench.qt import application, close_ui, console_started, make_ui, wait_for
from bench.workers import WorkerPool
from db.engine import Database
from dispatch_console.kernel.changefeed import libpq_url

TARGET_P99_MS = 50.0


def notify_round_trips(db: Database, samples: int) -> list[float]:
    """Seconds from ``pg_notify`` on one connection to its arrival on a listening one."""
    uri = libpq_url(db)
    out: list[float] = []
    with psycopg.connect(uri, autocommit=True) as listener, psycopg.connect(uri, autocommit=True) as sender:
        listener.execute("LISTEN dc_bench_probe")
        for i in range(samples):
            t0 = time.perf_counter()
            sender.execute("SELECT pg_notify('dc_bench_probe', %s)", (str(i),))
            for _n in listener.notifies(timeout=5, stop_after=1):
                out.append(time.perf_counter() - t0)
    return out


def data_version_round_trips(samples: int) -> list[float]:
    """Seconds from a SQLite commit to a second connection seeing ``PRAGMA data_version`` change."""
    folder = Path(tempfile.mkdtemp(prefix="dc_bench_dv_"))
    path = folder / "probe.sqlite3"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE probe (x INTEGER)")
    reader = sqlite3.connect(path, isolation_level=None)
    out: list[float] = []
    try:
        for i in range(samples):
            seen = reader.execute("PRAGMA data_version").fetchone()[0]
            t0 = time.perf_counter()
            writer.execute("BEGIN IMMEDIATE")
            writer.execute("INSERT INTO probe VALUES (?)", (i,))
            writer.execute("COMMIT")
            while reader.execute("PRAGMA data_version").fetchone()[0] == seen:
                pass
            out.append(time.perf_counter() - t0)
    finally:
        writer.close()
        reader.close()
        path.unlink(missing_ok=True)
        folder.rmdir()
    return out


def run(backend: str, sizes: Sizes, pool: WorkerPool) -> list[Figure]:
    from ui.incidents.queue_view import QueueView

    application()
    template, _built = databases.base(backend)
    with databases.fresh(backend, template=template, tag="prop") as db:
        if backend == "postgresql":
            raw = notify_round_trips(db, sizes.notify_samples)
            label = "raw PostgreSQL NOTIFY round trip p99"
        else:
            raw = data_version_round_trips(sizes.notify_samples)
            label = "raw SQLite commit → PRAGMA data_version seen p99"
        ui = make_ui(db, "ws-console")
        view = QueueView(ui)
        view.resize(1400, 800)
        view.show()
        ui.feed.start()
        seen: dict[int, float] = {}

        def arrived(_parent: object, first: int, last: int) -> None:
            now = time.monotonic()
            for r in range(first, last + 1):
                row = view.model.incident_at(r)
                if row is not None:
                    seen.setdefault(row.id, now)

        fed: dict[int, float] = {}  # when the change feed handed the creation to the GUI thread

        def delivered(changes: list) -> None:
            now = time.monotonic()
            for c in changes:
                if c.entity == "incident" and c.op == "create" and c.entity_id is not None:
                    fed.setdefault(int(c.entity_id), now)

        ui.feed.changed.connect(delivered)
        view.model.rowsInserted.connect(arrived)
        view.model.modelReset.connect(lambda: arrived(None, 0, view.model.rowCount() - 1))
        try:
            wait_for(lambda: view.is_ready() and ui.feed.core.connected.is_set(), 120)
            console_started(view)
            pool.ready()
            start_at = time.monotonic() + 0.5
            pool.submit(0, "bench.stations:write_paced", url=databases.url_of(db), station="ws-writer",
                        count=sizes.propagation_samples, interval_s=sizes.propagation_interval_s,
                        start_at=start_at, seed=7)
            budget = 60 + sizes.propagation_samples * sizes.propagation_interval_s * 4
            wait_for(lambda: pool.done(0), budget, poll_ms=20)
            writes = pool.result(0, timeout=60)
            wait_for(lambda: all(w[0] in seen for w in writes), 15, poll_ms=5)
        finally:
            close_ui(ui, view)
    latencies = [seen[i] - committed for i, _began, committed in writes if i in seen]
    write_ms = [committed - began for _i, began, committed in writes]
    feed = [fed[i] - committed for i, _began, committed in writes if i in fed]
    refresh = [seen[i] - fed[i] for i, _b, _c in writes if i in fed and i in seen]
    missing = sum(1 for w in writes if w[0] not in seen)
    details = {"samples": len(writes), "not_arrived": missing, "latency_ms": ms_summary(latencies),
               "commit_to_feed_ms": ms_summary(feed), "feed_to_model_ms": ms_summary(refresh),
               "writer_commit_ms": ms_summary(write_ms), "baseline_ms": ms_summary(raw),
               "interval_s": sizes.propagation_interval_s}
    base99 = ms(percentile(raw, 99) or 0)
    base50 = ms(percentile(raw, 50) or 0)
    error = f"{missing} of {len(writes)} rows never arrived" if missing else None
    p50 = percentile(latencies, 50)
    p99 = percentile(latencies, 99)
    return [
        Figure("propagation p50", backend, ms(p50) if p50 is not None else None, "ms", None, "<=", base50,
               label.replace("p99", "p50"), details, error),
        Figure("propagation p99", backend, ms(p99) if p99 is not None else None, "ms",
               TARGET_P99_MS if backend == "postgresql" else None, "<=", base99, label, details, error),
    ]
