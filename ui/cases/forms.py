"""Keyboard-first forms: a follow-up visit, a mediation session, a campaign grid's disputes found, closing
a campaign. Enter records, Escape cancels.

Each form only collects what the officer typed; the core checks it and refuses with the reason,
which the detail shows under the case.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from dispatch_console.cases import MEDIATOR_ORGS, REFERRALS, SATISFACTION, VISIT_RESULTS, SessionDraft, label
from dispatch_console.kernel.i18n import _


def shortcut(owner: QWidget, keys: str, slot: Callable[[], object]) -> QShortcut:
    """A key for ``owner`` and what it holds (a dock's keys do not reach the other docks)."""
    found = QShortcut(QKeySequence(keys), owner)
    found.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    found.activated.connect(slot)
    return found


def _combo(parent: QWidget, table: dict[str, str], *, empty: str | None = None) -> QComboBox:
    box = QComboBox(parent)
    if empty is not None:
        box.addItem(empty, None)
    for code in table:
        box.addItem(label(table, code), code)
    return box


def _buttons(dialog: QDialog) -> QDialogButtonBox:
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, dialog)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons


class VisitForm(QDialog):
    """回访: result (first field, arrows pick), satisfaction, note; Enter records."""

    def __init__(self, number: str, days: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("case-visit-form")
        self.setWindowTitle(_("Follow-up visit: {number} ({days} days)").format(number=number, days=days))
        form = QFormLayout(self)
        self.result_box = _combo(self, VISIT_RESULTS)
        self.satisfaction = _combo(self, SATISFACTION, empty=_("(not asked)"))
        self.note = QLineEdit(self)
        form.addRow(_("&Result"), self.result_box)
        form.addRow(_("&Satisfaction"), self.satisfaction)
        form.addRow(_("&Note"), self.note)
        form.addRow(_buttons(self))
        self.result_box.setFocus()

    def values(self) -> tuple[str, str | None, str | None]:
        return (str(self.result_box.currentData()), self.satisfaction.currentData(), self.note.text() or None)


class MediationForm(QDialog):
    """调解: mediator and organisation, place, attendees, summary, outcome with agreement or referral."""

    def __init__(self, number: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("case-mediation-form")
        self.setWindowTitle(_("Mediation session: {number}").format(number=number))
        form = QFormLayout(self)
        self.mediator = QLineEdit(self)
        self.org = _combo(self, MEDIATOR_ORGS)
        self.org.setCurrentIndex(1)
        self.place = QLineEdit(self)
        self.attendees = QLineEdit(self)
        self.summary = QLineEdit(self)
        self.outcome = QComboBox(self)
        for text, code in ((_("(another session follows)"), None), (_("mediated: agreement reached"), "mediated"),
                           (_("failed: referred"), "failed")):
            self.outcome.addItem(text, code)
        self.agreement = QPlainTextEdit(self)
        self.agreement.setTabChangesFocus(True)
        self.agreement.setMaximumHeight(80)
        self.referral = _combo(self, REFERRALS, empty=_("(none)"))
        form.addRow(_("&Mediator"), self.mediator)
        form.addRow(_("&Organisation"), self.org)
        form.addRow(_("&Place"), self.place)
        form.addRow(_("A&ttendees"), self.attendees)
        form.addRow(_("S&ummary"), self.summary)
        form.addRow(_("Out&come"), self.outcome)
        form.addRow(_("&Agreement"), self.agreement)
        form.addRow(_("Re&ferral"), self.referral)
        form.addRow(_buttons(self))
        self.mediator.setFocus()

    def draft(self) -> SessionDraft:
        return SessionDraft(mediator=self.mediator.text(), mediator_org=str(self.org.currentData()),
                            place=self.place.text() or None, attendees=self.attendees.text() or None,
                            summary=self.summary.text() or None, outcome=self.outcome.currentData(),
                            agreement=self.agreement.toPlainText() or None, referral=self.referral.currentData())


class FoundForm(QDialog):
    """排查出纠纷: the disputes a grid found, one per line (each opens a case), who reported, a note.

    Tab leaves the list; Enter in the later fields or Ctrl+Enter anywhere records."""

    def __init__(self, campaign: str, grid: str, reporter: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("case-found-form")
        self.setWindowTitle(_("Disputes found: {grid} ({campaign})").format(grid=grid, campaign=campaign))
        form = QFormLayout(self)
        self.found = QPlainTextEdit(self)
        self.found.setTabChangesFocus(True)
        self.found.setPlaceholderText(_("one dispute per line, by its title"))
        self.found.setMaximumHeight(120)
        self.reporter = QLineEdit(reporter or "", self)
        self.note = QLineEdit(self)
        form.addRow(_("&Disputes found"), self.found)
        form.addRow(_("&Reported by"), self.reporter)
        form.addRow(_("&Note"), self.note)
        form.addRow(_buttons(self))
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut(self, keys, self.accept)
        self.found.setFocus()

    def titles(self) -> tuple[str, ...]:
        return tuple(line.strip() for line in self.found.toPlainText().splitlines() if line.strip())

    def values(self) -> tuple[tuple[str, ...], str | None, str | None]:
        return self.titles(), self.reporter.text().strip() or None, self.note.text().strip() or None


class CloseCampaignForm(QDialog):
    """结束排查: what has not been reported, and the reason (needed then); Enter closes."""

    def __init__(self, campaign: str, not_reported: tuple[str, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("case-close-campaign-form")
        self.setWindowTitle(_("Close the campaign: {campaign}").format(campaign=campaign))
        form = QFormLayout(self)
        if not_reported:
            text = _("{n} grids have not reported: {grids}. Say why the campaign closes without them.").format(
                n=len(not_reported), grids="、".join(not_reported))
        else:
            text = _("Every grid has reported.")
        self.summary = QLabel(text, self)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.reason = QLineEdit(self)
        form.addRow(self.summary)
        form.addRow(_("&Reason"), self.reason)
        form.addRow(_buttons(self))
        self.reason.setFocus()

    def value(self) -> str | None:
        return self.reason.text().strip() or None
