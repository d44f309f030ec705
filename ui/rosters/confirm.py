"""Confirming roster changes that take something away, with the reason asked in the same dialog.

The question names what will change (who, which shift or leave); the OK button names the
action ("Take off", "Withdraw"); Escape or "Keep" changes nothing. When a cell holds several
people, a list picks whom the question is about.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from dispatch_console.kernel.i18n import _


class ConfirmDialog(QDialog):
    """Pick one of ``choices`` (if more than one), read the question, give a reason, confirm."""

    def __init__(self, *, title: str, choices: Sequence[tuple[str, Any]], question: Callable[[Any], str],
                 ok_text: str, reason_required: bool, max_reason: int, current: Any = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        if not choices:
            raise ValueError("nothing to confirm")
        self.setWindowTitle(title)
        self.setMinimumWidth(460)
        self._choices = list(choices)
        self._question = question
        self.reason_required = reason_required
        form = QFormLayout(self)
        self.which = QComboBox(self)
        for label, value in self._choices:
            self.which.addItem(label, value)
        if current is not None:
            at = next((i for i, (_l, v) in enumerate(self._choices) if v == current), 0)
            self.which.setCurrentIndex(at)
        self.which.setVisible(len(self._choices) > 1)
        self.question = QLabel(self)
        self.question.setTextFormat(Qt.TextFormat.PlainText)  # names typed by people: never markup
        self.question.setWordWrap(True)
        self.reason = QLineEdit(self)
        self.reason.setMaxLength(max_reason)
        self.reason.setPlaceholderText(_("Why (required)") if reason_required else _("Why (optional)"))
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText(ok_text)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Keep"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        if len(self._choices) > 1:
            form.addRow(_("&Whom"), self.which)
        form.addRow(self.question)
        form.addRow(_("&Reason"), self.reason)
        form.addRow(self.buttons)
        self.which.currentIndexChanged.connect(self._update)
        self.reason.textChanged.connect(self._update)
        self._update()
        self.reason.setFocus()

    def choice(self) -> Any:
        return self._choices[max(0, self.which.currentIndex())][1]

    def reason_text(self) -> str:
        return self.reason.text().strip()

    def _update(self, *_args: Any) -> None:
        self.question.setText(self._question(self.choice()))
        self.ok.setEnabled(not self.reason_required or bool(self.reason_text()))
