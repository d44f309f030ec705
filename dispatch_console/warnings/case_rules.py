"""The rules over the cases (案件): a party in a dispute and in a petition, a case flagged 可能激化.

Evaluated by :func:`dispatch_console.warnings.evaluate.evaluate_pending` from the change feed's
``case`` rows, in its write transaction, so the cursor and the unique episode key make each
warning once however many workstations evaluate. The warnings room stands above the cases room
(pyproject.toml's layers): it reads the cases' facts, the cases room knows nothing of warnings.
Drill cases are never evaluated and never counted.

- repeat party: a party's ID number or phone (its digits) in a case of the other kind (a dispute
  and a petition) opened within the rule's window of this one. The warning links every such
  case (and their incidents); another case of the party while the warning is younger than the
  window joins it.
- 可能激化: the flag going up (at opening, or by a risk change) raises one warning per time it
  goes up; the case stays linked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from db.models import AuditLog, Case, CaseIncident, CaseParty
from dispatch_console.cases import policy as case_policy
from dispatch_console.cases.parties import mask_id
from dispatch_console.cases.vocabulary import KIND_LABELS, RISK_LABELS, label
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.audit import mask_phone
from dispatch_console.kernel.i18n import _
from dispatch_console.warnings.board import link_cases, raise_warning
from dispatch_console.warnings.keys import ongoing, period_title, phone_key
from dispatch_console.warnings.rules import Notify, WarningPolicy

OTHER_KIND = {"dispute": "petition", "petition": "dispute"}
MAX_MATCHES = 50
CASE_OPS = ("create", "party", "risk")  # the case changes the rules look at


@dataclass(frozen=True)
class CaseChange:
    """One ``change_log`` row of a case, as the rules need it."""

    seq: int
    op: str
    at: datetime


def evaluate_case(session: Session, actor: Actor, case: Case, changes: Iterable[CaseChange],
                  policy: WarningPolicy) -> list[int]:
    """The case rules for the changes of one case in this batch; the ids of the warnings raised now."""
    if case.is_drill:
        return []
    changes = list(changes)
    raised: list[int] = []
    if policy.case_may_escalate.enabled:
        for change in changes:
            if _flag_went_up(session, case, change):
                raised.extend(_may_escalate(session, actor, case, change, policy))
    if policy.repeat_party.enabled and any(c.op in ("create", "party") for c in changes):
        raised.extend(_repeat_party(session, actor, case, policy))
    return raised


def _notify(policy: WarningPolicy, base: Notify, case: Case) -> tuple[Notify, str | None]:
    """A petition during a sensitive period notifies one level higher (like the incidents' rules)."""
    period = policy.period_at(case.created_at)
    if period is not None and case.kind in policy.sensitive_categories:
        return base.one_higher(), period.name
    return base, None


def _case_incidents(session: Session, case_ids: Iterable[int]) -> list[int]:
    ids = list(case_ids)
    return list(session.execute(select(CaseIncident.incident_id).where(CaseIncident.case_id.in_(ids))
                                .order_by(CaseIncident.incident_id)).scalars()) if ids else []


# ---------------------------------------------------------------------------------------------
# 可能激化.


def _flag_went_up(session: Session, case: Case, change: CaseChange) -> bool:
    if not case.may_escalate:
        return False  # lowered again before the rules came to it: nothing to warn of now
    if change.op == "create":
        return True
    if change.op != "risk":
        return False
    # the change's own audit row (written with it, same moment) says what the flag was before
    row = session.execute(select(AuditLog.before, AuditLog.after).where(
        AuditLog.entity == "case", AuditLog.entity_id == case.id, AuditLog.action == "case.risk",
        AuditLog.at == change.at).order_by(AuditLog.id.desc()).limit(1)).first()
    if row is None:
        return False
    before, after = row.before or {}, row.after or {}
    return bool(after.get("may_escalate")) and not before.get("may_escalate")


def _may_escalate(session: Session, actor: Actor, case: Case, change: CaseChange,
                  policy: WarningPolicy) -> list[int]:
    rule = policy.case_may_escalate
    notify, period = _notify(policy, rule.notify, case)
    # the cases room has told its 维稳 lead at once; tell the warning's role only if it is another
    tell = notify.role != case_policy.cases().stability_lead_role
    kind = label(KIND_LABELS, case.kind)
    title = _("May escalate (可能激化): {kind} {number} {title}").format(
        kind=kind, number=case.number, title=case.title[:80])
    body = _("Risk {risk}. {description}").format(risk=label(RISK_LABELS, case.risk),
                                                  description=(case.description or "")[:400]).strip()
    key = f"case_may_escalate:{case.id}:{change.seq}"
    out = raise_warning(session, actor, rule="case_may_escalate", episode_key=key,
                        level=notify.level, target_role=notify.role, unit_kind=notify.unit,
                        title=period_title(title, period), body=body,
                        incident_ids=_case_incidents(session, [case.id]), sensitive_period=period,
                        details={"risk": case.risk}, notify=tell, case_ids=[case.id])
    return [out.warning_id] if out.new else []


# ---------------------------------------------------------------------------------------------
# Repeat parties.


def _matches(session: Session, case: Case, window_start: datetime, window_end: datetime, kind: str,
             id_number: str | None, phone: str | None) -> list[int]:
    """The other cases of ``kind`` in the window with a party of this ID number or phone (digits)."""
    match = []
    if id_number:
        match.append(CaseParty.id_number == id_number)
    if phone:
        match.append(CaseParty.phone.like("%" + phone[-4:]))  # narrowed here, compared by digits below
    if not match:
        return []
    rows = session.execute(
        select(Case.id, CaseParty.id_number, CaseParty.phone).join(CaseParty, CaseParty.case_id == Case.id)
        .where(or_(*match), Case.kind == kind, Case.id != case.id, Case.is_drill.is_(False),
               Case.created_at >= window_start, Case.created_at <= window_end)
        .order_by(Case.created_at, Case.id).limit(MAX_MATCHES * 20)).all()
    found: list[int] = []
    for r in rows:
        same = (id_number is not None and r.id_number == id_number) or \
               (phone is not None and phone_key(r.phone) == phone)
        if same and r.id not in found:
            found.append(int(r.id))
    return found[:MAX_MATCHES]


def _repeat_party(session: Session, actor: Actor, case: Case, policy: WarningPolicy) -> list[int]:
    rule = policy.repeat_party
    assert rule.window is not None
    other = OTHER_KIND[case.kind]
    start, end = case.created_at - rule.window, case.created_at + rule.window
    raised: list[int] = []
    for party in session.execute(select(CaseParty).where(CaseParty.case_id == case.id)
                                 .order_by(CaseParty.id)).scalars():
        phone = phone_key(party.phone)
        matched = _matches(session, case, start, end, other, party.id_number, phone)
        if not matched:
            continue
        keys = tuple(f"repeat_party:{kind}:{key}:" for kind, key in (("id", party.id_number), ("phone", phone))
                     if key)
        ordered = session.execute(select(Case.id, Case.number).where(Case.id.in_([case.id, *matched]))
                                  .order_by(Case.created_at, Case.id)).all()  # the oldest case first
        case_ids, numbers = [int(r.id) for r in ordered], [str(r.number) for r in ordered]
        running = ongoing(session, keys, case.created_at - rule.window)
        if running is not None:
            link_cases(session, running, case_ids, _case_incidents(session, case_ids))
            continue
        who = mask_id(party.id_number) if party.id_number else mask_phone(phone)
        notify, period = _notify(policy, rule.notify, case)
        title = _("Repeat party: {name} ({who}) in a dispute and a petition: {cases}").format(
            name=party.name, who=who, cases=", ".join(numbers))
        days = round(rule.window.total_seconds() / 86400)
        out = raise_warning(session, actor, rule="repeat_party", episode_key=keys[0] + str(case.id),
                            level=notify.level, target_role=notify.role, unit_kind=notify.unit,
                            title=period_title(title, period), body=None,
                            incident_ids=_case_incidents(session, case_ids), sensitive_period=period,
                            details={"window_days": days, "party": party.name, "who": who},
                            case_ids=case_ids)
        if out.new:
            raised.append(out.warning_id)
    return raised
