"""The case board's campaign view (矛盾纠纷排查): which grids have reported, which are overdue.

The box on top picks the campaign (newest first, Ctrl+PgUp / Ctrl+PgDown step through them); the
table lists its grids, overdue ones in red. Ctrl+N reports 无新增 for the grid of the current row,
Ctrl+D the disputes it found (a form, one per line; each opens a case in the same write), both on
the version the officer saw: a report another workstation made first is refused with who and
when. Ctrl+E closes the campaign (a leader; a reason when grids have not reported). The view
reloads when the change feed names a campaign.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dispatch_console.cases import (
    GRID_STATES,
    CampaignDetail,
    CampaignRow,
    close_campaign,
    get_campaign,
    list_campaigns,
    report_grid,
)
from dispatch_console.kernel.i18n import N_, _
from dispatch_console.kernel.timefmt import fmt_local
from ui.cases.forms import CloseCampaignForm, FoundForm, shortcut
from ui.shell import theme
from ui.shell.context import UiContext
from ui.shell.tables import refill

COLUMNS = (N_("Grid"), N_("Report"), N_("Reported at"), N_("Reported by"), N_("Cases opened"))


def campaign_label(row: CampaignRow) -> str:
    text = _("{title} — due {due}: {reported}/{grids} reported, {overdue} overdue").format(
        title=row.title, due=fmt_local(row.due_at, "%m-%d %H:%M"), reported=row.reported, grids=row.grids,
        overdue=row.overdue)
    if row.closed_at is not None:
        text += " — " + _("closed {at}").format(at=fmt_local(row.closed_at, "%m-%d %H:%M"))
    return text


class CampaignPanel(QWidget):
    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("case-campaigns")
        self.ui = ui
        self.rows: list[CampaignRow] = []
        self.detail: CampaignDetail | None = None
        self.form: FoundForm | CloseCampaignForm | None = None
        self._loading = False
        self._again = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.picker = QComboBox(self)
        self.picker.setObjectName("case-campaign-picker")
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("case-campaign-grids")
        self.table.setHorizontalHeaderLabels([_(c) for c in COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.message = QLabel(self)
        self.message.setObjectName("case-campaign-message")
        self.message.setWordWrap(True)
        layout.addWidget(self.picker)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)
        self.picker.currentIndexChanged.connect(lambda _i: self.reload())
        shortcut(self, "Ctrl+PgDown", lambda: self._step(1))
        shortcut(self, "Ctrl+PgUp", lambda: self._step(-1))
        shortcut(self, "Ctrl+N", self.report_nothing_new)
        shortcut(self, "Ctrl+D", self.report_found)
        shortcut(self, "Ctrl+E", self.close_campaign)
        ui.feed.changed.connect(self._on_changes)

    def is_ready(self) -> bool:
        return not self._loading

    def current_id(self) -> int:
        data = self.picker.currentData()
        return int(data) if data is not None else 0

    def _step(self, by: int) -> None:
        if self.picker.count():
            self.picker.setCurrentIndex(max(0, min(self.picker.count() - 1, self.picker.currentIndex() + by)))

    def reload(self) -> None:
        if self._loading:
            self._again = True
            return
        self._loading = True
        db, wanted = self.ui.console.db, self.current_id()

        def work() -> tuple[list[CampaignRow], CampaignDetail | None]:
            rows = list_campaigns(db)
            pick = wanted if any(r.id == wanted for r in rows) else (rows[0].id if rows else 0)
            return rows, get_campaign(db, pick) if pick else None

        self.ui.runner.run(work, on_success=self._loaded, on_failure=self._failed)

    def _loaded(self, result: tuple[list[CampaignRow], CampaignDetail | None]) -> None:
        self._loading = False
        self.rows, self.detail = result
        self.picker.blockSignals(True)
        self.picker.clear()
        for r in self.rows:
            self.picker.addItem(campaign_label(r), r.id)
        if self.detail is not None:
            self.picker.setCurrentIndex(next(i for i, r in enumerate(self.rows) if r.id == self.detail.row.id))
        self.picker.blockSignals(False)
        lines = self.detail.lines if self.detail is not None else ()
        items = []
        for x in lines:
            state = _(GRID_STATES[x.state])
            if x.overdue:
                state += " — " + (_("overdue, escalated") if x.escalated_at else _("overdue"))
            elif x.late:
                state += " " + _("(late)")
            row = [QTableWidgetItem(x.name), QTableWidgetItem(state),
                   QTableWidgetItem(fmt_local(x.reported_at, "%m-%d %H:%M") if x.reported_at else ""),
                   QTableWidgetItem(x.reporter or ""), QTableWidgetItem(" ".join(x.cases))]
            if x.overdue:
                for item in row[:2]:
                    item.setForeground(theme.deadline_colour("red"))
            items.append(row)
        refill(self.table, items)
        if items and self.table.currentRow() < 0:
            self.table.setCurrentCell(0, 0)
        if not self.rows:
            self.message.setText(_("No screening campaign yet (cases campaign start)."))
        elif self.detail is not None and self.detail.row.closed_at is not None and not self.message.text():
            shown = self.detail.row
            closed = _("Closed {at} by {who}.").format(at=fmt_local(shown.closed_at), who=shown.closed_by or "?")
            self.message.setText(closed + (" " + shown.close_reason if shown.close_reason else ""))
        if self._again:
            self._again = False
            self.reload()

    def _failed(self, exc: BaseException) -> None:
        self._loading = False
        self.message.setText(_("Could not load the campaigns: {error}").format(error=exc))

    def _on_changes(self, changes: list[Any]) -> None:
        if self.isVisible() and any(c.entity in ("campaign", "database") for c in changes):
            self.reload()

    def report_nothing_new(self) -> None:
        d, actor, r = self.detail, self.ui.actor, self.table.currentRow()
        if d is None or actor is None or not 0 <= r < len(d.lines):
            return
        line, db = d.lines[r], self.ui.console.db
        self.message.clear()

        def ok(_result: Any) -> None:
            self.message.setText(_("{grid}: nothing new reported.").format(grid=line.name))
            self.reload()

        def failed(exc: BaseException) -> None:
            self.message.setText(str(exc))
            self.reload()

        self.ui.runner.run(lambda: report_grid(db, actor, d.row.id, line.code or line.name, nothing_new=True,
                                               seen_version=d.row.version), on_success=ok, on_failure=failed)

    def _write(self, job: Any, done: Any) -> None:
        """Run a write off the GUI thread; its refusal (with the reason) shows under the table."""
        self.message.clear()

        def failed(exc: BaseException) -> None:
            self.message.setText(str(exc))
            self.reload()

        def ok(result: Any) -> None:
            self.message.setText(done(result))
            self.reload()

        self.ui.runner.run(job, on_success=ok, on_failure=failed)

    def report_found(self) -> None:
        """Ctrl+D: the disputes the current row's grid found, one per line; each opens a case."""
        d, actor, r = self.detail, self.ui.actor, self.table.currentRow()
        if d is None or actor is None or not 0 <= r < len(d.lines):
            return
        line, db, campaign_id, version = d.lines[r], self.ui.console.db, d.row.id, d.row.version
        form = FoundForm(d.row.title, line.name, None, self)
        self.form = form

        def accepted() -> None:
            titles, reporter, note = form.values()
            self._write(lambda: report_grid(db, actor, campaign_id, line.code or line.name, found=titles,
                                            reporter=reporter, note=note, seen_version=version),
                        lambda numbers: _("{grid}: opened {cases}.").format(grid=line.name,
                                                                            cases=", ".join(numbers)))

        form.accepted.connect(accepted)
        form.open()

    def close_campaign(self) -> None:
        """Ctrl+E: close the campaign shown (a reason when some grids have not reported)."""
        d, actor = self.detail, self.ui.actor
        if d is None or actor is None:
            return
        if d.row.closed_at is not None:
            self.message.setText(_("This campaign is closed already."))
            return
        pending = tuple(x.name for x in d.lines if x.state == "pending")
        db, campaign_id, version = self.ui.console.db, d.row.id, d.row.version
        form = CloseCampaignForm(d.row.title, pending, self)
        self.form = form
        form.accepted.connect(lambda: self._write(
            lambda: close_campaign(db, actor, campaign_id, reason=form.value(), seen_version=version),
            lambda row: _("Campaign closed: {title}.").format(title=row.title)))
        form.open()
