"""The intake form: a new incident typed in without touching the mouse.

Tab moves from field to field; the three choice boxes (category, severity, source) take a
typed code (``fire``, ``1``, ``12345``) or part of the Chinese label (``消防``); the grid box
completes grid names and codes, and typed coordinates find the grid by point-in-polygon. While
a phone number or address is typed the form lists earlier incidents from the same phone or
address in the last 90 days (read off the GUI thread). Enter records the incident (Ctrl+Enter
inside the description); Esc asks before throwing typed text away. Problems are shown next to
the field they concern — the service's own validation decides.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from dispatch_console import incidents, jurisdiction
from dispatch_console.incidents import IncidentDraft, IncidentRow, JournalEntry, Problem, draft_problems
from dispatch_console.kernel.categories import Catalog, Label, load_catalog
from dispatch_console.kernel.errors import DispatchError, ValidationError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.text import summary
from dispatch_console.kernel.timefmt import fmt_local
from ui.incidents.offline import OfflineIntake
from ui.protocols.questions import QuestionPanel
from ui.shell import theme
from ui.shell.context import UiContext

log = logging.getLogger(__name__)

REPEAT_DAYS = 90
REPEAT_DEBOUNCE_MS = 400
LOCATE_DEBOUNCE_MS = 400


def _plain_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    return label


class CodeCombo(QComboBox):
    """A choice typed as a code or as part of its label; ``code()`` is None until it is clear."""

    def __init__(self, labels: tuple[Label, ...], parent: QWidget | None = None, *,
                 show: Any = None) -> None:
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.labels = labels
        for label in labels:
            text = show(label) if show else f"{label.text} ({label.code})"
            self.addItem(text, label.code)
        completer = QCompleter([self.itemText(i) for i in range(self.count())], self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.setCompleter(completer)
        self.setCurrentIndex(-1)
        self.lineEdit().editingFinished.connect(self.normalise)

    def code(self) -> str | None:
        text = self.currentText().strip()
        if not text:
            return None
        lowered = text.lower()
        for i in range(self.count()):
            if self.itemText(i) == text:
                return str(self.itemData(i))
        for label in self.labels:  # the code itself, or a label typed in full
            if lowered in (label.code.lower(), label.zh.lower(), label.en.lower()):
                return label.code
        hits = [label.code for label in self.labels
                if label.code.lower().startswith(lowered) or lowered in label.zh.lower()
                or lowered in label.en.lower() or lowered in label.code.lower()]
        return hits[0] if len(hits) == 1 else None

    def normalise(self) -> None:
        code = self.code()
        if code is not None:
            index = self.findData(code)
            if index >= 0 and self.currentIndex() != index:
                self.setCurrentIndex(index)
            if index >= 0 and self.currentText() != self.itemText(index):
                self.setEditText(self.itemText(index))


@dataclass(frozen=True)
class GridChoice:
    id: int
    code: str
    name: str
    community: str

    @property
    def text(self) -> str:
        return f"{self.name} ({self.code}) · {self.community}" if self.community else f"{self.name} ({self.code})"


class RepeatHint(QWidget):
    """Earlier incidents from the same phone or address, under the field, in a warning colour."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.title = _plain_label()
        self.list = QListWidget(self)
        self.list.setMaximumHeight(84)
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab skips it: the officer keeps typing
        layout.addWidget(self.title)
        layout.addWidget(self.list)
        self.rows: list[IncidentRow] = []
        self.hide()

    def show_rows(self, title: str, rows: list[IncidentRow], catalog: Catalog) -> None:
        self.rows = rows
        self.list.clear()
        if not rows:
            self.hide()
            return
        colour = theme.deadline_colour("amber").name()
        self.title.setText(title)
        self.title.setStyleSheet(f"color: {colour}; font-weight: bold;")
        self.list.setStyleSheet(f"color: {colour};")
        for row in rows:
            excerpt = summary(row.description, 60)
            self.list.addItem(" · ".join([row.number, fmt_local(row.created_at, "%Y-%m-%d %H:%M"),
                                          catalog.category_label(row.category), catalog.status_label(row.status),
                                          excerpt]))
        self.show()


class IntakeForm(QDialog):
    created = Signal(object)  # IncidentRow
    kept = Signal(object)  # JournalEntry: the database was unreachable, the report is kept offline

    def __init__(self, ui: UiContext, parent: QWidget | None = None, *,
                 offline: OfflineIntake | None = None) -> None:
        super().__init__(parent)
        self.offline = offline
        self.setObjectName("intake-form")
        self.setWindowTitle(_("New incident"))
        self.ui = ui
        self.catalog = load_catalog(ui.console.resources)
        self.grids: list[GridChoice] = []
        self.submitting = False
        self._auto_grid: str | None = None  # the grid text filled in from coordinates
        self._requests = {"phone": 0, "address": 0, "locate": 0}
        self.pending = 0
        self._build()
        self._load_grids()

    # -- construction -------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.errors: dict[str, QLabel] = {}
        c = self.catalog
        self.category = CodeCombo(c.categories, self)
        self.severity = CodeCombo(c.severities, self, show=lambda lb: f"{lb.code} · {lb.text}")
        self.source = CodeCombo(c.sources, self)
        self.grid = QLineEdit(self)
        self.grid.setPlaceholderText(_("Grid name or code"))
        self.grid_completer = QCompleter(self)
        self.grid_completer.setModel(QStringListModel([], self.grid_completer))
        self.grid_completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.grid_completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.grid.setCompleter(self.grid_completer)
        self.address = QLineEdit(self)
        self.lon = QLineEdit(self)
        self.lon.setPlaceholderText(_("longitude, e.g. 113.9402"))
        self.lat = QLineEdit(self)
        self.lat.setPlaceholderText(_("latitude, e.g. 22.5715"))
        self.reporter_name = QLineEdit(self)
        self.reporter_phone = QLineEdit(self)
        self.people_count = QLineEdit(self)
        self.people_count.setPlaceholderText(_("number of people, if known"))
        self.description = QPlainTextEdit(self)
        self.description.setTabChangesFocus(True)
        self.description.setPlaceholderText(_("What happened (Ctrl+Enter records the incident)"))
        self.description.setMinimumHeight(90)
        self.locate_hint = _plain_label()
        self.phone_hint = RepeatHint(self)
        self.address_hint = RepeatHint(self)
        coords = QWidget(self)
        coords_layout = QHBoxLayout(coords)
        coords_layout.setContentsMargins(0, 0, 0, 0)
        coords_layout.addWidget(self.lon)
        coords_layout.addWidget(self.lat)

        rows: list[tuple[str, QWidget, tuple[str, ...], list[QWidget]]] = [
            (_("Category"), self.category, ("category",), []),
            (_("Severity"), self.severity, ("severity",), []),
            (_("Source"), self.source, ("source",), []),
            (_("Grid"), self.grid, ("grid", "grid_id"), []),
            (_("Address"), self.address, ("address",), [self.address_hint]),
            (_("Coordinates"), coords, ("lon", "lat"), [self.locate_hint]),
            (_("Reporter name"), self.reporter_name, ("reporter_name",), []),
            (_("Reporter phone"), self.reporter_phone, ("reporter_phone",), [self.phone_hint]),
            (_("People involved"), self.people_count, ("people_count",), []),
            (_("Description"), self.description, ("description",), []),
        ]
        for text, widget, fields, extra in rows:
            cell = QWidget(self)
            box = QVBoxLayout(cell)
            box.setContentsMargins(0, 0, 0, 0)
            box.setSpacing(2)
            box.addWidget(widget)
            error = _plain_label()
            error.setObjectName(f"error-{fields[0]}")
            error.hide()
            box.addWidget(error)
            for w in extra:
                box.addWidget(w)
            for name in fields:
                self.errors[name] = error
            label = _plain_label(text)
            label.setBuddy(widget)
            form.addRow(label, cell)
        outer.addLayout(form)
        self._build_questions(outer)
        self.general_error = _plain_label()
        self.general_error.setObjectName("error-general")
        self.general_error.hide()
        outer.addWidget(self.general_error)
        hint = _plain_label(_("Enter records the incident (Ctrl+Enter in the description); Esc cancels."))
        outer.addWidget(hint)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(_("Record"))
        self.ok_button.setDefault(True)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        outer.addWidget(self.buttons)
        for seq in ("Ctrl+Return", "Ctrl+Enter"):
            act = QAction(self)
            act.setShortcut(QKeySequence(seq))
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            act.triggered.connect(self.submit)
            self.addAction(act)
        self.setMinimumWidth(620)

        self._phone_timer = self._debounce(REPEAT_DEBOUNCE_MS, lambda: self._look_up_repeats("phone"))
        self._address_timer = self._debounce(REPEAT_DEBOUNCE_MS, lambda: self._look_up_repeats("address"))
        self._locate_timer = self._debounce(LOCATE_DEBOUNCE_MS, self._locate)
        self.reporter_phone.textChanged.connect(lambda _t: self._phone_timer.start())
        self.address.textChanged.connect(lambda _t: self._address_timer.start())
        self.lon.textChanged.connect(lambda _t: self._locate_timer.start())
        self.lat.textChanged.connect(lambda _t: self._locate_timer.start())
        self.category.setFocus()

    def _build_questions(self, outer: QVBoxLayout) -> None:
        """The call-taking questions of the category chosen (ui/protocols); Alt+Q jumps to them."""
        self.questions = QuestionPanel(self.ui, self)
        outer.addWidget(self.questions)
        context = lambda *_a: self.questions.set_context(self.category.code(), self.source.code())  # noqa: E731
        for combo in (self.category, self.source):
            combo.currentIndexChanged.connect(context)
            combo.editTextChanged.connect(context)
        self.questions.suggested.connect(self._suggest_severity)
        self._suggested_severity: str | None = None

    def _suggest_severity(self, severity: int) -> None:
        """Fill the severity the answers suggest, unless the officer chose one of their own."""
        typed = self.severity.code()
        if typed is None or typed == self._suggested_severity:
            index = self.severity.findData(str(severity))
            self.severity.setCurrentIndex(index)
            self.severity.setEditText(self.severity.itemText(index))
            self._suggested_severity = str(severity)

    def _debounce(self, msecs: int, fn: Any) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(msecs)
        timer.timeout.connect(fn)
        return timer

    # -- background look-ups ------------------------------------------------------------------
    def _run(self, fn: Any, on_success: Any) -> None:
        self.pending += 1

        def ok(result: Any) -> None:
            self.pending -= 1
            on_success(result)

        def failed(exc: BaseException) -> None:
            self.pending -= 1
            log.warning("intake look-up failed: %s", exc)

        self.ui.runner.run(fn, on_success=ok, on_failure=failed)

    def _load_grids(self) -> None:
        db = self.ui.console.db
        self._run(lambda: jurisdiction.tree(db), self._show_grids)

    def _show_grids(self, communities: list[jurisdiction.CommunityRow]) -> None:
        self.grids = [GridChoice(g.id, g.code, g.name, c.name) for c in communities for g in c.grids]
        model = self.grid_completer.model()
        assert isinstance(model, QStringListModel)
        model.setStringList([g.text for g in self.grids])

    def _look_up_repeats(self, kind: str) -> None:
        self._requests[kind] += 1
        request = self._requests[kind]
        hint = self.phone_hint if kind == "phone" else self.address_hint
        value = (self.reporter_phone if kind == "phone" else self.address).text().strip()
        long_enough = sum(ch.isdigit() for ch in value) >= 5 if kind == "phone" else len(value) >= 4
        if not long_enough:
            hint.show_rows("", [], self.catalog)
            return
        db = self.ui.console.db
        args = {"phone": value} if kind == "phone" else {"address": value}

        def show(rows: list[IncidentRow]) -> None:
            if request != self._requests[kind]:
                return  # the officer typed on meanwhile
            if kind == "phone":
                title = _("This phone reported {count} incidents in the last {days} days:")
            else:
                title = _("This address had {count} incidents in the last {days} days:")
            hint.show_rows(title.format(count=len(rows), days=REPEAT_DAYS), rows, self.catalog)

        self._run(lambda: incidents.repeat_reports(db, days=REPEAT_DAYS, **args), show)

    def _coordinates(self) -> tuple[float | None, float | None, list[Problem]]:
        problems: list[Problem] = []
        values: list[float | None] = []
        for name, edit in (("lon", self.lon), ("lat", self.lat)):
            text = edit.text().strip().replace("，", ",")
            if not text:
                values.append(None)
                continue
            try:
                values.append(float(text))
            except ValueError:
                values.append(None)
                problems.append(Problem(name, _("{value} is not a number.").format(value=text)))
        return values[0], values[1], problems

    def _locate(self) -> None:
        lon, lat, problems = self._coordinates()
        self._requests["locate"] += 1
        request = self._requests["locate"]
        if problems or lon is None or lat is None:
            self.locate_hint.clear()
            return
        db = self.ui.console.db

        def show(where: jurisdiction.Location) -> None:
            if request != self._requests["locate"]:
                return
            if where.grid is None:
                self.locate_hint.setText(_("These coordinates are in no known grid."))
                return
            choice = next((g for g in self.grids if g.id == where.grid.id), None)
            text = choice.text if choice else where.grid.name
            self.locate_hint.setText(_("Coordinates lie in grid {grid}").format(grid=text))
            if not self.grid.text().strip() or self.grid.text() == self._auto_grid:
                self.grid.setText(text)
                self._auto_grid = text

        def failed(exc: BaseException) -> None:
            if request == self._requests["locate"]:
                self.locate_hint.setText(str(exc))

        self.pending += 1
        self.ui.runner.run(lambda: jurisdiction.locate(db, lon, lat),
                           on_success=lambda w: (self._done(), show(w)),
                           on_failure=lambda e: (self._done(), failed(e)))

    def _done(self) -> None:
        self.pending -= 1

    # -- the draft ----------------------------------------------------------------------------
    def _grid_choice(self) -> tuple[int | None, str | None]:
        text = self.grid.text().strip()
        if not text:
            return None, None
        lowered = text.lower()
        for g in self.grids:
            if lowered in (g.text.lower(), g.code.lower(), g.name.lower()):
                return g.id, None
        hits = [g for g in self.grids if lowered in g.text.lower()]
        if len(hits) == 1:
            return hits[0].id, None
        return None, text  # the service finds it by code or name, or says why it cannot

    def draft(self) -> tuple[IncidentDraft | None, list[Problem]]:
        problems: list[Problem] = []
        category, severity, source = self.category.code(), self.severity.code(), self.source.code()
        if category is None:
            problems.append(Problem("category", _("Choose a category (type its name or code).")))
        if severity is None:
            problems.append(Problem("severity", _("Choose a severity from 1 (most serious) to 4.")))
        if source is None:
            problems.append(Problem("source", _("Choose where the report came from.")))
        lon, lat, coordinate_problems = self._coordinates()
        problems += coordinate_problems
        people: int | None = None
        people_text = self.people_count.text().strip()
        if people_text:
            try:
                people = int(people_text)
            except ValueError:
                problems.append(Problem("people_count", _("The number of people must be a whole number of 0 or more.")))
        grid_id, grid_text = self._grid_choice()
        draft = IncidentDraft(
            category=category or "", severity=int(severity) if severity else 0, source=source or "",
            description=self.description.toPlainText().strip(),
            address=self.address.text().strip() or None, lon=lon, lat=lat, grid=grid_text, grid_id=grid_id,
            reporter_name=self.reporter_name.text().strip() or None,
            reporter_phone=self.reporter_phone.text().strip() or None, people_count=people,
        )
        seen = {p.field for p in problems}
        problems += [p for p in draft_problems(draft, self.catalog) if p.field not in seen]
        return (None if problems else draft), problems

    def show_problems(self, problems: list[Problem]) -> None:
        for label in self.errors.values():
            label.clear()
            label.hide()
        self.general_error.hide()
        colour = theme.deadline_colour("red").name()
        first: QWidget | None = None
        order = list(self.errors)  # the fields in form order
        problems = sorted(problems, key=lambda p: order.index(p.field) if p.field in order else len(order))
        for problem in problems:
            label = self.errors.get(problem.field, self.general_error)
            text = label.text()
            label.setText(f"{text}\n{problem.message}" if text else problem.message)
            label.setStyleSheet(f"color: {colour};")
            label.show()
            if first is None:
                first = self._widget_for(problem.field)
        if first is not None:
            first.setFocus()

    def _widget_for(self, field: str) -> QWidget | None:
        return {
            "category": self.category, "severity": self.severity, "source": self.source, "grid": self.grid,
            "grid_id": self.grid, "address": self.address, "lon": self.lon, "lat": self.lat,
            "reporter_name": self.reporter_name, "reporter_phone": self.reporter_phone,
            "people_count": self.people_count, "description": self.description,
        }.get(field)

    # -- submitting and leaving ---------------------------------------------------------------
    def accept(self) -> None:  # Enter anywhere outside the description
        self.submit()

    def submit(self) -> None:
        if self.submitting:
            return
        for combo in (self.category, self.severity, self.source):
            combo.normalise()
        draft, problems = self.draft()
        if draft is None:
            self.show_problems(problems)
            return
        self.show_problems([])
        reason_problem = self.questions.check_reason(draft.severity)
        self.questions.show_reason_problem(reason_problem)
        if reason_problem:
            return
        answers = self.questions.snapshot()
        console = self.ui.console
        self.submitting = True
        self.ok_button.setEnabled(False)
        db, actor = self.ui.console.db, self.ui.actor

        offline = self.offline

        def create() -> incidents.CreateResult | JournalEntry:
            if actor is None:
                from dispatch_console.kernel.errors import AuthenticationFailed

                raise AuthenticationFailed(_("Nobody is signed in at this workstation."))
            if offline is not None:  # kept on this workstation if the database is unreachable
                kept = offline.record(actor, draft, self.catalog,
                                      answers=answers.as_journal() if answers is not None else None)
                if isinstance(kept, JournalEntry):
                    return kept  # the journal keeps the report and its answers; the replay stores both
                result = kept
            else:
                result = incidents.create_incident(db, actor, draft, self.catalog)
            if answers is not None and not result.duplicate and not result.replayed:
                try:
                    answers.store(console, actor, result.row.id)
                except DispatchError:  # the incident is recorded: do not record it twice over its answers
                    log.exception("the call-taking answers of %s were not stored", result.row.number)
            return result

        self.ui.runner.run(create, on_success=self._created, on_failure=self._failed)

    def _created(self, result: incidents.CreateResult | JournalEntry) -> None:
        self.submitting = False
        if isinstance(result, JournalEntry):
            self.kept.emit(result)
        else:
            self.created.emit(result.row)
        super().done(QDialog.DialogCode.Accepted)

    def _failed(self, exc: BaseException) -> None:
        self.submitting = False
        self.ok_button.setEnabled(True)
        if isinstance(exc, ValidationError):
            self.show_problems([Problem(exc.field or "", str(exc))])
        elif isinstance(exc, DispatchError):
            self.show_problems([Problem("", str(exc))])
        else:
            log.error("recording the incident failed", exc_info=exc)
            self.show_problems([Problem("", _("Could not record the incident: {error}").format(error=exc))])

    def has_input(self) -> bool:
        edits = (self.grid, self.address, self.lon, self.lat, self.reporter_name, self.reporter_phone,
                 self.people_count)
        return (any(e.text().strip() for e in edits) or bool(self.description.toPlainText().strip())
                or any(c.currentText().strip() for c in (self.category, self.severity, self.source)))

    def reject(self) -> None:  # Esc, Cancel, the window's close button
        if self.submitting:
            return
        if self.has_input():
            answer = QMessageBox.question(
                self, _("Discard this report?"), _("What you typed will be lost. Discard it?"),
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                return
        super().reject()
