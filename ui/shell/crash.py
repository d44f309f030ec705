"""Uncaught exceptions in the console: the traceback to the log file, a dialog to the officer.

An exception nobody caught — in a slot on the GUI thread, in a worker, in the change-feed or timer
threads — must neither kill the console in the middle of a shift nor vanish. :func:`install`
replaces ``sys.excepthook`` and ``threading.excepthook``: the traceback goes to the log
(``dispatch_console.kernel.logfile``), and the GUI thread shows a dialog that says what happened,
where, and where the log is. The console keeps running (Qt returns to its event loop after a
slot's exception; a worker thread's job simply ends). Several exceptions in a burst make one
dialog, not a stack of them.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from dispatch_console.kernel import logfile
from dispatch_console.kernel.i18n import _

log = logging.getLogger(__name__)


def where(tb: TracebackType | None) -> str:
    """The innermost frame of the project's own code (else the innermost one): ``file:line in fn``."""
    frames = traceback.extract_tb(tb)
    ours = [f for f in frames if any(part in f.filename.replace("\\", "/")
                                     for part in ("/dispatch_console/", "/ui/", "/station/", "/db/"))]
    if not (ours or frames):
        return _("unknown place")
    frame = (ours or frames)[-1]
    name = Path(frame.filename).name
    return f"{name}:{frame.lineno} ({frame.name})"


class CrashReporter(QObject):
    """Lives on the GUI thread; ``report`` may be called from any thread."""

    _reported = Signal(str, str, str)  # what, where, thread

    def __init__(self, parent_window: Callable[[], QWidget | None] = lambda: None) -> None:
        super().__init__()
        self.parent_window = parent_window
        self.box: QMessageBox | None = None
        self.count = 0
        self._reported.connect(self._show, Qt.ConnectionType.QueuedConnection)
        self._previous: tuple[object, object] | None = None

    def report(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None,
               thread: str | None = None) -> None:
        thread = thread or threading.current_thread().name
        log.critical("uncaught exception in thread %s", thread, exc_info=(exc_type, exc, tb))
        what = f"{exc_type.__name__}: {exc}".strip().rstrip(":")
        self._reported.emit(what, where(tb), thread)

    def _show(self, what: str, place: str, thread: str) -> None:
        self.count += 1
        text = _("Something went wrong: {what}\nWhere: {where} (thread {thread})\n\n"
                 "The console keeps running. The details are in the log file:\n{log}").format(
                     what=what, where=place, thread=thread, log=logfile.log_path())
        if self.box is not None and self.box.isVisible():  # a burst: one dialog, the latest error
            self.box.setText(text + "\n\n" + _("({n} errors so far)").format(n=self.count))
            return
        box = QMessageBox(QMessageBox.Icon.Critical, _("Unexpected error"), text,
                          QMessageBox.StandardButton.Ok, self.parent_window())
        box.setObjectName("crash-dialog")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.destroyed.connect(lambda *_a: setattr(self, "box", None))
        self.box = box
        box.show()

    # -- the hooks ---------------------------------------------------------------------------
    def _excepthook(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        self.report(exc_type, exc, tb)

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None or issubclass(args.exc_type, SystemExit):
            return
        self.report(args.exc_type, args.exc_value, args.exc_traceback,
                    args.thread.name if args.thread is not None else None)

    def install(self) -> CrashReporter:
        self._previous = (sys.excepthook, threading.excepthook)
        sys.excepthook = self._excepthook
        threading.excepthook = self._thread_hook
        return self

    def uninstall(self) -> None:
        if self._previous is not None:
            sys.excepthook, threading.excepthook = self._previous  # type: ignore[assignment]
            self._previous = None


def install(parent_window: Callable[[], QWidget | None] = lambda: None) -> CrashReporter:
    """Install the hooks for this process (the console, ``cmd_run``)."""
    reporter = CrashReporter(parent_window)
    app = QApplication.instance()
    if app is not None:
        reporter.setParent(app)
    return reporter.install()
