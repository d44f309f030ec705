"""The one object the map page talks to (QWebChannel): batches go in, clicks and acks come out.

Python → page: :meth:`MapBridge.send` serialises a list of operations as one JSON text and emits
``batch``; the page parses it (never evaluates it) and answers ``ack(seq)`` once drawn.
Page → Python: ``pageReady``, ``markerClicked``, ``gridClicked``, ``unitClicked``, ``ack``, and
``layerToggled`` (a layer switched on or off in the page's layer control, by its name).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

log = logging.getLogger(__name__)


class MapBridge(QObject):
    # to the page
    batch = Signal(str)
    # to the panel
    page_ready = Signal()
    incident_clicked = Signal(int)
    grid_clicked = Signal(int)
    unit_clicked = Signal(int)
    acknowledged = Signal(int)
    layer_toggled = Signal(str, bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.seq = 0
        self.acked = 0
        self.page_loads = 0
        self.sent_batches = 0

    def send(self, ops: list[dict[str, Any]]) -> int:
        """Send one batch of operations to the page; returns its seq (see ``acked``)."""
        self.seq += 1
        self.sent_batches += 1
        self.batch.emit(json.dumps({"seq": self.seq, "ops": ops}, ensure_ascii=False, allow_nan=False))
        return self.seq

    # -- called by the page ------------------------------------------------------------------
    @Slot(int)
    def pageReady(self, loads: int) -> None:
        self.page_loads += 1
        log.debug("map page ready (page-side load %s)", loads)
        self.page_ready.emit()

    @Slot(int)
    def markerClicked(self, incident_id: int) -> None:
        self.incident_clicked.emit(int(incident_id))

    @Slot(int)
    def gridClicked(self, grid_id: int) -> None:
        self.grid_clicked.emit(int(grid_id))

    @Slot(int)
    def unitClicked(self, unit_id: int) -> None:
        self.unit_clicked.emit(int(unit_id))

    @Slot(int)
    def ack(self, seq: int) -> None:
        self.acked = max(self.acked, int(seq))
        self.acknowledged.emit(int(seq))

    @Slot(str, bool)
    def layerToggled(self, name: str, on: bool) -> None:
        self.layer_toggled.emit(str(name)[:64], bool(on))

    @Slot(str)
    def report(self, message: str) -> None:
        """Errors the page caught while drawing a batch."""
        log.warning("map page: %s", message[:500])
