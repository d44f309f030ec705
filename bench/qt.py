"""The console side of the benchmarks: one offscreen QApplication, consoles built like the real
one, waiting on the event loop, and the probe that measures how long the GUI thread stalls."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from PySide6.QtCore import QEventLoop, QMessageLogContext, QObject, Qt, QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from db.engine import Database
from dispatch_console.actor import Actor
from dispatch_console.console import ConsoleContext
from ui.background import BackgroundRunner
from ui.context import IncidentSelection, Session, UiContext
from ui.feed import QtChangeFeed

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
    from ui.app import application as console_application

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


def close_ui(ui: UiContext, *widgets: QObject) -> None:
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

    def start(self) -> None:
        self.lateness.clear()
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.lateness.append(max(0.0, now - self._last - self.interval))
        self._last = now
