"""The grid map dock (网格地图): communities, grids coloured by open incidents, incident markers, units.

Leaflet comes from the pyqtlet2 package (its bundled copy, loaded from local files); the page is
our own (``ui/map/page``) and talks to Python only through one :class:`~ui.map.bridge.MapBridge`
on a QWebChannel. Nothing is fetched from the network unless a site configures intranet tiles.
The page loads once; afterwards every change-feed batch becomes one JSON batch to the page that
adds, moves, restyles or removes just the markers and grids that changed.

Below the map one card shows what was clicked last: a grid (一格三员, open incidents) or a unit
(kind, status, contact, position, the incident it is on, with a way to select that incident). The
unit card follows its unit and that incident through the change feed while it is open.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWebChannel import QWebChannel
from PySide6.QtWebEngineCore import QWebEngineProfile, QWebEngineSettings
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dispatch_console import incidents as incident_room
from dispatch_console import jurisdiction
from dispatch_console.incidents import ChangedIncidents, grid_open_scope
from dispatch_console.kernel.categories import load_catalog
from dispatch_console.kernel.change_kinds import Entity
from dispatch_console.kernel.errors import DispatchError, NotFound
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.timefmt import fmt_duration
from ui.cases.map_layer import CaseGridsLayer
from ui.map.bridge import MapBridge
from ui.map.tiles import TileConfig, default_view, load_tile_config, mbtiles_handler
from ui.map.web import (
    PAGE_DIR,
    MapPage,
    delete_view,
    incident_ops,
    live_views,
    page_html,
    page_labels,
    palette,
    snapshot_ops,
)
from ui.shell import settings, theme
from ui.shell.context import UiContext
from ui.supplies.map_layer import PlacesLayer
from ui.warnings.map_layer import WarningAreasLayer

log = logging.getLogger(__name__)

WATCHED = frozenset({Entity.INCIDENT, Entity.UNIT, Entity.AREA, Entity.DATABASE})
INCIDENT_ID_ROLE = Qt.ItemDataRole.UserRole + 1
AGE_TICK_MS = 30000  # how often the unit card's "assigned … ago" moves on


class MapPanel(QDockWidget):
    screenshot_name = "map"

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(_("Grid map"), parent)
        self.setObjectName("map")
        self.default_area = Qt.DockWidgetArea.RightDockWidgetArea
        self.ui = ui
        self.catalog = load_catalog(ui.console.resources)
        self.theme_name = theme.current()
        self.tiles, self.tile_problem = self._tile_config()
        self.bridge = MapBridge(self)
        self.page_loaded = False
        self.first_seq = 0  # the batch that draws the first data; ready once the page acked it
        self.marker_ids: set[int] = set()
        self.unit_ids: set[int] = set()
        self.grid_counts: dict[int, int] = {}
        self.open_total = 0
        self._snapshot: incident_room.MapSnapshot | None = None
        self._busy = False
        self._pending_incidents: set[int] = set()
        self._pending_units: set[int] = set()
        self._pending_reload = False
        self._closed = False
        self._clicked = 0
        # the card below the map: which kind it shows, the unit it follows, and a token so that
        # only the answer to the latest request is shown (clicks and changes can overtake)
        self.card_kind = ""  # "", "grid" or "unit"
        self.card_unit_id = 0
        self.unit_card: incident_room.UnitCard | None = None
        self._card_token = 0
        self._db_offset = timedelta(0)  # database clock minus local clock, from the last card read
        self._build()
        self.topLevelChanged.connect(lambda _floating: self.fit_jurisdiction())  # own window, or docked back
        self.bridge.page_ready.connect(self._on_page_ready)
        self.bridge.incident_clicked.connect(self._on_marker_clicked)
        self.bridge.grid_clicked.connect(self.show_grid_card)
        self.bridge.grid_clicked.connect(self.show_grid_incidents)
        self.bridge.unit_clicked.connect(self.show_unit_card)
        ui.selection.changed.connect(self._on_selection)
        ui.router.on_changes(WATCHED, self._on_changes)
        ui.router.on_rows(self._on_rows, map_counts=True)  # the console's one read of changed incidents
        self.places = PlacesLayer(ui, self)  # depots and shelters (ui/supplies), their own layer
        self.warning_areas = WarningAreasLayer(ui, self)  # official warnings in force (ui/warnings)
        self.case_grids = CaseGridsLayer(ui, self)  # the case mode: grids by open cases (ui/cases)
        self._load_page()
        self._busy = True
        self._run(self._snapshot_job(), self._snapshot_loaded)

    # -- construction ------------------------------------------------------------------------
    def _tile_config(self) -> tuple[TileConfig, str]:
        try:
            return load_tile_config(self.ui.console.resources, str(settings.get("map/tile_url") or "")), ""
        except (DispatchError, OSError, ValueError) as exc:
            log.warning("map tiles not used: %s", exc)
            return TileConfig(), str(exc)

    def _build(self) -> None:
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 2, 6, 0)
        self.summary = QLabel(_("Loading the map…"), body)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)  # two lines in a narrow dock, not a dock wider than the window
        self.fit_button = QToolButton(body)
        self.fit_button.setText(_("Whole jurisdiction"))
        self.fit_button.setToolTip(_("Zoom out to every community and grid"))
        self.fit_button.clicked.connect(self.fit_jurisdiction)
        self.detach_action = QAction(_("Map in its own window"), self)
        self.detach_action.setShortcut(QKeySequence("Ctrl+Shift+M"))
        self.detach_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.detach_action.setToolTip(_("Float the map as its own window, e.g. on a second monitor"))
        self.detach_action.triggered.connect(self.toggle_detached)
        self.detach_button = QToolButton(body)
        self.detach_button.setDefaultAction(self.detach_action)
        self.addAction(self.detach_action)
        bar.addWidget(self.summary, 1)
        bar.addWidget(self.fit_button)
        bar.addWidget(self.detach_button)
        layout.addLayout(bar)

        self.view = QWebEngineView(body)
        live_views.add(self.view)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        profile = QWebEngineProfile.defaultProfile()
        if self.tiles.kind == "mbtiles":
            try:
                mbtiles_handler(profile).add(self.tiles)
            except DispatchError as exc:
                self.tile_problem, self.tiles = str(exc), TileConfig()
        self.page = MapPage(profile, self.view)
        s = self.page.settings()
        s.setAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessFileUrls, True)
        s.setAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessRemoteUrls, self.tiles.remote)
        s.setAttribute(QWebEngineSettings.WebAttribute.JavascriptCanOpenWindows, False)
        s.setAttribute(QWebEngineSettings.WebAttribute.PluginsEnabled, False)
        self.page.setBackgroundColor(QColor(palette(self.theme_name)["background"]))
        self.channel = QWebChannel(self.page)
        self.channel.registerObject("bridge", self.bridge)
        self.page.setWebChannel(self.channel)
        self.page.renderProcessTerminated.connect(self._on_renderer_gone)
        self.view.setPage(self.page)
        self.view.setMinimumSize(320, 240)
        layout.addWidget(self.view, 1)

        self.card = QFrame(body)
        self.card.setFrameShape(QFrame.Shape.StyledPanel)
        card_layout = QVBoxLayout(self.card)
        card_layout.setContentsMargins(8, 6, 8, 6)
        head = QHBoxLayout()
        self.card_title = QLabel(self.card)
        self.card_title.setTextFormat(Qt.TextFormat.PlainText)
        font = self.card_title.font()
        font.setBold(True)
        self.card_title.setFont(font)
        self.card_close = QToolButton(self.card)
        self.card_close.setText("×")
        self.card_close.setToolTip(_("Close the grid card"))
        self.card_close.clicked.connect(self.close_card)
        head.addWidget(self.card_title, 1)
        head.addWidget(self.card_close)
        self.card_text = QLabel(self.card)
        self.card_text.setTextFormat(Qt.TextFormat.PlainText)
        self.card_text.setWordWrap(True)
        self.card_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.card_list = QListWidget(self.card)
        self.card_list.setMaximumHeight(120)
        self.card_list.itemActivated.connect(self._on_card_item)
        # the unit card's way to its incident: a button in the tab order and a shortcut on the map
        self.show_incident_action = QAction(_("Show the unit's incident in the queue"), self)
        self.show_incident_action.setShortcut(QKeySequence("Ctrl+Shift+I"))
        self.show_incident_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.show_incident_action.setEnabled(False)
        self.show_incident_action.triggered.connect(self.show_unit_incident)
        self.addAction(self.show_incident_action)
        self.incident_button = QPushButton(self.card)
        self.incident_button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.incident_button.setAutoDefault(False)
        self.incident_button.clicked.connect(self.show_unit_incident)
        self.incident_button.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.incident_button)
        buttons.addStretch(1)
        card_layout.addLayout(head)
        card_layout.addWidget(self.card_text)
        card_layout.addWidget(self.card_list)
        card_layout.addLayout(buttons)
        self.card.hide()
        self.age_timer = QTimer(self)
        self.age_timer.setInterval(AGE_TICK_MS)
        self.age_timer.timeout.connect(self._render_unit_card)
        layout.addWidget(self.card)
        self.setWidget(body)

    def _load_page(self) -> None:
        html = page_html(self.tiles, self.theme_name)
        self.page.setHtml(html, QUrl.fromLocalFile(str(PAGE_DIR / "map.html")))

    def contribute_actions(self, window: Any) -> None:
        menu = getattr(window, "menu_view", None)
        if menu is not None:
            menu.addAction(self.detach_action)
            menu.addAction(self.case_grids.action)

    # -- background work ---------------------------------------------------------------------
    def _run(self, fn: Callable[[], Any], done: Callable[[Any], None]) -> None:
        def failed(exc: BaseException) -> None:
            self._busy = False
            log.error("map update failed", exc_info=exc)
            self.summary.setText(_("The map could not be updated: {error}").format(error=exc))
            self._drain()

        self.ui.runner.run(fn, on_success=done, on_failure=failed)

    def _snapshot_job(self) -> Callable[[], incident_room.MapSnapshot]:
        db, catalog = self.ui.console.db, self.catalog
        return lambda: incident_room.load_snapshot(db, catalog)

    def _snapshot_loaded(self, snapshot: incident_room.MapSnapshot) -> None:
        self._busy = False
        if self._closed:
            return
        self._snapshot = snapshot
        self._pending_reload = False
        if self.page_loaded:
            self._draw_snapshot()
        self._drain()

    def _draw_snapshot(self) -> None:
        snapshot = self._snapshot
        if snapshot is None:
            return
        first = self.first_seq == 0
        ops = snapshot_ops(snapshot, fit=first)
        self.grid_counts = dict(snapshot.grid_counts)
        self.open_total = snapshot.open_total
        self.marker_ids = {m.id for m in snapshot.incidents}
        self.unit_ids = {u.id for u in snapshot.units}
        if self.ui.selection.current:
            # the first view is the whole jurisdiction, every marker in it: no pan into a corner
            ops.append({"op": "select", "id": self.ui.selection.current, "pan": False})
        seq = self.bridge.send(ops)
        if first:
            self.first_seq = seq
        self._snapshot = None
        self._update_summary()

    def _on_page_ready(self) -> None:
        self.page_loaded = True
        lon, lat, zoom = default_view(self.ui.console.resources)
        self.bridge.send([{"op": "config", "labels": page_labels(self.catalog), "theme": self.theme_name,
                           "palette": palette(self.theme_name), "tiles": self.tiles.as_json(),
                           "view": {"lon": lon, "lat": lat, "zoom": zoom}}])
        if self._snapshot is not None:
            self._draw_snapshot()
            self._drain()  # what changed while the page loaded, now rather than with the next change
        elif self.first_seq:  # the page was loaded again (renderer restarted): draw everything again
            self._pending_reload = True
            self._drain()

    def _on_renderer_gone(self, *_args: object) -> None:
        log.warning("map renderer stopped; loading the page again")
        self.page_loaded = False
        if not self._closed:
            self._load_page()

    # -- change feed -------------------------------------------------------------------------
    def _on_changes(self, changes: list) -> None:
        if self.card_kind == "unit" and self.card_unit_id and self._card_affected(changes):
            self._load_unit_card(self.card_unit_id)
        for c in changes:
            if c.entity not in WATCHED:
                continue
            if c.entity in (Entity.AREA, Entity.DATABASE):
                self._pending_reload = True
            elif c.entity == Entity.UNIT and c.entity_id is not None:
                self._pending_units.add(int(c.entity_id))
            # incidents: their rows come from the router (_on_rows), read once for every view
        self._drain()

    def _on_rows(self, batch: ChangedIncidents, _tag: object) -> None:
        """The changed incidents' rows, read by the router: markers and counts without a read."""
        if self._busy or not self.page_loaded or not self.first_seq or batch.map_counts is None:
            self._pending_incidents |= batch.ids  # drawn by a read of its own once the map is free
            self._drain()
            return
        markers = {i: incident_room.marker_of(row, self.catalog)
                   for i in batch.ids if (row := batch.row(i)) is not None}
        upsert = tuple(m for m in markers.values() if m is not None)
        remove = tuple(i for i in sorted(batch.ids) if markers.get(i) is None)
        counts = batch.map_counts
        self._busy = True
        self._updated((incident_room.IncidentUpdate(upsert, remove, counts.grid_counts, counts.open_total), None))

    def _drain(self) -> None:
        """Start the next update if something is pending and nothing is running."""
        if self._busy or not self.page_loaded or not self.first_seq:
            return
        db, catalog = self.ui.console.db, self.catalog
        if self._pending_reload:
            self._pending_reload = False
            self._pending_incidents.clear()
            self._pending_units.clear()
            self._busy = True
            self._run(self._snapshot_job(), self._snapshot_loaded)
            return
        if not (self._pending_incidents or self._pending_units):
            return
        incidents, units = set(self._pending_incidents), set(self._pending_units)
        self._pending_incidents.clear()
        self._pending_units.clear()

        def job() -> tuple[incident_room.IncidentUpdate | None, incident_room.UnitUpdate | None]:
            return (incident_room.incident_update(db, incidents, catalog) if incidents else None,
                    incident_room.unit_update(db, units, catalog) if units else None)

        self._busy = True
        self._run(job, self._updated)

    def _updated(self, result: tuple[incident_room.IncidentUpdate | None, incident_room.UnitUpdate | None]) -> None:
        self._busy = False
        if self._closed:  # an answer that arrives after shutdown has no page to go to
            return
        incidents, units = result
        ops: list[dict[str, Any]] = []
        if incidents is not None:
            ops += incident_ops(list(incidents.upsert), [i for i in incidents.remove if i in self.marker_ids])
            self.marker_ids |= {m.id for m in incidents.upsert}
            self.marker_ids -= set(incidents.remove)
            changed = {str(gid): n for gid, n in incidents.grid_counts.items() if self.grid_counts.get(gid) != n}
            changed.update({str(gid): 0 for gid in self.grid_counts if gid not in incidents.grid_counts})
            self.grid_counts = dict(incidents.grid_counts)
            self.open_total = incidents.open_total
            if changed:
                ops.append({"op": "grid_counts", "counts": changed})
        if units is not None:
            ops.append({"op": "units", "upsert": [u.as_json() for u in units.upsert],
                        "remove": [i for i in units.remove if i in self.unit_ids]})
            self.unit_ids |= {u.id for u in units.upsert}
            self.unit_ids -= set(units.remove)
        if ops:
            self.bridge.send(ops)
        self._update_summary()
        self._drain()

    def _update_summary(self) -> None:
        text = _("{incidents} open incidents on the map, {units} units with a known position").format(
            incidents=len(self.marker_ids), units=len(self.unit_ids))
        unplaced = max(0, self.open_total - len(self.marker_ids))
        if unplaced:  # so the map's count and the queue's agree, or say why not
            text += " — " + _("{n} more open incidents have no coordinates and are not on the map").format(
                n=unplaced)
        if self.tile_problem:
            text += " — " + _("base map not used: {problem}").format(problem=self.tile_problem)
        self.summary.setText(text)

    # -- selection and the grid card ---------------------------------------------------------
    def _on_marker_clicked(self, incident_id: int) -> None:
        self._clicked = incident_id
        try:
            self.ui.selection.select(incident_id)
        finally:
            self._clicked = 0

    def _on_selection(self, incident_id: int) -> None:
        # a marker the officer clicked is already in view: highlight it without moving the map
        if self.page_loaded and not self._closed:
            self.bridge.send([{"op": "select", "id": incident_id, "pan": incident_id != self._clicked}])

    def _next_card_token(self) -> int:
        self._card_token += 1
        return self._card_token

    def show_grid_card(self, grid_id: int) -> None:
        db, catalog = self.ui.console.db, self.catalog
        token = self._next_card_token()

        def job() -> tuple[jurisdiction.GridCard, tuple[incident_room.IncidentMarker, ...]]:
            return jurisdiction.grid_card(db, grid_id), incident_room.grid_open_incidents(db, grid_id, catalog)

        self.ui.runner.run(job, on_success=lambda result: self._show_card(result, token))

    def show_grid_incidents(self, grid_id: int) -> None:
        """A grid clicked: the queue shows exactly its open incidents (Esc there shows all again)."""
        db = self.ui.console.db
        self.ui.runner.run(lambda: grid_open_scope(db, grid_id), on_success=self.ui.exact.show,
                           on_failure=lambda exc: log.warning("grid %s: %s", grid_id, exc))

    def _show_card(self, result: tuple[jurisdiction.GridCard, tuple[incident_room.IncidentMarker, ...]],
                   token: int | None = None) -> None:
        if (token is not None and token != self._card_token) or self._closed:
            return  # another card was asked for meanwhile
        card, incidents = result
        self._set_card_kind("grid")
        where = " · ".join(a.name for a in (card.community, card.street) if a is not None)
        self.card_title.setText(f"{card.grid.name} ({card.grid.code})" + (f" — {where}" if where else ""))
        lines = [f"{s.role_label}: {s.name}  {s.phone or ''}".rstrip() for s in card.staff]
        if not lines:
            lines.append(_("No grid staff recorded."))
        lines.append(_("Open incidents: {open} · in the last 30 days: {recent}").format(
            open=card.open_incidents, recent=card.last_30_days))
        self.card_text.setText("\n".join(lines))
        self.card_list.clear()
        for m in incidents:
            text = f"{m.number}  {m.severity_label}  {m.category_label}  {m.status_label} — {m.excerpt}"
            if m.is_drill:
                text = _("[Drill]") + " " + text
            item = QListWidgetItem(text)
            item.setData(INCIDENT_ID_ROLE, m.id)
            self.card_list.addItem(item)
        self.card_list.setVisible(bool(incidents))
        self.card.show()
        self.bridge.send([{"op": "select_unit", "id": 0}, {"op": "select_grid", "id": card.grid.id}])

    def _on_card_item(self, item: QListWidgetItem) -> None:
        self.ui.selection.select(int(item.data(INCIDENT_ID_ROLE)))

    def _set_card_kind(self, kind: str) -> None:
        """Switch the card between grid and unit; the unit parts show only on a unit card."""
        self.card_kind = kind
        if kind != "unit":
            self.card_unit_id = 0
            self.unit_card = None
            self.age_timer.stop()
            self.incident_button.hide()
            self.show_incident_action.setEnabled(False)
        self.card_close.setToolTip(_("Close the unit card") if kind == "unit" else _("Close the grid card"))

    def close_card(self) -> None:
        """Close the card and take the grid's or unit's highlight off the map."""
        self._next_card_token()  # an answer still on its way must not open it again
        self._set_card_kind("")
        self.card.hide()
        if self.page_loaded and not self._closed:
            self.bridge.send([{"op": "select_grid", "id": 0}, {"op": "select_unit", "id": 0}])

    # -- the unit card -----------------------------------------------------------------------
    def show_unit_card(self, unit_id: int) -> None:
        """A unit was clicked on the map: load its card off the GUI thread, then follow it."""
        self._load_unit_card(int(unit_id))

    def _load_unit_card(self, unit_id: int) -> None:
        db, catalog = self.ui.console.db, self.catalog
        token = self._next_card_token()
        self.ui.runner.run(lambda: incident_room.unit_card(db, unit_id, catalog),
                           on_success=lambda card: self._unit_card_loaded(card, token),
                           on_failure=lambda exc: self._unit_card_failed(unit_id, exc, token))

    def _unit_card_loaded(self, card: incident_room.UnitCard, token: int) -> None:
        if token != self._card_token or self._closed:
            return
        first = self.card_kind != "unit" or self.card_unit_id != card.unit.id
        self._set_card_kind("unit")
        self.card_unit_id = card.unit.id
        self.unit_card = card
        self._db_offset = card.read_at - datetime.now(UTC)
        self._render_unit_card()
        self.card_list.clear()
        self.card_list.hide()
        self.card.show()
        if card.incident is not None:
            self.age_timer.start()
        else:
            self.age_timer.stop()
        if first and self.page_loaded:
            self.bridge.send([{"op": "select_grid", "id": 0}, {"op": "select_unit", "id": card.unit.id}])

    def _unit_card_failed(self, unit_id: int, exc: BaseException, token: int) -> None:
        if token != self._card_token or self._closed:
            return
        showing = self.card_kind == "unit" and self.unit_card is not None and self.unit_card.unit.id == unit_id
        if not isinstance(exc, NotFound):
            log.error("unit card %s could not be loaded", unit_id, exc_info=exc)
            if showing:
                return  # keep showing what was read last; the next change tries again
        self._set_card_kind("")  # nothing left to follow or to select
        self.card_close.setToolTip(_("Close the unit card"))
        if not showing:  # otherwise the title still names the unit that went away
            self.card_title.setText(_("Unit card"))
        if isinstance(exc, NotFound):
            self.card_text.setText(_("This unit is no longer in the database."))
        else:
            self.card_text.setText(_("The unit card could not be loaded: {error}").format(error=exc))
        self.card_list.hide()
        self.card.show()
        if self.page_loaded and not self._closed:
            self.bridge.send([{"op": "select_unit", "id": 0}])

    def _card_affected(self, changes: list) -> bool:
        """Does this batch of changes touch the open unit card (its unit or its incident)?"""
        incident_id = self.unit_card.incident.id if self.unit_card and self.unit_card.incident else None
        for c in changes:
            if c.entity in ("area", "database"):
                return True
            if c.entity_id is None:
                continue
            if c.entity == "unit" and int(c.entity_id) == self.card_unit_id:
                return True
            if c.entity == "incident" and incident_id is not None and int(c.entity_id) == incident_id:
                return True
        return False

    def _db_now(self) -> datetime:
        return datetime.now(UTC) + self._db_offset

    def _render_unit_card(self) -> None:
        card = self.unit_card
        if card is None or self.card_kind != "unit":
            self.age_timer.stop()
            return
        unit = card.unit
        self.card_title.setText(f"{unit.name} ({unit.code})")
        lines = [f"{card.kind_label} · {card.status_label}"]
        contact = " ".join(v for v in (unit.contact_name, unit.phone) if v)
        lines.append(_("Contact: {contact}").format(contact=contact) if contact else _("No contact recorded."))
        place = " · ".join(a.name for a in (card.grid, card.community) if a is not None)
        if card.has_position:
            lines.append(_("Position: {place}").format(place=place) if place
                         else _("Position: outside every grid"))
        else:
            lines.append(_("Position unknown (community: {community})").format(community=place) if place
                         else _("Position unknown"))
        incident = card.incident
        if incident is None:
            lines.append(_("Not assigned to an incident."))
        else:
            age = fmt_duration(max(0.0, (self._db_now() - incident.assigned_at).total_seconds()))
            text = _("Assigned to {number} · {category} · {severity} · {status} — {age} ago").format(
                number=incident.number, category=incident.category_label, severity=incident.severity_label,
                status=incident.status_label, age=age)
            lines.append((_("[Drill]") + " " + text) if incident.is_drill else text)
        self.card_text.setText("\n".join(lines))
        if incident is None:
            self.incident_button.hide()
            self.show_incident_action.setEnabled(False)
            return
        # QPushButton takes "&" as a mnemonic marker: double it so the number shows as it is
        self.incident_button.setText(_("Show {number} in the queue").format(number=incident.number.replace("&", "&&")))
        self.incident_button.setToolTip(self.show_incident_action.toolTip() + "  ("
                                        + self.show_incident_action.shortcut().toString(
                                            QKeySequence.SequenceFormat.NativeText) + ")")
        self.incident_button.show()
        self.show_incident_action.setEnabled(True)

    def show_unit_incident(self) -> None:
        """Select the incident the unit on the card is assigned to (queue, map and detail follow)."""
        card = self.unit_card
        if self.card_kind == "unit" and card is not None and card.incident is not None:
            self.ui.selection.select(card.incident.id)

    # -- window and theme --------------------------------------------------------------------
    def fit_jurisdiction(self) -> None:
        """The whole jurisdiction in view, and kept so while the map's size changes (its own window
        maximising, docked back) until the officer moves or zooms it."""
        if self.page_loaded:
            self.bridge.send([{"op": "fit"}])

    def toggle_detached(self) -> None:
        """Float the map as its own maximised window (second monitor), or dock it again."""
        if self.isFloating():
            self.setFloating(False)
            return
        self.show()
        self.setFloating(True)
        self.showMaximized()

    def apply_theme(self, name: str) -> None:
        self.theme_name = name if name in theme.THEMES else "light"
        if self._closed:
            return
        self.page.setBackgroundColor(QColor(palette(self.theme_name)["background"]))
        if self.page_loaded:
            self.bridge.send([{"op": "theme", "name": self.theme_name, "palette": palette(self.theme_name)}])

    # -- readiness, tests and benchmarks -----------------------------------------------------
    def is_ready(self) -> bool:
        """True once the page has loaded and drawn the first data batch (screenshots)."""
        return self.page_loaded and self.first_seq > 0 and self.bridge.acked >= self.first_seq and not self._busy

    def wait_for(self, predicate: Callable[[], bool], timeout_ms: int = 60000) -> bool:
        app = QCoreApplication.instance()
        deadline = time.monotonic() + timeout_ms / 1000
        while not predicate():
            if time.monotonic() > deadline:
                return False
            if app is not None:
                app.processEvents()
            time.sleep(0.002)
        return True

    def send_and_wait(self, ops: list[dict[str, Any]], timeout_ms: int = 60000) -> bool:
        """Send one batch and return once the page has drawn it (True) or the time ran out."""
        seq = self.bridge.send(ops)
        return self.wait_for(lambda: self.bridge.acked >= seq, timeout_ms)

    def draw_snapshot(self, snapshot: incident_room.MapSnapshot, timeout_ms: int = 120000) -> bool:
        """Replace everything on the page by ``snapshot`` (benchmarks: N markers, M polygons)."""
        return self.send_and_wait(snapshot_ops(snapshot), timeout_ms)

    def run_js(self, expression: str, timeout_ms: int = 30000) -> Any:
        """Evaluate a JavaScript expression in the page; its value comes back through JSON
        (tests, diagnostics: Qt's own conversion loses arrays)."""
        box: list[Any] = []
        wrapped = f"(() => {{ const v = ({expression}); return v === undefined ? 'null' : JSON.stringify(v); }})()"
        self.page.runJavaScript(wrapped, 0, box.append)
        if not self.wait_for(lambda: bool(box), timeout_ms):
            raise TimeoutError(expression)
        return json.loads(box[0]) if isinstance(box[0], str) and box[0] else None

    def shutdown(self) -> None:
        """Let the page go before the web engine profile does (application exit)."""
        if self._closed:
            return
        self._closed = True
        self.age_timer.stop()
        delete_view(self.view)
