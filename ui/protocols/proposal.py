"""The dispatch dialog's proposal: the run card's units, the nearest available first, one key to send.

Each kind of unit the card asks for is a group: its proposed units ticked, the other free units
of the kind below them unticked, each with its distance and status. Enter sends what is ticked
(the proposal, unless the officer changed it); Space ticks or unticks the current line; Esc
cancels. A kind with fewer free units than the card asks for says so in red.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dispatch_console import protocols
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.i18n import _
from dispatch_console.protocols import Candidate, Proposal, RunCards
from ui.shell import theme

log = logging.getLogger(__name__)

_UNIT, _PERSON = Qt.ItemDataRole.UserRole, Qt.ItemDataRole.UserRole + 1
_TICKABLE = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsUserCheckable


def distance_text(c: Candidate) -> str:
    if c.distance_m is None:
        return _("distance unknown")
    km = f"{c.distance_m / 1000:.1f}"
    return _("{km} km from its community").format(km=km) if c.from_community else _("{km} km").format(km=km)


class _Lines(QListWidget):
    def keyPressEvent(self, event: QKeyEvent) -> None:
        item = self.currentItem()
        if event.key() == Qt.Key.Key_Space and item is not None and item.flags() & Qt.ItemFlag.ItemIsUserCheckable:
            checked = item.checkState() == Qt.CheckState.Checked
            item.setCheckState(Qt.CheckState.Unchecked if checked else Qt.CheckState.Checked)
            return
        super().keyPressEvent(event)


class ProposalDialog(QDialog):
    def __init__(self, parent: QWidget | None, number: str, proposal: Proposal,
                 status_label: Callable[[str], str]) -> None:
        super().__init__(parent)
        self.setObjectName("dispatch-proposal")
        self.setWindowTitle(_("Dispatch units to {number}").format(number=number))
        self.proposal = proposal
        layout = QVBoxLayout(self)
        head = QLabel(_("Run card {card}: Enter sends the ticked units, Space ticks, Esc cancels.").format(
            card=proposal.card))
        head.setTextFormat(Qt.TextFormat.PlainText)
        head.setWordWrap(True)
        layout.addWidget(head)
        self.list = _Lines(self)
        self.list.setObjectName("proposal-lines")
        theme.show_tick_boxes(self.list)
        red = QBrush(theme.deadline_colour("red"))
        for line in proposal.lines:
            title = _("{kind} ×{n}").format(kind=line.label, n=line.wanted)
            if line.short:
                title += "  " + _("({n} short: no free unit)").format(n=line.short)
            header = QListWidgetItem(title)
            header.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = header.font()
            font.setBold(True)
            header.setFont(font)
            if line.short:
                header.setForeground(red)
            self.list.addItem(header)
            for i, c in enumerate(line.candidates):
                item = QListWidgetItem(f"    {c.name}  ·  {status_label(c.status)}  ·  {distance_text(c)}")
                item.setData(_UNIT, c.unit_id)
                item.setFlags(_TICKABLE)
                item.setCheckState(Qt.CheckState.Checked if i < line.wanted else Qt.CheckState.Unchecked)
                self.list.addItem(item)
        if proposal.staff:
            header = QListWidgetItem(_("Grid staff"))
            header.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.list.addItem(header)
            for p in proposal.staff:
                item = QListWidgetItem(f"    {p.name}  ·  {p.role_label}")
                item.setData(_PERSON, p.person_id)
                item.setFlags(_TICKABLE)
                item.setCheckState(Qt.CheckState.Checked)
                self.list.addItem(item)
        first = next((i for i in range(self.list.count())
                      if self.list.item(i).flags() & Qt.ItemFlag.ItemIsUserCheckable), 0)
        self.list.setCurrentRow(first)
        layout.addWidget(self.list)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText(_("Send"))
        ok.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(560, 460)

    def _ticked(self, role: int) -> list[int]:
        return [int(self.list.item(i).data(role)) for i in range(self.list.count())
                if self.list.item(i).data(role) is not None
                and self.list.item(i).checkState() == Qt.CheckState.Checked]

    def unit_ids(self) -> list[int]:
        return self._ticked(_UNIT)

    def person_ids(self) -> list[int]:
        return self._ticked(_PERSON)


def run_cards(resources: Resources) -> RunCards | None:
    """The run cards in force (None when the file is broken: the plain unit list is offered)."""
    cards, errors = protocols.load_run_cards(resources)
    for error in errors:
        log.warning("run cards not loaded: %s", error)
    return cards


def has_candidates(proposal: Proposal) -> bool:
    return bool(proposal.staff) or any(line.candidates for line in proposal.lines)


def offer(parent: QWidget | None, number: str, proposal: Proposal,
          status_label: Callable[[str], str]) -> tuple[list[int], list[int]] | None:
    """The units and people to send (the officer's changes included), or None when cancelled."""
    dialog = ProposalDialog(parent, number, proposal, status_label)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    units, people = dialog.unit_ids(), dialog.person_ids()
    return (units, people) if units or people else None
