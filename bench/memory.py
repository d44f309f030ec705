"""Memory: the console process with the big database open (the full main window, map included).

A fresh process (no benchmark state in it) opens the main window on the cached database of N
incidents, waits until every panel is ready, and reads its resident memory from /proc. The
QtWebEngine processes (the map's renderer, GPU and zygote processes) are found as descendants
of the console process and reported separately: their RSS and PSS (shared pages counted once).
Baseline: the same process before opening the console, with only the QApplication.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench import bulk, databases
from bench.common import Figure, Sizes
from bench.workers import WorkerPool

TARGET_MB = 400.0


def _kb(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_mb(pid: int) -> float:
    return round(_kb(Path(f"/proc/{pid}/status"), "VmRSS") / 1024, 1)


def pss_mb(pid: int) -> float:
    return round(_kb(Path(f"/proc/{pid}/smaps_rollup"), "Pss") / 1024, 1)


def descendants(pid: int) -> list[tuple[int, str]]:
    """(pid, command name) of every process below ``pid``."""
    children: dict[int, list[tuple[int, str]]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append((int(entry.name), name))
    out: list[tuple[int, str]] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child[0])
    return out


def console_memory(url: str, timeout_s: float = 120.0) -> dict[str, Any]:
    """Runs in a fresh process: the main window on ``url``; memory once every panel is ready."""
    from bench.qt import application, settle, wait_for
    from bench.stations import officer
    from db.engine import Database
    from dispatch_console.console import ConsoleContext
    from ui.main_window import MainWindow

    application()
    settle(0.2)
    me = os.getpid()
    bare = rss_mb(me)
    db = Database(url)
    console = ConsoleContext(db, "ws-memory")
    console.actor = officer("ws-memory")
    window = MainWindow(console)
    window.show()
    ready = wait_for(window.ready, timeout_s, poll_ms=50)
    settle(1.0)
    own, own_pss = rss_mb(me), pss_mb(me)
    web = [(pid, name, rss_mb(pid), pss_mb(pid)) for pid, name in descendants(me)]
    queue = getattr(window.central, "model", None)
    out = {"bare_mb": bare, "console_rss_mb": own, "console_pss_mb": own_pss, "ready": ready,
           "web_processes": [{"pid": p, "name": n, "rss_mb": r, "pss_mb": s} for p, n, r, s in web],
           "web_rss_mb": round(sum(r for _p, _n, r, _s in web), 1),
           "web_pss_mb": round(sum(s for _p, _n, _r, s in web), 1),
           "panels": sorted(window.panels), "panel_errors": window.panel_errors,
           "queue_rows": queue.rowCount() if queue is not None else None}
    window.shutdown()
    window.deleteLater()
    settle(0.5)
    db.dispose()
    return out


def run(backend: str, sizes: Sizes, _pool: object = None) -> list[Figure]:
    where, _built = bulk.history(backend, sizes.memory_incidents, max(1, sizes.memory_incidents // 20))
    # a copy: the console's own timer engine and panels may write, the cached history must not change
    with databases.fresh(backend, template=where, tag="memory") as db:
        pool = WorkerPool(1)
        try:
            result = pool.run_all([("bench.memory:console_memory", {"url": databases.url_of(db)})], timeout=400)[0]
        finally:
            pool.close()
    details = {"incidents": sizes.memory_incidents, **result}
    error = None if result["ready"] else "the main window did not become ready within the time"
    label = "same process with only the QApplication"
    return [
        Figure("console memory (RSS)", backend, result["console_rss_mb"], "MB", TARGET_MB, "<=", result["bare_mb"],
               label, details, error),
        Figure("QtWebEngine processes (RSS)", backend, result["web_rss_mb"], "MB", None, "<=", None,
               f"{len(result['web_processes'])} processes; PSS {result['web_pss_mb']} MB", details, error),
    ]
