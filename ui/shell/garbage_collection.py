"""Python's garbage collector, run where and when it cannot freeze the console.

CPython collects reference cycles in whichever thread happens to allocate, holding the interpreter
lock throughout, and a full collection walks every object the process has (~170,000 once the
console is up). Measured in the surge benchmark: a 98 ms full collection ran in a database thread
while the GUI thread waited for the lock; the queue froze for 96 ms, the longest stall of the run,
in the same place run after run. A Qt wrapper collected in a worker thread also deletes its
QObject outside the thread that owns it.

So once the console has started, :class:`GarbageCollector`:

- freezes what is alive then (``gc.freeze``): modules, classes, the windows and their widgets,
  the catalogue — they stay for the whole shift, and no collection walks them again;
- turns automatic collection off and collects on the GUI thread instead, from a timer, between
  events: the youngest generation when enough was allocated since the last check, the middle one
  every tenth time, the oldest every tenth of those (CPython's own rhythm and thresholds).

This is the approach of pyqtgraph's ``GarbageCollector``, plus the freeze; pyqtgraph itself is not
imported for it, which would load numpy into every console for twenty lines.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer


class GarbageCollector(QObject):
    """Collects on the GUI thread every ``interval_ms`` what CPython's thresholds say is due."""

    def __init__(self, interval_ms: int = 200, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        self.collections = [0, 0, 0]  # how many of each generation this collector ran
        self._was_enabled = gc.isenabled()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.collect_due)

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def start(self) -> None:
        """Freeze what is alive now and take collection over (call once the console is up)."""
        if self.running:
            return
        self._was_enabled = gc.isenabled()
        gc.collect()  # what is already garbage is not frozen with the rest
        gc.freeze()
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        """Give collection back to CPython (what was frozen stays frozen: it lives on anyway)."""
        if not self.running:
            return
        self._timer.stop()
        if self._was_enabled:
            gc.enable()

    def collect_due(self) -> None:
        generation = collect_due(self.threshold)
        if generation is not None:
            self.collections[generation] += 1


def collect_due(threshold: tuple[int, int, int]) -> int | None:
    """Collect, in the calling thread, the generation CPython's ``threshold`` says is due, if any.

    The test suite calls it at each test's teardown, with automatic collection off for the whole
    session, for the same reasons as the console (one full collection per test walked the whole
    suite's heap, ~0.1–0.3 s, 1,800 times).
    """
    young, middle, old = gc.get_count()
    if young <= threshold[0]:
        return None
    generation = 0
    if middle > threshold[1]:
        generation = 2 if old > threshold[2] else 1
    gc.collect(generation)
    return generation
