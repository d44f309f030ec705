"""The board's table: a thin Qt model over the plain rows of ``cases.reads`` (no Qt-free state here)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from dispatch_console.cases import KIND_LABELS, RISK_LABELS, STATUS_LABELS, CaseRow, label
from dispatch_console.kernel.i18n import N_, _
from dispatch_console.kernel.timefmt import fmt_local
from ui.shell import theme
from ui.shell.plain_text import plain_tooltip

Index = QModelIndex | QPersistentModelIndex
COLUMNS = (N_("Case number"), N_("Kind"), N_("Status"), N_("Next due"), N_("Grid"), N_("Unit"), N_("Risk"), N_("Title"))
NUMBER, KIND, STATUS, DUE, GRID, UNIT, RISK, TITLE = range(len(COLUMNS))


class CaseTableModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[CaseRow] = []
        self.now: datetime | None = None

    def set_rows(self, rows: list[CaseRow], now: datetime | None = None) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.now = now
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _(COLUMNS[section])
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        row, col = self.rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(row, col)
        if role == Qt.ItemDataRole.ToolTipRole and col == TITLE:
            return plain_tooltip(row.title)
        if role == Qt.ItemDataRole.ForegroundRole:
            if row.overdue and col in (NUMBER, DUE):
                return theme.deadline_colour("red")
            if col == RISK and (row.may_escalate or row.risk == "high"):
                return QColor("#d32f2f")
        return None

    def text(self, row: CaseRow, col: int) -> str:
        if col == NUMBER:
            return row.number
        if col == KIND:
            return label(KIND_LABELS, row.kind)
        if col == STATUS:
            return label(STATUS_LABELS, row.status) + (_(" (reopened)") if row.reopen_count else "")
        if col == DUE:
            due = row.next_due_at
            if due is None:
                return ""
            return fmt_local(due, "%m-%d %H:%M") + (" " + _("overdue") if row.overdue else "")
        if col == GRID:
            return row.grid_name or ""
        if col == UNIT:
            return " ".join(x for x in (row.unit_name, row.responsible_person) if x)
        if col == RISK:
            return label(RISK_LABELS, row.risk) + (" " + _("may escalate") if row.may_escalate else "")
        return row.title

    def row_of(self, case_id: int) -> int | None:
        return next((i for i, r in enumerate(self.rows) if r.id == case_id), None)
