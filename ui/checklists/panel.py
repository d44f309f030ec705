"""The checklist dock (处置清单): the selected incident's steps, ticked from the keyboard.

Arrow keys move, Space ticks or unticks the current step, Shift+Space asks for a note first.
The table is a thin model over the plain rows of ``checklists.items_for``; it reloads when the
change feed reports a change of this incident's checklist (entity ``checklist`` carries the
incident id) or of the incident itself. Countdowns run on the database clock: each row's
``seconds_left`` was measured by the database when read, and the panel only counts down from there.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QFont, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHeaderView,
    QInputDialog,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from dispatch_console import checklists
from dispatch_console.checklists import ChecklistItemRow
from dispatch_console.kernel.i18n import N_, _
from dispatch_console.kernel.timefmt import fmt_duration, fmt_local
from ui.shell import theme
from ui.shell.context import UiContext
from ui.shell.plain_text import plain_tooltip

Index = QModelIndex | QPersistentModelIndex
COLUMNS = (N_("Done"), N_("Step to take"), N_("Who"), N_("Deadline"), N_("Ticked by"))
DONE, STEP, ROLE, DEADLINE, TICKED = range(len(COLUMNS))
AMBER_SECONDS = 5 * 60


class ChecklistModel(QAbstractTableModel):
    """Rows of one incident's checklist; asks for a tick instead of changing state itself."""

    toggle_requested = Signal(int)  # item id

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[ChecklistItemRow] = []
        self._read_at = time.monotonic()

    def set_rows(self, rows: list[ChecklistItemRow]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self._read_at = time.monotonic()
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _(COLUMNS[section])
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        return base | Qt.ItemFlag.ItemIsUserCheckable if index.column() == DONE else base

    def seconds_left(self, row: ChecklistItemRow) -> float | None:
        if row.seconds_left is None:
            return None
        return row.seconds_left - (time.monotonic() - self._read_at)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        row, col = self.rows[index.row()], index.column()
        if role == Qt.ItemDataRole.CheckStateRole and col == DONE:
            return Qt.CheckState.Checked if row.done else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(self._tooltip(row))
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._colour(row, col)
        if role == Qt.ItemDataRole.FontRole and col == STEP:
            font = QFont()
            font.setStrikeOut(row.done)
            font.setItalic(not row.required)
            return font
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        # A click on the box is a request: the row changes when the database says it did.
        if role == Qt.ItemDataRole.CheckStateRole and index.isValid():
            self.toggle_requested.emit(self.rows[index.row()].id)
        return False

    def _text(self, row: ChecklistItemRow, col: int) -> str:
        if col == DONE:
            return ""
        if col == STEP:
            return row.text if row.required else _("{text} (optional)").format(text=row.text)
        if col == ROLE:
            return _(checklists.ROLE_LABELS[row.role]) if row.role in checklists.ROLE_LABELS else (row.role or "")
        if col == DEADLINE:
            return self._deadline(row)
        if row.done:
            who = row.done_by_name or "?"
            return _("{who} @ {station}, {at}").format(who=who, station=row.done_station or "-",
                                                     at=fmt_local(row.done_at, "%H:%M"))
        return ""

    def _deadline(self, row: ChecklistItemRow) -> str:
        if row.deadline_minutes is None:
            return ""
        if row.due_at is None:
            return _("{minutes} min after acknowledgement").format(minutes=int(row.deadline_minutes))
        if row.done:
            return fmt_local(row.due_at, "%H:%M")
        left = self.seconds_left(row) or 0.0
        if left <= 0:
            return _("overdue {duration}").format(duration=fmt_duration(-left))
        return _("{duration} left").format(duration=fmt_duration(left))

    def _tooltip(self, row: ChecklistItemRow) -> str:
        lines = [row.text]
        if row.report_kind:
            lines.append(_("Information report step"))
        if row.due_at is not None:
            lines.append(_("Due {at}").format(at=fmt_local(row.due_at)))
        lines.append(_("Required for closure") if row.required else _("Optional"))
        if row.note:
            lines.append(_("Note: {note}").format(note=row.note))
        return "\n".join(lines)

    def _colour(self, row: ChecklistItemRow, col: int) -> QColor | None:
        if row.done:
            return theme.muted_colour()
        if col == DEADLINE and row.due_at is not None:
            left = self.seconds_left(row) or 0.0
            state = "red" if left <= 0 else "amber" if left < AMBER_SECONDS else "ok"
            return theme.deadline_colour(state)
        if col == STEP and row.due_at is not None and (self.seconds_left(row) or 0.0) <= 0:
            return theme.deadline_colour("red")
        return None

    def countdown(self) -> None:
        if self.rows:
            self.dataChanged.emit(self.index(0, STEP), self.index(len(self.rows) - 1, DEADLINE))

    def row_of(self, item_id: int) -> int | None:
        return next((i for i, r in enumerate(self.rows) if r.id == item_id), None)


class _StepTable(QTableView):
    """Space ticks, Shift+Space ticks with a note; everything else as usual."""

    toggle = Signal(bool)  # with a note?

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space:
            self.toggle.emit(bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier))
            event.accept()
            return
        super().keyPressEvent(event)


class ChecklistPanel(QDockWidget):
    screenshot_name = "checklist"

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(_("Checklist"), parent)
        self.setObjectName("checklist")
        self.default_area = Qt.DockWidgetArea.RightDockWidgetArea
        self.ui = ui
        self.incident_id = 0
        self._loading = False
        self._again = False
        self._busy = False
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        self.header = QLabel(body)
        self.header.setTextFormat(Qt.TextFormat.PlainText)
        self.header.setWordWrap(True)
        self.model = ChecklistModel(self)
        self.view = _StepTable(body)
        self.view.setModel(self.model)
        theme.show_tick_boxes(self.view)  # an unticked step shows its box on the night theme too
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setWordWrap(True)
        self.view.verticalHeader().hide()
        hh = self.view.horizontalHeader()
        hh.setSectionResizeMode(STEP, QHeaderView.ResizeMode.Stretch)
        for col in (DONE, ROLE, DEADLINE, TICKED):
            hh.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.message = QLabel(body)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        layout.addWidget(self.header)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.message)
        self.setWidget(body)
        self.view.toggle.connect(self.toggle_current)
        self.model.toggle_requested.connect(lambda item_id: self.toggle(item_id, with_note=False))
        ui.selection.changed.connect(self.show_incident)
        ui.feed.changed.connect(self._on_changes)
        self._countdown = QTimer(self)
        self._countdown.timeout.connect(self.model.countdown)
        self._countdown.start(1000)
        self._show_header()
        if ui.selection.current:
            self.show_incident(ui.selection.current)

    # -- loading -----------------------------------------------------------------------------
    def is_ready(self) -> bool:
        return not self._loading and not self._busy

    def contribute_actions(self, window: Any) -> None:
        """Ctrl+Shift+C reaches the steps from anywhere (a window action, so F1 names it and it
        works while the dock is tabbed away or hidden); Ctrl+K stays "acknowledge"."""
        action = QAction(_("Checklist steps (Space ticks, Shift+Space with a note)"), window)
        action.setObjectName("checklist-focus")
        action.setShortcut(QKeySequence("Ctrl+Shift+C"))
        action.triggered.connect(self.focus_steps)
        window.addAction(action)
        menu = getattr(window, "menu_incident", None)
        if menu is not None:
            menu.addAction(action)

    def focus_steps(self) -> None:
        self.show()
        self.raise_()
        self.view.setFocus()
        if self.model.rows and not self.view.currentIndex().isValid():
            self.view.setCurrentIndex(self.model.index(0, STEP))

    def show_incident(self, incident_id: int) -> None:
        self.incident_id = int(incident_id or 0)
        self.message.clear()
        if not self.incident_id:
            self.model.set_rows([])
            self._show_header()
            return
        self.reload()

    def reload(self) -> None:
        if self._loading:
            self._again = True  # a change arrived while reading: read once more afterwards
            return
        incident_id, db = self.incident_id, self.ui.console.db
        if not incident_id:
            return
        self._loading = True
        self.ui.runner.run(lambda: (incident_id, checklists.items_for(db, incident_id)),
                           on_success=self._loaded, on_failure=self._failed)

    def _loaded(self, result: tuple[int, list[ChecklistItemRow]]) -> None:
        self._loading = False
        incident_id, rows = result
        if incident_id == self.incident_id:
            current = self._current_row()
            keep = current.id if current else None
            self.model.set_rows(rows)
            self._show_header()
            row = self.model.row_of(keep) if keep is not None else None
            if row is None and rows:
                row = 0
            if row is not None:
                self.view.setCurrentIndex(self.model.index(row, STEP))
        if self._again or incident_id != self.incident_id:
            self._again = False
            self.reload()

    def _failed(self, exc: BaseException) -> None:
        self._loading = False
        self.message.setText(_("Could not load the checklist: {error}").format(error=exc))

    def _show_header(self) -> None:
        rows = self.model.rows
        if not self.incident_id:
            self.header.setText(_("No incident selected."))
            return
        if not rows:
            self.header.setText(_("This incident has no checklist."))
            return
        done = sum(r.done for r in rows)
        open_required = sum(1 for r in rows if r.required and not r.done)
        overdue = sum(1 for r in rows if r.overdue)
        text = _("{done}/{total} steps done, {required} required still open").format(
            done=done, total=len(rows), required=open_required)
        if overdue:
            text += _(", {n} overdue").format(n=overdue)
        self.header.setText(text)

    def _on_changes(self, changes: list) -> None:
        if not self.incident_id:
            return
        if any(c.entity == "database" or (c.entity in ("checklist", "incident") and c.entity_id == self.incident_id)
               for c in changes):
            self.reload()

    # -- ticking -----------------------------------------------------------------------------
    def _current_row(self) -> ChecklistItemRow | None:
        index = self.view.currentIndex()
        if not index.isValid() or index.row() >= len(self.model.rows):
            return None
        return self.model.rows[index.row()]

    def toggle_current(self, with_note: bool = False) -> None:
        row = self._current_row()
        if row is not None:
            self.toggle(row.id, with_note=with_note)

    def toggle(self, item_id: int, *, with_note: bool) -> None:
        index = self.model.row_of(item_id)
        if index is None or self._busy:
            return
        row = self.model.rows[index]
        actor = self.ui.actor
        if actor is None:
            self.message.setText(_("Nobody is signed in at this workstation."))
            return
        note: str | None = None
        if with_note:
            title = _("Untick with a note") if row.done else _("Tick with a note")
            note, ok = QInputDialog.getText(self, title, row.text)
            if not ok:
                return
        db = self.ui.console.db
        action = checklists.untick if row.done else checklists.tick
        self._busy = True
        self.message.clear()
        self.ui.runner.run(lambda: action(db, actor, row.id, row.version, note),
                           on_success=self._toggled, on_failure=self._toggle_failed)

    def _toggled(self, _row: ChecklistItemRow) -> None:
        self._busy = False
        self.reload()

    def _toggle_failed(self, exc: BaseException) -> None:
        self._busy = False
        self.message.setText(str(exc))
        self.reload()
