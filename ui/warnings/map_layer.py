"""The map's layer of official warnings in force: what ``warnings.map_layers`` reads, sent to the map page.

Attached to the map panel (one line there), like the supplies' depot layer: read in the
background when the map is shown and whenever a CAP message or a warning changes (change feed),
and sent again when the page is loaded anew (a restarted renderer).
"""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtCore import QObject

from dispatch_console.warnings import map_layers
from ui.shell.context import UiContext

ENTITIES = {"cap_message", "warning", "database"}


class WarningAreasLayer(QObject):
    def __init__(self, ui: UiContext, map_panel: Any) -> None:
        super().__init__(map_panel)
        self.ui = ui
        self.map = map_panel
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
        db = self.ui.console.db

        def done(areas: map_layers.WarningAreas) -> None:
            self.busy = False
            self.op = areas.as_op()
            self._send()
            if self.stale:
                self.stale = False
                self.reload()

        def failed(_exc: BaseException) -> None:
            self.busy = False

        self.ui.runner.run(lambda: map_layers.warning_areas(db), on_success=done, on_failure=failed)

    def _on_changes(self, changes: list[Any]) -> None:
        if {c.entity for c in changes} & ENTITIES:
            self.reload()

    def _send(self) -> None:
        # A read that ends after the map was shut down (its bridge and page are gone) sends nothing.
        if self.op is not None and self.map.page_loaded and shiboken6.isValid(self.map.bridge):
            self.sent = self.map.bridge.send([self.op])
