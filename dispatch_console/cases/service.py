"""Opening cases and working them: parties, risk, mediation and its outcome, visits, closing.

Disputes: open → mediating (a session recorded) → agreed (调解成功: the agreement and its terms;
the follow-up visits and the judicial-confirmation reminder are scheduled) or referred (调解不成:
诉讼 / 仲裁 / 信访 / 行政处理) → closed. A visit that finds the agreement not performed or the
dispute flared up again (反弹) reopens the case. Petitions have their own steps (``petition``).
Every function takes the acting officer, checks the permission, writes in one transaction and
records the change; bad input is refused with the reason before anything is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import Area, Case, CaseIncident, CaseParty, CaseSession, CaseTerm, CaseVisit, Incident, Unit
from dispatch_console.cases import petition as petitions
from dispatch_console.cases import policy
from dispatch_console.cases.parties import MAX_PARTIES, PartyDraft, check_party, mask_id
from dispatch_console.cases.records import (
    add_event,
    cancel_due_visits,
    cancel_visit_deadline,
    case_title,
    changed,
    close_in,
    find_case_id,
    load_for_update,
    notify,
    schedule_visits,
    snapshot,
)
from dispatch_console.cases.vocabulary import (
    JUDICIAL_KIND,
    KIND_PREFIX,
    MEDIATOR_ORGS,
    REFERRALS,
    REOPENING_RESULTS,
    RISK_LABELS,
    SATISFACTION,
    STATUS_LABELS,
    VISIT_RESULTS,
    label,
)
from dispatch_console.incidents.numbers import next_number, street_prefix
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.audit import mask_phone
from dispatch_console.kernel.changes import changed_by, last_change_by, record, serialise_writers
from dispatch_console.kernel.errors import IllegalTransition, NotFound, ValidationError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import require
from dispatch_console.kernel.text import summary
from dispatch_console.kernel.timefmt import fmt_local, local
from dispatch_console.timers import engine as timers

MAX_TITLE = 200
MAX_TEXT = 20_000
MAX_TERMS = 50


@dataclass(frozen=True)
class CaseDraft:
    kind: str
    title: str
    description: str | None = None
    subtype: str | None = None
    grid: str | None = None        # a grid's code or name
    grid_id: int | None = None
    risk: str = "low"
    may_escalate: bool = False
    responsible_unit: str | None = None   # a unit's code
    responsible_person: str | None = None
    parties: tuple[PartyDraft, ...] = ()
    incidents: tuple[str, ...] = ()       # incident numbers
    is_drill: bool = False


@dataclass(frozen=True)
class Term:
    text: str
    due_at: datetime | None = None


@dataclass(frozen=True)
class SessionDraft:
    mediator: str
    mediator_org: str = "people_committee"
    held_at: datetime | None = None       # None: now (database clock)
    place: str | None = None
    attendees: str | None = None
    summary: str | None = None
    outcome: str | None = None            # None (another session follows) | mediated | failed
    agreement: str | None = None
    terms: tuple[Term, ...] = field(default_factory=tuple)
    referral: str | None = None


def _text(value: str | None, name: str, limit: int, *, required: bool = False) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise ValidationError(_("{field} is needed.").format(field=name), name)
        return None
    if len(text) > limit:
        raise ValidationError(_("{field} is longer than {n} characters.").format(field=name, n=limit), name)
    return text


def _in_range(when: datetime, what: str) -> None:
    if not 2000 <= when.year <= 2100:
        raise ValidationError(_("{field}: {when} is outside 2000–2100.").format(field=what, when=when.date()), what)


# ---------------------------------------------------------------------------------------------
# Opening.


def find_grid(s: Session, key: str) -> int:
    """A grid by its code, else by its name if only one grid has it; refused with the reason."""
    key = key.strip()
    found = s.execute(select(Area.id).where(Area.level == "grid", Area.code == key)).scalar()
    if found is None:
        names = s.execute(select(Area.id).where(Area.level == "grid", Area.name == key)).scalars().all()
        if len(names) != 1:
            raise ValidationError(_("Unknown grid {grid}.").format(grid=key) if not names else
                                  _("Several grids are named {grid}; give the grid's code.").format(grid=key), "grid")
        found = names[0]
    return int(found)


def _grid_id(s: Session, draft: CaseDraft) -> int | None:
    if draft.grid_id is not None:
        found = s.execute(select(Area.id).where(Area.id == draft.grid_id, Area.level == "grid")).scalar()
        if found is None:
            raise ValidationError(_("Unknown grid {grid}.").format(grid=draft.grid_id), "grid")
        return int(found)
    if not draft.grid:
        return None
    return find_grid(s, draft.grid)


def _unit_id(s: Session, code: str | None) -> int | None:
    if not code:
        return None
    found = s.execute(select(Unit.id).where(Unit.code == code.strip())).scalar()
    if found is None:
        raise ValidationError(_("Unknown unit {code}.").format(code=code), "responsible_unit")
    return int(found)


def open_in(s: Session, actor: Actor, draft: CaseDraft, *, opened_by: str = "direct",
            incident_ids: tuple[int, ...] = ()) -> Case:
    """Check the draft and open the case inside the caller's write (all or nothing)."""
    serialise_writers(s)
    now = db_now(s)
    pol = policy.cases()
    if draft.kind not in KIND_PREFIX:
        raise ValidationError(_("Kind {kind} is neither dispute nor petition.").format(kind=draft.kind), "kind")
    title = _text(draft.title, "title", MAX_TITLE, required=not draft.incidents and not incident_ids)
    description = _text(draft.description, "description", MAX_TEXT)
    if draft.subtype is not None:
        sub = pol.subtype(draft.subtype)
        if sub is None or draft.kind not in sub.kinds:
            raise ValidationError(_("Sub-type {code} is not one of {codes}.").format(
                code=draft.subtype, codes=", ".join(x.code for x in pol.subtypes if draft.kind in x.kinds)),
                "subtype")
    if draft.risk not in RISK_LABELS:
        raise ValidationError(_("Risk {risk} is not one of low, medium, high.").format(risk=draft.risk), "risk")
    if len(draft.parties) > MAX_PARTIES:
        raise ValidationError(_("At most {n} parties.").format(n=MAX_PARTIES), "parties")
    today = local(now).date()
    parties = [check_party(p, i, today) for i, p in enumerate(draft.parties, start=1)]
    grid_id = _grid_id(s, draft)
    unit_id = _unit_id(s, draft.responsible_unit)
    person = _text(draft.responsible_person, "responsible_person", 100)
    linked = list(incident_ids)
    for number in draft.incidents:
        found = s.execute(select(Incident.id).where(Incident.number == number.strip().upper())).scalar()
        if found is None:
            raise ValidationError(_("No incident numbered {number}.").format(number=number), "incidents")
        linked.append(int(found))
    if linked and (grid_id is None or title is None):
        first = s.execute(select(Incident.grid_id, Incident.description).where(Incident.id == linked[0])).one()
        grid_id = grid_id if grid_id is not None else first.grid_id
        title = title or summary(first.description, 80)
    prefix = street_prefix(s, grid_id) + KIND_PREFIX[draft.kind]
    petition = draft.kind == "petition"
    case = Case(
        number=next_number(s, prefix), kind=draft.kind, subtype=draft.subtype, title=title or "",
        description=description,
        status="registered" if petition else "open", grid_id=grid_id, risk=draft.risk,
        may_escalate=draft.may_escalate, responsible_unit_id=unit_id, responsible_person=person,
        owner_user_id=actor.user_id, opened_by=opened_by, registered_at=now, extension_days=0,
        reopen_count=0, is_drill=draft.is_drill, created_by=actor.user_id, created_at=now, version=0,
    )
    s.add(case)
    s.flush()
    for p in parties:
        s.add(CaseParty(case_id=case.id, role=p.role, name=p.name, phone=p.phone, id_number=p.id_number))
    for incident_id in dict.fromkeys(linked):
        s.add(CaseIncident(case_id=case.id, incident_id=incident_id, linked_at=now))
    if petition:
        petitions.arm_acceptance(s, actor, case, now)
    how = {"policy": _("Opened by policy from an incident."), "hand": _("Opened by hand from an incident."),
           "direct": _("Opened directly.")}.get(opened_by, "")
    changed(s, actor, case, "create", now, note=how, after={**snapshot(case), "parties": len(parties),
                                                           "incidents": linked})
    if case.may_escalate:
        _tell_stability_lead(s, actor, case, now)
    return case


def open_case(db: Database, actor: Actor, draft: CaseDraft) -> int:
    """Open a case directly or from incidents (by hand); returns its id."""
    require(actor, "case.create")
    with db.write() as s:
        return open_in(s, actor, draft, opened_by="hand" if draft.incidents else "direct").id


def _tell_stability_lead(s: Session, actor: Actor, case: Case, now: datetime) -> None:
    pol = policy.cases()
    notify(s, actor, case, kind="case_risk", level="critical", role=pol.stability_lead_role, at=now,
           title=_("May escalate: {case}").format(case=case_title(case)),
           body=_("{title} (risk {risk}) is flagged as likely to escalate (可能激化).").format(
               title=case.title, risk=label(RISK_LABELS, case.risk)))


# ---------------------------------------------------------------------------------------------
# Risk, responsibility, parties, incidents.


def set_risk(db: Database, actor: Actor, case_id: int, seen_version: int, *, risk: str,
             may_escalate: bool) -> None:
    """Change the risk level and the 可能激化 flag; raising the flag tells the 维稳 lead at once."""
    require(actor, "case.edit")
    if risk not in RISK_LABELS:
        raise ValidationError(_("Risk {risk} is not one of low, medium, high.").format(risk=risk), "risk")
    with db.write() as s:
        case = load_for_update(s, case_id, seen_version)
        now = db_now(s)
        before = {"risk": case.risk, "may_escalate": case.may_escalate}
        raised = may_escalate and not case.may_escalate
        case.risk, case.may_escalate = risk, may_escalate
        changed(s, actor, case, "risk", now, before=before, after={"risk": risk, "may_escalate": may_escalate},
                note=_("Risk {risk}{flag}.").format(risk=label(RISK_LABELS, risk),
                                                    flag=_(", may escalate") if may_escalate else ""))
        if raised:
            _tell_stability_lead(s, actor, case, now)


def assign(db: Database, actor: Actor, case_id: int, seen_version: int, *, unit: str | None,
           person: str | None) -> None:
    """The responsible unit (by code) and person."""
    require(actor, "case.edit")
    with db.write() as s:
        case = load_for_update(s, case_id, seen_version)
        now = db_now(s)
        before = {"responsible_unit_id": case.responsible_unit_id, "responsible_person": case.responsible_person}
        case.responsible_unit_id = _unit_id(s, unit)
        case.responsible_person = _text(person, "responsible_person", 100)
        changed(s, actor, case, "assign", now, before=before,
                after={"responsible_unit_id": case.responsible_unit_id,
                       "responsible_person": case.responsible_person},
                note=_("Responsible: {who}.").format(who=" ".join(x for x in (unit, person) if x) or "—"))


def add_party(db: Database, actor: Actor, case_id: int, party: PartyDraft) -> None:
    require(actor, "case.edit")
    with db.write() as s:
        case = load_for_update(s, case_id)
        now = db_now(s)
        count = len(s.execute(select(CaseParty.id).where(CaseParty.case_id == case_id)).all())
        clean = check_party(party, count + 1, local(now).date())
        s.add(CaseParty(case_id=case_id, role=clean.role, name=clean.name, phone=clean.phone,
                        id_number=clean.id_number))
        changed(s, actor, case, "party", now, after={"party": clean.name, "role": clean.role,
                                                     "phone": mask_phone(clean.phone),
                                                     "id_number": mask_id(clean.id_number)},
                note=_("Party added: {name}.").format(name=clean.name))


def link_incident(db: Database, actor: Actor, case_id: int, incident_number: str) -> None:
    require(actor, "case.edit")
    with db.write() as s:
        case = load_for_update(s, case_id)
        now = db_now(s)
        incident_id = s.execute(select(Incident.id).where(Incident.number == incident_number.strip().upper())).scalar()
        if incident_id is None:
            raise ValidationError(_("No incident numbered {number}.").format(number=incident_number), "incident")
        exists = s.execute(select(CaseIncident.id).where(CaseIncident.case_id == case_id,
                                                         CaseIncident.incident_id == incident_id)).first()
        if exists is not None:
            raise ValidationError(_("{number} is linked already.").format(number=incident_number), "incident")
        s.add(CaseIncident(case_id=case_id, incident_id=incident_id, linked_at=now))
        changed(s, actor, case, "link", now, after={"incident_id": incident_id},
                note=_("Incident {number} linked.").format(number=incident_number.strip().upper()))


def reveal_party(db: Database, actor: Actor, party_id: int, field_name: str = "id_number") -> str | None:
    """A party's ID number or phone in full; who looked is an audit row (like the reporter's phone)."""
    require(actor, "console.sign_in")
    if field_name not in ("id_number", "phone"):
        raise ValidationError(_("{field} cannot be shown in full.").format(field=field_name), "field")
    with db.write() as s:
        party = s.get(CaseParty, party_id)
        if party is None:
            raise NotFound(_("No party with id {id}.").format(id=party_id))
        record(s, actor, entity="case", entity_id=party.case_id, op="view", action="privacy.reveal",
               after={"field": field_name, "party_id": party_id})
        return party.id_number if field_name == "id_number" else party.phone


# ---------------------------------------------------------------------------------------------
# Mediation.


def _check_session(draft: SessionDraft, now: datetime) -> SessionDraft:
    mediator = _text(draft.mediator, "mediator", 100, required=True)
    if draft.mediator_org not in MEDIATOR_ORGS:
        raise ValidationError(_("Mediator's organisation {org} is not one of {orgs}.").format(
            org=draft.mediator_org, orgs=", ".join(MEDIATOR_ORGS)), "mediator_org")
    held = draft.held_at or now
    _in_range(held, "held_at")
    if held > now:
        raise ValidationError(_("The session cannot be held in the future ({when}).").format(when=fmt_local(held)),
                              "held_at")
    if draft.outcome not in (None, "mediated", "failed"):
        raise ValidationError(_("Outcome {outcome} is neither mediated nor failed.").format(outcome=draft.outcome),
                              "outcome")
    agreement = _text(draft.agreement, "agreement", MAX_TEXT)
    if draft.outcome == "mediated" and agreement is None:
        raise ValidationError(_("A successful mediation needs the agreement's text."), "agreement")
    if draft.outcome != "mediated" and (agreement or draft.terms):
        raise ValidationError(_("An agreement belongs only to a successful mediation."), "agreement")
    if len(draft.terms) > MAX_TERMS:
        raise ValidationError(_("At most {n} terms.").format(n=MAX_TERMS), "terms")
    for i, term in enumerate(draft.terms, start=1):
        _text(term.text, f"term {i}", 2000, required=True)
        if term.due_at is not None:
            _in_range(term.due_at, f"term {i}")
    if draft.outcome == "failed" and draft.referral not in REFERRALS:
        raise ValidationError(_("A failed mediation needs a referral: {choices}.").format(
            choices=", ".join(REFERRALS)), "referral")
    if draft.outcome != "failed" and draft.referral is not None:
        raise ValidationError(_("A referral belongs only to a failed mediation."), "referral")
    return SessionDraft(mediator=mediator or "", mediator_org=draft.mediator_org, held_at=held,
                        place=_text(draft.place, "place", 200), attendees=_text(draft.attendees, "attendees", 2000),
                        summary=_text(draft.summary, "summary", MAX_TEXT), outcome=draft.outcome,
                        agreement=agreement, terms=draft.terms, referral=draft.referral)


def mediate(db: Database, actor: Actor, case_id: int, draft: SessionDraft, seen_version: int | None = None) -> None:
    """Record a mediation session and, with it, the outcome if there is one.

    调解成功: the agreement and its terms are stored, the follow-up visits are scheduled at the
    policy's days and the judicial-confirmation reminder is armed. 调解不成: the referral is stored.
    """
    require(actor, "case.mediate")
    with db.write() as s:
        case = load_for_update(s, case_id, seen_version)
        now = db_now(s)
        if case.kind != "dispute":
            raise IllegalTransition(_("{case} is a petition: it is accepted and replied to, not mediated.").format(
                case=case.number))
        if case.status not in ("open", "mediating"):
            raise IllegalTransition(_("{case} is {status}: mediation is over (reopen it by a follow-up visit).")
                                    .format(case=case.number, status=label(STATUS_LABELS, case.status)))
        clean = _check_session(draft, now)
        assert clean.held_at is not None
        s.add(CaseSession(case_id=case.id, held_at=clean.held_at, place=clean.place, mediator=clean.mediator,
                          mediator_org=clean.mediator_org, attendees=clean.attendees, summary=clean.summary,
                          recorded_by=actor.user_id, recorded_at=now))
        before = {"status": case.status}
        note = _("Mediation session by {mediator} ({org}).").format(
            mediator=clean.mediator, org=label(MEDIATOR_ORGS, clean.mediator_org))
        if clean.outcome is None:
            case.status = "mediating"
        elif clean.outcome == "mediated":
            case.status, case.outcome, case.referral = "agreed", "mediated", None
            case.agreement_text, case.agreement_at, case.judicial_confirmed_at = clean.agreement, now, None
            for term in clean.terms:
                s.add(CaseTerm(case_id=case.id, text=term.text.strip(), due_at=term.due_at))
            visits = schedule_visits(s, actor, case, now)
            pol = policy.cases()
            timers.schedule(s, kind=JUDICIAL_KIND, due_at=now + pol.judicial_remind, case_id=case.id,
                            target_role=pol.judicial_role, is_drill=case.is_drill, actor=actor,
                            payload={"number": case.number, "window_ends": now + pol.judicial_window})
            note += " " + _("Agreement reached; {n} follow-up visits scheduled.").format(n=len(visits))
        else:
            case.status, case.outcome, case.referral = "referred", "failed", clean.referral
            note += " " + _("No agreement; referred to {referral}.").format(referral=label(REFERRALS, clean.referral))
        changed(s, actor, case, "mediate", now, before=before,
                after={"status": case.status, "outcome": case.outcome, "referral": case.referral,
                       "terms": len(clean.terms)}, note=note)


def confirm_judicially(db: Database, actor: Actor, case_id: int) -> None:
    """司法确认 was applied for / granted: the reminder is no longer needed."""
    require(actor, "case.mediate")
    with db.write() as s:
        case = load_for_update(s, case_id)
        now = db_now(s)
        if case.outcome != "mediated" or case.agreement_at is None:
            raise IllegalTransition(_("{case} has no mediation agreement to confirm.").format(case=case.number))
        if case.judicial_confirmed_at is not None:
            raise ValidationError(_("{case}: judicial confirmation is recorded already.").format(case=case.number))
        case.judicial_confirmed_at = now
        timers.cancel(s, reason="judicial confirmation recorded", case_id=case.id, kinds=[JUDICIAL_KIND], actor=actor)
        changed(s, actor, case, "confirm", now, after={"judicial_confirmed_at": now},
                note=_("Judicial confirmation recorded."))


# ---------------------------------------------------------------------------------------------
# Follow-up visits.


def record_visit(db: Database, actor: Actor, case_id: int, visit_id: int, seen_version: int, *, result: str,
                 satisfaction: str | None, note: str | None = None) -> bool:
    """Record a follow-up visit; returns True if its result reopened the case.

    Two officers recording the same visit at once: the first wins, the second is told who
    recorded it and when (the visit's version).
    """
    require(actor, "case.visit")
    if result not in VISIT_RESULTS:
        raise ValidationError(_("Result {result} is not one of {choices}.").format(
            result=result, choices=", ".join(VISIT_RESULTS)), "result")
    if satisfaction is not None and satisfaction not in SATISFACTION:
        raise ValidationError(_("Satisfaction {value} is not one of {choices}.").format(
            value=satisfaction, choices=", ".join(SATISFACTION)), "satisfaction")
    text = _text(note, "note", MAX_TEXT)
    with db.write() as s:
        case = load_for_update(s, case_id)
        now = db_now(s)
        visit = s.get(CaseVisit, visit_id)
        if visit is None or visit.case_id != case_id:
            raise NotFound(_("{case} has no such follow-up visit.").format(case=case.number))
        if visit.version != seen_version or visit.state != "due":
            raise changed_by(*last_change_by(s, "case", case_id))
        visit.state, visit.visited_at, visit.result = "done", now, result
        visit.satisfaction, visit.note, visit.recorded_by = satisfaction, text, actor.user_id
        visit.version += 1
        cancel_visit_deadline(s, actor, case_id, visit_id, "visit recorded", now)
        line = _("Follow-up visit ({days} days): {result}{satisfaction}.").format(
            days=visit.days, result=label(VISIT_RESULTS, result),
            satisfaction=(", " + label(SATISFACTION, satisfaction)) if satisfaction else "")
        reopened = result in REOPENING_RESULTS
        before = {"status": case.status}
        if reopened:
            cancel_due_visits(s, actor, case, "case reopened")
            timers.cancel(s, reason="case reopened", case_id=case.id, kinds=[JUDICIAL_KIND], actor=actor)
            case.status = "open" if case.kind == "dispute" else "accepted"
            case.outcome, case.closed_at = None, None
            case.reopen_count += 1
            line += " " + _("The case is reopened.")
            pol = policy.cases()
            notify(s, actor, case, kind="case_reopened", level="warning", role=pol.missed_visit_role, at=now,
                   title=_("Reopened after a follow-up visit: {case}").format(case=case_title(case)),
                   body=_("{title}: {result}.").format(title=case.title, result=label(VISIT_RESULTS, result)))
        changed(s, actor, case, "visit", now, before=before,
                after={"visit_id": visit_id, "result": result, "satisfaction": satisfaction, "status": case.status},
                note=line)
        return reopened


def due_visit(db: Database, case_id: int) -> tuple[int, int]:
    """The case's earliest visit still due, as (visit id, version); ValidationError if none is due."""
    with db.read() as s:
        case = s.get(Case, case_id)
        if case is None:
            raise NotFound(_("No case with id {id}.").format(id=case_id))
        row = s.execute(select(CaseVisit.id, CaseVisit.version).where(
            CaseVisit.case_id == case_id, CaseVisit.state == "due").order_by(CaseVisit.due_at).limit(1)).first()
        if row is None:
            if case.outcome != "mediated" and case.status != "closed":
                raise ValidationError(_("{case} has no agreement and is not closed: there is no follow-up visit "
                                        "to record.").format(case=case.number), "visit")
            raise ValidationError(_("{case} has no follow-up visit due.").format(case=case.number), "visit")
        return int(row.id), int(row.version)


# ---------------------------------------------------------------------------------------------
# Closing.


def close_case(db: Database, actor: Actor, case_id: int, note: str | None = None,
               seen_version: int | None = None) -> None:
    require(actor, "case.close")
    text = _text(note, "note", MAX_TEXT)
    with db.write() as s:
        case = load_for_update(s, case_id, seen_version)
        now = db_now(s)
        if case.status == "closed":
            raise IllegalTransition(_("{case} is closed already.").format(case=case.number))
        if case.kind == "dispute" and case.status in ("open", "mediating") and not text:
            raise IllegalTransition(_("{case} has no outcome yet: say why it closes (withdrawn, not a dispute …).")
                                    .format(case=case.number))
        if case.kind == "petition" and case.status in ("registered", "accepted", "review", "re_review"):
            raise IllegalTransition(_("{case} is {status}: reply first (a petition not accepted is closed by "
                                      "`accept --refuse`).").format(
                case=case.number, status=label(STATUS_LABELS, case.status)))
        close_in(s, actor, case, now, text)


def case_id_of(db: Database, number: str) -> int:
    with db.read() as s:
        return find_case_id(s, number)


def note(db: Database, actor: Actor, case_id: int, text: str) -> None:
    require(actor, "case.edit")
    clean = _text(text, "note", MAX_TEXT, required=True)
    with db.write() as s:
        case = load_for_update(s, case_id)
        now = db_now(s)
        assert clean is not None
        changed(s, actor, case, "note", now, after={"note": summary(clean, 200)}, note=clean)


__all__ = ["CaseDraft", "PartyDraft", "SessionDraft", "Term", "add_event", "add_party", "assign", "case_id_of",
           "close_case", "close_in", "confirm_judicially", "due_visit", "link_incident", "mediate", "note",
           "open_case", "open_in", "record_visit", "reveal_party", "set_risk"]
