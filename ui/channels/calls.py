"""Call tasks (电话调度) on the console: whom to call, on which number, why; the outcome in two keys.

The list shows the call tasks not yet recorded, newest first. With a task selected the officer
presses 1 接通 (answered), 2 未接 (no answer), 3 占线 (busy) or 4 关机 (phone off) — the choice is
shown — and Enter to record it (the keyboard list dock of ``ui/shell/choice_list.py``). The list
follows the change feed (notifications), so a task recorded at another workstation leaves this one
too, and the next person's task appears when the chain moves on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from dispatch_console import channels
from dispatch_console.channels import CallTask
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.timefmt import fmt_local
from ui.shell.choice_list import ChoiceListDock
from ui.shell.context import UiContext

KEYS: dict[int, str] = {
    Qt.Key.Key_1: "answered",
    Qt.Key.Key_2: "no_answer",
    Qt.Key.Key_3: "busy",
    Qt.Key.Key_4: "off",
}


class CallTasksPanel(ChoiceListDock):
    screenshot_name = "calls"
    keys = KEYS
    needs = dict.fromkeys(KEYS.values(), "notification.acknowledge")

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ui, _("Call tasks"), "calls", parent)
        self.start()

    @property
    def tasks(self) -> list[CallTask]:
        return self.rows

    def fetch(self) -> Callable[[], list[CallTask]]:
        db = self.ui.console.db
        return lambda: channels.call_tasks(db)

    def row_id(self, row: CallTask) -> int:
        return row.notification_id

    def row_text(self, t: CallTask) -> str:
        return _("{time}  {name} {phone} ({step}/{steps}) · {number}\n{reason}").format(
            time=fmt_local(t.at, "%H:%M"), name=t.name, phone=t.phone, step=t.position + 1,
            steps=t.chain_length, number=t.incident_number or "-", reason=t.reason)

    def idle_hint(self) -> str:
        return _("1 Answered · 2 No answer · 3 Busy · 4 Phone off, then Enter to record")

    def chosen_hint(self, choice: str) -> str:
        return _("{outcome}: Enter records it, Esc cancels").format(outcome=channels.outcome_label(choice))

    def act(self, task: CallTask, choice: str, note: str) -> Callable[[], CallTask]:
        db, actor = self.ui.console.db, self.ui.actor
        assert actor is not None
        return lambda: channels.record_outcome(db, actor, task.notification_id, task.version, choice)

    def done_text(self, result: CallTask, choice: str) -> str:
        return _("Recorded: {name}, {outcome}.").format(name=result.name, outcome=channels.outcome_label(choice))

    def failed_text(self, exc: BaseException) -> str:
        return _("Could not read the call tasks: {error}").format(error=exc)

    def wants_reload(self, changes: list[Any]) -> bool:
        return any(getattr(c, "entity", None) in ("notification", "database") for c in changes)

    def record(self) -> None:
        self.decide()
