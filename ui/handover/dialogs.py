"""Handover dialogs: the outgoing leader reviews and signs; the incoming leader takes over and accepts.

Both show the record as the printed report does (``handover_report``, every value escaped) and
sign with the officer's password typed into the dialog. The work runs off the GUI thread
through the console's background runner; a refusal (wrong password, a record that changed, a
serious incident not yet taken over) is shown in the dialog and the officer stays in it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QBrush, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from dispatch_console import handover
from dispatch_console.handover import HandoverRecord, StaffAccount, handover_html
from dispatch_console.kernel.categories import shipped_catalog
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.timefmt import fmt_local
from dispatch_console.rosters import describe_shift, role_label
from ui.shell import theme
from ui.shell.context import UiContext
from ui.shell.tables import refill


def _plain(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    return label


def _password(parent: QWidget) -> QLineEdit:
    field = QLineEdit(parent)
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setPlaceholderText(_("Your password, to sign"))
    return field


class _HandoverDialog(QDialog):
    """What both dialogs share: the record as HTML, a message line, running work in the background."""

    finished_with = Signal(object)  # the HandoverRecord after the signature

    def __init__(self, ui: UiContext, record: HandoverRecord, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ui = ui
        self.record = record
        self.busy = False
        self.setModal(False)
        self.resize(1000, 760)
        self.view = QTextBrowser(self)
        self.view.setOpenLinks(False)
        self.message = _plain()
        self.message.setStyleSheet(theme.warning_style())
        self.show_record(record)

    def show_record(self, record: HandoverRecord) -> None:
        self.record = record
        bar = self.view.verticalScrollBar().value()
        self.view.setHtml(handover_html(record))
        self.view.verticalScrollBar().setValue(bar)

    def run(self, fn: Any, on_success: Any) -> None:
        if self.busy:
            return
        self.busy = True
        self.message.clear()
        self._set_enabled(False)

        def done(result: Any) -> None:
            self.busy = False
            self._set_enabled(True)
            on_success(result)

        def failed(exc: BaseException) -> None:
            self.busy = False
            self._set_enabled(True)
            self.message.setText(str(exc))

        self.ui.runner.run(fn, on_success=done, on_failure=failed)

    def _set_enabled(self, enabled: bool) -> None:
        for button in self.findChildren(QPushButton):
            button.setEnabled(enabled)


class SignDialog(_HandoverDialog):
    """The outgoing leader: review, notes, equipment and keys, password, sign."""

    def __init__(self, ui: UiContext, record: HandoverRecord, parent: QWidget | None = None) -> None:
        super().__init__(ui, record, parent)
        self.setObjectName("handover-sign")
        self.setWindowTitle(_("Review and sign the handover — {shift}").format(shift=describe_shift(record.shift)))
        self.notes = QPlainTextEdit(self)
        self.notes.setPlaceholderText(_("What the next shift must know: situations to watch, calls to return, "
                                        "promises made …"))
        self.notes.setPlainText(record.notes)
        self.notes.setTabChangesFocus(True)
        box = QGroupBox(_("Equipment and keys"), self)
        grid = QGridLayout(box)
        self.checks: dict[str, tuple[QCheckBox, QLineEdit]] = {}
        for row, item in enumerate(record.equipment):
            check = QCheckBox(item.label, box)
            check.setChecked(bool(item.ok))
            note = QLineEdit(item.note, box)
            note.setPlaceholderText(_("Note (e.g. sent for repair)"))
            grid.addWidget(check, row, 0)
            grid.addWidget(note, row, 1)
            self.checks[item.code] = (check, note)
        self.password = _password(self)
        self.password.returnPressed.connect(self.sign)
        self.refresh_button = QPushButton(_("Refresh from the database"), self)
        self.save_button = QPushButton(_("Save draft"), self)
        self.sign_button = QPushButton(_("Sign"), self)
        self.sign_button.setDefault(True)
        self.refresh_button.clicked.connect(self.refresh)
        self.save_button.clicked.connect(self.save)
        self.sign_button.clicked.connect(self.sign)
        side = QWidget(self)
        form = QVBoxLayout(side)
        form.addWidget(_plain(_("Notes of the outgoing shift")))
        form.addWidget(self.notes, 1)
        form.addWidget(box)
        signing = QFormLayout()
        signing.addRow(_("Password"), self.password)
        form.addLayout(signing)
        buttons = QHBoxLayout()
        buttons.addWidget(self.refresh_button)
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.sign_button)
        form.addLayout(buttons)
        form.addWidget(self.message)
        split = QSplitter(self)
        split.addWidget(self.view)
        split.addWidget(side)
        split.setSizes([600, 400])
        layout = QVBoxLayout(self)
        layout.addWidget(split)
        self.notes.setFocus()

    def equipment(self) -> dict[str, dict[str, Any]]:
        return {code: {"ok": check.isChecked(), "note": note.text()} for code, (check, note) in self.checks.items()}

    def refresh(self) -> None:
        db, actor, shift_id = self.ui.console.db, self.ui.console.require_actor(), self.record.shift.id
        self.run(lambda: handover.draft(db, actor, shift_id), self.show_record)

    def save(self) -> None:
        db, actor, rec = self.ui.console.db, self.ui.console.require_actor(), self.record
        notes, equipment = self.notes.toPlainText(), self.equipment()
        self.run(lambda: handover.save(db, actor, rec.id, rec.version, notes=notes, equipment=equipment),
                 self.show_record)

    def sign(self) -> None:
        db, actor, rec = self.ui.console.db, self.ui.console.require_actor(), self.record
        notes, equipment, password = self.notes.toPlainText(), self.equipment(), self.password.text()
        self.password.clear()

        def signed(record: HandoverRecord) -> None:
            self.show_record(record)
            self.finished_with.emit(record)
            self.accept()

        assert rec.id is not None
        self.run(lambda: handover.sign(db, actor, rec.id, rec.version, password, notes=notes, equipment=equipment),
                 signed)


class AcceptDialog(_HandoverDialog):
    """The incoming leader: take over each serious incident one by one, then accept with the password."""

    COLUMNS = ("number", "severity", "status", "owner", "state")

    def __init__(self, ui: UiContext, record: HandoverRecord, staff: list[StaffAccount],
                 parent: QWidget | None = None) -> None:
        super().__init__(ui, record, parent)
        self.setObjectName("handover-accept")
        self.setWindowTitle(_("Accept the handover — {shift}").format(shift=describe_shift(record.shift)))
        self.table = QTableWidget(0, len(self.COLUMNS), self)
        self.table.setHorizontalHeaderLabels([_("Number"), _("Severity"), _("Status"), _("Owner"), _("Handover")])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.owner = QComboBox(self)
        me = ui.console.require_actor()
        self.owner.addItem(_("Me ({name})").format(name=me.label), None)
        for person in staff:
            if person.user_id != me.user_id:
                self.owner.addItem(f"{person.name}（{role_label(person.role)}）", person.user_id)
        self.reack_button = QPushButton(_("Take over the selected incident"), self)
        self.reack_button.clicked.connect(self.reacknowledge_selected)
        self.table.installEventFilter(self)  # Enter on a row takes that incident over
        self.password = _password(self)
        self.password.returnPressed.connect(self.accept_handover)
        self.accept_button = QPushButton(_("Accept the handover"), self)
        self.accept_button.clicked.connect(self.accept_handover)
        self.pending_label = _plain()
        side = QWidget(self)
        form = QVBoxLayout(side)
        form.addWidget(_plain(_("Serious incidents are taken over one by one: select one and press Enter.")))
        form.addWidget(self.table, 1)
        owner_row = QFormLayout()
        owner_row.addRow(_("Give carried-over incidents to"), self.owner)
        form.addLayout(owner_row)
        form.addWidget(self.reack_button)
        form.addWidget(self.pending_label)
        signing = QFormLayout()
        signing.addRow(_("Password"), self.password)
        form.addLayout(signing)
        form.addWidget(self.accept_button)
        form.addWidget(self.message)
        split = QSplitter(self)
        split.addWidget(self.view)
        split.addWidget(side)
        split.setSizes([550, 450])
        layout = QVBoxLayout(self)
        layout.addWidget(split)
        self._fill()
        self.select_next_pending()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (watched is self.table and event.type() == QEvent.Type.KeyPress
                and isinstance(event, QKeyEvent) and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)):
            self.reacknowledge_selected()
            return True
        return super().eventFilter(watched, event)

    def show_record(self, record: HandoverRecord) -> None:
        super().show_record(record)
        if hasattr(self, "table"):
            self._fill()

    def _fill(self) -> None:
        catalog = shipped_catalog()
        table = []
        for row in self.record.incidents:
            if row.accepted_at is not None:
                state = _("taken over by {name} {time}").format(name=row.accepted_by_name or "?",
                                                               time=fmt_local(row.accepted_at, "%H:%M"))
            else:
                state = _("to re-acknowledge") if row.must_reacknowledge else _("moves on acceptance")
            values = [row.number, catalog.severity_label(row.severity), catalog.status_label(row.status),
                      row.owner_name or _("nobody"), state]
            items = []
            for value in values:
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, row.incident_id)
                if row.must_reacknowledge and row.accepted_at is None:
                    item.setForeground(QBrush(theme.deadline_colour("red")))
                items.append(item)
            table.append(items)
        refill(self.table, table)
        pending = self.record.pending_reacknowledgements
        self.pending_label.setText(
            _("Still to take over: {numbers}").format(numbers=", ".join(p.number for p in pending)) if pending
            else _("Every serious incident is taken over: accept with your password."))
        self.accept_button.setEnabled(not pending and not self.busy)

    def _set_enabled(self, enabled: bool) -> None:
        super()._set_enabled(enabled)
        if enabled:
            self.accept_button.setEnabled(not self.record.pending_reacknowledgements)

    def select_next_pending(self) -> None:
        pending = {p.incident_id for p in self.record.pending_reacknowledgements}
        for r in range(self.table.rowCount()):
            if self.table.item(r, 0).data(Qt.ItemDataRole.UserRole) in pending:
                self.table.selectRow(r)
                self.table.setFocus()
                return
        self.password.setFocus()

    def selected_incident(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return int(self.table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)) if rows else None

    def reacknowledge_selected(self) -> None:
        incident_id = self.selected_incident()
        if incident_id is None:
            self.message.setText(_("Select an incident first."))
            return
        db, actor, rec = self.ui.console.db, self.ui.console.require_actor(), self.record
        owner = self.owner.currentData()
        assert rec.id is not None

        def done(record: HandoverRecord) -> None:
            self.show_record(record)
            self.select_next_pending()

        self.run(lambda: handover.reacknowledge(db, actor, rec.id, incident_id, owner_user_id=owner), done)

    def accept_handover(self) -> None:
        db, actor, rec = self.ui.console.db, self.ui.console.require_actor(), self.record
        password, owner = self.password.text(), self.owner.currentData()
        self.password.clear()
        assert rec.id is not None
        owners = {r.incident_id: owner for r in rec.incidents} if owner is not None else None

        def accepted(record: HandoverRecord) -> None:
            self.show_record(record)
            self.finished_with.emit(record)
            self.accept()

        self.run(lambda: handover.accept(db, actor, rec.id, rec.version, password, owners=owners), accepted)


class AddendumDialog(_HandoverDialog):
    """A later fact on a signed record, signed with the officer's password."""

    def __init__(self, ui: UiContext, record: HandoverRecord, parent: QWidget | None = None) -> None:
        super().__init__(ui, record, parent)
        self.setObjectName("handover-addendum")
        self.setWindowTitle(_("Add an addendum — {shift}").format(shift=describe_shift(record.shift)))
        self.text = QPlainTextEdit(self)
        self.text.setTabChangesFocus(True)
        self.password = _password(self)
        self.password.returnPressed.connect(self.sign)
        self.sign_button = QPushButton(_("Sign the addendum"), self)
        self.sign_button.clicked.connect(self.sign)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 2)
        layout.addWidget(_plain(_("Addendum")))
        layout.addWidget(self.text, 1)
        form = QFormLayout()
        form.addRow(_("Password"), self.password)
        layout.addLayout(form)
        layout.addWidget(self.sign_button)
        layout.addWidget(self.message)
        self.text.setFocus()

    def sign(self) -> None:
        db, actor, rec = self.ui.console.db, self.ui.console.require_actor(), self.record
        text, password = self.text.toPlainText(), self.password.text()
        self.password.clear()
        assert rec.id is not None

        def done(record: HandoverRecord) -> None:
            self.show_record(record)
            self.finished_with.emit(record)
            self.accept()

        self.run(lambda: handover.add_addendum(db, actor, rec.id, text, password), done)
