"""Database reads per console per new incident: how much one recorded incident costs every console.

A whole console (the main window with every panel, its change feed and its timer engine) runs on
the demo street; another connection records incidents one at a time, far enough apart that each
is a batch of its own and every panel has settled. Every read and write transaction the console
opens is counted by the thread that opened it; the change feed's own read of ``change_log`` is
not counted (it is how the console learns of the change at all).

Reads that come whether or not anything happens (the timer engine's sweep, the warning rules'
look at the change log once a second) are not the incidents' cost: the console is first watched
idle for about as long as the incidents will take, and the figure is the read transactions
during the incidents minus the idle window's, at its rate over the incidents' window, per
incident. The details give both windows, the
write transactions (the rules' evaluation of a new incident, a deadline fired) apart, and name
which threads and which code made them.

Baseline: the same count with the queue alone (the central view, no docks): the one read any
console needs to show a new incident.
"""

from __future__ import annotations

import collections
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench import databases
from bench.common import Figure, Sizes
from bench.qt import application, settle, wait_for
from db.engine import Database
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.console import ConsoleContext

TARGET = 2.0
SPACING_S = 2.0


def _where(f: traceback.FrameSummary) -> str:
    return f"{f.filename.rsplit('/', 2)[-2]}/{f.filename.rsplit('/', 1)[-1]}:{f.name}"


def _caller(stack: list[traceback.FrameSummary], thread: str) -> str:
    """The view or timer code that asked (innermost first); else the innermost project frame."""
    for f in reversed(stack):
        if "/ui/" in f.filename or "/timers/" in f.filename:
            return _where(f)
    for f in reversed(stack):
        if "/dispatch_console/" in f.filename or "/station/" in f.filename:
            return f"{_where(f)} [{thread.split('_')[0]}]"
    return f"? [{thread.split('_')[0]}]"


class ReadCounter:
    """Wraps one Database's ``read``/``write`` and notes each transaction's thread and caller."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.counting = False
        self.reads: collections.Counter[str] = collections.Counter()
        self.callers: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        read, write = db.read, db.write

        @contextmanager
        def counted_read() -> Iterator[Any]:
            self._note("read")
            with read() as s:
                yield s

        @contextmanager
        def counted_write() -> Iterator[Any]:
            self._note("write")
            with write() as s:
                yield s

        db.read = counted_read  # type: ignore[method-assign]
        db.write = counted_write  # type: ignore[method-assign]

    def _note(self, kind: str) -> None:
        name = threading.current_thread().name
        if not self.counting or name.startswith("change-feed"):
            return
        caller = _caller(traceback.extract_stack()[:-3], name)
        with self._lock:
            self.reads[kind] += 1
            self.callers[caller] += 1

    @property
    def total(self) -> int:
        return sum(self.reads.values())

    def take(self) -> dict[str, Any]:
        """What was counted so far (and start again from nothing)."""
        with self._lock:
            taken = {"transactions": dict(self.reads), "by_caller": dict(self.callers.most_common(20))}
            self.reads.clear()
            self.callers.clear()
        return taken


def _count(backend: str, template: Any, count: int, *, all_panels: bool) -> tuple[float, dict[str, Any]]:
    from station import composition
    from ui.shell.main_window import MainWindow, Panels

    with databases.fresh(backend, template=template, tag="reads") as db:
        console = ConsoleContext(Database(db.url), "ws-reads")
        console.actor = Actor(user_id=None, username="bench-reads", role="duty_officer", station="ws-reads",
                              display_name="bench reads")
        counter = ReadCounter(console.db)
        everything = composition.panels()
        panels = everything if all_panels else Panels(central=everything.central)
        window = MainWindow(console, panels=panels, restore_layout=False)
        window.resize(1600, 1000)
        window.show()
        writer = Database(db.url)
        try:
            wait_for(window.ready, 120)
            settle(3.0)  # first loads, the timer engine's start and its first sweep
            counter.counting = True
            started = time.monotonic()
            settle(SPACING_S * count)  # idle, about as long as the incidents will take
            idle, idle_s = counter.take(), time.monotonic() - started
            started = time.monotonic()
            for i in range(count):
                incidents.create_incident(writer, Actor.system("bench-writer"), IncidentDraft(
                    category="public_order", severity=3, source="police_110",
                    description=f"110转警：打架 {i}", external_id=f"bench-reads-{i}"))
                settle(SPACING_S)
            busy, busy_s = counter.take(), time.monotonic() - started
            counter.counting = False
        finally:
            writer.dispose()
            window.shutdown()
            window.deleteLater()
            settle(0.2)
            console.db.dispose()
    # the idle reads at the idle rate over the incidents' window (recording them takes time too)
    idle_reads = idle["transactions"].get("read", 0) * busy_s / idle_s
    reads = busy["transactions"].get("read", 0) - idle_reads
    return reads / count, {"with_incidents": {**busy, "seconds": round(busy_s, 1)},
                           "idle": {**idle, "seconds": round(idle_s, 1)}}


def run(backend: str, sizes: Sizes, _pool: object = None) -> list[Figure]:
    application()
    template, _built = databases.base(backend)
    count = 3 if sizes.name == "tiny" else 10
    per_incident, details = _count(backend, template, count, all_panels=True)
    queue_only, queue_details = _count(backend, template, count, all_panels=False)
    details = {"incidents": count, "spacing_s": SPACING_S, "console": details, "queue_only": queue_details}
    return [Figure("database reads per console per new incident", backend, round(per_incident, 2), "reads",
                   TARGET, "<=", round(queue_only, 2), "the queue alone", details)]
