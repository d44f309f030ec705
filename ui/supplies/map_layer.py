"""The map's depot and shelter layer: what ``supplies.map_layers`` reads, sent to the map page.

Attached to the map panel (one line there); it reads in the background when the map is first
shown and whenever stock, a depot or a shelter changes (change feed), and sends the newest layer
again when the page is loaded anew (a restarted renderer) — the shared ``ui.shell.map_layer``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dispatch_console import supplies
from dispatch_console.supplies import load_catalogue
from ui.shell.context import UiContext
from ui.shell.map_layer import FeedMapLayer


class PlacesLayer(FeedMapLayer):
    entities = frozenset({"stock", "depot", "shelter", "database"})

    def __init__(self, ui: UiContext, map_panel: Any) -> None:
        super().__init__(ui, map_panel)
        self.catalogue, _errors = load_catalogue(ui.console.resources)
        self.start()

    def job(self) -> Callable[[], supplies.Places]:
        db, catalogue = self.ui.console.db, self.catalogue
        return lambda: supplies.places(db, catalogue)
