"""The map's depot and shelter layer: what ``supplies.map_layers`` reads, sent to the map page.

Attached to the map panel (one line there); it reads in the background when the map is first
shown and whenever stock, a depot or a shelter changes (change feed), and sends the newest layer
again when the page is loaded anew (a restarted renderer).
"""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtCore import QObject

from dispatch_console.supplies import map_layers
from dispatch_console.supplies.stock import load_catalogue
from ui.shell.context import UiContext

ENTITIES = {"stock", "depot", "shelter", "database"}


class PlacesLayer(QObject):
    def __init__(self, ui: UiContext, map_panel: Any) -> None:
        super().__init__(map_panel)
        self.ui = ui
        self.map = map_panel
        self.catalogue, _errors = load_catalogue(ui.console.resources)
        self.op: dict[str, Any] | None = None
        self.busy = False
        self.stale = False
        self.sent = 0
        map_panel.bridge.page_ready.connect(self._send)
        ui.feed.changed.connect(self._on_changes)
        self.reload()

    def reload(self) -> None:
        if self.busy:
            self.stale = True
            return
        self.busy = True
        db, catalogue = self.ui.console.db, self.catalogue

        def done(places: map_layers.Places) -> None:
            self.busy = False
            self.op = places.as_op()
            self._send()
            if self.stale:
                self.stale = False
                self.reload()

        def failed(_exc: BaseException) -> None:
            self.busy = False

        self.ui.runner.run(lambda: map_layers.places(db, catalogue), on_success=done, on_failure=failed)

    def _on_changes(self, changes: list[Any]) -> None:
        if {c.entity for c in changes} & ENTITIES:
            self.reload()

    def _send(self) -> None:
        # A read that ends after the map was shut down (its bridge and page are gone) sends nothing.
        if self.op is not None and self.map.page_loaded and shiboken6.isValid(self.map.bridge):
            self.sent = self.map.bridge.send([self.op])
