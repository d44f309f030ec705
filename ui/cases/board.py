"""The case board dock (案件): my cases, by unit, by grid, overdue, follow-ups due this week, and
the screening campaigns (``ui.cases.campaigns``: which grids reported, which are overdue).

Alt+1 … Alt+7 pick the view (the combo box shows which); the table is a thin model over the
core's rows, reloaded when the change feed names a case; the current row's case shows in full
beside it (``ui.cases.detail``). Enter in the table moves to the detail, Ctrl+B back to the board.

A reload runs at once even while an earlier one is still reading (the newest wins; an older answer
is dropped), and the read that brings the rows also brings the detail of the case that will be
current when that is a different one — a view change is one trip to a worker, not two in a row.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from dispatch_console.cases import BoardChoices, CaseDetail, CaseQuery, CaseRow, board_choices, get_case, list_cases
from dispatch_console.kernel.errors import DispatchError
from dispatch_console.kernel.i18n import N_, _
from ui.cases.board_model import NUMBER, TITLE, CaseTableModel
from ui.cases.campaigns import CampaignPanel
from ui.cases.detail import CaseDetailView
from ui.cases.forms import shortcut
from ui.shell.context import UiContext

VIEWS = (("all", N_("All open cases")), ("mine", N_("My cases")), ("unit", N_("By unit")),
         ("grid", N_("By grid")), ("overdue", N_("Overdue")), ("week", N_("Follow-ups due this week")),
         ("campaigns", N_("Screening campaigns")))


class CaseBoard(QDockWidget):
    screenshot_name = "cases"

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(_("Cases"), parent)
        self.setObjectName("cases")
        self.default_area = Qt.DockWidgetArea.BottomDockWidgetArea
        self.ui = ui
        self._token = 0   # the newest reload asked for
        self._shown = 0   # the newest reload whose rows are on screen
        self._choices_stale = True  # the units and grids with open cases: read again after a case changed
        self.choices = BoardChoices((), ())
        body = QWidget(self)
        outer = QVBoxLayout(body)
        outer.setContentsMargins(4, 4, 4, 4)
        bar = QHBoxLayout()
        self.view_box = QComboBox(body)
        self.view_box.setObjectName("case-board-view")
        for code, text in VIEWS:
            self.view_box.addItem(_(text), code)
        self.filter_box = QComboBox(body)
        self.filter_box.setObjectName("case-board-filter")
        self.filter_box.setVisible(False)
        self.count = QLabel(body)
        bar.addWidget(self.view_box)
        bar.addWidget(self.filter_box)
        bar.addStretch(1)
        bar.addWidget(self.count)
        outer.addLayout(bar)
        split = QSplitter(Qt.Orientation.Horizontal, body)
        self.model = CaseTableModel(self)
        self.table = QTableView(split)
        self.table.setObjectName("case-board-table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        # fixed starting widths, not ResizeToContents: measuring 500 rows at every reload cost more
        # than reading them (the officer can still drag a column wider)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate((150, 70, 110, 120, 130, 170, 90)):
            header.resizeSection(column, width)
        header.setSectionResizeMode(TITLE, QHeaderView.ResizeMode.Stretch)
        self.detail = CaseDetailView(ui, split)
        split.addWidget(self.table)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        self.campaigns = CampaignPanel(ui, body)
        self.pages = QStackedWidget(body)
        self.pages.addWidget(split)
        self.pages.addWidget(self.campaigns)
        outer.addWidget(self.pages, 1)
        self.setWidget(body)
        self.view_box.currentIndexChanged.connect(self._view_changed)
        self.filter_box.currentIndexChanged.connect(lambda _i: self.reload())
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.table.activated.connect(lambda _index: self.detail.text.setFocus())
        for n in range(len(VIEWS)):
            shortcut(self, f"Alt+{n + 1}", lambda n=n: self.view_box.setCurrentIndex(n))  # type: ignore[misc]
        shortcut(self, "Ctrl+B", self.focus_board)
        ui.feed.changed.connect(self._on_changes)
        ui.session.actor_changed.connect(lambda _actor: self.reload())
        self.reload()

    # -- what to show -------------------------------------------------------------------------
    def view(self) -> str:
        return str(self.view_box.currentData())

    def query(self) -> CaseQuery:
        view, picked = self.view(), self.filter_box.currentData()
        actor = self.ui.actor
        if view == "mine":
            return CaseQuery(owner_user_id=actor.user_id if actor and actor.user_id is not None else -1)
        if view == "unit":
            return CaseQuery(unit_id=int(picked) if picked is not None else -1)
        if view == "grid":
            return CaseQuery(grid_id=int(picked) if picked is not None else -1)
        if view == "overdue":
            return CaseQuery(overdue=True)
        if view == "week":
            return CaseQuery(visits_due_within=timedelta(days=7), open_only=False)
        return CaseQuery()

    def _view_changed(self, _index: int) -> None:
        view = self.view()
        self.filter_box.blockSignals(True)
        self.filter_box.clear()
        pairs = self.choices.units if view == "unit" else self.choices.grids if view == "grid" else ()
        for item_id, name in pairs:
            self.filter_box.addItem(name, item_id)
        self.filter_box.blockSignals(False)
        self.filter_box.setVisible(view in ("unit", "grid"))
        self.count.setVisible(view != "campaigns")  # the cases' count; the campaign box shows its own
        if view == "campaigns":
            self.pages.setCurrentWidget(self.campaigns)
            self.campaigns.reload()
            self.campaigns.table.setFocus()
            return
        self.pages.setCurrentIndex(0)
        self.reload()

    # -- loading ------------------------------------------------------------------------------
    def is_ready(self) -> bool:
        return self._shown == self._token and self.detail.is_ready() and self.campaigns.is_ready()

    def reload(self) -> None:
        self._token += 1
        token = self._token
        db, query, choices = self.ui.console.db, self.query(), self._choices_stale
        self._choices_stale = False
        keep = self.current_case_id()

        def work() -> tuple[list[CaseRow], BoardChoices | None, CaseDetail | None]:
            rows = list_cases(db, query)
            first = keep if any(r.id == keep for r in rows) else (rows[0].id if rows else 0)
            detail = None
            if first and first != keep:  # the case that becomes current, read in the same trip
                try:
                    detail = get_case(db, first)
                except DispatchError:
                    detail = None  # the detail reads it again itself and says why
            return rows, board_choices(db) if choices else None, detail

        self.ui.runner.run(work, on_success=lambda result: self._loaded(result, token),
                           on_failure=lambda exc: self._failed(exc, token))

    def _loaded(self, result: tuple[list[CaseRow], BoardChoices | None, CaseDetail | None], token: int) -> None:
        rows, read, detail = result
        if read is not None:
            self.choices = read
        if token != self._token:
            return  # a newer reload is on its way
        self._shown = token
        keep = self.current_case_id()
        self.model.set_rows(rows)
        self.count.setText(_("{n} cases").format(n=len(rows)))
        row = self.model.row_of(keep) if keep else None
        if row is None and rows:
            row = 0
        if row is not None:
            if detail is not None and detail.row.id == rows[row].id:
                self.detail.show_detail(detail)  # so that moving the current row reads nothing more
            self.table.setCurrentIndex(self.model.index(row, NUMBER))
        else:
            self.detail.show_case(0)
        view = self.view()
        pairs = self.choices.units if view == "unit" else self.choices.grids if view == "grid" else ()
        if pairs and self.filter_box.count() == 0:  # the choices arrived after the view was picked
            self._view_changed(self.view_box.currentIndex())

    def _failed(self, exc: BaseException, token: int) -> None:
        self._choices_stale = True
        if token != self._token:
            return
        self._shown = token
        self.count.setText(_("Could not load the cases: {error}").format(error=exc))

    def _on_changes(self, changes: list[Any]) -> None:
        if any(c.entity in ("case", "database") for c in changes):
            self._choices_stale = True
            self.reload()

    def current_case_id(self) -> int:
        index = self.table.currentIndex()
        if not index.isValid() or index.row() >= len(self.model.rows):
            return 0
        return self.model.rows[index.row()].id

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        case_id = self.model.rows[current.row()].id if current.isValid() and current.row() < len(self.model.rows) else 0
        if case_id != self.detail.case_id:
            self.detail.show_case(case_id)

    def focus_board(self) -> None:
        self.show()
        self.raise_()
        (self.campaigns.table if self.view() == "campaigns" else self.table).setFocus()

    def select_number(self, number: str) -> bool:
        row = next((i for i, r in enumerate(self.model.rows) if r.number == number), None)
        if row is None:
            return False
        self.table.setCurrentIndex(self.model.index(row, NUMBER))
        return True
