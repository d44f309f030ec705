"""The change feed as Qt signals on the GUI thread."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from dispatch_console.kernel.changefeed import Change, ChangeFeed
from dispatch_console.kernel.console import ConsoleContext


class QtChangeFeed(QObject):
    """Emits ``changed(list[Change])`` on the GUI thread for every batch of committed changes.

    Views take the batches through the console's change router (``ui.router``,
    ui/shell/change_router.py): the changed incidents' rows, read once for all of them, or only
    the batches that name the entities they registered.
    """

    changed = Signal(list)
    connection_changed = Signal(bool)
    _handled = Signal(int)  # after ``changed``: the batch's last seq, once its receivers have run

    def __init__(self, console: ConsoleContext, parent: QObject | None = None,
                 start_seq: int | None = None) -> None:
        super().__init__(parent)
        self._feed = ChangeFeed(console.db, self._deliver, start_seq=start_seq,
                                name=f"change-feed-{console.station}")
        self._feed.on_state = self.connection_changed.emit
        self._handled_seq = 0
        self._handled.connect(self._note_handled)

    @property
    def last_seq(self) -> int:
        """The last change the GUI thread has handed to every receiver (the feed's own thread may
        have read further: its batches wait in the event queue until the GUI thread gets to them)."""
        return self._handled_seq

    def _note_handled(self, seq: int) -> None:
        self._handled_seq = max(self._handled_seq, seq)

    @property
    def core(self) -> ChangeFeed:
        return self._feed

    def _deliver(self, changes: list[Change]) -> None:
        self.changed.emit(changes)  # queued to the GUI thread: the receivers live there
        if changes:  # queued behind the batch, so it is handled after every receiver has run
            self._handled.emit(changes[-1].seq)

    def start(self) -> None:
        self._feed.start()
        self._handled_seq = max(self._handled_seq, self._feed.start_seq)

    def stop(self) -> None:
        self._feed.stop()


def ids_of(changes: list[Change], entity: str) -> set[int]:
    """The ids of one entity that a batch names (the incidents' own: ``change_router.changed_incident_ids``)."""
    return {c.entity_id for c in changes if c.entity == entity and c.entity_id is not None}
