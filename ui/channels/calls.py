"""Call tasks (电话调度) on the console: whom to call, on which number, why; the outcome in two keys.

The list shows the call tasks not yet recorded, newest first. With a task selected the officer
presses 1 接通 (answered), 2 未接 (no answer), 3 占线 (busy) or 4 关机 (phone off) — the choice is
shown — and Enter to record it. The list follows the change feed (notifications), so a task
recorded at another workstation leaves this one too, and the next person's task appears when
the chain moves on.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QDockWidget, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from dispatch_console.channels import callout
from dispatch_console.channels.callout import CallTask
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.timefmt import fmt_local
from ui.shell.context import UiContext

KEYS: dict[int, str] = {
    Qt.Key.Key_1: "answered",
    Qt.Key.Key_2: "no_answer",
    Qt.Key.Key_3: "busy",
    Qt.Key.Key_4: "off",
}


class _List(QListWidget):
    def __init__(self, panel: CallTasksPanel, parent: QWidget) -> None:
        super().__init__(parent)
        self.panel = panel

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in KEYS:
            self.panel.choose(KEYS[Qt.Key(key)])
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.panel.chosen is not None:
            self.panel.record()
            return
        if key == Qt.Key.Key_Escape and self.panel.chosen is not None:
            self.panel.choose(None)
            return
        super().keyPressEvent(event)


class CallTasksPanel(QDockWidget):
    screenshot_name = "calls"

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(_("Call tasks"), parent)
        self.setObjectName("calls")
        self.default_area = Qt.DockWidgetArea.RightDockWidgetArea
        self.ui = ui
        self.tasks: list[CallTask] = []
        self.chosen: str | None = None
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        self.list = _List(self, body)
        self.list.setObjectName("calls-list")
        self.list.currentRowChanged.connect(lambda _row: self.choose(None))
        self.hint = QLabel(body)
        self.hint.setObjectName("calls-hint")
        self.hint.setTextFormat(Qt.TextFormat.PlainText)
        self.hint.setWordWrap(True)
        layout.addWidget(self.list, 1)
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
        self.ui.runner.run(lambda: callout.call_tasks(db), on_success=self._loaded, on_failure=self._failed)

    def _loaded(self, tasks: list[CallTask]) -> None:
        self._loading = False
        current = self.current()
        self.tasks = list(tasks)
        self.list.blockSignals(True)
        self.list.clear()
        for t in self.tasks:
            item = QListWidgetItem(_("{time}  {name} {phone} ({step}/{steps}) · {number}\n{reason}").format(
                time=fmt_local(t.at, "%H:%M"), name=t.name, phone=t.phone, step=t.position + 1,
                steps=t.chain_length, number=t.incident_number or "-", reason=t.reason))
            item.setData(Qt.ItemDataRole.UserRole, t.notification_id)
            self.list.addItem(item)
        ids = [t.notification_id for t in self.tasks]
        keep = current is not None and current.notification_id in ids
        self.list.setCurrentRow(ids.index(current.notification_id) if keep and current else (0 if ids else -1))
        self.list.blockSignals(False)
        if not keep:
            self.choose(None)
        if self._again:
            self._again = False
            self.reload()

    def _failed(self, exc: BaseException) -> None:
        self._loading = False
        self.hint.setText(_("Could not read the call tasks: {error}").format(error=exc))

    def _on_changes(self, changes: list[Any]) -> None:
        if any(getattr(c, "entity", None) in ("notification", "database") for c in changes):  # a task is a notification
            self.reload()

    def current(self) -> CallTask | None:
        row = self.list.currentRow()
        return self.tasks[row] if 0 <= row < len(self.tasks) else None

    # -- recording -----------------------------------------------------------------------------
    def choose(self, outcome: str | None) -> None:
        self.chosen = outcome if self.current() is not None else None
        if self.chosen is None:
            self.hint.setText(_("1 Answered · 2 No answer · 3 Busy · 4 Phone off, then Enter to record"))
        else:
            self.hint.setText(_("{outcome}: Enter records it, Esc cancels").format(
                outcome=callout.outcome_label(self.chosen)))

    def record(self) -> None:
        task, outcome, actor = self.current(), self.chosen, self.ui.actor
        if task is None or outcome is None or actor is None:
            return
        db = self.ui.console.db
        self.choose(None)
        def recorded(done: Any) -> None:
            self.hint.setText(_("Recorded: {name}, {outcome}.").format(
                name=done.name, outcome=callout.outcome_label(outcome)))
            self.reload()

        def refused(exc: BaseException) -> None:
            self.hint.setText(str(exc))
            self.reload()

        self.ui.runner.run(
            lambda: callout.record_outcome(db, actor, task.notification_id, task.version, outcome),
            on_success=recorded, on_failure=refused)
