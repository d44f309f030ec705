"""Soak: eight stations (processes) write for half an hour (quick: 3 minutes) against one console.

The console is the real queue view with its change feed, offscreen, in this process. The stations
record at a steady pace through the real incident service (checklists and escalation timers
included), at a lower CPU priority as in the surge (on a duty floor they are other machines).
Throughout, a probe timer due every 5 ms on the GUI thread measures how late each tick comes (the
longest stall an officer would feel) and the console's resident memory is read every 2 s.

The first minute (quick and tiny runs: the first tenth) is the warm-up and the baseline: the
figures after it are shown beside the first minute's. Afterwards the console's queue model (every
page fetched) is compared with the database: no incident may be missing or shown twice.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

from PySide6.QtCore import QTimer
from sqlalchemy import select

from bench import databases
from bench.common import Figure, Sizes, ms, ms_summary
from bench.memory import rss_mb
from bench.qt import StallProbe, StallSampler, application, close_ui, console_started, make_ui, wait_for
from bench.surge import STATION_NICE
from bench.workers import WorkerPool
from bench.write_rate import cpu_ticks
from db.models import Incident
from dispatch_console.kernel.categories import OPEN_STATUSES
from dispatch_console.kernel.changefeed import latest_seq

STALL_TARGET_MS = 100.0
RSS_GROWTH_TARGET_PCT = 10.0
RSS_EVERY_MS = 2000


def run(backend: str, sizes: Sizes, pool: WorkerPool) -> list[Figure]:
    from ui.incidents.queue_view import QueueView

    application()
    template, _built = databases.base(backend)
    stations = min(sizes.surge_stations, pool.size)
    seconds = sizes.soak_seconds
    warm_up = min(60.0, seconds / 10)
    with databases.fresh(backend, template=template, tag="soak") as db:
        ui = make_ui(db, "ws-console")
        view = QueueView(ui)
        view.resize(1400, 900)
        view.show()
        ui.feed.start()
        probe = StallProbe(5)
        probe.sampler = stalls = StallSampler()
        rss: list[tuple[float, float]] = []
        marks: dict[str, Any] = {}
        sampler = QTimer()
        sampler.setInterval(RSS_EVERY_MS)
        began = time.monotonic()
        sampler.timeout.connect(lambda: rss.append((time.monotonic() - began, rss_mb(os.getpid()))))
        try:
            wait_for(lambda: view.is_ready() and ui.feed.core.connected.is_set(), 120)
            console_started(view)
            pool.ready()
            interval = stations / sizes.soak_rate
            start_at = time.monotonic() + 0.5
            stop_at = start_at + seconds
            count = math.ceil(seconds * sizes.soak_rate / stations)
            for i in range(stations):
                pool.submit(i, "bench.stations:write_paced", url=databases.url_of(db), station=f"ws-{i + 1}",
                            count=count, interval_s=interval, start_at=start_at + i * interval / stations,
                            seed=500 + i, stop_at=stop_at, nice=STATION_NICE)
            began = time.monotonic()
            machine_before, load_before = cpu_ticks(), os.getloadavg()
            rss.append((0.0, rss_mb(os.getpid())))
            sampler.start()
            probe.start()

            def warmed_up() -> None:
                marks["ticks"] = len(probe.lateness)
                marks["rss_mb"] = rss_mb(os.getpid())

            QTimer.singleShot(int(warm_up * 1000), warmed_up)
            wait_for(lambda: all(pool.done(i) for i in range(stations)), seconds + 600, poll_ms=20)
            writes = [w for i in range(stations) for w in pool.result(i, timeout=60)]
            machine_after, load_after = cpu_ticks(), os.getloadavg()
            target: list[int] = []
            ui.runner.run(lambda: latest_seq(db), on_success=target.append)
            caught_up = wait_for(lambda: bool(target) and ui.feed.last_seq >= target[0] and view.is_ready(), 300)
            probe.stop()
            sampler.stop()
            rss.append((time.monotonic() - began, rss_mb(os.getpid())))
            ticks = list(probe.lateness)
            while view.model.canFetchMore():  # scroll to the end of the queue
                view.model.fetchMore()
                wait_for(lambda: not view.model.fetching, 60)
            wait_for(view.is_ready, 60)
            shown = view.model.ids
        finally:
            probe.stop()
            sampler.stop()
            close_ui(ui, view)
        with db.read() as s:
            open_ids = set(s.execute(select(Incident.id).where(Incident.status.in_(OPEN_STATUSES))).scalars())
    split = marks.get("ticks", len(ticks))
    first, after = ticks[:split], ticks[split:]
    start_rss = rss[0][1]
    warm_rss = float(marks.get("rss_mb", start_rss))
    end_rss = rss[-1][1]
    growth_after = (end_rss - warm_rss) / warm_rss * 100 if warm_rss else None
    growth_first = (warm_rss - start_rss) / start_rss * 100 if start_rss else None
    written = {w[0] for w in writes}
    shown_set = set(shown)
    lost_ids = sorted((open_ids | written) - shown_set)
    duplicated = len(shown) - len(shown_set)
    wrote_s = max((w[2] for w in writes), default=start_at) - start_at
    details: dict[str, Any] = {
        "stations": stations, "seconds": seconds, "warm_up_seconds": warm_up, "asked_rate_per_s": sizes.soak_rate,
        "written": len(writes), "achieved_rate_per_s": round(len(writes) / wrote_s, 1) if wrote_s > 0 else None,
        "write_ms": ms_summary([w[2] - w[1] for w in writes]), "caught_up": caught_up,
        "stall_ms_after_warm_up": ms_summary(after), "stall_ms_first_minute": ms_summary(first),
        "rss_mb": {"start": start_rss, "after_warm_up": warm_rss, "end": end_rss,
                   "max": max(r[1] for r in rss)},
        "rss_samples": [[round(t, 1), m] for t, m in rss[:: max(1, len(rss) // 60)]],
        "rows_in_model": len(shown), "open_in_database": len(open_ids), "lost_ids": lost_ids[:20],
        # why the GUI thread stalled: where it was, and whether it ran or waited for a CPU (a
        # machine busy with other work shows as waiting_for_cpu)
        "stall_samples": stalls.total, "stalled_where": stalls.top(),
        "other_threads_meanwhile": stalls.top(others=True),
        "stall_time_split_ms": {k: round(v, 1) for k, v in stalls.split_ms.items()},
        "machine_cpu_busy_pct": round(100 * (machine_after[0] - machine_before[0])
                                      / (machine_after[1] - machine_before[1]), 1)
        if machine_before and machine_after and machine_after[1] > machine_before[1] else None,
        "load_average_1min": [round(load_before[0], 1), round(load_after[0], 1)],
    }
    first_label = "the first minute (warm-up)" if warm_up >= 60 else f"the first {warm_up:g} s (warm-up)"
    return [
        Figure("soak incidents lost", backend, len(lost_ids), "incidents", 0, "==", len(writes),
               "incidents written during the soak", details),
        Figure("soak incidents duplicated", backend, duplicated, "incidents", 0, "==", len(writes),
               "incidents written during the soak", details),
        Figure("soak console RSS growth after warm-up", backend,
               round(growth_after, 1) if growth_after is not None else None, "%", RSS_GROWTH_TARGET_PCT, "<=",
               round(growth_first, 1) if growth_first is not None else None, f"growth during {first_label}",
               details),
        Figure("soak longest GUI stall", backend, ms(max(after, default=0.0)), "ms", STALL_TARGET_MS, "<=",
               ms(max(first, default=0.0)), f"longest stall in {first_label}", details),
    ]
