"""Surge: eight stations (processes) record 50 incidents/s between them while a console runs.

The console is the real queue view with its change feed, offscreen. The stations write at a lower
CPU priority (``STATION_NICE``): on a duty floor they are other machines. A probe timer due every
5 ms on the GUI thread measures how late each tick comes: the longest lateness is the longest
stall an officer would feel, over the surge and until the console has caught up. Afterwards the
console's queue model (every page fetched) is compared with the database: no incident may be
missing or shown twice. Baseline: the same probe on the same console, idle, just before the surge.
"""

from __future__ import annotations

import math
import time
from typing import Any

from sqlalchemy import select

from bench import databases
from bench.common import Figure, Sizes, ms, ms_summary, percentile
from bench.qt import StallProbe, StallSampler, application, close_ui, console_started, make_ui, settle, wait_for
from bench.workers import WorkerPool
from db.models import Incident
from dispatch_console.kernel.categories import OPEN_STATUSES
from dispatch_console.kernel.changefeed import latest_seq

STALL_TARGET_MS = 50.0
# The simulated stations write at this lower CPU priority. On a duty floor they are other machines;
# here they share this machine's cores with the console under test, and at equal priority the
# console's GUI thread waited for a CPU for most of its stalls (details.stall_time_split_ms), which
# measured the benchmark's crowding rather than the console. PostgreSQL keeps its normal priority.
STATION_NICE = 10


def run(backend: str, sizes: Sizes, pool: WorkerPool) -> list[Figure]:
    from ui.incidents.queue_view import QueueView

    application()
    template, _built = databases.base(backend)
    stations = min(sizes.surge_stations, pool.size)
    with databases.fresh(backend, template=template, tag="surge") as db:
        ui = make_ui(db, "ws-console")
        view = QueueView(ui)
        view.resize(1400, 900)
        view.show()
        ui.feed.start()
        probe = StallProbe(5)
        sampler = StallSampler()
        try:
            wait_for(lambda: view.is_ready() and ui.feed.core.connected.is_set(), 120)
            console_started(view)
            pool.ready()
            probe.start()
            settle(sizes.surge_idle_s)
            idle = list(probe.lateness)
            probe.sampler = sampler
            probe.start()
            interval = stations / sizes.surge_rate
            start_at = time.monotonic() + 0.5
            stop_at = start_at + sizes.surge_seconds
            count = math.ceil(sizes.surge_seconds * sizes.surge_rate / stations)
            for i in range(stations):
                pool.submit(i, "bench.stations:write_paced", url=databases.url_of(db), station=f"ws-{i + 1}",
                            count=count, interval_s=interval, start_at=start_at + i * interval / stations,
                            seed=100 + i, stop_at=stop_at, nice=STATION_NICE)
            wait_for(lambda: all(pool.done(i) for i in range(stations)), sizes.surge_seconds + 300, poll_ms=20)
            writes = [w for i in range(stations) for w in pool.result(i, timeout=60)]
            wrote_s = max((w[2] for w in writes), default=start_at) - start_at
            # catch up: the feed delivers the last change and the queue has refreshed every row
            target: list[int] = []
            ui.runner.run(lambda: latest_seq(db), on_success=target.append)
            caught_up = wait_for(lambda: bool(target) and ui.feed.last_seq >= target[0] and view.is_ready(), 120)
            probe.stop()
            surge = list(probe.lateness)
            while view.model.canFetchMore():  # scroll to the end of the queue
                view.model.fetchMore()
                wait_for(lambda: not view.model.fetching, 60)
            wait_for(view.is_ready, 60)
            shown = view.model.ids
            gone = [i for i in shown if view.model.is_gone(i)]
            model_total = view.model.total
        finally:
            probe.stop()
            close_ui(ui, view)
        with db.read() as s:
            open_ids = set(s.execute(select(Incident.id).where(Incident.status.in_(OPEN_STATUSES))).scalars())
    written = {w[0] for w in writes}
    shown_set = set(shown)
    lost_ids = sorted(open_ids - shown_set)
    lost = len(lost_ids)
    duplicated = len(shown) - len(shown_set)
    details: dict[str, Any] = {
        "stations": stations, "stations_nice": STATION_NICE, "seconds": sizes.surge_seconds,
        "asked_rate_per_s": sizes.surge_rate,
        "written": len(writes), "achieved_rate_per_s": round(len(writes) / wrote_s, 1) if wrote_s > 0 else None,
        "write_ms": ms_summary([w[2] - w[1] for w in writes]), "caught_up": caught_up,
        "probe_ticks": len(surge), "stall_ms": ms_summary(surge), "idle_stall_ms": ms_summary(idle),
        "open_in_database": len(open_ids), "rows_in_model": len(shown), "model_total": model_total,
        "shown_but_not_open": len(shown_set - open_ids), "shown_as_gone": len(gone),
        "lost_ids": lost_ids[:20], "lost_were_written_in_surge": len(set(lost_ids) & written),
        "stall_samples": sampler.total, "stalled_where": sampler.top(),
        "other_threads_meanwhile": sampler.top(others=True),
        "stall_time_split_ms": {k: round(v, 1) for k, v in sampler.split_ms.items()},
    }
    longest = max(surge, default=0.0)
    p99 = percentile(surge, 99) or 0.0
    idle_label = f"same console idle for {sizes.surge_idle_s:g} s before the surge"
    return [
        Figure("surge longest stall", backend, ms(longest), "ms", STALL_TARGET_MS, "<=", ms(max(idle, default=0.0)),
               idle_label + ": longest stall", details),
        Figure("surge stall p99", backend, ms(p99), "ms", None, "<=", ms(percentile(idle, 99) or 0.0),
               idle_label + ": stall p99", details),
        Figure("surge incidents lost", backend, lost, "incidents", 0, "==", len(writes),
               "incidents written during the surge", details),
        Figure("surge incidents duplicated", backend, duplicated, "incidents", 0, "==", len(writes),
               "incidents written during the surge", details),
        # not a target of the console: how much of the asked load the shared database took
        Figure("surge write rate achieved", backend, details["achieved_rate_per_s"], "incidents/s", None, ">=",
               sizes.surge_rate, f"asked of {stations} stations together", details),
    ]
