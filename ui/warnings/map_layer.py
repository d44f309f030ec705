"""The map's layer of official warnings in force: what ``warnings.map_layers`` reads, sent to the map page.

Attached to the map panel (one line there), like the supplies' depot layer: read in the
background when the map is shown and whenever a CAP message or a warning changes (change feed),
sent again when the page is loaded anew (a restarted renderer), and read again when the next
warning in force expires — an expiry announces itself with no change, so the layer's refresh
timer (``ui.shell.map_layer``) is armed for the earliest ``expires`` of what it drew.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dispatch_console.warnings import WarningAreas, warning_areas
from ui.shell.context import UiContext
from ui.shell.map_layer import FeedMapLayer


class WarningAreasLayer(FeedMapLayer):
    entities = frozenset({"cap_message", "warning", "database"})

    def __init__(self, ui: UiContext, map_panel: Any) -> None:
        super().__init__(ui, map_panel)
        self.start()

    def job(self) -> Callable[[], WarningAreas]:
        db = self.ui.console.db
        return lambda: warning_areas(db)
