"""Offline intake at the console: a banner and the reports and notes waiting to be recorded.

When the database cannot be reached the intake form keeps the officer's report (with its
call-taking answers) in the station's offline journal (:mod:`dispatch_console.incidents.journal`)
instead of failing, and a note on an incident goes there too. :class:`OfflineState` is what the
console knows about it — is the database away, since when, the journal — one per console,
shared by the queue, the detail panel and the action keys (which disable what needs the
database's answer). :class:`OfflineIntake` sits above the queue: a banner while the database is
away or anything waits (离线：N 条报告待补录), the waiting reports and notes as pending rows (N on
a waiting report adds a note to it), and — when the database is back — the replay, oldest
first, each once, reports before notes, after which the banner goes and the officer is told the
numbers the reports got. What the database refused stays listed in red with the reason until
the officer has seen it.

The journal's file is written and replayed off the GUI thread (``ui.runner``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dispatch_console.incidents import (
    CreateResult,
    IncidentDraft,
    JournalEntry,
    JournalNote,
    OfflineJournal,
    ReplayOutcome,
    note_or_keep,
    record_or_keep,
)
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.categories import Catalog, load_catalog
from dispatch_console.kernel.i18n import N_, _
from dispatch_console.kernel.text import summary
from dispatch_console.kernel.timefmt import fmt_local
from ui.protocols.questions import store_kept_answers
from ui.shell import theme
from ui.shell.context import UiContext

log = logging.getLogger(__name__)

REPLAY_MS = 3000  # while reports wait: how often the database is tried again
TOLD_MS = 60_000
PENDING_ROWS_SHOWN = 5  # how long "recorded N offline reports" stays on screen


def _label(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    return label


NEEDS_DATABASE = N_("Offline: needs the database's answer")  # why an action is disabled


class OfflineState(QObject):
    """Whether this console can reach the database, since when it cannot, and its journal.

    One per console (a child of its change feed, found with :meth:`of`). The feed's connection
    state drives it, and so does every write that found the database away or a replay that went
    through — whichever comes first.
    """

    changed = Signal()  # the database went away or came back, or what waits changed

    def __init__(self, ui: UiContext, *, folder: Path | None = None) -> None:
        super().__init__(ui.feed)
        self.setObjectName("offline-state")
        self.ui = ui
        self.journal = OfflineJournal(ui.console.station, folder=folder)
        self.database_up: bool | None = None
        self.lost_at: datetime | None = None  # when it went away (this workstation's clock)
        ui.feed.connection_changed.connect(self.set_up)

    @classmethod
    def of(cls, ui: UiContext, *, folder: Path | None = None) -> OfflineState:
        found = ui.feed.findChild(OfflineState, "offline-state")
        return found if isinstance(found, OfflineState) else cls(ui, folder=folder)

    @property
    def offline(self) -> bool:
        return self.database_up is False

    def set_up(self, up: bool) -> None:
        if up == self.database_up:
            return
        if not up:
            self.lost_at = datetime.now(UTC)
        self.database_up = up
        self.changed.emit()

    # -- writing (on worker threads) ----------------------------------------------------------
    def record(self, actor: Actor, draft: IncidentDraft, catalog: Catalog | None = None, *,
               answers: dict[str, Any] | None = None) -> CreateResult | JournalEntry:
        return record_or_keep(self.ui.console.db, self.journal, actor, draft, catalog, answers=answers)

    def note(self, actor: Actor, incident_id: int, number: str | None, text: str) -> JournalNote | None:
        """Add the note, or keep it (None: stored). While the database is away it is kept at once."""
        return note_or_keep(self.ui.console.db, self.journal, actor, incident_id, text, number=number,
                            offline=self.offline)

    def noted_offline(self) -> None:
        """A note was kept in the journal (GUI thread): the database is away; show it waiting."""
        self.set_up(False)
        self.changed.emit()

    def note_on_report(self, actor: Actor, report_id: str, text: str) -> JournalNote:
        return self.journal.keep_note(actor, text, report_id=report_id)

    def after_report(self, entry: JournalEntry, result: CreateResult) -> None:
        """A replayed report's call-taking answers, stored on the incident it became."""
        if entry.answers:
            store_kept_answers(self.ui.console, entry.actor, result.row.id, entry.answers)


class OfflineIntake(QFrame):
    """The banner and pending rows above the queue, and the replay of the station's journal."""

    told = Signal(str, bool)  # a message for the officer (text, is it an error)
    replayed = Signal(object)  # ReplayOutcome, after a round that stored or refused something

    def __init__(self, ui: UiContext, parent: QWidget | None = None, *, folder: Path | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("offline-intake")
        self.ui = ui
        self.catalog: Catalog = load_catalog(ui.console.resources)
        self.state = OfflineState.of(ui, folder=folder)
        self.journal = self.state.journal
        self.replaying = False
        self._build()
        self._timer = QTimer(self)
        self._timer.setInterval(REPLAY_MS)
        self._timer.timeout.connect(self.try_replay)
        self._told_timer = QTimer(self)
        self._told_timer.setSingleShot(True)
        self._told_timer.setInterval(TOLD_MS)
        self._told_timer.timeout.connect(self._told_done)
        self.state.changed.connect(self._on_state)
        self.refresh()
        if self.journal.pending:  # a console closed or killed while offline: replay at the start
            self.try_replay()

    @property
    def database_up(self) -> bool | None:
        return self.state.database_up

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 4)
        layout.setSpacing(2)
        self.banner = _label("offline-banner")
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.banner.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        layout.addWidget(self.banner)
        self.table = QTableWidget(0, 6, self)
        self.table.setObjectName("offline-pending")
        self.table.setHorizontalHeaderLabels([_("Taken at"), _("Category"), _("Severity"), _("Where"),
                                              _("Description"), _("State")])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # Tab passes by; the queue's keys stay the queue's
        # N on a waiting report: the table takes the key itself, before the queue's N (a shortcut
        # the incident menu makes window-wide) would act on the incident selected in the queue
        self.table.installEventFilter(self)
        self._rows: list[JournalEntry | JournalNote] = []
        # the note dialog, given by the queue (ui/incidents/actions stands on this module)
        self.ask_note: Callable[..., str | None] | None = None
        self.table.verticalHeader().hide()
        for column in (4, 5):  # the description and the state (a refusal's reason) take the room
            self.table.horizontalHeader().setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table)
        row = QHBoxLayout()
        self.told_label = _label("offline-told")
        row.addWidget(self.told_label, 1)
        self.dismiss = QPushButton(_("Seen — remove the refused reports"), self)
        self.dismiss.setObjectName("offline-dismiss")
        self.dismiss.clicked.connect(self.dismiss_refused)
        row.addWidget(self.dismiss)
        layout.addLayout(row)
        self.told_label.hide()

    # -- recording (called by the intake form) ----------------------------------------------
    def record(self, actor: Actor, draft: IncidentDraft, catalog: Catalog | None = None, *,
               answers: dict[str, Any] | None = None) -> CreateResult | JournalEntry:
        """Record the report, or keep it offline with its call-taking answers (on a worker thread)."""
        return self.state.record(actor, draft, catalog or self.catalog, answers=answers)

    def kept(self, entry: JournalEntry | JournalNote) -> None:
        """A report or note was kept offline (GUI thread): show it and keep trying the database."""
        self.state.set_up(False)
        self.refresh()
        self.state.changed.emit()
        if isinstance(entry, JournalNote):
            self.told.emit(_("The database is unreachable: the note is kept on this workstation "
                             "and will be added when it is back."), True)
            return
        self.told.emit(_("The database is unreachable: the report is kept on this workstation "
                         "and will be recorded when it is back."), True)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table and event.type() in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            assert isinstance(event, QKeyEvent)
            if event.key() == Qt.Key.Key_N and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
                event.accept()
                if event.type() == QEvent.Type.KeyPress:
                    self.note_on_selected()
                return True
        return super().eventFilter(watched, event)

    def selected_report(self) -> JournalEntry | None:
        row = self.table.currentRow()
        item = self._rows[row] if 0 <= row < len(self._rows) else None
        return item if isinstance(item, JournalEntry) and item.state == "waiting" else None

    def note_on_selected(self) -> None:
        """N on a waiting report: a note that waits for the number the report will get."""
        entry, actor = self.selected_report(), self.ui.actor
        if entry is None or actor is None or self.ask_note is None:
            self._tell(_("Select a report that waits to be recorded first."), True)
            return
        text = self.ask_note(self.window(), _("Note on the report of {time}").format(
            time=fmt_local(entry.taken_at, "%H:%M:%S")), _("Note:"), required=True)
        if not text:
            return
        state = self.state
        self.ui.runner.run(lambda: state.note_on_report(actor, entry.request_id, text), on_success=self.kept,
                           on_failure=lambda exc: self._tell(str(exc), True))

    # -- the replay ---------------------------------------------------------------------------
    def _on_state(self) -> None:
        self.refresh()
        if self.state.database_up:
            self.try_replay()

    def try_replay(self) -> None:
        if self.replaying or not self.journal.pending:
            return
        self.replaying = True
        db, journal, catalog, state = self.ui.console.db, self.journal, self.catalog, self.state
        self.ui.runner.run(lambda: journal.replay(db, catalog, after_report=state.after_report),
                           on_success=self._replayed, on_failure=self._replay_failed)

    def _replayed(self, outcome: ReplayOutcome) -> None:
        self.replaying = False
        # the round went through: the database answers again (the banner goes before the feed says so)
        self.state.set_up(outcome.reason is None)
        told = []
        if outcome.stored:
            numbers = "、".join(e.number or "" for e in outcome.stored)
            told.append(_("The database is back: {count} offline reports recorded ({numbers}).").format(
                count=len(outcome.stored), numbers=numbers))
        if outcome.notes:
            told.append(_("{count} offline notes added.").format(count=len(outcome.notes)))
        if outcome.refused or outcome.refused_notes:
            told.append(_("{count} offline reports were refused by the database; see the reasons above.").format(
                count=len(outcome.refused) + len(outcome.refused_notes)))
        told += outcome.warnings
        if told:
            self._tell(" ".join(told), bool(outcome.refused or outcome.refused_notes or outcome.warnings))
            self.replayed.emit(outcome)
        self.refresh()
        self.state.changed.emit()  # the detail's pending notes, the queue

    def _replay_failed(self, exc: BaseException) -> None:
        self.replaying = False
        log.error("replaying the offline journal failed", exc_info=exc)
        self._tell(_("The offline reports could not be replayed: {error}").format(error=exc), True)
        self.refresh()

    def dismiss_refused(self) -> None:
        journal = self.journal
        self.ui.runner.run(journal.dismiss_refused, on_success=lambda _n: self.state.changed.emit())

    def _tell(self, text: str, error: bool) -> None:
        colour = theme.deadline_colour("red" if error else "ok").name()
        self.told_label.setText(text)
        self.told_label.setStyleSheet(f"color: {colour}; font-weight: bold;")
        self.told_label.show()
        self._told_timer.start()
        self.told.emit(text, error)

    def _told_done(self) -> None:
        self.told_label.hide()
        self.refresh()

    # -- showing ------------------------------------------------------------------------------
    def banner_text(self) -> str:
        waiting, notes = self.journal.count, self.journal.notes_count
        if notes and waiting:
            return _("Offline: {reports} reports and {notes} notes waiting to be recorded").format(
                reports=waiting, notes=notes)
        if notes:
            return _("Offline: {count} notes waiting to be added").format(count=notes)
        if waiting:
            return _("Offline: {count} reports waiting to be recorded").format(count=waiting)
        if self.database_up is False:
            return _("Offline: the database is unreachable; new reports are kept on this workstation")
        return ""

    def refresh(self) -> None:
        text = self.banner_text()
        self.banner.setText(text)
        colour = theme.deadline_colour("amber").name()
        self.banner.setStyleSheet(f"background: {colour}; color: black; font-weight: bold; "
                                  "font-size: 15px; padding: 4px;")
        self.banner.setVisible(bool(text))
        reports = self.journal.entries()
        by_id = {e.request_id: e for e in reports}
        entries: list[JournalEntry | JournalNote] = [*reports, *self.journal.notes()]
        selected = self.table.currentRow()
        chosen = self._rows[selected].request_id if 0 <= selected < len(self._rows) else None
        self._rows = entries
        self.table.setRowCount(len(entries))
        red = theme.deadline_colour("red")
        for n, entry in enumerate(entries):
            if entry.state == "refused":
                state = _("Refused: {reason}").format(reason=entry.reason or "")
            elif entry.state == "stored":
                state = entry.number or ""
            else:
                state = _("Waiting")
            if isinstance(entry, JournalNote):
                report = by_id.get(entry.report_id or "")
                on = entry.number or (_("the report of {time}").format(time=fmt_local(report.taken_at, "%H:%M:%S"))
                                      if report is not None else "")
                full = entry.text
                cells = [fmt_local(entry.taken_at, "%m-%d %H:%M:%S"), _("Note"), "", on, summary(full, 80), state]
            else:
                d = entry.draft
                where = " · ".join(x for x in (d.grid or "", d.address or "") if x)
                full = d.description
                cells = [fmt_local(entry.taken_at, "%m-%d %H:%M:%S"), self.catalog.category_label(d.category),
                         str(d.severity), where, summary(d.description, 80), state]
            for column, text_ in enumerate(cells):
                item = QTableWidgetItem(text_)
                item.setToolTip(full if column == 4 else text_)
                if entry.state == "refused":
                    item.setForeground(red)
                self.table.setItem(n, column, item)
            if entry.request_id == chosen:
                self.table.selectRow(n)
        self.table.setVisible(bool(entries))
        shown = min(len(entries), PENDING_ROWS_SHOWN)  # as tall as its rows, then it scrolls
        self.table.setFixedHeight(self.table.horizontalHeader().sizeHint().height()
                                  + shown * self.table.verticalHeader().defaultSectionSize() + 4)
        self.dismiss.setVisible(any(e.state == "refused" for e in entries))
        self.setVisible(bool(text) or bool(entries) or not self.told_label.isHidden())
        if self.journal.pending:
            if not self._timer.isActive():
                self._timer.start()
        else:
            self._timer.stop()

    def shutdown(self) -> None:
        self._timer.stop()
        self._told_timer.stop()
