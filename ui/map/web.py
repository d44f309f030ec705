"""The map page as Python sees it: the HTML around pyqtlet2's Leaflet, palettes, labels, batches.

Leaflet is the copy bundled inside the pyqtlet2 package, loaded from local files; ``page/`` holds
our HTML, CSS and JavaScript. Batches are lists of operations (``areas``, ``incidents``, ``units``,
``grid_counts``, ``select``, ``theme`` …) that :class:`~ui.map.bridge.MapBridge` sends as JSON.
"""

from __future__ import annotations

import atexit
import html
import logging
import weakref
from importlib.util import find_spec
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import urlparse

import shiboken6
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QWidget

from dispatch_console import incidents as incident_room
from dispatch_console.kernel.categories import Catalog
from dispatch_console.kernel.i18n import C_, _
from ui.cases.map_layer import case_labels
from ui.map.tiles import TileConfig
from ui.shell import theme

log = logging.getLogger(__name__)

PAGE_DIR = Path(__file__).parent / "page"

# Calm sequential scales for "open incidents per grid" (0, 1, 2, 3–4, 5+), per theme.
GRID_LIMITS = [0, 1, 2, 3, 5]
_PALETTES: dict[str, dict[str, Any]] = {
    "light": {"background": "#eef0ec", "grid_scale": ["#f4f6f3", "#d7e7ee", "#aed0e1", "#7eb2cf", "#4f8db7"],
              "grid_fill_opacity": 0.75, "grid_outline": "#98a4ae", "community_outline": "#55626c",
              "marker_outline": "#ffffff", "highlight": "#1f2328", "unit": "#2e7d32"},
    "dark": {"background": "#1a1f25", "grid_scale": ["#232a31", "#24394a", "#2a5067", "#326985", "#3d86a6"],
             "grid_fill_opacity": 0.85, "grid_outline": "#4a5661", "community_outline": "#9aabbb",
             "marker_outline": "#111418", "highlight": "#fafafa", "unit": "#81c784"},
}

# The case mode (ui/cases/map_layer): open cases per grid (0, 1, 2, 3–4, 5+) in a warm scale apart
# from the incidents' blues; a grid with a high-risk or 可能激化 case is outlined in the emphasis colour.
_CASE_PALETTES: dict[str, dict[str, Any]] = {
    "light": {"case_scale": ["#f7f4ee", "#fbe3c0", "#f6bf85", "#ec9150", "#d4622a"], "case_fill_opacity": 0.8,
              "case_emphasis": "#b71c1c"},
    "dark": {"case_scale": ["#262a2f", "#4a3a26", "#6e4a26", "#935a27", "#b86a2a"], "case_fill_opacity": 0.85,
             "case_emphasis": "#ff6e6e"},
}


def leaflet_dir() -> Path:
    """The Leaflet copy that ships inside the pyqtlet2 package (found without importing it)."""
    spec = find_spec("pyqtlet2")
    if spec is None or spec.origin is None:
        raise RuntimeError("pyqtlet2 is not installed")
    return Path(spec.origin).parent / "web" / "modules" / "leaflet_193"


def palette(name: str) -> dict[str, Any]:
    out = dict(_PALETTES.get(name, _PALETTES["light"]))
    out["grid_limits"] = GRID_LIMITS
    out.update(_CASE_PALETTES.get(name, _CASE_PALETTES["light"]))
    out["severity"] = {str(s): theme.severity_colours(s, name)[0].name() for s in (1, 2, 3, 4)}
    out["severity_text"] = {str(s): theme.severity_colours(s, name)[1].name() for s in (1, 2, 3, 4)}
    out["drill"] = theme.drill_colour(name).name()
    return out


def page_html(tiles: TileConfig, theme_name: str) -> str:
    lib = leaflet_dir()
    img_src = {"file": "file:", "mbtiles": "mbtiles:"}.get(tiles.kind, "")
    if tiles.kind == "http":  # the tile server's origin only
        parsed = urlparse(tiles.url.replace("{", "").replace("}", ""))
        img_src = html.escape(f"{parsed.scheme}://{parsed.netloc}", quote=True)
    return Template((PAGE_DIR / "map.html").read_text(encoding="utf-8")).substitute(
        leaflet_css=(lib / "leaflet.css").as_uri(), leaflet_js=(lib / "leaflet.js").as_uri(),
        map_css=(PAGE_DIR / "map.css").as_uri(), map_js=(PAGE_DIR / "map.js").as_uri(),
        img_src=img_src, theme="dark" if theme_name == "dark" else "light")


def page_labels(catalog: Catalog) -> dict[str, Any]:
    labels: dict[str, Any] = {
        "legend": _("Legend"), "legend_toggle": _("Show or hide the legend"),
        "severity": _("Severity"), "drill": _("Drill"), "unit": _("Unit (known position)"),
        "grid_scale": _("Open incidents per grid"), "open_incidents": _("Open incidents"),
        "grid_scale_steps": ["0", "1", "2", "3–4", "5+"],
        "below_minimum": _("Below minimum stock"), "stock_ok": _("Stock above minimum"),
        "free_places": _("free places"),
        # one letter on the depot and shelter icons
        "depot_mark": C_("depot mark", "S"), "shelter_mark": C_("shelter mark", "H"),
        "depot": _("Supplies depot"), "depot_low": _("Depot below minimum"), "shelter_open": _("Shelter open"),
        "shelter_full": _("Shelter full"), "shelter_closed": _("Shelter closed"),
        "warning_areas": _("Official warning in force"),
        "warning_blue": _("blue"), "warning_yellow": _("yellow"), "warning_orange": _("orange"),
        "warning_red": _("red"),
        **case_labels(),
    }
    for s in (1, 2, 3, 4):
        labels[f"severity_{s}"] = catalog.severity_label(s)
    return labels


def snapshot_ops(snapshot: incident_room.MapSnapshot, *, fit: bool = True) -> list[dict[str, Any]]:
    """The operations that draw a whole snapshot (the first batch, or after boundaries changed)."""
    ops: list[dict[str, Any]] = [
        {"op": "areas", "communities": snapshot.communities, "grids": snapshot.grids},
        {"op": "incidents", "reset": True, "upsert": [m.as_json() for m in snapshot.incidents], "remove": []},
        {"op": "units", "reset": True, "upsert": [u.as_json() for u in snapshot.units], "remove": []},
    ]
    if fit:
        ops.append({"op": "fit"})
    return ops


live_views: weakref.WeakSet[QWebEngineView] = weakref.WeakSet()


def delete_view(view: QWebEngineView) -> None:
    """Delete a map view and its page (a child) now, before the web engine profile goes away."""
    if shiboken6.isValid(view):
        shiboken6.delete(view)


@atexit.register
def delete_views_before_profile() -> None:
    """A page still alive when the web engine profile goes away crashes the process at exit."""
    for view in list(live_views):
        delete_view(view)


def incident_ops(upsert: list[incident_room.IncidentMarker], remove: list[int] | None = None) -> list[dict[str, Any]]:
    """One batch that adds/redraws ``upsert`` and takes ``remove`` off the map."""
    return [{"op": "incidents", "upsert": [m.as_json() for m in upsert], "remove": list(remove or [])}]


class MapPage(QWebEnginePage):
    """The page, keeping what its JavaScript console said (diagnostics, tests)."""

    def __init__(self, profile: QWebEngineProfile, parent: QWidget | None = None) -> None:
        super().__init__(profile, parent)
        self.console_messages: list[str] = []

    def javaScriptConsoleMessage(self, level: QWebEnginePage.JavaScriptConsoleMessageLevel,
                                 message: str, line: int, source: str) -> None:
        text = f"{source}:{line}: {message}"
        self.console_messages = [*self.console_messages[-49:], text]
        if level == QWebEnginePage.JavaScriptConsoleMessageLevel.ErrorMessageLevel:
            log.warning("map page: %s", text)
