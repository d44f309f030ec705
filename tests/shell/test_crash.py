"""An uncaught exception on any thread: the traceback in the log file, a dialog, the console goes on."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from dispatch_console.kernel import logfile
from ui.shell import crash

pytestmark = pytest.mark.gui


@pytest.fixture
def reporter(qtbot: QtBot) -> Iterator[tuple[crash.CrashReporter, QWidget]]:
    window = QWidget()
    qtbot.addWidget(window)
    logfile.install()
    hooks = crash.install(lambda: window)
    try:
        yield hooks, window
    finally:
        hooks.uninstall()


def _dialog(window: QWidget) -> QMessageBox | None:
    box = window.findChild(QMessageBox, "crash-dialog")
    return box if box is not None and box.isVisible() else None


def _record_deadline_twice() -> None:
    raise ZeroDivisionError("shift length 0")


def test_an_exception_in_a_worker_thread_is_logged_and_shown(reporter: tuple[crash.CrashReporter, QWidget],
                                                             qtbot: QtBot) -> None:
    _hooks, window = reporter
    worker = threading.Thread(target=_record_deadline_twice, name="change-feed")
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: _dialog(window) is not None)
    text = _dialog(window).text()  # type: ignore[union-attr]
    assert "ZeroDivisionError: shift length 0" in text
    assert "test_crash.py" in text and "_record_deadline_twice" in text and "change-feed" in text
    assert str(logfile.log_path()) in text
    written = logfile.log_path().read_text(encoding="utf-8")
    assert "uncaught exception in thread change-feed" in written and "Traceback" in written
    assert 'raise ZeroDivisionError("shift length 0")' in written


def test_an_exception_in_a_slot_leaves_the_console_running(reporter: tuple[crash.CrashReporter, QWidget],
                                                           qtbot: QtBot) -> None:
    hooks, window = reporter
    later: list[str] = []
    QTimer.singleShot(0, _record_deadline_twice)
    QTimer.singleShot(0, _record_deadline_twice)
    QTimer.singleShot(0, lambda: later.append("still running"))
    qtbot.waitUntil(lambda: later == ["still running"] and hooks.count == 2)
    box = _dialog(window)
    assert box is not None and "(2 errors so far)" in box.text()  # one dialog for a burst
    assert len([b for b in window.findChildren(QMessageBox) if b.isVisible()]) == 1
