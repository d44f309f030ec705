"""One way to run database work off the GUI thread and get back to it.

``runner.run(fn, on_success=…, on_failure=…)`` runs ``fn()`` on a worker thread of a
QThreadPool; its result or exception is delivered on the main thread. ``run_on_main(fn)`` is the
one way for any other thread (the change feed, the timer engine) to reach the GUI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)


class _Relay(QObject):
    """Lives on the main thread; signals emitted from a worker are queued to it."""

    succeeded = Signal(object)
    failed = Signal(object)


class _Job(QRunnable):
    def __init__(self, fn: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self.fn = fn
        self.relay = relay
        self.setAutoDelete(True)

    def run(self) -> None:
        try:
            result = self.fn()
        except BaseException as exc:  # delivered to the main thread, never swallowed
            self.relay.failed.emit(exc)
        else:
            self.relay.succeeded.emit(result)


class MainThreadInvoker(QObject):
    """Calls a function on the thread this object lives on (the GUI thread)."""

    _call = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._call.connect(self._invoke)

    def __call__(self, fn: Callable[[], Any]) -> None:
        self._call.emit(fn)

    @Slot(object)
    def _invoke(self, fn: Callable[[], Any]) -> None:
        try:
            fn()
        except Exception:
            log.exception("main-thread call failed")


def _deliver(callback: Callable[[Any], None], value: Any) -> None:
    """Call back on the main thread; a widget closed while its work ran simply misses the result."""
    try:
        callback(value)
    except RuntimeError as exc:
        if "already deleted" not in str(exc):
            raise
        log.debug("result for a closed widget dropped: %s", exc)


class BackgroundRunner(QObject):
    """Runs operations off the GUI thread; ``busy_changed`` tells the status bar."""

    busy_changed = Signal(int)

    def __init__(self, parent: QObject | None = None, max_threads: int = 4) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._relays: set[_Relay] = set()
        self.default_failure: Callable[[BaseException], None] | None = None
        self.run_on_main = MainThreadInvoker(self)

    @property
    def pending(self) -> int:
        return len(self._relays)

    def run(
        self,
        fn: Callable[[], Any],
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> None:
        relay = _Relay()
        self._relays.add(relay)

        def finish() -> None:
            self._relays.discard(relay)
            relay.deleteLater()
            try:
                self.busy_changed.emit(len(self._relays))
            except RuntimeError as exc:  # the window (and this runner) closed while the work ran
                if "deleted" not in str(exc):
                    raise

        def succeeded(result: Any) -> None:
            finish()
            if on_success is not None:
                _deliver(on_success, result)

        def failed(exc: BaseException) -> None:
            finish()
            handler = on_failure or self.default_failure
            if handler is not None:
                _deliver(handler, exc)
            else:
                log.error("background operation failed", exc_info=exc)

        relay.succeeded.connect(succeeded)
        relay.failed.connect(failed)
        self.busy_changed.emit(len(self._relays))
        self.pool.start(_Job(fn, relay))

    def wait_idle(self, msecs: int = 10000) -> bool:
        """For tests and shutdown: wait for the workers (results still need the event loop)."""
        return bool(self.pool.waitForDone(msecs))
