"""The roster calendar (排班表): a week or a month, one row per day, one column per shift × post.

Cells list who is on duty; a cell with a conflict (double booking, too little rest, leave, a
post short of people) is coloured and its tooltip says why. Enter or a double-click opens the
assign / swap dialog: pick whom to replace (or add someone), type to filter the people who may
hold the post, give a reason. Delete (or "Take off…" in that dialog) takes a person off the post
after a confirmation with a reason. Ctrl+Shift+L opens the leave of the cell's person for the
days on screen (ui/rosters/leave.py); "Shift types…" edits 白班 / 夜班 (ui/rosters/shift_types.py).
"Publish" shows the conflicts of the days on screen and asks for an override reason when there
are any. Reads and writes run off the GUI thread; the calendar reloads when another workstation
changes the roster (change feed).
"""

from __future__ import annotations

import calendar as pycalendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QAction, QBrush, QColor, QFont, QKeySequence, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from dispatch_console import rosters as roster
from dispatch_console.kernel.errors import PermissionDenied
from dispatch_console.kernel.i18n import N_, _
from dispatch_console.kernel.permissions import allowed, require
from dispatch_console.kernel.timefmt import local
from ui.rosters.confirm import ConfirmDialog
from ui.rosters.leave import LeaveDialog
from ui.rosters.shift_types import ShiftTypeDialog
from ui.shell import theme
from ui.shell.context import UiContext
from ui.shell.plain_text import plain_tooltip

WATCHED = {"roster", "shift", "person", "database"}
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
CONFLICT_BG = QColor("#f8d7da")
CONFLICT_FG = QColor("#842029")
PERSON_ROLE = Qt.ItemDataRole.UserRole + 1
ROLE_ORDER = {"shift_leader": 0, "duty_officer": 1}
TAKE_OFF = 2  # the assign dialog's result when the leader chose "Take off…" instead


@dataclass(frozen=True)
class Cell:
    day: date
    stype: roster.ShiftTypeRow
    role: str
    shift: roster.ShiftRow | None
    entries: tuple[roster.EntryRow, ...]
    conflicts: tuple[roster.Conflict, ...]

    @property
    def title(self) -> str:
        return f"{self.day.isoformat()} {self.stype.name} · {roster.role_label(self.role)}"


@dataclass(frozen=True)
class CellEdit:
    """What the officer chose in the dialog: replace ``entry`` (or add, when None) by a person."""

    entry: roster.EntryRow | None
    person_id: int
    reason: str
    on_behalf_of: int | None


class RosterTableModel(QAbstractTableModel):
    """A thin adapter over a :class:`roster.RosterPeriod`: rows are days, columns shift × post."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.days: list[date] = []
        self.columns: list[tuple[roster.ShiftTypeRow, str]] = []
        self.cells: dict[tuple[int, int], Cell] = {}
        self.today: date | None = None  # the database's date, marked in the day column

    def set_period(self, period: roster.RosterPeriod, today: date | None = None) -> None:
        self.beginResetModel()
        self.today = today
        n = (period.end_day - period.start_day).days + 1
        self.days = [period.start_day + timedelta(days=i) for i in range(n)]
        self.columns = [(t, role) for t in period.types
                        for role in sorted(dict(t.required_roles), key=lambda r: ROLE_ORDER.get(r, 9))]
        shift_of = {(sh.day, sh.shift_type_id): sh for sh in period.shifts}
        self.cells = {}
        for r, day in enumerate(self.days):
            for c, (stype, role) in enumerate(self.columns):
                sh = shift_of.get((day.isoformat(), stype.id))
                entries = tuple(e for e in period.entries if sh and e.shift_id == sh.id and e.role == role)
                people = {e.person_id for e in entries}
                found = tuple(k for k in period.conflicts if sh and k.shift_id == sh.id and (
                    k.role == role or (k.person_id is not None and k.person_id in people)))
                self.cells[(r, c)] = Cell(day, stype, role, sh, entries, found)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.days)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def cell(self, index: QModelIndex | QPersistentModelIndex) -> Cell | None:
        return self.cells.get((index.row(), index.column())) if index.isValid() else None

    def index_for(self, day: date, shift_code: str, role: str) -> QModelIndex:
        for (r, c), cell in self.cells.items():
            if cell.day == day and cell.stype.code == shift_code and cell.role == role:
                return self.index(r, c)
        return QModelIndex()

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        cell = self.cell(index)
        if cell is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            names = "、".join(e.person_name for e in cell.entries)
            return f"⚠ {names}" if cell.conflicts else names
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [f"{e.person_name} {e.phone or ''}".strip() for e in cell.entries]
            lines += [f"⚠ {k.message}" for k in cell.conflicts]
            if cell.shift is not None and cell.shift.published_at is None:
                lines.append(_("Not published yet"))
            return plain_tooltip("\n".join(lines)) or _("Nobody on this post yet")
        if role == Qt.ItemDataRole.BackgroundRole and cell.conflicts:
            return QBrush(CONFLICT_BG)
        if role == Qt.ItemDataRole.ForegroundRole and cell.conflicts:
            return QBrush(CONFLICT_FG)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        is_today = (orientation == Qt.Orientation.Vertical and 0 <= section < len(self.days)
                    and self.days[section] == self.today)
        if role == Qt.ItemDataRole.FontRole and is_today:
            font = QFont()
            font.setBold(True)
            return font
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.columns):
            stype, post = self.columns[section]
            return f"{stype.name}\n{roster.role_label(post)}"
        if orientation == Qt.Orientation.Vertical and 0 <= section < len(self.days):
            day = self.days[section]
            text = f"{day:%m-%d} {_(WEEKDAYS[day.weekday()])}"
            return f"{text} · {_('Today')}" if is_today else text
        return None


class AssignDialog(QDialog):
    """Assign someone to a post, or swap a person out, with a reason (keyboard first)."""

    def __init__(self, cell: Cell, people: list[roster.PersonRow], *, may_edit: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cell = cell
        self.may_edit = may_edit
        self.setWindowTitle(_("Assign — {cell}").format(cell=cell.title))
        form = QFormLayout(self)
        self.target = QComboBox(self)
        for e in cell.entries:
            self.target.addItem(_("Replace {name}").format(name=e.person_name), e.id)
        if may_edit:  # adding someone is editing the roster; a duty officer may only swap
            self.target.addItem(_("Add a person"), None)
        full = len(cell.entries) >= cell.stype.required(cell.role)
        self.target.setCurrentIndex(0 if cell.entries and full else self.target.count() - 1)
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText(_("Type a name or phone…"))
        self.model = QStandardItemModel(self)
        for p in people:
            item = QStandardItem(f"{p.name}  {p.phone or ''}".rstrip())
            item.setEditable(False)
            item.setData(p.id, PERSON_ROLE)
            self.model.appendRow(item)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.people = QListView(self)
        self.people.setModel(self.proxy)
        self.behalf = QCheckBox(self)
        self.behalf.setVisible(may_edit)
        self.reason = QLineEdit(self)
        self.reason.setMaxLength(roster.MAX_REASON)
        self.reason.setPlaceholderText(_("Why (required for a swap)"))
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.take_off = QPushButton(_("&Take off…"), self)
        self.take_off.setToolTip(_("Take the person chosen under Change off this post (Delete in the calendar)"))
        self.take_off.setVisible(may_edit and bool(cell.entries))
        self.take_off.setAutoDefault(False)
        self.take_off.clicked.connect(lambda: self.done(TAKE_OFF))
        self.buttons.addButton(self.take_off, QDialogButtonBox.ButtonRole.ActionRole)
        form.addRow(QLabel(cell.title, self))
        form.addRow(_("&Change"), self.target)
        form.addRow(_("&Person"), self.filter)
        form.addRow("", self.people)
        form.addRow("", self.behalf)
        form.addRow(_("&Reason"), self.reason)
        form.addRow(self.buttons)
        # Keyboard path: type to filter, ↑/↓ to pick, Tab to the reason, Enter.
        QWidget.setTabOrder(self.target, self.filter)
        QWidget.setTabOrder(self.filter, self.reason)
        QWidget.setTabOrder(self.reason, self.behalf)
        QWidget.setTabOrder(self.behalf, self.people)
        self.filter.installEventFilter(self)
        self.filter.textChanged.connect(self._filtered)
        self.target.currentIndexChanged.connect(self._update)
        self.reason.textChanged.connect(self._update)
        self.people.selectionModel().currentChanged.connect(self._update)
        self._filtered("")
        self.filter.setFocus()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.filter and event.type() == QEvent.Type.KeyPress:
            key = event.key()  # type: ignore[attr-defined]
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up) and self.proxy.rowCount():
                row = self.people.currentIndex().row() + (1 if key == Qt.Key.Key_Down else -1)
                self.people.setCurrentIndex(self.proxy.index(max(0, min(row, self.proxy.rowCount() - 1)), 0))
                return True
        return super().eventFilter(watched, event)

    def replacing(self) -> roster.EntryRow | None:
        entry_id = self.target.currentData()
        return next((e for e in self.cell.entries if e.id == entry_id), None)

    def person_id(self) -> int | None:
        index = self.people.currentIndex()
        return int(index.data(PERSON_ROLE)) if index.isValid() else None

    def _filtered(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        if self.proxy.rowCount() and not self.people.currentIndex().isValid():
            self.people.setCurrentIndex(self.proxy.index(0, 0))
        self._update()

    def _update(self, *_args: Any) -> None:
        old = self.replacing()
        self.take_off.setEnabled(old is not None)
        self.behalf.setText(_("On behalf of {name}").format(name=old.person_name) if old else "")
        self.behalf.setEnabled(old is not None)
        if old is None:
            ok = self.may_edit and self.person_id() is not None
        else:
            ok = self.person_id() is not None and bool(self.reason.text().strip())
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)

    def choice(self) -> CellEdit | None:
        person = self.person_id()
        if person is None:
            return None
        old = self.replacing()
        behalf = old.person_id if old is not None and self.behalf.isChecked() else None
        return CellEdit(old, person, self.reason.text().strip(), behalf)


class PublishDialog(QDialog):
    """Shows the conflicts; with any, publishing needs an override reason."""

    def __init__(self, title: str, conflicts: list[roster.Conflict], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Publish the roster"))
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(title, self))
        self.list = QListWidget(self)
        self.list.addItems([k.message for k in conflicts] or [_("No conflicts.")])
        self.reason = QLineEdit(self)
        self.reason.setPlaceholderText(_("Override reason (required when there are conflicts)"))
        self.reason.setVisible(bool(conflicts))
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(_("Publish"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.list)
        layout.addWidget(self.reason)
        layout.addWidget(self.buttons)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.reason.textChanged.connect(lambda t: ok.setEnabled(not conflicts or bool(t.strip())))
        ok.setEnabled(not conflicts)


class RosterCalendarPanel(QDockWidget):
    screenshot_name = "roster_calendar"

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(_("Roster calendar"), parent)
        self.setObjectName("roster_calendar")
        self.default_area = Qt.DockWidgetArea.BottomDockWidgetArea
        self.default_visible = False
        self.ui = ui
        self.mode = "week"
        self.anchor: date | None = None  # None: the database's today, found off the GUI thread
        self.period: roster.RosterPeriod | None = None
        self.dialog: QDialog | None = None
        self._loading = False
        self._stale = False
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        bar = QHBoxLayout()
        self.prev_button = QPushButton("◀", body)
        self.today_button = QPushButton(_("Today"), body)
        self.next_button = QPushButton("▶", body)
        self.mode_box = QComboBox(body)
        self.mode_box.addItem(_("Week"), "week")
        self.mode_box.addItem(_("Month"), "month")
        self.range_label = QLabel(body)
        self.leave_button = QPushButton(_("Leave…"), body)
        self.leave_button.setToolTip(_("Leave of the person in the selected cell (Ctrl+Shift+L)"))
        self.types_button = QPushButton(_("Shift types…"), body)
        self.publish_button = QPushButton(_("Publish…"), body)
        for w in (self.prev_button, self.today_button, self.next_button, self.mode_box, self.range_label):
            bar.addWidget(w)
        bar.addStretch(1)
        for w in (self.leave_button, self.types_button, self.publish_button):
            bar.addWidget(w)
        self.model = RosterTableModel(self)
        self.view = QTableView(body)
        self.view.setModel(self.model)
        self.view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.view.setWordWrap(True)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.message = QLabel(body)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.message)
        self.setWidget(body)
        self.prev_button.clicked.connect(lambda: self.step(-1))
        self.next_button.clicked.connect(lambda: self.step(1))
        self.today_button.clicked.connect(lambda: self.go_to(None))
        self.mode_box.currentIndexChanged.connect(lambda _i: self.set_mode(self.mode_box.currentData()))
        self.publish_button.clicked.connect(self.publish)
        self.view.activated.connect(self.open_cell)  # Enter, and double-click
        # Delete and Ctrl+Shift+L are keys of the table itself (event filter, not window shortcuts), so a
        # key typed in a dialog can never reach the calendar; the context menu shows them after a tab.
        self.view.installEventFilter(self)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        for text, keys, slot in ((_("Assign or swap…"), "Enter", lambda: self.open_cell(self.view.currentIndex())),
                                 (_("Take off…"), "Del", self.remove_current),
                                 (_("Leave…"), "Ctrl+Shift+L", self.open_leave)):
            act = QAction(f"{text}\t{keys}", self.view)
            act.triggered.connect(slot)
            self.view.addAction(act)
        self.leave_button.clicked.connect(self.open_leave)
        self.types_button.clicked.connect(self.edit_shift_types)
        self.types_action: QAction | None = None
        ui.feed.changed.connect(self._on_changes)
        ui.session.actor_changed.connect(lambda _a: self._update_buttons())
        self._update_buttons()
        self.reload()

    # -- menu and navigation --------------------------------------------------------------------
    def contribute_actions(self, window: Any) -> None:
        action = QAction(_("Roster calendar"), window)
        action.setShortcut(QKeySequence("Ctrl+R"))
        action.triggered.connect(self.focus_calendar)
        window.menu_duty.addAction(action)
        self.types_action = QAction(_("Shift types…"), window)
        self.types_action.triggered.connect(self.edit_shift_types)
        window.menu_duty.addAction(self.types_action)
        self._update_buttons()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.view and event.type() == QEvent.Type.KeyPress:
            key, mods = event.key(), event.modifiers()  # type: ignore[attr-defined]
            if key == Qt.Key.Key_Delete and mods == Qt.KeyboardModifier.NoModifier:
                self.remove_current()
                return True
            if key == Qt.Key.Key_L and mods == (Qt.KeyboardModifier.ControlModifier
                                                | Qt.KeyboardModifier.ShiftModifier):
                self.open_leave()
                return True
        return super().eventFilter(watched, event)

    def focus_calendar(self) -> None:
        self.show()
        self.raise_()
        self.view.setFocus()

    @staticmethod
    def span(anchor: date, mode: str) -> tuple[date, date]:
        """The days on screen: the week (Monday first) or the month around ``anchor``."""
        if mode == "month":
            first = anchor.replace(day=1)
            return first, first.replace(day=pycalendar.monthrange(first.year, first.month)[1])
        first = anchor - timedelta(days=anchor.weekday())
        return first, first + timedelta(days=6)

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.mode_box.setCurrentIndex(self.mode_box.findData(mode))
        self.reload()

    def go_to(self, day: date | None) -> None:
        self.anchor = day
        self.reload()

    def step(self, direction: int) -> None:
        if self.anchor is None:  # still finding out what day it is
            return
        if self.mode == "month":
            first = self.anchor.replace(day=1)
            self.anchor = (first + timedelta(days=32)).replace(day=1) if direction > 0 else \
                (first - timedelta(days=1)).replace(day=1)
        else:
            self.anchor += timedelta(days=7 * direction)
        self.reload()

    def _update_buttons(self) -> None:
        actor = self.ui.actor
        self.publish_button.setEnabled(actor is not None and allowed(actor, "roster.publish"))
        may_edit = actor is not None and allowed(actor, "roster.edit")
        self.types_button.setEnabled(may_edit)  # the shift types are the leaders' (permission matrix)
        if self.types_action is not None:
            self.types_action.setEnabled(may_edit)

    # -- loading ------------------------------------------------------------------------------
    def is_ready(self) -> bool:
        return not self._loading

    def reload(self) -> None:
        if self._loading:
            self._stale = True
            return
        self._loading = True
        db, actor, resources = self.ui.console.db, self.ui.actor, self.ui.console.resources
        anchor, mode = self.anchor, self.mode

        def load() -> tuple[date, date, roster.RosterPeriod]:
            today = local(db.now()).date()
            day = anchor or today
            first, last = self.span(day, mode)
            if actor is not None and allowed(actor, "roster.edit"):
                roster.ensure_shifts(db, actor, first, last)  # so that every cell can be assigned
            return day, today, roster.period(db, first, last, resources=resources)

        self.ui.runner.run(load, on_success=self._show, on_failure=self._failed)

    def _loaded(self) -> None:
        self._loading = False
        if self._stale:
            self._stale = False
            self.reload()

    def _failed(self, exc: BaseException) -> None:
        self.say(str(exc), error=True)
        self._loaded()

    def _show(self, loaded: tuple[date, date, roster.RosterPeriod]) -> None:
        day, today, period = loaded
        if self.anchor is None:
            self.anchor = day
        self.range_label.setText(f"{period.start_day.isoformat()} – {period.end_day.isoformat()}")
        current = self.view.currentIndex()
        first_show = not current.isValid() and period.start_day <= today <= period.end_day
        row, col = (current.row(), current.column()) if current.isValid() else (0, 0)
        if first_show:  # the calendar opens on today's row
            row = (today - period.start_day).days
        self.period = period
        self.model.set_period(period, today)
        self.view.resizeRowsToContents()
        if self.model.rowCount() and self.model.columnCount():
            self.view.setCurrentIndex(self.model.index(min(row, self.model.rowCount() - 1),
                                                       min(col, self.model.columnCount() - 1)))
        self._loaded()

    def _on_changes(self, changes: list) -> None:
        if any(c.entity in WATCHED for c in changes):
            self.reload()

    def say(self, text: str, *, error: bool = False) -> None:
        self.message.setStyleSheet(theme.warning_style() if error else "")
        self.message.setText(text)

    # -- assigning ------------------------------------------------------------------------------
    def open_cell(self, index: QModelIndex) -> None:
        cell = self.model.cell(index)
        actor = self.ui.actor
        if cell is None or self.dialog is not None:
            return
        if actor is None or not allowed(actor, "roster.swap"):
            self.say(_("You may not change the roster."), error=True)
            return
        db = self.ui.console.db
        self.ui.runner.run(lambda: roster.people(db, cell.role),
                           on_success=lambda people: self._ask(cell, people),
                           on_failure=lambda exc: self.say(str(exc), error=True))

    def _ask(self, cell: Cell, people: list[roster.PersonRow]) -> None:
        actor = self.ui.actor
        dialog = AssignDialog(cell, people, may_edit=actor is not None and allowed(actor, "roster.edit"),
                              parent=self)
        self.dialog = dialog

        def finished(result: int) -> None:
            self.dialog = None
            edit = dialog.choice() if result == QDialog.DialogCode.Accepted else None
            leaving = dialog.replacing() if result == TAKE_OFF else None
            dialog.deleteLater()
            self.view.setFocus()
            if edit is not None:
                self.apply(cell, edit)
            elif leaving is not None:
                self.ask_remove(cell, leaving)

        dialog.finished.connect(finished)
        dialog.open()

    def apply(self, cell: Cell, edit: CellEdit) -> None:
        db, actor = self.ui.console.db, self.ui.console.require_actor()

        def work() -> roster.EntryRow:
            if edit.entry is not None:
                return roster.swap(db, actor, edit.entry.id, edit.entry.version, edit.person_id, edit.reason,
                                   on_behalf_of=edit.on_behalf_of)
            shift = cell.shift or next(sh for sh in roster.ensure_shifts(db, actor, cell.day, cell.day)
                                       if sh.shift_type_id == cell.stype.id)
            return roster.assign(db, actor, shift.id, edit.person_id, cell.role, edit.reason or None)

        def done(entry: roster.EntryRow) -> None:
            self.say(_("{name} is on {cell}.").format(name=entry.person_name, cell=cell.title))
            self.reload()

        def failed(exc: BaseException) -> None:
            self.say(str(exc), error=True)
            self.reload()

        self.ui.runner.run(work, on_success=done, on_failure=failed)

    # -- taking a person off -------------------------------------------------------------------
    def remove_current(self) -> None:
        """Delete on a cell: take (one of) its people off, after a confirmation with a reason."""
        cell = self.model.cell(self.view.currentIndex())
        if cell is not None:
            self.ask_remove(cell, None)

    def ask_remove(self, cell: Cell, entry: roster.EntryRow | None) -> None:
        actor = self.ui.actor
        if self.dialog is not None:
            return
        try:
            if actor is None:
                raise PermissionDenied(_("You may not change the roster."))
            require(actor, "roster.edit")  # the service checks again; this only spares asking for nothing
        except PermissionDenied as exc:
            self.say(str(exc), error=True)
            return
        if not cell.entries:
            self.say(_("Nobody is on {cell}.").format(cell=cell.title), error=True)
            return
        dialog = ConfirmDialog(
            title=_("Take off the roster"), choices=[(e.person_name, e) for e in cell.entries],
            question=lambda e: _("Take {name} off {cell}? The entry is kept in the history, marked taken off.")
            .format(name=e.person_name, cell=cell.title),
            ok_text=_("Take off"), reason_required=True, max_reason=roster.MAX_REASON, current=entry, parent=self)
        self.dialog = dialog

        def finished(result: int) -> None:
            self.dialog = None
            chosen, reason = dialog.choice(), dialog.reason_text()
            dialog.deleteLater()
            self.view.setFocus()
            if result == QDialog.DialogCode.Accepted:
                self._remove(cell, chosen, reason)

        dialog.finished.connect(finished)
        dialog.open()

    def _remove(self, cell: Cell, entry: roster.EntryRow, reason: str) -> None:
        db, actor = self.ui.console.db, self.ui.console.require_actor()

        def done(gone: roster.EntryRow) -> None:
            self.say(_("{name} is off {cell}.").format(name=gone.person_name, cell=cell.title))
            self.reload()

        def failed(exc: BaseException) -> None:  # changed elsewhere, refused: say so and show what is there
            self.say(str(exc), error=True)
            self.reload()

        self.ui.runner.run(lambda: roster.remove(db, actor, entry.id, entry.version, reason),
                           on_success=done, on_failure=failed)

    # -- leave and shift types ------------------------------------------------------------------
    def open_leave(self) -> None:
        """The leave of the selected cell's (first) person in the days on screen."""
        if self.period is None or self.dialog is not None:
            return
        cell = self.model.cell(self.view.currentIndex())
        person = cell.entries[0].person_id if cell is not None and cell.entries else None
        span = (cell.shift.starts_at, cell.shift.ends_at) if cell is not None and cell.shift is not None else None
        dialog = LeaveDialog(self.ui, self.period.start_day, self.period.end_day, person_id=person, span=span,
                             parent=self)
        self._open_tool(dialog)

    def edit_shift_types(self) -> None:
        if self.dialog is not None:
            return
        self.focus_calendar()
        self._open_tool(ShiftTypeDialog(self.ui, parent=self))

    def _open_tool(self, dialog: LeaveDialog | ShiftTypeDialog) -> None:
        self.dialog = dialog
        dialog.changed.connect(self.reload)  # this workstation's own change, without waiting for the feed

        def finished(_result: int) -> None:
            self.dialog = None
            dialog.deleteLater()
            self.view.setFocus()

        dialog.finished.connect(finished)
        dialog.open()

    # -- publishing -----------------------------------------------------------------------------
    def publish(self) -> None:
        if self.period is None or self.dialog is not None:
            return
        first, last = self.period.start_day, self.period.end_day
        title = _("Publish the roster from {first} to {last}?").format(first=first.isoformat(),
                                                                      last=last.isoformat())
        dialog = PublishDialog(title, list(self.period.conflicts), self)
        self.dialog = dialog

        def finished(result: int) -> None:
            self.dialog = None
            reason = dialog.reason.text().strip() or None
            dialog.deleteLater()
            if result == QDialog.DialogCode.Accepted:
                self._publish(first, last, reason)

        dialog.finished.connect(finished)
        dialog.open()

    def _publish(self, first: date, last: date, reason: str | None) -> None:
        db, actor, resources = self.ui.console.db, self.ui.console.require_actor(), self.ui.console.resources

        def done(result: roster.Publication) -> None:
            self.say(_("Published {n} shifts.").format(n=len(result.shift_ids)))
            self.reload()

        self.ui.runner.run(lambda: roster.publish(db, actor, first, last, reason, resources=resources),
                           on_success=done, on_failure=lambda exc: self.say(str(exc), error=True))
