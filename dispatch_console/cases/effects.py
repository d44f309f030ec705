"""What an incident change and a fired case deadline do (wired in ``station/composition.py``).

:func:`on_incident_change` is a FOLLOW_UPS hook: a recorded incident of a category the policy
names (``open_for``) opens a case with the incident linked, the reporter as applicant, in the
same transaction. The timer effects run in the timer's claim transaction, so each deadline fires
exactly once however many consoles run; an effect whose step is already done says so and does
nothing else.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Case, CaseIncident, CaseVisit, Incident, Timer
from dispatch_console.cases import policy
from dispatch_console.cases.parties import PartyDraft
from dispatch_console.cases.records import add_event, case_title, changed, close_in, notify
from dispatch_console.cases.service import CaseDraft, open_in
from dispatch_console.cases.vocabulary import DEADLINE_LABELS, label
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changes import serialise_writers
from dispatch_console.kernel.errors import ValidationError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.text import summary
from dispatch_console.kernel.timefmt import fmt_local
from dispatch_console.timers import engine as timers

SUBTYPE_OF_CATEGORY = {"labor": "labour", "rental_housing": "rental"}


def on_incident_change(session: Session, actor: Actor, incident: Incident, change: str,
                       before: dict[str, Any] | None) -> None:
    """A dispute-category incident, when recorded (or re-categorised into one), opens a case."""
    if change not in ("created", "category_changed") or incident.is_drill:
        return
    pol = policy.cases()
    if incident.category not in pol.open_for:
        return
    if change != "created":  # one recorded in this transaction has no case yet: nothing to look for
        linked = session.execute(select(CaseIncident.id).where(CaseIncident.incident_id == incident.id)).first()
        if linked is not None:
            return
    kind = "petition" if incident.category == "petition" else "dispute"
    subtype = SUBTYPE_OF_CATEGORY.get(incident.category)
    if subtype is not None and (pol.subtype(subtype) is None or kind not in pol.subtype(subtype).kinds):  # type: ignore[union-attr]
        subtype = None
    parties: tuple[PartyDraft, ...] = ()
    if incident.reporter_name:
        parties = (PartyDraft(name=incident.reporter_name[:100], role="applicant", phone=incident.reporter_phone),)
    draft = CaseDraft(kind=kind, title=summary(incident.description, 80) or incident.number, subtype=subtype,
                      description=incident.description, grid_id=incident.grid_id,
                      risk="high" if incident.severity <= 2 else "low", parties=parties)
    # The writers' lock first, outside the savepoint: taking it gives a new incident its number and
    # writes the audit rows waiting for it (PostgreSQL); inside a savepoint that the retry below
    # rolls back, they would be rolled back with it and the incident committed without them.
    serialise_writers(session)
    try:
        with session.begin_nested():
            open_in(session, actor, draft, opened_by="policy", incident_ids=(incident.id,))
    except ValidationError:  # a reporter's phone the case refuses must not refuse the incident
        draft = CaseDraft(kind=kind, title=draft.title, subtype=subtype, description=draft.description,
                          grid_id=incident.grid_id, risk=draft.risk)
        open_in(session, actor, draft, opened_by="policy", incident_ids=(incident.id,))


def _case(session: Session, timer: Timer) -> Case | None:
    return session.get(Case, timer.case_id) if timer.case_id is not None else None


def on_follow_up_due(session: Session, timer: Timer, now: datetime, fired_by: str) -> None:
    """A visit not recorded in time: marked missed, and the policy's role is told (once)."""
    case = _case(session, timer)
    visit_id = (timer.payload or {}).get("visit_id")
    visit = session.get(CaseVisit, visit_id) if isinstance(visit_id, int) else None
    if case is None or visit is None or visit.state != "due":
        timers.set_outcome(timer, _("No longer needed."))
        return
    system = Actor.system(fired_by)
    visit.missed_at = now
    visit.version += 1
    who = visit.assignee_name or _("nobody assigned")
    notify(session, system, case, kind="case_visit_missed", level="warning", role=timer.target_role or "shift_leader",
           timer_id=timer.id, at=now,
           title=_("Follow-up visit missed: {case}").format(case=case_title(case)),
           body=_("{title}: the {days}-day visit ({who}) was due at {due}.").format(
               title=case.title, days=visit.days, who=who, due=fmt_local(visit.due_at)))
    changed(session, system, case, "visit_missed", now, after={"visit_id": visit.id},
            note=_("Follow-up visit ({days} days) missed; escalated.").format(days=visit.days))


def on_judicial_due(session: Session, timer: Timer, now: datetime, fired_by: str) -> None:
    """The judicial-confirmation window is closing and nobody recorded an application."""
    case = _case(session, timer)
    if case is None or case.judicial_confirmed_at is not None or case.outcome != "mediated":
        timers.set_outcome(timer, _("No longer needed."))
        return
    ends = (timer.payload or {}).get("window_ends")
    if isinstance(ends, str) and datetime.fromisoformat(ends) <= now:  # fired late: nothing to remind of
        timers.set_outcome(timer, _("The window had closed already."))
        return
    system = Actor.system(fired_by)
    notify(session, system, case, kind="case_judicial", level="info", role=timer.target_role or "duty_officer",
           timer_id=timer.id, at=now,
           title=_("Judicial confirmation: {case}").format(case=case_title(case)),
           body=_("The parties may apply jointly for judicial confirmation until {until} (人民调解法 art. 33).")
           .format(until=fmt_local(datetime.fromisoformat(ends)) if isinstance(ends, str) else "?"))
    add_event(session, system, case.id, "deadline", _("Judicial confirmation reminder sent."), now)


def on_petition_deadline(session: Session, timer: Timer, now: datetime, fired_by: str) -> None:
    """A petition step's deadline passed with the step not done: escalated, exactly once."""
    case = _case(session, timer)
    wanted = (timer.payload or {}).get("status")
    if case is None or case.status != wanted:
        timers.set_outcome(timer, _("No longer needed."))
        return
    pol = policy.petition()
    system = Actor.system(fired_by)
    what = label(DEADLINE_LABELS, timer.kind)
    notify(session, system, case, kind="case_deadline", level=pol.level, role=timer.target_role or pol.escalate_role,
           timer_id=timer.id, at=now,
           title=_("Petition deadline passed: {case}").format(case=case_title(case)),
           body=_("{title}: {what} was due at {due}.").format(title=case.title, what=what, due=fmt_local(timer.due_at)))
    changed(session, system, case, "deadline", now, after={"timer_id": timer.id, "kind": timer.kind},
            note=_("Deadline passed: {what}; escalated.").format(what=what))


def on_petition_window(session: Session, timer: Timer, now: datetime, fired_by: str) -> None:
    """The petitioner did not ask for a review in time: the reply stands and the case closes."""
    case = _case(session, timer)
    wanted = (timer.payload or {}).get("status")
    if case is None or case.status != wanted:
        timers.set_outcome(timer, _("No longer needed."))
        return
    close_in(session, Actor.system(fired_by), case, now, _("No review asked for in time: the reply stands."))
