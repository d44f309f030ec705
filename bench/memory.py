"""Memory: the console process with the big database open (the full main window, map included).

A fresh process (no benchmark state in it) opens the main window on the cached database of N
incidents, waits until every panel is ready, and reads its resident memory from /proc. The
QtWebEngine processes (the map's renderer, GPU and zygote processes) are found as descendants
of the console process and reported separately: their RSS and PSS (shared pages counted once).
Baseline: the same process before opening the console, with only the QApplication.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from pathlib import Path
from typing import Any

from bench import bulk, databases
from bench.common import Figure, Sizes

TARGET_MB = 400.0
SHUTDOWN_S = 30.0


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


def rss_split_mb(pid: int) -> dict[str, float]:
    """Resident memory by kind: private (anonymous: heaps, Python objects) and file-backed (shared
    libraries, fonts; counted once the process touched them, and more of them while the page
    cache holds them warm — the kernel maps a faulted page's cached neighbours too)."""
    status = Path(f"/proc/{pid}/status")
    return {key: round(_kb(status, key) / 1024, 1) for key in ("RssAnon", "RssFile", "RssShmem")}


def largest_files_mb(pid: int, count: int = 3) -> dict[str, float]:
    """The file-backed mappings holding most resident memory (file name → MB)."""
    sizes: dict[str, int] = {}
    current = ""
    try:
        lines = Path(f"/proc/{pid}/smaps").read_text().splitlines()
    except OSError:
        return {}
    for line in lines:
        head = line.split(None, 5)
        if head and "-" in head[0] and not head[0].endswith(":"):
            current = head[5] if len(head) > 5 and head[5].startswith("/") else ""
        elif current and line.startswith("Rss:"):
            sizes[current] = sizes.get(current, 0) + int(line.split()[1])
    top = sorted(sizes.items(), key=lambda item: item[1], reverse=True)[:count]
    return {Path(name).name: round(kb / 1024, 1) for name, kb in top}


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


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


def console_memory(url: str, answer: Any, timeout_s: float = 120.0) -> None:
    """Runs in a fresh process: the main window on ``url``; memory once every panel is ready.

    The measurement is sent before the window shuts down; a shutdown that hangs is cut short
    (exit code 3) and the parent notes it.
    """
    import threading

    from bench.qt import application, settle, wait_for
    from bench.stations import officer
    from db.engine import Database
    from dispatch_console.kernel.console import ConsoleContext
    from station import composition
    from ui.shell.main_window import MainWindow

    application()
    settle(0.2)
    me = os.getpid()
    bare = rss_mb(me)
    db = Database(url)
    console = ConsoleContext(db, "ws-memory")
    console.actor = officer("ws-memory")
    window = MainWindow(console, panels=composition.panels())
    window.show()
    ready = wait_for(window.ready, timeout_s, poll_ms=50)
    settle(1.0)
    own, own_pss = rss_mb(me), pss_mb(me)
    web = [(pid, name, rss_mb(pid), pss_mb(pid)) for pid, name in descendants(me)]
    queue = getattr(window.central, "model", None)
    out = {"bare_mb": bare, "console_rss_mb": own, "console_pss_mb": own_pss, "ready": ready,
           "console_rss_split_mb": rss_split_mb(me), "console_largest_files_mb": largest_files_mb(me),
           "web_processes": [{"pid": p, "name": n, "rss_mb": r, "pss_mb": s} for p, n, r, s in web],
           "web_rss_mb": round(sum(r for _p, _n, r, _s in web), 1),
           "web_pss_mb": round(sum(s for _p, _n, _r, s in web), 1),
           "panels": sorted(window.panels), "panel_errors": window.panel_errors,
           "queue_rows": queue.rowCount() if queue is not None else None}
    answer.send(out)
    watchdog = threading.Timer(SHUTDOWN_S, os._exit, args=(3,))
    watchdog.daemon = True
    watchdog.start()
    window.shutdown()
    window.deleteLater()
    settle(0.5)
    db.dispose()
    os._exit(0)  # the web engine's processes go with us; nothing else to flush


def run(backend: str, sizes: Sizes, _pool: object = None) -> list[Figure]:
    where, _built = bulk.history(backend, sizes.memory_incidents, max(1, sizes.memory_incidents // 20))
    # a copy: the console's own timer engine and panels may write, the cached history must not change
    with databases.fresh(backend, template=where, tag="memory") as db:
        ctx = multiprocessing.get_context("spawn")
        mine, theirs = ctx.Pipe()
        result: dict[str, Any] | None = None
        proc = ctx.Process(target=console_memory, args=(databases.url_of(db), theirs), name="bench-console")
        proc.start()
        theirs.close()
        try:
            if not mine.poll(300):
                raise TimeoutError("the console process did not report its memory within 300 s")
            result = mine.recv()
        finally:
            proc.join(SHUTDOWN_S + 15)
            started = {pid for pid, _name in descendants(proc.pid or 0)}
            if proc.is_alive():
                proc.kill()
                proc.join(5)
            started |= {p["pid"] for p in (result or {}).get("web_processes", [])}
            for pid in started:  # web engine processes of that console left behind
                if "QtWebEngine" in _cmdline(pid):
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
        result["console_shutdown"] = {0: "clean", 3: f"hung, cut short after {SHUTDOWN_S:.0f} s"}.get(
            proc.exitcode or 0, f"exit code {proc.exitcode}")
    details = {"incidents": sizes.memory_incidents, **result}
    error = None if result["ready"] else "the main window did not become ready within the time"
    split = result["console_rss_split_mb"]
    label = (f"same process with only the QApplication; console private {split['RssAnon']:g} MB, "
             f"file-backed {split['RssFile']:g} MB")
    return [
        Figure("console memory (RSS)", backend, result["console_rss_mb"], "MB", TARGET_MB, "<=", result["bare_mb"],
               label, details, error),
        Figure("QtWebEngine processes (RSS)", backend, result["web_rss_mb"], "MB", None, "<=", None,
               f"{len(result['web_processes'])} processes; PSS {result['web_pss_mb']} MB", details, error),
    ]
