"""The supplies and shelters dock (应急物资与避难场所).

Two tabs. 物资: each depot's stock, below-minimum lines in red, a filter box, and the movements
of the selected line — 入库 (receive), 出库 to the incident selected in the queue, 调拨 to another
depot, 盘点 with a reason. 避难场所: each shelter's status, occupancy and free places; open, close,
arrivals and departures. F8 anywhere in the window finds the nearest open shelter with free places
from the selected incident and selects it. Everything refreshes from the change feed; every read
and write runs off the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QAction, QBrush, QKeySequence, QStandardItemModel
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from dispatch_console import supplies
from dispatch_console.kernel.errors import DispatchError
from dispatch_console.kernel.i18n import _
from ui.shell import theme
from ui.shell.context import UiContext
from ui.shell.tables import ITEM_DATA, read_only_item, row_table

STOCK_ENTITIES = {"stock", "depot", "database"}
SHELTER_ENTITIES = {"shelter", "database"}
DATA = ITEM_DATA
_item = read_only_item


class SuppliesPanel(QDockWidget):
    screenshot_name = "supplies"

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(_("Supplies and shelters"), parent)
        self.setObjectName("supplies")
        self.default_area = Qt.DockWidgetArea.RightDockWidgetArea
        self.tabify_with = "duty_board"
        self.ui = ui
        self.catalogue, _errors = supplies.load_catalogue(ui.console.resources)
        self.stock_rows: list[supplies.StockRow] = []
        self.shelter_rows: list[supplies.ShelterRow] = []
        self.depots: list[supplies.DepotRow] = []
        self.pending = 0
        self.tabs = QTabWidget(self)
        self._build_stock_tab()
        self._build_shelter_tab()
        self.message = QLabel(self)
        self.message.setObjectName("supplies-message")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.message)
        self.setWidget(body)
        self.nearest_action = QAction(_("Nearest open shelter"), self)
        self.nearest_action.setShortcut(QKeySequence("F8"))
        self.nearest_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.nearest_action.triggered.connect(self.nearest_shelter)
        self.addAction(self.nearest_action)
        ui.feed.changed.connect(self._on_changes)
        self.reload_stock()
        self.reload_shelters()

    # -- layout --------------------------------------------------------------------------------
    def _build_stock_tab(self) -> None:
        tab = QWidget(self.tabs)
        layout = QVBoxLayout(tab)
        self.filter = QLineEdit(tab)
        self.filter.setPlaceholderText(_("Filter by depot or item…"))
        self.filter.setClearButtonEnabled(True)
        self.stock_model = QStandardItemModel(0, 5, self)
        self.stock_model.setHorizontalHeaderLabels([_("Depot"), _("Item"), _("Quantity"), _("Unit"), _("Minimum")])
        self.stock_proxy = QSortFilterProxyModel(self)
        self.stock_proxy.setSourceModel(self.stock_model)
        self.stock_proxy.setFilterKeyColumn(-1)
        self.stock_proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter.textChanged.connect(self.stock_proxy.setFilterFixedString)
        self.stock_view = row_table(self.stock_proxy, tab, "supplies-stock")
        buttons = QHBoxLayout()
        for kind, label in (("receive", _("Receive…")), ("issue", _("Issue to incident…")),
                            ("transfer", _("Transfer…")), ("count", _("Count…"))):
            button = QPushButton(label, tab)
            button.clicked.connect(lambda _c=False, k=kind: self.record_movement(k))
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addWidget(self.filter)
        layout.addWidget(self.stock_view, 1)
        layout.addLayout(buttons)
        self.tabs.addTab(tab, _("Supplies"))

    def _build_shelter_tab(self) -> None:
        tab = QWidget(self.tabs)
        layout = QVBoxLayout(tab)
        self.shelter_model = QStandardItemModel(0, 6, self)
        self.shelter_model.setHorizontalHeaderLabels(
            [_("Shelter"), _("Status"), _("Occupancy"), _("Free places"), _("Contact"), _("Phone")])
        self.shelter_view = row_table(self.shelter_model, tab, "supplies-shelters")
        buttons = QHBoxLayout()
        actions: tuple[tuple[str, Callable[[], None]], ...] = (
            (_("Open"), lambda: self.shelter_status("open")), (_("Close"), lambda: self.shelter_status("closed")),
            (_("Arrivals…"), lambda: self.shelter_people(1)), (_("Departures…"), lambda: self.shelter_people(-1)),
            (_("Nearest (F8)"), self.nearest_shelter))
        for label, fn in actions:
            button = QPushButton(label, tab)
            button.clicked.connect(lambda _c=False, f=fn: f())
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addWidget(self.shelter_view, 1)
        layout.addLayout(buttons)
        self.tabs.addTab(tab, _("Shelters"))

    # -- loading -------------------------------------------------------------------------------
    def is_ready(self) -> bool:
        return self.pending == 0

    def _run(self, fn: Callable[[], Any], on_success: Callable[[Any], None], done_text: str | None = None) -> None:
        self.pending += 1

        def ok(result: Any) -> None:
            self.pending -= 1
            if not shiboken6.isValid(self.message):  # the dock was closed while the read ran
                return
            on_success(result)
            if done_text:
                self.message.setText(done_text)

        def failed(exc: BaseException) -> None:
            self.pending -= 1
            if not shiboken6.isValid(self.message):
                return
            self.message.setText(str(exc) if isinstance(exc, DispatchError) else
                                 _("Could not do it: {error}").format(error=exc))

        self.ui.runner.run(fn, on_success=ok, on_failure=failed)

    def reload_stock(self) -> None:
        db, catalogue = self.ui.console.db, self.catalogue
        self._run(lambda: (supplies.stock_levels(db, catalogue), supplies.list_depots(db)), self._show_stock)

    def reload_shelters(self) -> None:
        db = self.ui.console.db
        self._run(lambda: supplies.list_shelters(db), self._show_shelters)

    def _on_changes(self, changes: list[Any]) -> None:
        entities = {c.entity for c in changes}
        if entities & STOCK_ENTITIES:
            self.reload_stock()
        if entities & SHELTER_ENTITIES:
            self.reload_shelters()

    def _show_stock(self, result: tuple[list[supplies.StockRow], list[supplies.DepotRow]]) -> None:
        self.stock_rows, self.depots = result
        self.stock_model.removeRows(0, self.stock_model.rowCount())
        red = QBrush(theme.deadline_colour("red"))
        for i, r in enumerate(self.stock_rows):
            cells = [_item(r.depot, i), _item(r.name), _item(r.quantity), _item(r.unit), _item(r.minimum)]
            if r.below_minimum:
                for cell in cells:
                    cell.setForeground(red)
                cells[2].setToolTip(_("Below the minimum of {n}").format(n=r.minimum))
            self.stock_model.appendRow(cells)

    def _show_shelters(self, rows: list[supplies.ShelterRow]) -> None:
        self.shelter_rows = rows
        self.shelter_model.removeRows(0, self.shelter_model.rowCount())
        for i, r in enumerate(rows):
            self.shelter_model.appendRow([_item(r.name, i), _item(r.status_label),
                                          _item(f"{r.occupancy}/{r.capacity}"), _item(r.free),
                                          _item(r.contact_name), _item(r.phone)])

    # -- stock movements -------------------------------------------------------------------------
    def selected_stock(self) -> supplies.StockRow | None:
        index = self.stock_view.currentIndex()
        if not index.isValid():
            return None
        data = index.siblingAtColumn(0).data(DATA)
        return self.stock_rows[int(data)] if data is not None and int(data) < len(self.stock_rows) else None

    def record_movement(self, kind: str) -> None:
        row = self.selected_stock()
        if row is None:
            self.message.setText(_("Select a depot's item first."))
            return
        prompt = _("How many were counted?") if kind == "count" else _("How many {unit}?").format(unit=row.unit)
        quantity, ok = QInputDialog.getInt(self, f"{row.depot} · {row.name}", prompt, 0 if kind == "count" else 1,
                                           0 if kind == "count" else 1, supplies.MAX_QUANTITY)
        if not ok:
            return
        incident: int | None = None
        to_depot: str | None = None
        reason: str | None = None
        if kind == "issue":
            incident = self.ui.selection.current or None
            if incident is None:
                self.message.setText(_("Select the incident the supplies go to in the queue first."))
                return
        if kind == "transfer":
            others = [d.name for d in self.depots if d.id != row.depot_id]
            to_depot, ok = QInputDialog.getItem(self, _("Transfer to"), _("Depot:"), others, 0, False)
            if not ok:
                return
        if kind == "count":
            reason, ok = QInputDialog.getText(self, _("Stock count"), _("Reason for the correction:"))
            if not ok:
                return
        db, actor, catalogue = self.ui.console.db, self.ui.console.require_actor(), self.catalogue

        def write() -> list[supplies.MovementRow]:
            return supplies.move_stock(db, actor, catalogue, kind=kind, depot=row.depot_id, item=row.item,
                                      quantity=quantity, incident=incident, to_depot=to_depot, reason=reason)

        self._run(write, lambda lines: self.message.setText("；".join(
            _("{depot}: {kind} {quantity:+d}, balance {balance}").format(
                depot=m.depot, kind=m.kind_label, quantity=m.quantity, balance=m.balance) for m in lines)))

    # -- shelters ------------------------------------------------------------------------------
    def selected_shelter(self) -> supplies.ShelterRow | None:
        index = self.shelter_view.currentIndex()
        if not index.isValid():
            return None
        data = index.siblingAtColumn(0).data(DATA)
        return self.shelter_rows[int(data)] if data is not None and int(data) < len(self.shelter_rows) else None

    def _shelter_write(self, fn: Callable[[], supplies.ShelterRow]) -> None:
        self._run(fn, lambda r: self.message.setText(_("{name}: {status}, {occupancy}/{capacity}").format(
            name=r.name, status=r.status_label, occupancy=r.occupancy, capacity=r.capacity)))

    def shelter_status(self, status: str) -> None:
        shelter = self.selected_shelter()
        if shelter is None:
            self.message.setText(_("Select a shelter first."))
            return
        db, actor = self.ui.console.db, self.ui.console.require_actor()
        self._shelter_write(lambda: supplies.set_shelter_status(db, actor, shelter.id, status))

    def shelter_people(self, sign: int) -> None:
        shelter = self.selected_shelter()
        if shelter is None:
            self.message.setText(_("Select a shelter first."))
            return
        title = _("Arrivals at {name}") if sign > 0 else _("Departures from {name}")
        most = shelter.free if sign > 0 else shelter.occupancy
        people, ok = QInputDialog.getInt(self, title.format(name=shelter.name), _("How many people?"), 1, 1,
                                         max(1, most))
        if not ok:
            return
        db, actor = self.ui.console.db, self.ui.console.require_actor()
        incident = self.ui.selection.current or None
        self._shelter_write(lambda: supplies.record_people(db, actor, shelter.id, sign * people,
                                                                  incident=incident))

    def nearest_shelter(self) -> None:
        incident = self.ui.selection.current
        if not incident:
            self.message.setText(_("Select an incident first."))
            return
        db = self.ui.console.db
        self._run(lambda: supplies.nearest_open(db, incident), self._show_nearest)

    def _show_nearest(self, near: list[supplies.NearShelter]) -> None:
        if not near:
            self.message.setText(_("No open shelter has free places."))
            return
        self.show()
        self.raise_()
        self.tabs.setCurrentIndex(1)
        best = near[0]
        for row in range(self.shelter_model.rowCount()):
            index = self.shelter_model.index(row, 0)
            data = index.data(DATA)
            if data is not None and self.shelter_rows[int(data)].id == best.shelter.id:
                self.shelter_view.selectRow(row)
                self.shelter_view.setFocus()
                break
        self.message.setText("\n".join(
            _("{km} km: {name}, {free} free places, {contact} {phone}").format(
                km=f"{n.distance_m / 1000:.1f}", name=n.shelter.name, free=n.shelter.free,
                contact=n.shelter.contact_name or "", phone=n.shelter.phone or "") for n in near[:3]))
