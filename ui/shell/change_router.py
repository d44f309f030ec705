"""One change router per console: each batch of the change feed is read once, and handed on.

The change feed says *what* changed (entity, id, and for a timer its incident); the views need
the changed incidents' rows. Without a router every view read them for itself — the queue its
rows, the alarm its list, the map its markers and counts — several reads per new incident at
every console. The router reads the changed incidents once, in one transaction
(:func:`dispatch_console.incidents.changed.read_changed`), and hands the rows to every view that
registered for them; views that care about other entities register those and get the changes
themselves, only when a batch names one of them.

- :meth:`on_rows` — the changed incidents' fresh rows (queue, map, alarm, detail);
- :meth:`on_changes` — the batch itself, when it names one of the given entities;
- :meth:`follow_query` — the queue says which filter the rows are split by (``matching`` the
  filter or ``other``); with no queue, the open queue's;
- :meth:`refresh` — read these incidents again (after an action, or when a read came back
  under a filter that has changed since).

An incident changed while a read runs waits for the next read (one read at a time, gathered on
the next turn of the event loop), so a surge of changes costs one read per turn, not per change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import Any

from PySide6.QtCore import QObject, QTimer

from dispatch_console.incidents import ChangedIncidents, QueueQuery, read_changed
from dispatch_console.kernel.change_kinds import INCIDENT_ROWS, Entity, entities
from dispatch_console.kernel.changefeed import Change
from dispatch_console.kernel.console import ConsoleContext
from ui.shell.background import BackgroundRunner
from ui.shell.feed import QtChangeFeed

log = logging.getLogger(__name__)

RETRY_MS = 2000
RowReceiver = Callable[[ChangedIncidents, Any], None]  # (the rows, the tag of the query they were read under)
ChangeReceiver = Callable[[list[Change]], None]
QueryProvider = Callable[[], tuple[Any, QueueQuery]]
INCIDENT_CHANGES = frozenset({*INCIDENT_ROWS, Entity.TIMER})  # what can change an incident's rows


def changed_incident_ids(changes: list[Change]) -> set[int]:
    """The incidents a batch changes: incidents and their checklists by id, timers by their incident."""
    ids: set[int] = set()
    for c in changes:
        if c.entity in INCIDENT_ROWS and c.entity_id is not None:
            ids.add(int(c.entity_id))
        elif c.entity == Entity.TIMER and c.incident_id is not None:
            ids.add(int(c.incident_id))
    return ids


class ChangeRouter(QObject):
    def __init__(self, console: ConsoleContext, runner: BackgroundRunner, feed: QtChangeFeed,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.console = console
        self.runner = runner
        self._row_receivers: list[tuple[RowReceiver, bool]] = []
        self._change_receivers: list[tuple[frozenset[str], ChangeReceiver]] = []
        self._query: QueryProvider = lambda: (None, QueueQuery(open_only=True))
        self._dirty: set[int] = set()
        self._reading = False
        self.reads = 0  # shared reads made (tests, the status of a busy console)
        self._coalesce = QTimer(self)
        self._coalesce.setSingleShot(True)
        self._coalesce.setInterval(0)
        self._coalesce.timeout.connect(self._read)
        feed.changed.connect(self._on_changes)

    # -- registering ----------------------------------------------------------------------------
    def on_rows(self, receiver: RowReceiver, *, map_counts: bool = False) -> None:
        """Hand ``receiver`` the fresh rows of every changed incident; with ``map_counts``, the
        read also counts the open incidents per grid and in all."""
        self._row_receivers.append((receiver, map_counts))

    def on_changes(self, wanted: Collection[str], receiver: ChangeReceiver) -> None:
        """Hand ``receiver`` each batch that names one of the ``wanted`` entities."""
        self._change_receivers.append((frozenset(str(e) for e in wanted), receiver))

    def follow_query(self, provider: QueryProvider) -> None:
        """The queue's filter (and a tag the rows come back with): rows are split by it."""
        self._query = provider

    # -- reading --------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """A read is running or waiting."""
        return self._reading or bool(self._dirty)

    def refresh(self, ids: Collection[int]) -> None:
        """Read these incidents again and hand their rows on (gathered, one read at a time)."""
        if not ids:
            return
        self._dirty |= set(ids)
        if not self._reading:
            self._coalesce.start()

    def _on_changes(self, changes: list[Change]) -> None:
        named = entities(changes)
        for wanted, receiver in list(self._change_receivers):
            if wanted & named:
                try:
                    receiver(changes)
                except RuntimeError as exc:  # its widget was closed and deleted meanwhile
                    if "already deleted" not in str(exc):
                        raise
        if self._row_receivers:
            self.refresh(changed_incident_ids(changes))

    def _read(self) -> None:
        if self._reading or not self._dirty:
            return
        ids, self._dirty = self._dirty, set()
        self._reading = True
        tag, query = self._query()
        counts = any(wants for _receiver, wants in self._row_receivers)
        db = self.console.db
        self.reads += 1
        self.runner.run(lambda: read_changed(db, query, ids, map_counts=counts),
                        on_success=lambda batch: self._read_done(batch, tag),
                        on_failure=lambda exc: self._read_failed(ids, exc))

    def _read_done(self, batch: ChangedIncidents, tag: Any) -> None:
        self._reading = False
        for receiver, _counts in list(self._row_receivers):
            try:
                receiver(batch, tag)
            except RuntimeError as exc:
                if "already deleted" not in str(exc):
                    raise
            except Exception:  # one view's fault must not keep the rows from the others
                log.exception("a view failed to take the changed incidents")
        if self._dirty:
            self._coalesce.start()

    def _read_failed(self, ids: set[int], exc: BaseException) -> None:
        self._reading = False
        self._dirty |= ids
        log.warning("reading the changed incidents failed: %s", exc)
        QTimer.singleShot(RETRY_MS, self, self._read)
