"""The shift types editor (班次设置): list, add and change 白班 / 夜班 … (``roster.edit``).

A table lists the shift types; Enter on one (or selecting it) puts it in the form below, "New"
empties the form. Each field says what is wrong with it next to it as the leader types (the
same checks the service makes: HH:MM, 1 to 24 hours, a code and a name no other type has).
Saving a changed start or length moves the shifts that have not started yet; the message says
how many. Reads and writes run off the GUI thread; the list follows other workstations.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dispatch_console import rosters as roster
from dispatch_console.kernel.errors import ConcurrentChange, ValidationError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import refusal
from ui.shell import theme
from ui.shell.context import UiContext
from ui.shell.plain_text import plain_tooltip
from ui.shell.tables import refill

_HOURS = re.compile(r"(\d{1,2})(?:[.,](\d{1,2}))?")
_HOURS_MINUTES = re.compile(r"(\d{1,2}):([0-5]\d)")


def parse_hours(text: str) -> int | None:
    """Minutes from what the leader typed as hours: ``12``, ``8.5``, ``7,5`` or ``7:30``; None if unreadable."""
    text = text.strip()
    if m := _HOURS_MINUTES.fullmatch(text):
        return int(m.group(1)) * 60 + int(m.group(2))
    if m := _HOURS.fullmatch(text):
        return round(float(f"{m.group(1)}.{m.group(2) or 0}") * 60)
    return None


def format_hours(minutes: int) -> str:
    return f"{minutes // 60}" if minutes % 60 == 0 else f"{minutes // 60}:{minutes % 60:02d}"


class ShiftTypeDialog(QDialog):
    changed = Signal()  # a shift type was added or changed here

    COLUMNS = ("code", "name", "start", "hours", "shift_leader", "duty_officer")

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ui = ui
        self.types: list[roster.ShiftTypeRow] = []
        self.editing: roster.ShiftTypeRow | None = None
        self.touched: set[str] = set()
        self.refused: dict[str, str] = {}  # what the service said about a field, until it is edited
        self._busy = False
        self._loaded = False
        self._in_flight = False  # a save is running
        self.setWindowTitle(_("Shift types"))
        self.resize(720, 560)
        self.refusal = refusal(ui.actor, "roster.edit")

        layout = QVBoxLayout(self)
        self.table = QTableWidget(0, len(self.COLUMNS), self)
        self.table.setHorizontalHeaderLabels([_("Code"), _("Name"), _("Starts"), _("Hours"),
                                              roster.role_label("shift_leader"), roster.role_label("duty_officer")])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        bar = QHBoxLayout()
        self.new_button = QPushButton(_("&New shift type"), self)
        bar.addWidget(self.new_button)
        bar.addStretch(1)
        layout.addLayout(bar)

        self.form_title = QLabel(self)
        self.form_title.setTextFormat(Qt.TextFormat.PlainText)
        self.form_title.setStyleSheet("font-weight: bold")
        layout.addWidget(self.form_title)
        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(2, 2)
        self.code = QLineEdit(self)
        self.code.setMaxLength(32)
        self.code.setPlaceholderText(_("day, night …"))
        self.name = QLineEdit(self)
        self.name.setMaxLength(100)
        self.name.setPlaceholderText(_("白班, 夜班 …"))
        self.start = QLineEdit(self)
        self.start.setMaxLength(5)
        self.start.setPlaceholderText("HH:MM")
        self.hours = QLineEdit(self)
        self.hours.setMaxLength(5)
        self.hours.setPlaceholderText(_("1 to 24"))
        self.leaders = QSpinBox(self)
        self.officers = QSpinBox(self)
        for box in (self.leaders, self.officers):
            box.setRange(0, roster.MAX_PER_ROLE)
        self.fields: dict[str, QWidget] = {"code": self.code, "name": self.name, "start_time": self.start,
                                           "length_minutes": self.hours, "required_roles": self.officers}
        self.errors: dict[str, QLabel] = {}
        rows = [("code", _("&Code"), self.code), ("name", _("Na&me"), self.name),
                ("start_time", _("Star&ts at"), self.start), ("length_minutes", _("&Length (hours)"), self.hours),
                ("leaders", roster.role_label("shift_leader"), self.leaders),
                ("required_roles", roster.role_label("duty_officer"), self.officers)]
        for r, (field, text, widget) in enumerate(rows):
            label = QLabel(text, self)
            label.setBuddy(widget)
            grid.addWidget(label, r, 0)
            grid.addWidget(widget, r, 1)
            if field != "leaders":
                error = QLabel(self)
                error.setTextFormat(Qt.TextFormat.PlainText)
                error.setWordWrap(True)
                error.setStyleSheet(theme.warning_style())
                grid.addWidget(error, r, 2)
                self.errors[field] = error
        layout.addLayout(grid)
        self.note = QLabel(_("A changed start or length applies to the shifts that have not started yet, with the "
                             "people on them; shifts already started keep their times."), self)
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"color: {theme.muted_colour().name()}")
        layout.addWidget(self.note)
        self.message = QLabel(self)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Close, self)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setText(_("&Save"))
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setText(_("Close"))
        self.buttons.rejected.connect(self.reject)
        self.save_button.clicked.connect(self.save)
        layout.addWidget(self.buttons)
        for button in (self.new_button, *self.buttons.buttons()):
            button.setAutoDefault(False)

        QWidget.setTabOrder(self.table, self.new_button)
        QWidget.setTabOrder(self.new_button, self.code)
        QWidget.setTabOrder(self.code, self.name)
        QWidget.setTabOrder(self.name, self.start)
        QWidget.setTabOrder(self.start, self.hours)
        QWidget.setTabOrder(self.hours, self.leaders)
        QWidget.setTabOrder(self.leaders, self.officers)
        QWidget.setTabOrder(self.officers, self.save_button)
        self.table.itemSelectionChanged.connect(self._selected)
        self.table.activated.connect(lambda _i: self._focus_form())  # Enter on a shift type: edit it
        self.new_button.clicked.connect(self.new_type)
        for field, widget in (("code", self.code), ("name", self.name), ("start_time", self.start),
                              ("length_minutes", self.hours)):
            widget.textEdited.connect(lambda _t, f=field: self._edited(f))  # type: ignore[misc]
            widget.returnPressed.connect(self.save)
        for box in (self.leaders, self.officers):
            box.valueChanged.connect(lambda _v: self._edited("required_roles"))
        ui.feed.changed.connect(self._on_changes)
        self.finished.connect(lambda _r: self._disconnect())
        for widget in (*self.fields.values(), self.leaders, self.new_button):
            widget.setEnabled(self.refusal is None)
        if self.refusal:
            self.say(self.refusal)
        self.new_type()
        self.table.setFocus()
        self.reload()

    # -- loading ------------------------------------------------------------------------------
    def is_ready(self) -> bool:
        return self._loaded and not self._busy

    def reload(self, select_code: str | None = None) -> None:
        db = self.ui.console.db
        self._busy = True

        def done(types: list[roster.ShiftTypeRow]) -> None:
            self._busy = False
            self._loaded = True
            self._show(types, select_code or (self.editing.code if self.editing else None))

        def failed(exc: BaseException) -> None:
            self._busy = False
            self.say(str(exc), error=True)

        self.ui.runner.run(lambda: roster.shift_types(db), on_success=done, on_failure=failed)

    def _show(self, types: list[roster.ShiftTypeRow], select_code: str | None) -> None:
        editing_id = self.editing.id if self.editing else None
        self.types = types
        self.table.blockSignals(True)
        table = []
        for t in types:
            cells = (t.code, t.name, t.start_time, format_hours(t.length_minutes),
                     str(t.required("shift_leader")), str(t.required("duty_officer")))
            items = []
            for text in cells:
                item = QTableWidgetItem(text)
                item.setToolTip(plain_tooltip(text))
                items.append(item)
            table.append(items)
        refill(self.table, table)
        self.table.blockSignals(False)
        at = next((r for r, t in enumerate(types) if t.code == select_code), None)
        if at is not None:
            self.table.selectRow(at)
            fresh = types[at]
            if editing_id == fresh.id and self.editing != fresh and not self.touched:
                self._fill(fresh)  # changed elsewhere and not being edited here: show the new values
            elif editing_id != fresh.id:
                self._fill(fresh)
        self._validate()

    def _on_changes(self, changes: list) -> None:
        if any(c.entity in ("shift", "database") for c in changes):
            self.reload()

    def _disconnect(self) -> None:
        try:
            self.ui.feed.changed.disconnect(self._on_changes)
        except (RuntimeError, TypeError):
            pass

    # -- the form -----------------------------------------------------------------------------------
    def _selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows and rows[0].row() < len(self.types):
            picked = self.types[rows[0].row()]
            if self.editing is None or picked.id != self.editing.id:
                self._fill(picked)

    def _focus_form(self) -> None:
        if self.refusal is None:
            self.code.setFocus()
            self.code.selectAll()

    def new_type(self) -> None:
        self.table.clearSelection()
        self.editing = None
        self.touched.clear()
        for w in (self.code, self.name, self.start, self.hours):
            w.clear()
        self.leaders.setValue(1)
        self.officers.setValue(2)
        self.touched.clear()
        self.refused.clear()
        self.form_title.setText(_("New shift type"))
        self._validate()
        if self.refusal is None and self.isVisible():
            self.code.setFocus()

    def _fill(self, t: roster.ShiftTypeRow) -> None:
        self.editing = t
        self.code.setText(t.code)
        self.name.setText(t.name)
        self.start.setText(t.start_time)
        self.hours.setText(format_hours(t.length_minutes))
        self.leaders.setValue(t.required("shift_leader"))
        self.officers.setValue(t.required("duty_officer"))
        self.touched.clear()
        self.refused.clear()
        self.form_title.setText(_("Change {name} ({code})").format(name=t.name, code=t.code))
        self._validate()

    def _edited(self, field: str) -> None:
        self.touched.add(field)
        self.refused.pop(field, None)
        self._validate()

    def values(self) -> dict[str, Any]:
        return {"code": self.code.text().strip(), "name": self.name.text().strip(),
                "start_time": self.start.text().strip(), "length_minutes": parse_hours(self.hours.text()),
                "required_roles": {"shift_leader": self.leaders.value(), "duty_officer": self.officers.value()}}

    def problems(self) -> dict[str, str]:
        others = [t for t in self.types if self.editing is None or t.id != self.editing.id]
        return roster.shift_type_problems(**self.values(), other_codes=tuple(t.code for t in others),
                                          other_names=tuple(t.name for t in others))

    def _validate(self, *, show_all: bool = False) -> dict[str, str]:
        found = self.problems()
        for field, label in self.errors.items():
            shown = field in self.touched or show_all or self.editing is not None
            label.setText((found.get(field) or self.refused.get(field, "")) if shown else "")
        unchanged = self.editing is not None and not self.touched
        self.save_button.setEnabled(self.refusal is None and not found and not self.refused and not unchanged
                                     and not self._in_flight)
        return found

    def say(self, text: str, *, error: bool = False) -> None:
        self.message.setStyleSheet(theme.warning_style() if error else "")
        self.message.setText(text)

    # -- saving ---------------------------------------------------------------------------------------
    def save(self) -> None:
        if self.refusal is not None or self._in_flight:
            return
        found = self._validate(show_all=True)
        if found:
            field = next(f for f in roster.SHIFT_TYPE_FIELDS if f in found)
            self.fields[field].setFocus()
            return
        if self.editing is not None and not self.touched:
            return
        values = self.values()
        db, actor, seen = self.ui.console.db, self.ui.console.require_actor(), self.editing
        self._in_flight = True
        self.save_button.setEnabled(False)

        def work() -> roster.ShiftTypeChange:
            if seen is None:
                return roster.ShiftTypeChange(roster.add_shift_type(db, actor, **values), ())
            return roster.change_shift_type(db, actor, seen, **values)

        def done(change: roster.ShiftTypeChange) -> None:
            self._in_flight = False
            saved = change.shift_type
            if seen is None:
                self.say(_("Shift type {name} added.").format(name=saved.name))
            else:
                self.say(_("{name} saved; {n} coming shifts moved to the new times.").format(
                    name=saved.name, n=len(change.retimed_shift_ids)))
            self.editing = saved
            self.touched.clear()
            self.form_title.setText(_("Change {name} ({code})").format(name=saved.name, code=saved.code))
            self.changed.emit()
            self.reload(select_code=saved.code)

        def failed(exc: BaseException) -> None:
            self._in_flight = False
            if isinstance(exc, ConcurrentChange):
                self.touched.clear()  # show what the other workstation saved; the leader edits again
            if isinstance(exc, ValidationError) and exc.field in self.errors:
                self.refused[exc.field] = str(exc)  # next to the field, as the local checks are
                self.fields[exc.field].setFocus()
                self.say("")
            else:
                self.say(str(exc), error=True)
            self._validate(show_all=True)
            self.reload()

        self.ui.runner.run(work, on_success=done, on_failure=failed)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            return  # Enter saves from a field (returnPressed), never closes the dialog
        super().keyPressEvent(event)
