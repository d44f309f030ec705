"""Incoming transfers (收到的移交): another duty room's incidents and cases, accepted or refused by keyboard.

The list shows the transfers that reached this room, awaiting a decision first. With one selected
the officer presses A (accept) or R (refuse) — the choice is shown — and Enter to record it, Esc to
think again; the note field (N, or Tab) carries the reason sent back to the other room (the keyboard
list dock of ``ui/shell/choice_list.py``). Accepting records a local incident (or opens a local
case) linked to the sender's number. The keys need ``transfer.decide``: without it they are
disabled and the hint says why. The list follows the change feed (``transfer`` changes), so a
transfer decided at another workstation changes here too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from dispatch_console import transfers
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.timefmt import fmt_local
from dispatch_console.transfers import TransferRow
from ui.shell.choice_list import ChoiceListDock
from ui.shell.context import UiContext

KEYS: dict[int, str] = {Qt.Key.Key_A: "accept", Qt.Key.Key_R: "refuse"}


class TransferInboxPanel(ChoiceListDock):
    screenshot_name = "transfers"
    keys = KEYS
    needs = {"accept": "transfer.decide", "refuse": "transfer.decide"}

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ui, _("Incoming transfers"), "transfers", parent,
                         note_placeholder=_("Note for the other duty room (the reason when refusing)"),
                         note_chars=transfers.NOTE_CHARS)
        self.start()

    def fetch(self) -> Callable[[], list[TransferRow]]:
        db = self.ui.console.db
        return lambda: transfers.inbox(db)

    def row_id(self, row: TransferRow) -> int:
        return row.id

    def row_open(self, row: TransferRow) -> bool:
        return row.status == "pending"

    @staticmethod
    def row_text(r: TransferRow) -> str:
        text = _("{time}  [{status}] {room} · {number}\n{description}").format(
            time=fmt_local(r.created_at, "%m-%d %H:%M"), status=r.status_text, room=r.peer_name,
            number=r.sender_number, description=r.description[:160] or "-")
        if r.receiver_number:
            text += "\n" + (_("Our case: {number}") if r.subject == "case" else _("Our incident: {number}")).format(
                number=r.receiver_number)
        if r.reason and r.status in ("refused", "rejected"):
            text += "\n" + _("Reason: {reason}").format(reason=r.reason)
        elif r.reason:
            text += "\n" + _("Note: {note}").format(note=r.reason)
        return text

    def after_load(self) -> None:
        pending = sum(1 for r in self.rows if r.status == "pending")
        self.setWindowTitle(_("Incoming transfers ({n})").format(n=pending) if pending else _("Incoming transfers"))

    def idle_hint(self) -> str:
        return _("A Accept · R Refuse, then Enter · N the note")

    def chosen_hint(self, choice: str) -> str:
        current = self.current()
        if choice == "accept" and current is not None and current.subject == "case":
            return _("Accept: Enter opens a local case, Esc cancels")
        if choice == "accept":
            return _("Accept: Enter records a local incident, Esc cancels")
        return _("Refuse: Enter sends the refusal with the note, Esc cancels")

    def act(self, row: TransferRow, choice: str, note: str) -> Callable[[], TransferRow]:
        db, actor = self.ui.console.db, self.ui.actor
        assert actor is not None
        decide = transfers.accept if choice == "accept" else transfers.refuse
        return lambda: decide(db, actor, row.id, note=note, version=row.version)

    def done_text(self, result: TransferRow, choice: str) -> str:
        if result.status == "accepted":
            return (_("Accepted: our case {number}.") if result.subject == "case"
                    else _("Accepted: our incident {number}.")).format(number=result.receiver_number)
        return _("Refused; {room} is told.").format(room=result.peer_name)

    def failed_text(self, exc: BaseException) -> str:
        return _("Could not read the incoming transfers: {error}").format(error=exc)

    def wants_reload(self, changes: list[Any]) -> bool:
        return any(getattr(c, "entity", None) == "transfer" for c in changes)
