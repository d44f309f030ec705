"""Leave (请假/休假) from the roster calendar: a person's leave in the days on screen, add one, withdraw one.

The leader picks the person by typing a name or phone (as in the assign dialog), reads the
leave that touches the days shown (withdrawn ones too, marked), records a new leave from/to a
local date and time with a reason, or withdraws one after a confirmation. Reads and writes run
off the GUI thread; the list follows changes made at other workstations (change feed). The
calendar's conflict marks follow by themselves: a leave is part of its conflict check.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from PySide6.QtCore import QDate, QDateTime, QEvent, QObject, QSortFilterProxyModel, Qt, QTime, Signal
from PySide6.QtGui import QBrush, QKeyEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dispatch_console import rosters as roster
from dispatch_console.kernel.errors import ValidationError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import refusal
from dispatch_console.kernel.timefmt import LOCAL_TZ, fmt_local, local
from ui.rosters.confirm import ConfirmDialog
from ui.shell import theme
from ui.shell.context import UiContext
from ui.shell.plain_text import plain_tooltip
from ui.shell.tables import refill

PERSON_ROLE = Qt.ItemDataRole.UserRole + 1
TIME_FORMAT = "yyyy-MM-dd HH:mm"


def to_qt(when: datetime) -> QDateTime:
    """A moment as the duty room's local wall-clock time (whatever the computer's timezone)."""
    t = local(when)
    return QDateTime(QDate(t.year, t.month, t.day), QTime(t.hour, t.minute))


def from_qt(value: QDateTime) -> datetime:
    d, t = value.date(), value.time()
    return datetime(d.year(), d.month(), d.day(), t.hour(), t.minute(), tzinfo=LOCAL_TZ)


def _short(when: datetime) -> str:
    return fmt_local(when, "%Y-%m-%d %H:%M")


class LeaveDialog(QDialog):
    """One person's leave in the days ``first``..``last``; add and withdraw (``roster.edit``)."""

    changed = Signal()  # a leave was recorded or withdrawn here

    def __init__(self, ui: UiContext, first: date, last: date, *, person_id: int | None = None,
                 span: tuple[datetime, datetime] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ui = ui
        self.first, self.last = first, last
        self.wanted_person = person_id
        self.rows: list[roster.LeaveRow] = []
        self.confirm: ConfirmDialog | None = None
        self._loaded_for: int | None = None
        self._busy = False
        self.setWindowTitle(_("Leave"))
        self.resize(640, 620)
        self.refusal = refusal(ui.actor, "roster.edit")

        layout = QVBoxLayout(self)
        heading = QLabel(_("Leave from {first} to {last}").format(first=first.isoformat(), last=last.isoformat()),
                         self)
        heading.setStyleSheet("font-weight: bold")
        layout.addWidget(heading)
        pick = QFormLayout()
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText(_("Type a name or phone…"))
        self.people_model = QStandardItemModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.people_model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.people = QListView(self)
        self.people.setModel(self.proxy)
        self.people.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.people.setMaximumHeight(110)
        pick.addRow(_("&Person"), self.filter)
        pick.addRow("", self.people)
        layout.addLayout(pick)

        self.list_title = QLabel(self)
        self.list_title.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.list_title)
        self.table = QTableWidget(0, 4, self)
        self.table.setHorizontalHeaderLabels([_("From"), _("To"), _("Reason"), _("Status")])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.withdraw_button = QPushButton(_("&Withdraw leave…"), self)
        row.addWidget(self.withdraw_button)
        row.addStretch(1)
        layout.addLayout(row)

        self.new_box = QGroupBox(_("Record leave"), self)
        form = QFormLayout(self.new_box)
        start, end = span or (datetime.combine(first, datetime.min.time(), tzinfo=LOCAL_TZ) + timedelta(hours=8),
                              datetime.combine(first, datetime.min.time(), tzinfo=LOCAL_TZ) + timedelta(hours=20))
        self.starts = QDateTimeEdit(to_qt(start), self.new_box)
        self.ends = QDateTimeEdit(to_qt(end), self.new_box)
        for edit in (self.starts, self.ends):
            edit.setDisplayFormat(TIME_FORMAT)
            edit.setCalendarPopup(True)
        self.reason = QLineEdit(self.new_box)
        self.reason.setMaxLength(roster.MAX_LEAVE_REASON)
        self.reason.setPlaceholderText(_("For example 病假, 年假, 事假"))
        self.add_button = QPushButton(_("Record &leave"), self.new_box)
        form.addRow(_("&From"), self.starts)
        form.addRow(_("&To"), self.ends)
        form.addRow(_("&Reason"), self.reason)
        form.addRow("", self.add_button)
        layout.addWidget(self.new_box)

        self.message = QLabel(self)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setText(_("Close"))
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        for button in (self.withdraw_button, self.add_button, *self.buttons.buttons()):
            button.setAutoDefault(False)  # Enter in a field must not close the dialog

        QWidget.setTabOrder(self.filter, self.people)
        QWidget.setTabOrder(self.people, self.table)
        QWidget.setTabOrder(self.table, self.withdraw_button)
        QWidget.setTabOrder(self.withdraw_button, self.starts)
        QWidget.setTabOrder(self.starts, self.ends)
        QWidget.setTabOrder(self.ends, self.reason)
        QWidget.setTabOrder(self.reason, self.add_button)
        self.filter.installEventFilter(self)
        self.table.installEventFilter(self)
        self.filter.textChanged.connect(self._filtered)
        self.people.selectionModel().currentChanged.connect(lambda *_a: self._person_changed())
        self.table.itemSelectionChanged.connect(self._update)
        self.withdraw_button.clicked.connect(self.ask_withdraw)
        self.add_button.clicked.connect(self.add)
        self.reason.returnPressed.connect(self.add)
        ui.feed.changed.connect(self._on_changes)
        self.finished.connect(lambda _r: self._disconnect())
        if self.refusal:
            self.new_box.setEnabled(False)
            self.say(self.refusal, error=False)
        self._update()
        self.filter.setFocus()
        self._load_people()

    # -- people -------------------------------------------------------------------------------
    def _load_people(self) -> None:
        db = self.ui.console.db
        self.ui.runner.run(lambda: roster.people(db), on_success=self._show_people,
                           on_failure=lambda exc: self.say(str(exc), error=True))

    def _show_people(self, people: list[roster.PersonRow]) -> None:
        self.people_model.clear()
        for p in people:
            item = QStandardItem(f"{p.name}  {p.phone or ''}".rstrip())
            item.setEditable(False)
            item.setData(p.id, PERSON_ROLE)
            self.people_model.appendRow(item)
        at = next((r for r in range(self.proxy.rowCount())
                   if self.proxy.index(r, 0).data(PERSON_ROLE) == self.wanted_person), 0)
        if self.proxy.rowCount():
            self.people.setCurrentIndex(self.proxy.index(at, 0))

    def person_id(self) -> int | None:
        index = self.people.currentIndex()
        return int(index.data(PERSON_ROLE)) if index.isValid() else None

    def person_name(self) -> str:
        index = self.people.currentIndex()
        return str(index.data()).split("  ")[0] if index.isValid() else ""

    def _filtered(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        if self.proxy.rowCount() and not self.people.currentIndex().isValid():
            self.people.setCurrentIndex(self.proxy.index(0, 0))
        self._person_changed()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress:
            key = event.key()  # type: ignore[attr-defined]
            if watched is self.filter and key in (Qt.Key.Key_Down, Qt.Key.Key_Up) and self.proxy.rowCount():
                row = self.people.currentIndex().row() + (1 if key == Qt.Key.Key_Down else -1)
                self.people.setCurrentIndex(self.proxy.index(max(0, min(row, self.proxy.rowCount() - 1)), 0))
                return True
            if watched is self.table and key == Qt.Key.Key_Delete:
                self.ask_withdraw()
                return True
        return super().eventFilter(watched, event)

    # -- the person's leave ---------------------------------------------------------------------
    def _person_changed(self) -> None:
        pid = self.person_id()
        if pid != self._loaded_for:
            self.reload()
        self._update()

    def is_ready(self) -> bool:
        return not self._busy and self._loaded_for == self.person_id()

    def reload(self) -> None:
        pid = self.person_id()
        name = self.person_name()
        if pid is None:
            self._loaded_for = None
            self._show_rows(None, "", [])
            return
        db, first, last = self.ui.console.db, self.first, self.last
        self._busy = True

        def done(rows: list[roster.LeaveRow]) -> None:
            self._busy = False
            if pid == self.person_id():  # the officer may have moved on while this was read
                self._loaded_for = pid
                self._show_rows(pid, name, rows)

        def failed(exc: BaseException) -> None:
            self._busy = False
            self.say(str(exc), error=True)

        self.ui.runner.run(lambda: roster.leaves(db, first, last, person_id=pid, include_cancelled=True),
                           on_success=done, on_failure=failed)

    def _show_rows(self, pid: int | None, name: str, rows: list[roster.LeaveRow]) -> None:
        keep = self.selected()
        self.rows = rows
        self.list_title.setText(_("Leave of {name} in these days: {n}").format(
            name=name, n=sum(1 for r in rows if r.active)) if pid is not None else "")
        table = []
        for lv in rows:
            status = _("On leave") if lv.active else _("Withdrawn {time}").format(
                time=_short(lv.cancelled_at)) if lv.cancelled_at else ""
            items = []
            for text in (_short(lv.starts_at), _short(lv.ends_at), lv.reason or "", status):
                item = QTableWidgetItem(text)
                item.setToolTip(plain_tooltip(text))
                if not lv.active:
                    item.setForeground(QBrush(theme.muted_colour()))
                items.append(item)
            table.append(items)
        refill(self.table, table)
        at = next((i for i, lv in enumerate(rows) if keep is not None and lv.id == keep.id),
                  next((i for i, lv in enumerate(rows) if lv.active), -1))
        if at >= 0:
            self.table.selectRow(at)
        self._update()

    def selected(self) -> roster.LeaveRow | None:
        picked = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.rows[picked[0].row()] if picked and picked[0].row() < len(self.rows) else None

    def _update(self) -> None:
        lv = self.selected()
        self.withdraw_button.setEnabled(self.refusal is None and lv is not None and lv.active)
        self.add_button.setEnabled(self.refusal is None and self.person_id() is not None)

    def _on_changes(self, changes: list) -> None:
        if any(c.entity in ("roster", "person", "database") for c in changes):
            self.reload()

    def _disconnect(self) -> None:
        try:
            self.ui.feed.changed.disconnect(self._on_changes)
        except (RuntimeError, TypeError):
            pass

    def say(self, text: str, *, error: bool = False) -> None:
        self.message.setStyleSheet(theme.warning_style() if error else "")
        self.message.setText(text)

    # -- recording and withdrawing ------------------------------------------------------------------
    def add(self) -> None:
        pid, name = self.person_id(), self.person_name()
        if pid is None or self.refusal is not None:
            return
        starts, ends = from_qt(self.starts.dateTime()), from_qt(self.ends.dateTime())
        reason = self.reason.text().strip() or None
        db, actor = self.ui.console.db, self.ui.console.require_actor()
        self.add_button.setEnabled(False)

        def done(_leave_id: int) -> None:
            self.reason.clear()
            self.say(_("Leave of {name} recorded: {start} – {end}.").format(
                name=name, start=_short(starts), end=_short(ends)))
            self.changed.emit()
            self.reload()

        def failed(exc: BaseException) -> None:
            self.say(str(exc), error=True)
            self._update()
            if isinstance(exc, ValidationError) and exc.field in ("starts_at", "ends_at"):
                (self.starts if exc.field == "starts_at" else self.ends).setFocus()

        self.ui.runner.run(lambda: roster.add_leave(db, actor, pid, starts, ends, reason),
                           on_success=done, on_failure=failed)

    def ask_withdraw(self) -> None:
        lv = self.selected()
        if lv is None or not lv.active or self.confirm is not None:
            return
        if self.refusal is not None:
            self.say(self.refusal, error=True)
            return
        dialog = ConfirmDialog(
            title=_("Withdraw leave"), choices=[(lv.person_name, lv)],
            question=lambda x: _("Withdraw the leave of {name} from {start} to {end}? "
                                 "Their shifts in that time count as worked again.").format(
                name=x.person_name, start=_short(x.starts_at), end=_short(x.ends_at)),
            ok_text=_("Withdraw"), reason_required=False, max_reason=roster.MAX_REASON, parent=self)
        self.confirm = dialog

        def finished(result: int) -> None:
            self.confirm = None
            reason = dialog.reason_text() or None
            dialog.deleteLater()
            self.table.setFocus()
            if result == QDialog.DialogCode.Accepted:
                self._withdraw(lv, reason)

        dialog.finished.connect(finished)
        dialog.open()

    def _withdraw(self, lv: roster.LeaveRow, reason: str | None) -> None:
        db, actor = self.ui.console.db, self.ui.console.require_actor()

        def done(row: roster.LeaveRow) -> None:
            self.say(_("Leave of {name} withdrawn.").format(name=row.person_name))
            self.changed.emit()
            self.reload()

        def failed(exc: BaseException) -> None:
            self.say(str(exc), error=True)
            self.reload()

        self.ui.runner.run(lambda: roster.cancel_leave(db, actor, lv.id, reason), on_success=done,
                           on_failure=failed)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            return  # Enter acts in its field (the reason records the leave), never closes the dialog
        super().keyPressEvent(event)
