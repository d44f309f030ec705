"""The jurisdiction browser: communities → grids → 一格三员 staff with phones, searchable.

A few hundred rows at most (10 communities, ~50 grids, their staff), so a standard item model
with a recursive filter is the right tool; it reloads when areas, people or grid staff change.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QAction, QKeySequence, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QDockWidget, QLabel, QLineEdit, QTreeView, QVBoxLayout, QWidget

from dispatch_console import jurisdiction
from dispatch_console.kernel.i18n import _
from ui.shell.context import UiContext
from ui.shell.plain_text import plain_tooltip

GRID_ID_ROLE = Qt.ItemDataRole.UserRole + 1
WATCHED = {"area", "person", "grid_staff", "database"}


def _item(text: str | None, tip: str | None = None) -> QStandardItem:
    item = QStandardItem(text or "")
    item.setEditable(False)
    if tip:
        item.setToolTip(plain_tooltip(tip))
    return item


class JurisdictionPanel(QDockWidget):
    screenshot_name = "jurisdiction"

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(_("Jurisdiction"), parent)
        self.setObjectName("jurisdiction")
        self.default_area = Qt.DockWidgetArea.LeftDockWidgetArea
        self.ui = ui
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        self.search = QLineEdit(body)
        self.search.setPlaceholderText(_("Search grid, name or phone…"))
        self.search.setClearButtonEnabled(True)
        self.model = QStandardItemModel(0, 3, self)
        self.model.setHorizontalHeaderLabels([_("Community / grid / staff"), _("Name"), _("Phone")])
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setRecursiveFilteringEnabled(True)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)
        self.view = QTreeView(body)
        self.view.setModel(self.proxy)
        self.view.setUniformRowHeights(True)
        self.view.setAlternatingRowColors(True)
        self.card = QLabel(body)
        self.card.setTextFormat(Qt.TextFormat.PlainText)
        self.card.setWordWrap(True)
        layout.addWidget(self.search)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.card)
        self.setWidget(body)
        self.search.textChanged.connect(self._filter)
        self.view.selectionModel().currentChanged.connect(self._on_current)
        ui.feed.changed.connect(self._on_changes)
        self._loading = False
        self.reload()

    def contribute_actions(self, window: Any) -> None:
        """Ctrl+J from anywhere, also while the dock is hidden (a window action that F1 lists)."""
        action = QAction(_("Jurisdiction search"), window)
        action.setObjectName("jurisdiction-search")
        action.setShortcut(QKeySequence("Ctrl+J"))
        action.triggered.connect(self.focus_search)
        window.addAction(action)
        menu = getattr(window, "menu_duty", None)
        if menu is not None:
            menu.addAction(action)

    def focus_search(self) -> None:
        self.show()
        self.raise_()
        self.search.setFocus()
        self.search.selectAll()

    def reload(self) -> None:
        if self._loading:
            return
        self._loading = True
        db = self.ui.console.db
        self.ui.runner.run(lambda: jurisdiction.tree(db), on_success=self._show, on_failure=self._failed)

    def is_ready(self) -> bool:
        return not self._loading

    def _failed(self, exc: BaseException) -> None:
        self._loading = False
        self.card.setText(_("Could not load the jurisdiction: {error}").format(error=exc))

    def _show(self, communities: list[jurisdiction.CommunityRow]) -> None:
        self._loading = False
        self.model.removeRows(0, self.model.rowCount())
        grids_total = 0
        for community in communities:
            row = [_item(community.name), _item(community.kind_label), _item("")]
            for grid in community.grids:
                grids_total += 1
                grid_row = [_item(grid.name, grid.code), _item(grid.code), _item("")]
                grid_row[0].setData(grid.id, GRID_ID_ROLE)
                for staff in grid.staff:
                    grid_row[0].appendRow([_item(staff.role_label), _item(staff.name), _item(staff.phone)])
                row[0].appendRow(grid_row)
            self.model.appendRow(row)
        self.view.expandToDepth(0)
        self.view.resizeColumnToContents(0)
        self.card.setText(_("{communities} communities, {grids} grids").format(
            communities=len(communities), grids=grids_total))
        self._filter(self.search.text())

    def _filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        if text.strip():
            self.view.expandAll()

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        index = current.siblingAtColumn(0)
        grid_id = index.data(GRID_ID_ROLE)
        if grid_id is None:
            return
        db = self.ui.console.db
        self.ui.runner.run(lambda: jurisdiction.grid_card(db, int(grid_id)), on_success=self._show_card)

    def _show_card(self, card: jurisdiction.GridCard) -> None:
        staff = "; ".join(
            f"{s.role_label} {s.name} {s.phone or ''}".strip()
            for s in card.staff
        )
        self.card.setText(
            _("{grid} ({community}): {open} open incidents, {recent} in the last 30 days\n{staff}").format(
                grid=card.grid.name, community=card.community.name if card.community else "-",
                open=card.open_incidents, recent=card.last_30_days, staff=staff)
        )

    def _on_changes(self, changes: list) -> None:
        if any(c.entity in WATCHED for c in changes):
            self.reload()
