"""The call-taking questions inside the intake form, walked with the keyboard.

Once the category is chosen the panel shows the question set that fits it (Ctrl+Q cycles through
the other sets that fit, the generic one last). Alt+Q jumps to the questions; a digit (or the
arrows and Space) answers the current question and moves on to the one it leads to; Backspace goes
back one question. Instructions to read to the caller stand out above the choices. The score
suggests a severity, which fills the form's severity box while the officer has not chosen one;
a different severity asks for a reason before the incident is recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dispatch_console import protocols
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.categories import load_catalog
from dispatch_console.kernel.console import ConsoleContext
from dispatch_console.kernel.errors import DispatchError
from dispatch_console.kernel.i18n import _
from dispatch_console.protocols import QuestionSet
from ui.shell import theme
from ui.shell.context import UiContext

log = logging.getLogger(__name__)


def _label(text: str = "", name: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    if name:
        label.setObjectName(name)
    return label


class ChoiceList(QListWidget):
    """The choices of one question: 1–9 answer at once, Space the current one, Backspace goes back."""

    chosen = Signal(int)
    back = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if Qt.Key.Key_1 <= key <= Qt.Key.Key_9 and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            index = int(key) - int(Qt.Key.Key_1)
            if index < self.count():
                self.chosen.emit(index)
            return
        if key == Qt.Key.Key_Space and self.currentRow() >= 0 and self.count():
            self.chosen.emit(self.currentRow())
            return
        if key == Qt.Key.Key_Backspace:
            self.back.emit()
            return
        super().keyPressEvent(event)  # arrows; Enter and Tab go on to the form


class QuestionPanel(QFrame):
    """The question set for the category chosen, its walk so far, the score and the suggestion."""

    suggested = Signal(int)  # the severity the answers suggest (each time it changes)

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("intake-questions")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        codes = load_catalog(ui.console.resources).category_codes
        self.sets, errors = protocols.load_sets(ui.console.resources, codes)
        for error in errors:
            log.warning("question set not loaded: %s", error)
        self.fitting: list[QuestionSet] = []
        self.current: QuestionSet | None = None
        self.answers: dict[str, str] = {}
        self.last_suggestion: int | None = None
        layout = QVBoxLayout(self)
        head = QHBoxLayout()
        self.title = _label(name="questions-title")
        self.title.setStyleSheet("font-weight: bold;")
        self.other_sets = _label(name="questions-other")
        head.addWidget(self.title, 1)
        head.addWidget(self.other_sets)
        layout.addLayout(head)
        self.asked = _label(name="questions-asked")  # the answers given so far
        self.question = _label(name="questions-question")
        self.question.setStyleSheet("font-weight: bold;")
        self.instruction = _label(name="questions-instruction")
        self.instruction.setStyleSheet(f"color: {theme.deadline_colour('red').name()};")
        self.choices = ChoiceList(self)
        self.choices.setObjectName("questions-choices")
        self.choices.setMaximumHeight(140)
        self.score = _label(name="questions-score")
        self.reason = QLineEdit(self)
        self.reason.setObjectName("questions-reason")
        self.reason.setPlaceholderText(_("Why a severity other than the suggested one?"))
        self.reason_error = _label(name="error-reason")
        for w in (self.asked, self.question, self.instruction, self.choices, self.score, self.reason,
                  self.reason_error):
            layout.addWidget(w)
        self.choices.chosen.connect(self.answer)
        self.choices.back.connect(self.go_back)
        jump = QAction(self)
        jump.setShortcut(QKeySequence("Alt+Q"))
        jump.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        jump.triggered.connect(self.choices.setFocus)
        self.addAction(jump)
        cycle = QAction(self)
        cycle.setShortcut(QKeySequence("Ctrl+Q"))
        cycle.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        cycle.triggered.connect(self.next_set)
        self.addAction(cycle)
        self._show()

    # -- choosing the set ----------------------------------------------------------------------
    def set_context(self, category: str | None, source: str | None) -> None:
        """The form's category (and source) changed: offer the sets that fit."""
        fitting = protocols.sets_for(self.sets, category, source) if category else []
        if [s.code for s in fitting] == [s.code for s in self.fitting]:
            return
        self.fitting = fitting
        keep = self.current if self.current in fitting and self.answers else None
        self._use(keep or (fitting[0] if fitting else None))

    def next_set(self) -> None:
        if len(self.fitting) > 1 and self.current is not None:
            self._use(self.fitting[(self.fitting.index(self.current) + 1) % len(self.fitting)])
            self.choices.setFocus()

    def _use(self, qs: QuestionSet | None) -> None:
        if qs is not self.current:
            self.current, self.answers = qs, {}
        self._show()

    # -- walking -------------------------------------------------------------------------------
    def _walk(self) -> list[tuple[protocols.Question, protocols.Choice | None]]:
        return self.current.walk(self.answers) if self.current is not None else []

    def answer(self, index: int) -> None:
        walked = self._walk()
        if not walked or walked[-1][1] is not None:
            return  # every question on the path is answered
        question = walked[-1][0]
        self.answers[question.key] = question.choices[index].key
        self._show()

    def go_back(self) -> None:
        walked = [q for q, c in self._walk() if c is not None]
        if walked:
            self.answers.pop(walked[-1].key, None)
            self._show()

    def _show(self) -> None:
        qs = self.current
        self.setVisible(qs is not None)
        self.choices.clear()
        if qs is None:
            return
        self.title.setText(_("Call-taking questions: {name}").format(name=qs.name))
        others = len(self.fitting) - 1
        self.other_sets.setText(_("Ctrl+Q: {n} other sets").format(n=others) if others > 0 else "")
        walked = self._walk()
        done = [(q, c) for q, c in walked if c is not None]
        self.asked.setText("\n".join(f"✓ {q.text} — {c.text}" for q, c in done if c is not None))
        self.asked.setVisible(bool(done))
        pending = walked[-1][0] if walked and walked[-1][1] is None else None
        said = [c.instruction for _q, c in done if c is not None and c.instruction]
        if pending is not None:
            self.question.setText(pending.text)
            if pending.instruction:
                said.append(pending.instruction)
            for i, choice in enumerate(pending.choices):
                item = QListWidgetItem(f"{i + 1}  {choice.text}" if i < 9 else choice.text)
                self.choices.addItem(item)
            self.choices.setCurrentRow(0)
        else:  # the list keeps the focus, so Backspace can still change the last answer
            self.question.setText(_("All questions answered."))
            self.choices.addItem(QListWidgetItem(_("Backspace changes the last answer; Tab goes on.")))
        # The latest instruction is the one to read now.
        self.instruction.setText(_("Read to the caller: {text}").format(text=said[-1]) if said else "")
        self.instruction.setVisible(bool(said))
        if done:
            severity = qs.suggested_severity(self.answers)
            self.score.setText(_("Score {score}: severity {severity} suggested").format(
                score=qs.score(self.answers), severity=severity))
            if severity != self.last_suggestion:
                self.last_suggestion = severity
                self.suggested.emit(severity)
        else:
            self.score.setText(_("Answer with 1–9; Backspace goes back; Alt+Q comes back here."))
            self.last_suggestion = None
        self.check_reason(None)

    # -- the reason and storing ----------------------------------------------------------------
    def answered(self) -> bool:
        return self.current is not None and any(c is not None for _q, c in self._walk())

    def suggestion(self) -> int | None:
        return self.current.suggested_severity(self.answers) if self.answered() and self.current else None

    def check_reason(self, severity: int | None) -> str | None:
        """The problem to show when ``severity`` differs from the suggestion and no reason is given."""
        differs = severity is not None and self.suggestion() not in (None, severity)
        self.reason.setVisible(differs or bool(self.reason.text().strip()))
        if differs and not self.reason.text().strip():
            return _("The answers suggest severity {suggested}; say why it is {chosen}.").format(
                suggested=self.suggestion(), chosen=severity)
        return None

    def show_reason_problem(self, text: str | None) -> None:
        self.reason_error.setText(text or "")
        self.reason_error.setStyleSheet(f"color: {theme.deadline_colour('red').name()};")
        self.reason_error.setVisible(bool(text))
        if text:
            self.reason.setVisible(True)
            self.reason.setFocus()

    def snapshot(self) -> Answers | None:
        """What to store once the incident is recorded (taken on the GUI thread, stored on a worker)."""
        if not self.answered() or self.current is None:
            return None
        return Answers(self.current, dict(self.answers), self.reason.text().strip() or None)


@dataclass(frozen=True)
class Answers:
    qs: QuestionSet
    answers: dict[str, str]
    reason: str | None

    def store(self, console: ConsoleContext, actor: Actor, incident_id: int) -> protocols.AnswersRow:
        return protocols.record_answers(console.db, actor, incident_id, self.qs, self.answers, self.reason)

    def as_journal(self) -> dict[str, Any]:
        """The answers as the offline journal keeps them with a report (JSON)."""
        return {"set": self.qs.code, "version": self.qs.version, "answers": dict(self.answers),
                "reason": self.reason}


def store_kept_answers(console: ConsoleContext, actor: Actor, incident_id: int,
                       kept: Mapping[str, Any]) -> protocols.AnswersRow | None:
    """The answers an offline report kept (:meth:`Answers.as_journal`), stored on the incident it
    became — once: a replay asked again for the same incident finds them there (None)."""
    codes = load_catalog(console.resources).category_codes
    sets, _errors = protocols.load_sets(console.resources, codes)
    qs = next((s for s in sets if s.code == kept.get("set")), None)
    if qs is None:
        raise DispatchError(_("The question set {code} is no longer in force.").format(code=kept.get("set")))
    answers = kept.get("answers")
    reason = kept.get("reason")
    if (not isinstance(answers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in answers.items())
            or not (reason is None or isinstance(reason, str))):
        raise DispatchError(_("The kept call-taking answers are not readable."))
    if protocols.answers_of(console.db, incident_id):
        return None
    return protocols.record_answers(console.db, actor, incident_id, qs, answers, reason)
