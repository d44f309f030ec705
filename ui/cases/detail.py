"""One case in full beside the board: parties (masked), sessions, agreement, follow-ups, deadlines,
timeline. Keys: Ctrl+Shift+V records the next follow-up visit, Ctrl+Shift+M a mediation session,
Ctrl+I shows the selected party's ID number in full (audited), Ctrl+L selects the first linked
incident in the queue. Everything is read and written through the core off the GUI thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QPlainTextEdit, QVBoxLayout, QWidget

from dispatch_console import cases
from dispatch_console.cases import (
    KIND_LABELS,
    MEDIATOR_ORGS,
    PARTY_ROLES,
    REFERRALS,
    RISK_LABELS,
    SATISFACTION,
    STATUS_LABELS,
    TIMER_STATES,
    VISIT_RESULTS,
    CaseDetail,
    get_case,
    label,
)
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.timefmt import fmt_local
from ui.cases.forms import MediationForm, VisitForm, shortcut
from ui.shell.context import UiContext


def _t(value: Any) -> str:
    return fmt_local(value, "%Y-%m-%d %H:%M") if value is not None else "-"


def detail_text(d: CaseDetail) -> str:
    """The case as plain text (shown read-only; nothing typed by anybody becomes markup)."""
    r = d.row
    lines = [
        f"{r.number}  {label(KIND_LABELS, r.kind)} · {cases.case_policy().subtype_label(r.subtype)} · "
        f"{label(STATUS_LABELS, r.status)}",
        r.title,
        _("Grid: {grid}   Responsible: {who}   Risk: {risk}{flag}").format(
            grid=r.grid_name or "-", who=" ".join(x for x in (r.unit_name, r.responsible_person) if x) or "-",
            risk=label(RISK_LABELS, r.risk), flag=" · " + _("may escalate") if r.may_escalate else ""),
    ]
    if d.description:
        lines += ["", d.description]
    if r.kind == "petition":
        lines += ["", _("Registered {reg}, accepted {acc}, replied {rep}").format(
            reg=_t(d.registered_at), acc=_t(d.accepted_at), rep=_t(d.replied_at))]
        if d.extension_days:
            lines.append(_("Extended by {n} days (approved by {who}): {why}").format(
                n=d.extension_days, who=d.extension_approver, why=d.extension_reason))
    if r.step_due_at is not None:
        lines.append(_("Current step due: {due}{late}").format(
            due=_t(r.step_due_at), late=" " + _("overdue") if r.step_due_at < d.now else ""))
    if d.sessions:
        lines += ["", _("Mediation sessions")]
        lines += [f"  {_t(x.held_at)} {x.mediator} ({label(MEDIATOR_ORGS, x.mediator_org)}) {x.place or ''} "
                  f"{x.summary or ''}" for x in d.sessions]
    if d.agreement_text:
        lines += ["", _("Agreement ({at}): {text}").format(at=_t(d.agreement_at), text=d.agreement_text)]
        lines += [f"  · {t.text} {_t(t.due_at) if t.due_at else ''}" for t in d.terms]
        lines.append(_("Judicial confirmation: {state}").format(
            state=_t(d.judicial_confirmed_at) if d.judicial_confirmed_at else _("not recorded")))
    if d.referral:
        lines.append(_("Referred to {referral}.").format(referral=label(REFERRALS, d.referral)))
    if d.visits:
        lines += ["", _("Follow-up visits")]
        for v in d.visits:
            state = (label(VISIT_RESULTS, v.result) + (" / " + label(SATISFACTION, v.satisfaction)
                                                         if v.satisfaction else "")) if v.result else (
                _("visit missed") if v.missed else _("due") if v.state == "due" else _("cancelled"))
            lines.append(_("  {days} days, due {due}, {who}: {state}").format(
                days=v.days, due=_t(v.due_at), who=v.assignee or _("nobody assigned"), state=state))
    if d.deadlines:
        lines += ["", _("Deadlines")]
        lines += [f"  {_t(t.due_at)} {t.label} ({label(TIMER_STATES, t.state)})" for t in d.deadlines]
    if d.incidents:
        lines += ["", _("Linked incidents: {numbers}").format(numbers=", ".join(i.number for i in d.incidents))]
    lines += ["", _("Timeline")]
    lines += [f"  {_t(e.at)} {e.who or ''}: {e.note or ''}" for e in d.timeline]
    return "\n".join(lines)


class CaseDetailView(QWidget):
    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("case-detail")
        self.ui = ui
        self.case_id = 0
        self.detail: CaseDetail | None = None
        self.revealed: dict[int, str] = {}
        self.form: VisitForm | MediationForm | None = None
        self._loading = False
        self._again = False
        self.busy = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.parties = QListWidget(self)
        self.parties.setObjectName("case-parties")
        self.parties.setMaximumHeight(90)
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.message = QLabel(self)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        layout.addWidget(self.parties)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.message)
        for keys, slot in (("Ctrl+Shift+V", self.record_visit), ("Ctrl+Shift+M", self.record_mediation),
                           ("Ctrl+I", self.reveal_party), ("Ctrl+L", self.select_incident)):
            shortcut(self, keys, slot)
        ui.feed.changed.connect(self._on_changes)

    def is_ready(self) -> bool:
        return not self._loading and not self.busy

    def show_case(self, case_id: int) -> None:
        if case_id != self.case_id:
            self.revealed.clear()
            self.message.clear()
        self.case_id = case_id
        if not case_id:
            self.detail = None
            self.parties.clear()
            self.text.setPlainText(_("No case selected."))
            return
        self.reload()

    def show_detail(self, detail: CaseDetail) -> None:
        """Show a case read elsewhere (the board's read brings the first case of a new view along)."""
        if detail.row.id != self.case_id:
            self.revealed.clear()
            self.message.clear()
        self.case_id = detail.row.id
        self.detail = detail
        self._show(detail)

    def reload(self) -> None:
        if self._loading:
            self._again = True
            return
        case_id, db = self.case_id, self.ui.console.db
        if not case_id:
            return
        self._loading = True
        self.ui.runner.run(lambda: get_case(db, case_id), on_success=self._loaded, on_failure=self._load_failed)

    def _loaded(self, detail: CaseDetail) -> None:
        self._loading = False
        if detail.row.id == self.case_id:
            self.detail = detail
            self._show(detail)
        if self._again:
            self._again = False
            self.reload()

    def _load_failed(self, exc: BaseException) -> None:
        self._loading = False
        self.message.setText(_("Could not load the case: {error}").format(error=exc))

    def _show(self, d: CaseDetail) -> None:
        row = self.parties.currentRow()
        self.parties.clear()
        for p in d.parties:
            shown = self.revealed.get(p.id, p.id_number or "")
            again = ("  " + _("also in {cases}").format(cases=", ".join(p.repeat_cases))) if p.repeat_cases else ""
            item = QListWidgetItem(f"{label(PARTY_ROLES, p.role)}: {p.name} {p.phone or ''} {shown}{again}")
            item.setData(Qt.ItemDataRole.UserRole, p.id)
            self.parties.addItem(item)
        if self.parties.count():
            self.parties.setCurrentRow(max(0, min(row, self.parties.count() - 1)))
        self.text.setPlainText(detail_text(d))

    def _on_changes(self, changes: list[Any]) -> None:
        if self.case_id and any(c.entity == "database" or (c.entity == "case" and c.entity_id == self.case_id)
                                for c in changes):
            self.reload()

    # -- acting ---------------------------------------------------------------------------
    def _act(self, work: Callable[[], Any], done: str) -> None:
        self.busy = True
        self.message.clear()

        def ok(_result: Any) -> None:
            self.busy = False
            self.message.setText(done)
            self.reload()

        def failed(exc: BaseException) -> None:
            self.busy = False
            self.message.setText(str(exc))
            self.reload()

        self.ui.runner.run(work, on_success=ok, on_failure=failed)

    def record_visit(self) -> None:
        d, actor = self.detail, self.ui.actor
        if d is None or actor is None:
            return
        due = [v for v in d.visits if v.state == "due"]
        if not due:
            self.message.setText(_("{case} has no follow-up visit due.").format(case=d.row.number))
            return
        visit = due[0]
        form = VisitForm(d.row.number, visit.days, self)
        self.form = form
        db, case_id = self.ui.console.db, d.row.id

        def accepted() -> None:
            result, satisfaction, note = form.values()
            self._act(lambda: cases.record_visit(db, actor, case_id, visit.id, visit.version, result=result,
                                                   satisfaction=satisfaction, note=note),
                      _("Follow-up visit recorded."))

        form.accepted.connect(accepted)
        form.open()

    def record_mediation(self) -> None:
        d, actor = self.detail, self.ui.actor
        if d is None or actor is None:
            return
        form = MediationForm(d.row.number, self)
        self.form = form
        db, case_id, version = self.ui.console.db, d.row.id, d.row.version
        form.accepted.connect(lambda: self._act(
            lambda: cases.mediate(db, actor, case_id, form.draft(), seen_version=version),
            _("Mediation session recorded.")))
        form.open()

    def reveal_party(self) -> None:
        item, actor = self.parties.currentItem(), self.ui.actor
        if item is None or actor is None:
            return
        party_id = int(item.data(Qt.ItemDataRole.UserRole))
        db = self.ui.console.db

        def shown(value: str | None) -> None:
            self.busy = False
            if value:
                self.revealed[party_id] = value
                if self.detail is not None:
                    self._show(self.detail)

        def failed(exc: BaseException) -> None:
            self.busy = False
            self.message.setText(str(exc))

        self.busy = True
        self.ui.runner.run(lambda: cases.reveal_party(db, actor, party_id), on_success=shown, on_failure=failed)

    def select_incident(self) -> None:
        if self.detail is not None and self.detail.incidents:
            self.ui.selection.select(self.detail.incidents[0].id)
