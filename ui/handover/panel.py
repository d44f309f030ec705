"""The handover dock (交接班): this shift's record, handovers awaiting acceptance, the buttons.

It reloads from the change feed (a record signed at another workstation shows up here at once)
and once a minute, so "the current shift" turns over at the shift change by itself. The PDF of
the record or of the duty log is written on the GUI thread (Qt text layout) from data read in
the background.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dispatch_console import handover
from dispatch_console.handover import HandoverOverview, HandoverRecord, duty_log, duty_log_html, handover_html
from dispatch_console.kernel.categories import shipped_catalog
from dispatch_console.kernel.change_kinds import Entity, entities
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import allowed
from dispatch_console.kernel.timefmt import fmt_local
from dispatch_console.rosters import describe_shift
from ui.handover.dialogs import AcceptDialog, AddendumDialog, SignDialog
from ui.shell import theme
from ui.shell.context import UiContext
from ui.shell.tables import refill

ENTITIES = frozenset({Entity.HANDOVER, Entity.SHIFT, Entity.ROSTER, Entity.DATABASE})  # reloaded at once
# the open incidents the record lists: they change with nearly every batch on a busy floor, and a
# record is read for a shift, not for a second. The first incident change reloads (after the
# debounce), later ones within the pause wait for its end: at most one reload per pause for them
INCIDENT_ENTITIES = frozenset({Entity.INCIDENT})
INCIDENT_PAUSE_MS = 15_000
REFRESH_MS = 60_000
DEBOUNCE_MS = 250


def _label() -> QLabel:
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    return label


class HandoverPanel(QDockWidget):
    screenshot_name = "handover"

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(_("Shift handover"), parent)
        self.setObjectName("handover")
        self.default_area = Qt.DockWidgetArea.RightDockWidgetArea
        self.tabify_with = "duty_board"
        self.ui = ui
        self.overview: HandoverOverview | None = None
        self.dialog: SignDialog | AcceptDialog | AddendumDialog | None = None
        self._loading = False
        self._again = False
        self.current_label = _label()
        self.current_label.setStyleSheet("font-weight: bold")
        self.status_label = _label()
        self.awaiting_label = _label()
        self.awaiting_label.setStyleSheet(theme.warning_style())
        self.table = QTableWidget(0, 5, self)
        self.table.setHorizontalHeaderLabels([_("Number"), _("Severity"), _("Status"), _("Owner"), _("Next deadline")])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.sign_button = QPushButton(_("Review and sign…"), self)
        self.accept_button = QPushButton(_("Accept handover…"), self)
        self.addendum_button = QPushButton(_("Addendum…"), self)
        self.pdf_button = QPushButton(_("Record as PDF…"), self)
        self.log_button = QPushButton(_("Duty log as PDF…"), self)
        self.sign_button.clicked.connect(self.open_sign)
        self.accept_button.clicked.connect(self.open_accept)
        self.addendum_button.clicked.connect(self.open_addendum)
        self.pdf_button.clicked.connect(lambda: self.export("report"))
        self.log_button.clicked.connect(lambda: self.export("log"))
        self.message = _label()
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        for widget in (self.current_label, self.status_label, self.awaiting_label):
            layout.addWidget(widget)
        layout.addWidget(self.table, 1)
        row1, row2 = QHBoxLayout(), QHBoxLayout()
        for b in (self.sign_button, self.accept_button, self.addendum_button):
            row1.addWidget(b)
        for b in (self.pdf_button, self.log_button):
            row2.addWidget(b)
        layout.addLayout(row1)
        layout.addLayout(row2)
        layout.addWidget(self.message)
        self.setWidget(body)
        self._last_load_s = 0.0
        self._debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self.reload)
        self.timer = QTimer(self, interval=REFRESH_MS)
        self.timer.timeout.connect(self.reload)
        self.timer.start()
        self._incidents_pause = QTimer(self, singleShot=True, interval=INCIDENT_PAUSE_MS)
        self._incidents_pause.timeout.connect(self._pause_over)
        self._incidents_waiting = False
        ui.router.on_changes(ENTITIES | INCIDENT_ENTITIES, self._on_changes)
        ui.session.actor_changed.connect(lambda _a: self._update_buttons())
        self._update_buttons()  # nothing to act on until the first load
        self.reload()

    # -- loading -------------------------------------------------------------------------------
    def is_ready(self) -> bool:
        return not self._loading

    def _on_changes(self, changes: list[Any]) -> None:
        named = entities(changes)
        if named & ENTITIES:
            self._incidents_waiting = False  # this reload shows the incidents too
            self._reload_soon()
        elif named & INCIDENT_ENTITIES:
            if self._incidents_pause.isActive():
                self._incidents_waiting = True
            else:
                self._incidents_pause.start()
                self._reload_soon()

    def _pause_over(self) -> None:
        if self._incidents_waiting:
            self._incidents_waiting = False
            self._incidents_pause.start()
            self._reload_soon()

    def _reload_soon(self) -> None:
        """Reload after a pause, at most once per pause: changes arriving faster than the pause
        (a surge) no longer put the reload off until they stop, and the pause is twice as long as
        the last load took (it reads every open incident: 0.7 s with 5,000 of them), so the panel
        never spends more than a third of the time reading."""
        if not self._debounce.isActive():
            self._debounce.start(max(DEBOUNCE_MS, int(2000 * self._last_load_s)))

    def reload(self) -> None:
        if self._loading:
            self._again = True
            return
        self._loading = True
        db = self.ui.console.db
        started = time.monotonic()

        def done(overview: HandoverOverview) -> None:
            self._loading = False
            self._last_load_s = time.monotonic() - started
            self.show_overview(overview)
            if self._again:
                self._again = False
                self._reload_soon()

        def failed(exc: BaseException) -> None:
            self._loading = False
            self.message.setText(str(exc))

        self.ui.runner.run(lambda: handover.overview(db), on_success=done, on_failure=failed)

    # -- showing -------------------------------------------------------------------------------
    def show_overview(self, overview: HandoverOverview) -> None:
        self.overview = overview
        rec = overview.current
        if rec is None:
            self.current_label.setText(_("No shift is on the roster at this time."))
            self.status_label.clear()
            refill(self.table, [])
        else:
            self.current_label.setText(_("This shift: {shift}").format(shift=describe_shift(rec.shift)))
            status = _("Handover record: {status}").format(status=handover.status_label(rec.status))
            if rec.signed is not None:
                status += "  " + _("signed by {name} at {time}").format(name=rec.signed.name,
                                                                       time=fmt_local(rec.signed.at, "%H:%M"))
            self.status_label.setText(status)
            self._fill(rec)
        waiting = [r for r in overview.awaiting if rec is None or r.id != rec.id or r.status == "signed"]
        self.awaiting_label.setText("\n".join(
            _("Awaiting acceptance: {shift} → {next} ({n} serious incidents to take over)").format(
                shift=describe_shift(r.shift), next=describe_shift(r.next_shift) if r.next_shift else "-",
                n=len(r.pending_reacknowledgements)) for r in waiting))
        self.awaiting_label.setVisible(bool(waiting))
        self._update_buttons()

    def _fill(self, rec: HandoverRecord) -> None:
        catalog = shipped_catalog()
        gathered = rec.situation.gathered_at
        rows = []
        for i in rec.situation.incidents:
            due = f"{fmt_local(i.next_deadline_at, '%m-%d %H:%M')}" if i.next_deadline_at else "-"
            cells = [QTableWidgetItem(value) for value in (
                i.number, catalog.severity_label(i.severity), catalog.status_label(i.status),
                i.owner_name or _("nobody"), due)]
            if i.next_deadline_at and gathered and i.next_deadline_at <= gathered:
                # already overdue when the situation was read: what the next shift must chase first
                cells[-1].setText(_("overdue since {time}").format(time=due))
                cells[-1].setForeground(theme.deadline_colour("red"))
            rows.append(cells)
        refill(self.table, rows)

    def _awaiting(self) -> HandoverRecord | None:
        return self.overview.awaiting[0] if self.overview and self.overview.awaiting else None

    def _update_buttons(self) -> None:
        actor = self.ui.actor
        rec = self.overview.current if self.overview else None
        self.sign_button.setEnabled(actor is not None and allowed(actor, "handover.sign") and rec is not None
                                    and rec.status in ("preview", "draft"))
        self.accept_button.setEnabled(actor is not None and allowed(actor, "handover.accept")
                                      and self._awaiting() is not None)
        self.addendum_button.setEnabled(actor is not None and allowed(actor, "handover.addendum")
                                        and rec is not None and rec.status in ("signed", "accepted"))
        self.pdf_button.setEnabled(rec is not None)
        self.log_button.setEnabled(rec is not None)

    # -- actions -------------------------------------------------------------------------------
    def _open(self, dialog: SignDialog | AcceptDialog | AddendumDialog) -> None:
        self.dialog = dialog
        dialog.finished_with.connect(lambda _r: self.reload())
        dialog.finished.connect(lambda _code: setattr(self, "dialog", None))
        dialog.show()

    def open_sign(self) -> None:
        rec = self.overview.current if self.overview else None
        if rec is None:
            return
        db, actor, shift_id = self.ui.console.db, self.ui.console.require_actor(), rec.shift.id
        self.ui.runner.run(lambda: handover.draft(db, actor, shift_id),
                           on_success=lambda record: self._open(SignDialog(self.ui, record, self)),
                           on_failure=lambda exc: self.message.setText(str(exc)))

    def open_accept(self) -> None:
        rec = self._awaiting()
        if rec is None or rec.id is None:
            return
        db, handover_id = self.ui.console.db, rec.id

        def load() -> tuple[HandoverRecord, list[handover.StaffAccount]]:
            return handover.get(db, handover_id), handover.incoming_staff(db, handover_id)

        self.ui.runner.run(load, on_success=lambda r: self._open(AcceptDialog(self.ui, r[0], r[1], self)),
                           on_failure=lambda exc: self.message.setText(str(exc)))

    def open_addendum(self) -> None:
        rec = self.overview.current if self.overview else None
        if rec is not None and rec.id is not None:
            self._open(AddendumDialog(self.ui, rec, self))

    def export(self, what: str, path: str | None = None) -> None:
        """Write the record or the duty log of this shift to a PDF (asks where unless given)."""
        rec = self.overview.current if self.overview else None
        if rec is None:
            return
        if path is None:
            path, _filter = QFileDialog.getSaveFileName(self, _("Save as PDF"), "", "PDF (*.pdf)")
            if not path:
                return
        db, shift_id = self.ui.console.db, rec.shift.id
        load = (lambda: handover.preview(db, shift_id)) if what == "report" else (lambda: duty_log(db, shift_id))
        self.ui.runner.run(load, on_success=lambda data: self._write_pdf(what, data, str(path)),
                           on_failure=lambda exc: self.message.setText(str(exc)))

    def _write_pdf(self, what: str, data: Any, path: str) -> None:
        from ui.shell.pdf_export import export_pdf

        if what == "report":
            title = _("Shift handover record {shift}").format(shift=describe_shift(data.shift))
            pages = export_pdf(handover_html(data), path, title=title)
        else:
            title = _("Duty log {shift}").format(shift=describe_shift(data.shift))
            pages = export_pdf(duty_log_html(data), path, title=title)
        self.message.setText(_("Saved {path} ({pages} pages).").format(path=path, pages=pages))

    def contribute_actions(self, window: Any) -> None:
        action = QAction(_("Shift handover"), window)
        action.setShortcut(QKeySequence("Ctrl+Shift+H"))
        action.triggered.connect(self.focus_panel)
        window.menu_duty.addAction(action)

    def focus_panel(self) -> None:
        self.show()
        self.raise_()
        self.table.setFocus()

    def shutdown(self) -> None:
        self.timer.stop()
        self._incidents_pause.stop()
        self._debounce.stop()
        if self.dialog is not None:
            self.dialog.close()
