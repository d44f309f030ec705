"""Offline intake at the console: a banner and the reports waiting to be recorded.

When the database cannot be reached the intake form keeps the officer's report in the station's
offline journal (:mod:`dispatch_console.incidents.journal`) instead of failing. This widget sits
above the queue: a banner while the database is away or reports wait (离线：N 条报告待补录), the
waiting reports as pending rows, and — when the database is back — the replay, oldest first,
each once, after which the banner goes and the officer is told the numbers the reports got.
Reports the database refused stay listed in red with the reason until the officer has seen them.

The journal's file is written and replayed off the GUI thread (``ui.runner``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
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

from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.incidents.journal import JournalEntry, OfflineJournal, ReplayOutcome, record_or_keep
from dispatch_console.incidents.service import CreateResult
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.categories import Catalog, load_catalog
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.text import summary
from dispatch_console.kernel.timefmt import fmt_local
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


class OfflineIntake(QFrame):
    """The banner and pending rows above the queue, and the replay of the station's journal."""

    told = Signal(str, bool)  # a message for the officer (text, is it an error)
    replayed = Signal(object)  # ReplayOutcome, after a round that stored or refused something

    def __init__(self, ui: UiContext, parent: QWidget | None = None, *, folder: Path | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("offline-intake")
        self.ui = ui
        self.catalog: Catalog = load_catalog(ui.console.resources)
        self.journal = OfflineJournal(ui.console.station, folder=folder)
        self.database_up: bool | None = None
        self.replaying = False
        self._build()
        self._timer = QTimer(self)
        self._timer.setInterval(REPLAY_MS)
        self._timer.timeout.connect(self.try_replay)
        self._told_timer = QTimer(self)
        self._told_timer.setSingleShot(True)
        self._told_timer.setInterval(TOLD_MS)
        self._told_timer.timeout.connect(self._told_done)
        ui.feed.connection_changed.connect(self._on_connection)
        self.refresh()
        if self.journal.count:  # a console closed or killed while offline: replay at the start
            self.try_replay()

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
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab and the queue's keys are not taken
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
    def record(self, actor: Actor, draft: IncidentDraft, catalog: Catalog | None = None
               ) -> CreateResult | JournalEntry:
        """Record the report, or keep it offline (runs on a worker thread)."""
        return record_or_keep(self.ui.console.db, self.journal, actor, draft, catalog or self.catalog)

    def kept(self, entry: JournalEntry) -> None:
        """A report was kept offline (GUI thread): show it and keep trying the database."""
        self.refresh()
        self.told.emit(_("The database is unreachable: the report is kept on this workstation "
                         "and will be recorded when it is back."), True)

    # -- the replay ---------------------------------------------------------------------------
    def _on_connection(self, up: bool) -> None:
        self.database_up = up
        self.refresh()
        if up:
            self.try_replay()

    def try_replay(self) -> None:
        if self.replaying or not self.journal.count:
            return
        self.replaying = True
        db, journal, catalog = self.ui.console.db, self.journal, self.catalog
        self.ui.runner.run(lambda: journal.replay(db, catalog), on_success=self._replayed,
                           on_failure=self._replay_failed)

    def _replayed(self, outcome: ReplayOutcome) -> None:
        self.replaying = False
        if outcome.reason is None:  # the round went through: the database answers again
            self.database_up = True
        told = []
        if outcome.stored:
            numbers = "、".join(e.number or "" for e in outcome.stored)
            told.append(_("The database is back: {count} offline reports recorded ({numbers}).").format(
                count=len(outcome.stored), numbers=numbers))
        if outcome.refused:
            told.append(_("{count} offline reports were refused by the database; see the reasons above.").format(
                count=len(outcome.refused)))
        if told:
            self._tell(" ".join(told), bool(outcome.refused))
            self.replayed.emit(outcome)
        self.refresh()

    def _replay_failed(self, exc: BaseException) -> None:
        self.replaying = False
        log.error("replaying the offline journal failed", exc_info=exc)
        self._tell(_("The offline reports could not be replayed: {error}").format(error=exc), True)
        self.refresh()

    def dismiss_refused(self) -> None:
        journal = self.journal
        self.ui.runner.run(journal.dismiss_refused, on_success=lambda _n: self.refresh())

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
        waiting = self.journal.count
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
        entries = self.journal.entries()
        self.table.setRowCount(len(entries))
        red = theme.deadline_colour("red")
        for n, entry in enumerate(entries):
            d = entry.draft
            where = " · ".join(x for x in (d.grid or "", d.address or "") if x)
            if entry.state == "refused":
                state = _("Refused: {reason}").format(reason=entry.reason or "")
            elif entry.state == "stored":
                state = entry.number or ""
            else:
                state = _("Waiting")
            cells = [fmt_local(entry.taken_at, "%m-%d %H:%M:%S"), self.catalog.category_label(d.category),
                     str(d.severity), where, summary(d.description, 80), state]
            for column, text_ in enumerate(cells):
                item = QTableWidgetItem(text_)
                item.setToolTip(d.description if column == 4 else text_)
                if entry.state == "refused":
                    item.setForeground(red)
                self.table.setItem(n, column, item)
        self.table.setVisible(bool(entries))
        shown = min(len(entries), PENDING_ROWS_SHOWN)  # as tall as its rows, then it scrolls
        self.table.setFixedHeight(self.table.horizontalHeader().sizeHint().height()
                                  + shown * self.table.verticalHeader().defaultSectionSize() + 4)
        self.dismiss.setVisible(any(e.state == "refused" for e in entries))
        self.setVisible(bool(text) or bool(entries) or not self.told_label.isHidden())
        if self.journal.count:
            if not self._timer.isActive():
                self._timer.start()
        else:
            self._timer.stop()

    def shutdown(self) -> None:
        self._timer.stop()
        self._told_timer.stop()
