"""Quitting asks first, and says why it matters now: a drill running, a report half typed.

Any view may have a ``quit_concern() -> str | None``; the main window gathers them when the
officer presses Ctrl+Q, picks 退出 from the menu or closes the window, and asks once. A window
closed by the program (tests, the end of the session) is not asked about.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget

from dispatch_console.kernel.i18n import _


def quit_concerns(views: Iterable[Any]) -> list[str]:
    """What each view says would be lost or cut short by quitting now."""
    found = []
    for view in views:
        concern = getattr(view, "quit_concern", None)
        text = concern() if callable(concern) else None
        if text:
            found.append(str(text))
    return found


def confirm_quit(parent: QWidget, concerns: list[str]) -> bool:
    """Ask whether to quit; No is the default (Enter and Esc keep the console open)."""
    box = QMessageBox(parent)
    box.setObjectName("quit-confirm")
    box.setIcon(QMessageBox.Icon.Warning if concerns else QMessageBox.Icon.Question)
    box.setWindowTitle(_("Quit the console?"))
    text = _("Quit the duty-room console? Alarms and deadlines are not shown at this workstation until it "
             "is started again.")
    if concerns:
        text += "\n\n" + "\n".join(f"· {c}" for c in concerns)
    box.setText(text)
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    # A focused push button in a dialog becomes its default while it has focus (autoDefault), so
    # whichever button focus happened to land on would answer Enter. Only No answers Enter; Yes
    # takes its own key (Y) or Space once the officer has moved to it.
    for button in box.buttons():
        if isinstance(button, QPushButton):
            button.setAutoDefault(False)
    box.setDefaultButton(QMessageBox.StandardButton.No)
    box.setEscapeButton(QMessageBox.StandardButton.No)
    return box.exec() == QMessageBox.StandardButton.Yes
