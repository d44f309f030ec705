"""A map layer that follows the change feed: read in the background, sent to the map page as one op.

The rooms' layers on the grid map (the supplies' depots and shelters, the official warnings in
force, the grids coloured by open cases) are each one subclass: the entities whose changes make
it read again, and the read itself (run on a worker; it returns something with ``as_op()``). The
layer reads when the map is built and whenever the change feed names one of its entities, one
read at a time (a change during a read asks for one more read after it), and sends the newest op
again when the page is loaded anew (a restarted renderer).

A read may also say when what it shows goes stale by itself, with no change to announce it (an
official warning's ``expires``): a ``refresh_in`` attribute of seconds on the database clock. The
layer then arms one timer for that moment and reads again when it rings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import shiboken6
from PySide6.QtCore import QObject, QTimer

from ui.shell.context import UiContext

MAX_TIMER_S = 6 * 3600.0  # a far refresh is armed in steps (QTimer counts in 32-bit milliseconds)
REFRESH_SLACK_S = 0.5     # read just after the moment, so that the database clock has passed it


class LayerRead(Protocol):
    def as_op(self) -> dict[str, Any]: ...


class FeedMapLayer(QObject):
    """One room's layer on the map panel (anything with ``bridge`` and ``page_loaded``)."""

    entities: frozenset[str] = frozenset({"database"})

    def __init__(self, ui: UiContext, map_panel: Any) -> None:
        super().__init__(map_panel)
        self.ui = ui
        self.map = map_panel
        self.op: dict[str, Any] | None = None
        self.busy = False
        self.stale = False
        self.sent = 0
        self.reads = 0
        self.timed_reads = 0  # reads started by the refresh timer, not by a change
        self.refresh_timer = QTimer(self)
        self.refresh_timer.setSingleShot(True)
        self.refresh_timer.timeout.connect(self._on_refresh_due)
        map_panel.bridge.page_ready.connect(self._send)
        ui.feed.changed.connect(self._on_changes)

    def start(self) -> None:
        """The first read; subclasses call it at the end of their ``__init__``."""
        self.reload()

    # -- what a subclass says ------------------------------------------------------------------
    def job(self) -> Callable[[], LayerRead]:
        """The read, as a function a worker thread runs (no Qt objects inside)."""
        raise NotImplementedError

    def active(self) -> bool:
        """Whether the layer reads at all (a mode switched off reads nothing)."""
        return True

    # -- reading -------------------------------------------------------------------------------
    def reload(self) -> None:
        if not self.active():
            return
        if self.busy:
            self.stale = True
            return
        self.busy = True
        self.reads += 1
        job = self.job()

        def done(result: LayerRead) -> None:
            self.busy = False
            if not shiboken6.isValid(self):
                return
            self.op = result.as_op()
            self._arm(getattr(result, "refresh_in", None))
            self._send()
            if self.stale:
                self.stale = False
                self.reload()

        def failed(_exc: BaseException) -> None:
            self.busy = False

        self.ui.runner.run(job, on_success=done, on_failure=failed)

    def _arm(self, seconds: float | None) -> None:
        if seconds is None:
            self.refresh_timer.stop()
            return
        wait = min(max(0.0, float(seconds)) + REFRESH_SLACK_S, MAX_TIMER_S)
        self.refresh_timer.start(int(wait * 1000))

    def _on_refresh_due(self) -> None:
        self.timed_reads += 1
        self.reload()

    def _on_changes(self, changes: list[Any]) -> None:
        if {c.entity for c in changes} & self.entities:
            self.reload()

    def _send(self) -> None:
        # A read that ends after the map was shut down (its bridge and page are gone) sends nothing.
        if self.op is not None and self.map.page_loaded and shiboken6.isValid(self.map.bridge):
            self.sent = self.map.bridge.send([self.op])
