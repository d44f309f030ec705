"""The warning board (预警看板): the open warnings, official CAP ones with their colour, and what to do.

The list shows the open warnings (raised or seen) newest first, a coloured mark per level or
per official colour (蓝/黄/橙/红); "show closed" adds the handled and dismissed ones. Selecting a
raised warning marks it seen. With a warning selected the officer writes a note and presses
Handled or Dismiss; an official warning for the street offers its checklist (Start checklist
records the incident that starts it). The board follows the change feed (warning, cap_message),
so a warning handled at another workstation leaves this one too.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from dispatch_console import warnings
from dispatch_console.kernel.categories import UNIT_KINDS
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.roles import role_label
from dispatch_console.kernel.timefmt import fmt_local
from dispatch_console.warnings import WarningRow
from ui.shell.context import UiContext

# The four official colours, and the levels of the rules' warnings
COLOURS = {"red": "#d32f2f", "orange": "#f57c00", "yellow": "#fbc02d", "blue": "#1976d2"}
LEVEL_COLOURS = {"critical": "#d32f2f", "warning": "#f57c00", "info": "#607d8b"}
COLOUR_NAMES = {"red": "红色", "orange": "橙色", "yellow": "黄色", "blue": "蓝色"}


def mark_colour(row: WarningRow) -> str:
    if row.cap is not None and row.cap.colour in COLOURS:
        return COLOURS[row.cap.colour]
    return LEVEL_COLOURS.get(row.level, "#607d8b")


def describe(row: WarningRow) -> str:
    """The warning as the detail pane shows it (plain text)."""
    lines = [row.title, _("{rule} · {state} · raised {time} on {station}").format(
        rule=row.rule_label, state=row.state_label, time=fmt_local(row.raised_at), station=row.raised_by or "-")]
    lines.append(_("Notified: {role}").format(role=role_label(row.target_role)))
    if row.unit_kind:
        lines.append(_("Inform: {unit}").format(unit=_(UNIT_KINDS.get(row.unit_kind, row.unit_kind))))
    if row.sensitive_period:
        lines.append(_("Sensitive period: {name} (notified one level higher)").format(name=row.sensitive_period))
    if row.cap is not None:
        c = row.cap
        lines.append(_("Official warning {identifier} from {sender}: {state}").format(
            identifier=c.identifier, sender=c.sender, state=c.state_label))
        if c.colour:
            lines.append(_("Colour: {colour}").format(colour=COLOUR_NAMES[c.colour]))
        if c.areas:
            lines.append(_("Covers: {areas}").format(areas="、".join(c.areas[:10])))
        if c.expires:
            lines.append(_("In force until {time}").format(time=fmt_local(c.expires)))
    if row.body:
        lines += ["", row.body]
    if row.incident_numbers:
        lines.append(_("Incidents: {numbers}").format(numbers=", ".join(row.incident_numbers[:30])))
    if row.case_numbers:  # the case board is another room's view: the numbers, to find the cases there
        lines.append(_("Cases: {numbers}").format(numbers=", ".join(row.case_numbers[:30])))
    if row.checklist_code:
        lines.append(_("Offers the checklist: {code}").format(code=row.checklist_code))
    if row.note:
        lines.append(_("Note ({who}): {note}").format(who=row.closed_by or "-", note=row.note))
    return "\n".join(lines)


class WarningBoard(QDockWidget):
    screenshot_name = "warnings"

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(_("Warnings"), parent)
        self.setObjectName("warnings")
        self.default_area = Qt.DockWidgetArea.RightDockWidgetArea
        self.ui = ui
        self.rows: list[WarningRow] = []
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        self.show_closed = QCheckBox(_("Show handled and dismissed"), body)
        self.show_closed.setObjectName("warnings-closed")
        self.show_closed.toggled.connect(lambda _on: self.reload())
        self.list = QListWidget(body)
        self.list.setObjectName("warnings-list")
        self.list.currentRowChanged.connect(self._selected)
        self.detail = QPlainTextEdit(body)
        self.detail.setObjectName("warnings-detail")
        self.detail.setReadOnly(True)
        self.note = QLineEdit(body)
        self.note.setObjectName("warnings-note")
        self.note.setPlaceholderText(_("What was done, or why it is dismissed"))
        buttons = QHBoxLayout()
        self.handle_button = QPushButton(_("Handled"), body)
        self.dismiss_button = QPushButton(_("Dismiss"), body)
        self.respond_button = QPushButton(_("Start checklist"), body)
        for b, name in ((self.handle_button, "handle"), (self.dismiss_button, "dismiss"),
                        (self.respond_button, "respond")):
            b.setObjectName(f"warnings-{name}")
            buttons.addWidget(b)
        self.handle_button.clicked.connect(lambda: self._close(dismiss=False))
        self.dismiss_button.clicked.connect(lambda: self._close(dismiss=True))
        self.respond_button.clicked.connect(self._respond)
        self.note.returnPressed.connect(lambda: self._close(dismiss=False))
        self.hint = QLabel(body)
        self.hint.setObjectName("warnings-hint")
        self.hint.setTextFormat(Qt.TextFormat.PlainText)
        self.hint.setWordWrap(True)
        layout.addWidget(self.show_closed)
        layout.addWidget(self.list, 2)
        layout.addWidget(self.detail, 2)
        layout.addWidget(self.note)
        layout.addLayout(buttons)
        layout.addWidget(self.hint)
        self.setWidget(body)
        self._loading = False
        self._again = False
        ui.feed.changed.connect(self._on_changes)
        self._buttons()
        self.reload()

    # -- reading -------------------------------------------------------------------------------
    def reload(self) -> None:
        if self._loading:
            self._again = True
            return
        self._loading = True
        db, open_only = self.ui.console.db, not self.show_closed.isChecked()
        self.ui.runner.run(lambda: warnings.list_warnings(db, open_only=open_only, limit=300),
                           on_success=self._loaded, on_failure=self._failed)

    def _loaded(self, rows: list[WarningRow]) -> None:
        self._loading = False
        current = self.current()
        self.rows = list(rows)
        self.list.blockSignals(True)
        self.list.clear()
        for r in self.rows:
            item = QListWidgetItem(f"● {fmt_local(r.raised_at, '%m-%d %H:%M')}  {r.title}")
            item.setForeground(QBrush(QColor(mark_colour(r))))
            item.setToolTip(r.rule_label)
            item.setData(Qt.ItemDataRole.UserRole, r.id)
            self.list.addItem(item)
        ids = [r.id for r in self.rows]
        keep = current is not None and current.id in ids
        self.list.setCurrentRow(ids.index(current.id) if keep and current else -1)
        self.list.blockSignals(False)
        self._show(self.current())
        self.setWindowTitle(_("Warnings ({n} open)").format(n=sum(1 for r in self.rows if r.is_open)))
        if self._again:
            self._again = False
            self.reload()

    def _failed(self, exc: BaseException) -> None:
        self._loading = False
        self.hint.setText(_("Could not read the warnings: {error}").format(error=exc))

    def _on_changes(self, changes: list[Any]) -> None:
        if any(getattr(c, "entity", None) in ("warning", "cap_message") for c in changes):
            self.reload()

    def current(self) -> WarningRow | None:
        row = self.list.currentRow()
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def _selected(self, _index: int) -> None:
        row = self.current()
        self._show(row)
        actor = self.ui.actor
        if row is not None and row.state == "raised" and actor is not None:
            db = self.ui.console.db
            self.ui.runner.run(lambda: warnings.mark_seen(db, actor, row.id), on_success=lambda _r: self.reload(),
                               on_failure=lambda exc: self.hint.setText(str(exc)))

    def _show(self, row: WarningRow | None) -> None:
        self.detail.setPlainText(describe(row) if row is not None else "")
        self._buttons()

    def _buttons(self) -> None:
        row = self.current()
        open_ = row is not None and row.is_open
        self.handle_button.setEnabled(open_)
        self.dismiss_button.setEnabled(open_)
        self.note.setEnabled(open_)
        self.respond_button.setEnabled(row is not None and row.rule == "cap" and row.response_incident_id is None)

    # -- acting --------------------------------------------------------------------------------
    def _close(self, *, dismiss: bool) -> None:
        row, actor = self.current(), self.ui.actor
        if row is None or actor is None or not row.is_open:
            return
        note, db = self.note.text(), self.ui.console.db
        change = warnings.dismiss if dismiss else warnings.handle

        def done(result: WarningRow) -> None:
            self.note.clear()
            self.hint.setText(_("Warning {id}: {state}.").format(id=result.id, state=result.state_label))
            self.reload()

        self.ui.runner.run(lambda: change(db, actor, row.id, note, row.version), on_success=done,
                           on_failure=lambda exc: self.hint.setText(str(exc)))

    def _respond(self) -> None:
        row, actor = self.current(), self.ui.actor
        if row is None or actor is None:
            return
        db = self.ui.console.db

        def done(incident: Any) -> None:
            self.hint.setText(_("Incident {number} records the response; its checklist has started.").format(
                number=incident.number))
            self.ui.selection.select(incident.id)  # the queue and the checklist panel follow it
            self.reload()

        self.ui.runner.run(lambda: warnings.start_response(db, actor, row.id), on_success=done,
                           on_failure=lambda exc: self.hint.setText(str(exc)))
