"""Incoming transfers (收到的移交) on the console: another duty room's incidents, accepted or refused by keyboard.

The list shows the transfers that reached this room, awaiting a decision first. With one selected
the officer presses A (accept) or R (refuse) — the choice is shown — and Enter to record it, Esc to
think again; the note field (N, or Tab) carries the reason sent back to the other room. Accepting
records a local incident linked to the sender's number. The list follows the change feed
(``transfer`` changes), so a transfer decided at another workstation changes here too.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QDockWidget, QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.timefmt import fmt_local
from dispatch_console.transfers import service
from dispatch_console.transfers.service import TransferRow
from ui.shell.context import UiContext

KEYS: dict[int, str] = {Qt.Key.Key_A: "accept", Qt.Key.Key_R: "refuse"}


class _List(QListWidget):
    def __init__(self, panel: TransferInboxPanel, parent: QWidget) -> None:
        super().__init__(parent)
        self.panel = panel

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in KEYS:
            self.panel.choose(KEYS[Qt.Key(key)])
            return
        if key == Qt.Key.Key_N:
            self.panel.note.setFocus()
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.panel.chosen is not None:
            self.panel.decide()
            return
        if key == Qt.Key.Key_Escape and self.panel.chosen is not None:
            self.panel.choose(None)
            return
        super().keyPressEvent(event)


class TransferInboxPanel(QDockWidget):
    screenshot_name = "transfers"

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(_("Incoming transfers"), parent)
        self.setObjectName("transfers")
        self.default_area = Qt.DockWidgetArea.RightDockWidgetArea
        self.ui = ui
        self.rows: list[TransferRow] = []
        self.chosen: str | None = None
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        self.list = _List(self, body)
        self.list.setObjectName("transfers-list")
        self.list.currentRowChanged.connect(lambda _row: self.choose(None))
        self.note = QLineEdit(body)
        self.note.setObjectName("transfers-note")
        self.note.setPlaceholderText(_("Note for the other duty room (the reason when refusing)"))
        self.note.setMaxLength(service.NOTE_CHARS)
        self.note.returnPressed.connect(self.list.setFocus)
        self.hint = QLabel(body)
        self.hint.setObjectName("transfers-hint")
        self.hint.setTextFormat(Qt.TextFormat.PlainText)
        self.hint.setWordWrap(True)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.note)
        layout.addWidget(self.hint)
        self.setWidget(body)
        self._loading = False
        self._again = False
        ui.feed.changed.connect(self._on_changes)
        self.choose(None)
        self.reload()

    # -- reading -------------------------------------------------------------------------------
    def reload(self) -> None:
        if self._loading:
            self._again = True
            return
        self._loading = True
        db = self.ui.console.db
        self.ui.runner.run(lambda: service.inbox(db), on_success=self._loaded, on_failure=self._failed)

    @staticmethod
    def row_text(r: TransferRow) -> str:
        text = _("{time}  [{status}] {room} · {number}\n{description}").format(
            time=fmt_local(r.created_at, "%m-%d %H:%M"), status=r.status_text, room=r.peer_name,
            number=r.sender_number, description=r.description[:160] or "-")
        if r.receiver_number:
            text += "\n" + _("Our incident: {number}").format(number=r.receiver_number)
        if r.reason and r.status in ("refused", "rejected"):
            text += "\n" + _("Reason: {reason}").format(reason=r.reason)
        elif r.reason:
            text += "\n" + _("Note: {note}").format(note=r.reason)
        return text

    def _loaded(self, rows: list[TransferRow]) -> None:
        self._loading = False
        current = self.current()
        self.rows = list(rows)
        self.list.blockSignals(True)
        self.list.clear()
        for r in self.rows:
            item = QListWidgetItem(self.row_text(r))
            item.setData(Qt.ItemDataRole.UserRole, r.id)
            if r.status != "pending":
                item.setForeground(self.palette().placeholderText())
            self.list.addItem(item)
        ids = [r.id for r in self.rows]
        keep = current is not None and current.id in ids
        self.list.setCurrentRow(ids.index(current.id) if keep and current else (0 if ids else -1))
        self.list.blockSignals(False)
        pending = sum(1 for r in self.rows if r.status == "pending")
        self.setWindowTitle(_("Incoming transfers ({n})").format(n=pending) if pending else _("Incoming transfers"))
        if not keep:
            self.choose(None)
        if self._again:
            self._again = False
            self.reload()

    def _failed(self, exc: BaseException) -> None:
        self._loading = False
        self.hint.setText(_("Could not read the incoming transfers: {error}").format(error=exc))

    def _on_changes(self, changes: list[Any]) -> None:
        if any(getattr(c, "entity", None) == "transfer" for c in changes):
            self.reload()

    def current(self) -> TransferRow | None:
        row = self.list.currentRow()
        return self.rows[row] if 0 <= row < len(self.rows) else None

    # -- deciding ------------------------------------------------------------------------------
    def choose(self, decision: str | None) -> None:
        current = self.current()
        self.chosen = decision if current is not None and current.status == "pending" else None
        if self.chosen == "accept":
            self.hint.setText(_("Accept: Enter records a local incident, Esc cancels"))
        elif self.chosen == "refuse":
            self.hint.setText(_("Refuse: Enter sends the refusal with the note, Esc cancels"))
        else:
            self.hint.setText(_("A Accept · R Refuse, then Enter · N the note"))

    def decide(self) -> None:
        row, decision, actor = self.current(), self.chosen, self.ui.actor
        if row is None or decision is None or actor is None:
            return
        db, note = self.ui.console.db, self.note.text()
        self.choose(None)

        def done(result: TransferRow) -> None:
            self.note.clear()
            if result.status == "accepted":
                self.hint.setText(_("Accepted: our incident {number}.").format(number=result.receiver_number))
            else:
                self.hint.setText(_("Refused; {room} is told.").format(room=result.peer_name))
            self.reload()

        def failed(exc: BaseException) -> None:
            self.hint.setText(str(exc))
            self.reload()

        if decision == "accept":
            self.ui.runner.run(lambda: service.accept(db, actor, row.id, note=note, version=row.version),
                               on_success=done, on_failure=failed)
        else:
            self.ui.runner.run(lambda: service.refuse(db, actor, row.id, note=note, version=row.version),
                               on_success=done, on_failure=failed)
