"""The console side of the benchmarks: one offscreen QApplication, consoles built like the real
one, waiting on the event loop, and the probe that measures how long the GUI thread stalls."""

from __future__ import annotations

# isort: off
import ui as _views_first  # noqa: F401  first: the views' package sets up how PySide imports (ui/__init__.py)
# isort: on
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable

from PySide6.QtCore import QEventLoop, QMessageLogContext, QObject, Qt, QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from db.engine import Database
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.console import ConsoleContext
from ui.shell.background import BackgroundRunner
from ui.shell.context import IncidentSelection, Session, UiContext
from ui.shell.feed import QtChangeFeed
from ui.shell.garbage_collection import GarbageCollector

# Said by the offscreen platform for every window shown: noise in the benchmark's output.
QUIET = ("This plugin does not support propagateSizeHints()", "GPUInfo not initialized")
_previous_handler = None


def _messages(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    if message.startswith(QUIET):
        return
    if _previous_handler is not None:
        _previous_handler(kind, context, message)
    else:
        print(message, file=sys.stderr)


def void_call_decref_bug() -> bool:
    """True if this PySide6 takes a reference to None away on every call of a method returning
    nothing (seen in 6.12.0): on Python 3.11, where None is mortal, a busy console then dies with
    "Fatal Python error: none_dealloc" once enough calls have been made."""
    timer = QTimer()
    before = sys.getrefcount(None)
    for _i in range(100):
        timer.setInterval(5)
    return sys.getrefcount(None) - before <= -50


class RefcountKeeper(QObject):
    """Keeps None, True and False alive in a process with that PySide6 bug, so that a figure can be
    measured at all (the run records that the bug is present: the console itself would crash)."""

    FLOOR = 1_000_000

    def __init__(self) -> None:
        super().__init__()
        self._held: list[object] = []
        self._timer = QTimer(self)
        self._timer.setInterval(20)
        self._timer.timeout.connect(self.top_up)
        self.top_up()
        self._timer.start()

    def top_up(self) -> None:
        for value in (None, True, False):
            if sys.getrefcount(value) < self.FLOOR:
                self._held.extend([value] * self.FLOOR)


_keeper: RefcountKeeper | None = None


def application() -> QApplication:
    """The console's QApplication (web engine prepared, CJK font, theme), created once."""
    global _previous_handler, _keeper
    from ui.shell.app import application as console_application

    if QApplication.instance() is None:
        _previous_handler = qInstallMessageHandler(_messages)
    app = console_application([])
    if _keeper is None and void_call_decref_bug():
        _keeper = RefcountKeeper()
    return app


def make_ui(db: Database, station: str) -> UiContext:
    """What the main window hands its panels, for a duty officer signed in at ``station``."""
    console = ConsoleContext(db, station)
    console.actor = Actor(user_id=None, username=f"bench-{station}", role="duty_officer", station=station,
                          display_name=f"bench {station}")
    runner = BackgroundRunner()
    feed = QtChangeFeed(console)
    return UiContext(console=console, runner=runner, feed=feed, selection=IncidentSelection(),
                     session=Session(console))


_collectors: list[GarbageCollector] = []


def console_started(parent: QObject) -> GarbageCollector:
    """What the console does once its window is up (``ui.shell.commands.cmd_run``): garbage collection
    moves to the GUI thread, and what is alive then is frozen. Stopped by :func:`close_ui`."""
    collector = GarbageCollector(parent=parent)
    collector.start()
    _collectors.append(collector)
    return collector


def close_ui(ui: UiContext, *widgets: QObject) -> None:
    while _collectors:
        _collectors.pop().stop()
    ui.feed.stop()
    for widget in widgets:
        shutdown = getattr(widget, "shutdown", None)
        if shutdown is not None:
            shutdown()
    ui.runner.wait_idle(30000)
    settle(0.05)
    for widget in widgets:
        widget.deleteLater()
    settle(0.05)


def wait_for(predicate: Callable[[], bool], timeout_s: float, poll_ms: int = 2) -> bool:
    """Run the event loop until ``predicate()`` holds or the time is up (checked every ``poll_ms``)."""
    if predicate():
        return True
    loop = QEventLoop()
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(poll_ms)
    deadline = time.monotonic() + timeout_s

    def check() -> None:
        if predicate() or time.monotonic() > deadline:
            loop.quit()

    timer.timeout.connect(check)
    timer.start()
    loop.exec()
    timer.stop()
    return predicate()


def settle(seconds: float) -> None:
    """Run the event loop for ``seconds``."""
    end = time.monotonic() + seconds
    wait_for(lambda: time.monotonic() >= end, seconds + 1, poll_ms=10)


class StallProbe(QObject):
    """A timer due every ``interval_ms`` on the GUI thread: how late each tick comes is how long
    the event loop was kept from running (a stall an officer would feel as a frozen window)."""

    def __init__(self, interval_ms: int = 5) -> None:
        super().__init__()
        self.interval = interval_ms / 1000
        self.lateness: list[float] = []  # seconds each tick came after it was due
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._last = 0.0

        self.sampler: StallSampler | None = None

    def start(self) -> None:
        self.lateness.clear()
        self._last = time.perf_counter()
        self._timer.start()
        if self.sampler is not None:
            self.sampler.start(lambda: self._last)

    def stop(self) -> None:
        self._timer.stop()
        if self.sampler is not None:
            self.sampler.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.lateness.append(max(0.0, now - self._last - self.interval))
        self._last = now


PROJECT_PARTS = ("/ui/", "/dispatch_console/", "/db/", "/bench/")


class StallSampler:
    """Where the GUI thread is while it is stuck: a watchdog thread that, whenever the probe's last
    tick is more than ``threshold_ms`` old, samples the GUI thread's Python stack every
    ``every_ms``. ``top()`` names the lines most often seen (the innermost frame of the project's
    code and the innermost frame of all), so a stall can be explained instead of guessed at;
    ``top(others=True)`` names where the process's other threads were meanwhile (a GUI thread
    waiting for the interpreter lock is stuck on what they run)."""

    def __init__(self, threshold_ms: float = 25, every_ms: float = 5, depth: int = 40) -> None:
        self.threshold = threshold_ms / 1000
        self.every = every_ms / 1000
        self.depth = depth
        self.samples: Counter[tuple[str, str]] = Counter()
        self.others: Counter[tuple[str, str]] = Counter()
        self.total = 0
        # how the GUI thread spent its stalls (Linux schedstat): on a CPU (busy, in Python or in
        # Qt's C++), runnable but waiting for a CPU (the machine is overloaded), or neither
        # (blocked: the interpreter lock, a mutex, I/O); and how much of the machine's CPU time the
        # hypervisor took meanwhile (steal, summed over the CPUs: a virtual CPU that is not
        # running at all stalls whatever thread it had)
        self.split_ms = {"running": 0.0, "waiting_for_cpu": 0.0, "blocked": 0.0, "stolen_all_cpus": 0.0}
        self._gui = threading.main_thread().ident
        self._schedstat = f"/proc/self/task/{threading.main_thread().native_id}/schedstat"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, last_tick: Callable[[], float]) -> None:
        self.stop()
        self.samples.clear()
        self.others.clear()
        self.total = 0
        self.split_ms = dict.fromkeys(self.split_ms, 0.0)
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, args=(last_tick,), name="stall-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _sched(self) -> tuple[float, float, float] | None:
        try:
            with open(self._schedstat) as f:
                on_cpu, waiting, _slices = f.read().split()
            return int(on_cpu) / 1e6, int(waiting) / 1e6, _steal_ms()
        except (OSError, ValueError):
            return None

    def _watch(self, last_tick: Callable[[], float]) -> None:
        stalled_since: tuple[float, float, float, float] | None = None  # (wall, on cpu, waiting, steal) ms
        me = threading.get_ident()
        while not self._stop.wait(self.every):
            now = time.perf_counter()
            last = last_tick()
            if now - last > self.threshold:
                if stalled_since is None:
                    sched = self._sched()
                    if sched is not None:
                        stalled_since = ((last + self.threshold) * 1000, *sched)
                frames = sys._current_frames()
                frame = frames.get(self._gui)
                if frame is not None:
                    self.samples[self._where(frame)] += 1
                    self.total += 1
                for ident, other in frames.items():
                    if ident not in (self._gui, me):
                        self.others[self._where(other)] += 1
            elif stalled_since is not None:
                sched = self._sched()
                if sched is not None:
                    wall = last * 1000 - stalled_since[0]
                    running = sched[0] - stalled_since[1]
                    waiting = sched[1] - stalled_since[2]
                    self.split_ms["running"] += running
                    self.split_ms["waiting_for_cpu"] += waiting
                    self.split_ms["blocked"] += max(0.0, wall - running - waiting)
                    self.split_ms["stolen_all_cpus"] += sched[2] - stalled_since[3]
                stalled_since = None

    def _where(self, frame: object) -> tuple[str, str]:
        leaf = ""
        own = ""
        depth = 0
        f = frame
        while f is not None and depth < self.depth:
            code = f.f_code  # type: ignore[attr-defined]
            text = f"{code.co_filename.rsplit('/', 2)[-2:][-1]}:{f.f_lineno} {code.co_name}"  # type: ignore[attr-defined]
            if not leaf:
                leaf = text
            if not own and any(part in code.co_filename for part in PROJECT_PARTS) \
                    and "/bench/qt.py" not in code.co_filename:
                own = text
            f = f.f_back  # type: ignore[attr-defined]
            depth += 1
        return own, leaf

    def top(self, n: int = 12, others: bool = False) -> list[dict[str, object]]:
        """The places seen most often during stalls (on the GUI thread, or with ``others`` on the
        other threads), with their share of the GUI thread's samples."""
        counts = self.others if others else self.samples
        return [
            {"project_frame": own, "innermost": leaf, "samples": count,
             "share": round(count / self.total, 3) if self.total else 0.0}
            for (own, leaf), count in counts.most_common(n)
        ]


def _steal_ms() -> float:
    """CPU time the hypervisor has taken from this machine, all CPUs summed (Linux /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
        return int(fields[8]) * 1000 / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0
