"""The change feed as Qt signals on the GUI thread."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from dispatch_console.changefeed import Change, ChangeFeed
from dispatch_console.console import ConsoleContext


class QtChangeFeed(QObject):
    """Emits ``changed(list[Change])`` on the GUI thread for every batch of committed changes.

    ``changed_entities`` carries the set of entity names too, so a panel can ignore batches that
    do not concern it without looking at each change.
    """

    changed = Signal(list)
    connection_changed = Signal(bool)

    def __init__(self, console: ConsoleContext, parent: QObject | None = None,
                 start_seq: int | None = None) -> None:
        super().__init__(parent)
        self._feed = ChangeFeed(console.db, self._deliver, start_seq=start_seq,
                                name=f"change-feed-{console.station}")
        self._feed.on_state = self.connection_changed.emit

    @property
    def last_seq(self) -> int:
        return self._feed.last_seq

    @property
    def core(self) -> ChangeFeed:
        return self._feed

    def _deliver(self, changes: list[Change]) -> None:
        self.changed.emit(changes)  # queued to the GUI thread: the receivers live there

    def start(self) -> None:
        self._feed.start()

    def stop(self) -> None:
        self._feed.stop()


def ids_of(changes: list[Change], entity: str) -> set[int]:
    return {c.entity_id for c in changes if c.entity == entity and c.entity_id is not None}
