"""The petition steps (信访事项办理) and their deadlines, on the database clock.

registered —accept (15 d)→ accepted —reply (60 d, extendable once by ≤ 30 d)→ replied
  —review asked within 30 d→ review —reply (30 d)→ reviewed —re-review asked within 30 d→
  re_review —reply (30 d)→ closed (the re-review is final).
Refusing to accept closes the case. The petitioner's window lapsing closes it too (the reply
stands). Each office deadline is one timer of the case, cancelled when its step is done and
escalated exactly once if it passes; a step out of order is refused with the step the case is at.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import Case
from dispatch_console.cases import policy
from dispatch_console.cases.records import changed, close_in, load_for_update
from dispatch_console.cases.vocabulary import PETITION_WINDOW_KIND, STATUS_LABELS, label
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.errors import IllegalTransition, ValidationError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import require
from dispatch_console.kernel.timefmt import fmt_duration, fmt_local
from dispatch_console.timers import engine as timers

MAX_TEXT = 20_000

# The step a reply concludes, and what follows it: status → (next status, deadline kind it ends,
# the petitioner's window after it, the deadline of the step the window opens).
_REPLY = {"accepted": "replied", "review": "reviewed", "re_review": "closed"}
_DEADLINE_OF = {"registered": "petition_accept", "accepted": "petition_conclude", "review": "petition_review",
                "re_review": "petition_re_review"}


def _petition(s: Session, case_id: int, seen_version: int | None) -> Case:
    case = load_for_update(s, case_id, seen_version)
    if case.kind != "petition":
        raise IllegalTransition(_("{case} is a dispute: it is mediated, not accepted or replied to.").format(
            case=case.number))
    return case


def _out_of_order(case: Case, wanted: str) -> IllegalTransition:
    return IllegalTransition(_("{case} is at step {status}: {wanted} is not the next step.").format(
        case=case.number, status=label(STATUS_LABELS, case.status), wanted=wanted))


def _arm(s: Session, actor: Actor, case: Case, kind: str, due: datetime) -> None:
    pol = policy.petition()
    case.step_due_at = due
    timers.schedule(s, kind=kind, due_at=due, case_id=case.id, target_role=pol.escalate_role,
                    is_drill=case.is_drill, actor=actor, payload={"number": case.number, "status": case.status})


def arm_acceptance(s: Session, actor: Actor, case: Case, now: datetime) -> None:
    """A registered petition must be accepted or refused within the policy's days."""
    _arm(s, actor, case, "petition_accept", now + policy.petition().accept_within)


def _end(s: Session, actor: Actor, case: Case, kind: str, reason: str) -> None:
    timers.cancel(s, reason=reason, case_id=case.id, kinds=[kind], actor=actor)
    case.step_due_at = None


def _clean(value: str | None, name: str, *, required: bool) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise ValidationError(_("{field} is needed.").format(field=name), name)
        return None
    if len(text) > MAX_TEXT:
        raise ValidationError(_("{field} is longer than {n} characters.").format(field=name, n=MAX_TEXT), name)
    return text


def accept(db: Database, actor: Actor, case_id: int, *, refuse: bool = False, note: str | None = None,
           seen_version: int | None = None) -> None:
    """受理 (the conclusion deadline starts) or 不予受理 with the reason (the case closes)."""
    require(actor, "case.petition")
    text = _clean(note, "note", required=refuse)
    with db.write() as s:
        case = _petition(s, case_id, seen_version)
        now = db_now(s)
        if case.status != "registered":
            raise _out_of_order(case, _("acceptance"))
        _end(s, actor, case, "petition_accept", "decided on acceptance")
        if refuse:
            close_in(s, actor, case, now, _("Not accepted: {reason}").format(reason=text))
            return
        case.status, case.accepted_at = "accepted", now
        pol = policy.petition()
        _arm(s, actor, case, "petition_conclude", now + pol.conclude_within)
        changed(s, actor, case, "accept", now, before={"status": "registered"},
                after={"status": "accepted", "step_due_at": case.step_due_at},
                note=_("Accepted; to be concluded by {due}.").format(due=fmt_local(case.step_due_at))
                + (" " + text if text else ""))


def extend(db: Database, actor: Actor, case_id: int, *, days: int, reason: str | None, approver: str | None,
           seen_version: int | None = None) -> None:
    """Extend the conclusion deadline once, by at most the policy's maximum, with a reason and an approver."""
    require(actor, "case.extend")
    pol = policy.petition()
    limit_days = pol.max_extension / timedelta(days=1)
    if days <= 0 or days > limit_days:
        raise ValidationError(_("An extension is 1 to {n} days; {days} is not allowed.").format(
            n=fmt_duration(pol.max_extension.total_seconds()), days=days), "days")
    why = _clean(reason, "reason", required=True)
    who = _clean(approver, "approver", required=True)
    assert who is not None
    if len(who) > 100:
        raise ValidationError(_("{field} is longer than {n} characters.").format(field="approver", n=100), "approver")
    with db.write() as s:
        case = _petition(s, case_id, seen_version)
        now = db_now(s)
        if case.status != "accepted":
            raise _out_of_order(case, _("an extension"))
        if case.extension_days:
            raise IllegalTransition(_("{case} was extended already ({n} days): only one extension is allowed.")
                                    .format(case=case.number, n=case.extension_days))
        if case.step_due_at is not None and case.step_due_at < now:
            raise IllegalTransition(_("{case}: the deadline passed at {due}; an extension is decided before it.")
                                    .format(case=case.number, due=fmt_local(case.step_due_at)))
        base = case.step_due_at or now
        _end(s, actor, case, "petition_conclude", "extended")
        case.extension_days, case.extension_reason, case.extension_approver = days, why, who
        _arm(s, actor, case, "petition_conclude", base + timedelta(days=days))
        changed(s, actor, case, "extend", now, before={"step_due_at": base},
                after={"extension_days": days, "step_due_at": case.step_due_at, "approver": who},
                note=_("Extended by {n} days to {due} (approved by {who}): {why}").format(
                    n=days, due=fmt_local(case.step_due_at), who=who, why=why))


def reply(db: Database, actor: Actor, case_id: int, text: str | None, seen_version: int | None = None) -> None:
    """答复 (or the review's / re-review's conclusion): the petitioner's window for the next step opens."""
    require(actor, "case.petition")
    body = _clean(text, "reply", required=True)
    with db.write() as s:
        case = _petition(s, case_id, seen_version)
        now = db_now(s)
        if case.status not in _REPLY:
            raise _out_of_order(case, _("a reply"))
        step = case.status
        _end(s, actor, case, _DEADLINE_OF[step], "replied")
        case.replied_at, case.reply_text = now, body
        if step == "re_review":
            close_in(s, actor, case, now, _("Re-review concluded (final)."))
            return
        pol = policy.petition()
        window = pol.review_request_within if step == "accepted" else pol.re_review_request_within
        case.status = _REPLY[step]
        timers.schedule(s, kind=PETITION_WINDOW_KIND, due_at=now + window, case_id=case.id, target_role=None,
                        is_drill=case.is_drill, actor=actor, payload={"number": case.number, "status": case.status})
        changed(s, actor, case, "reply", now, before={"status": step}, after={"status": case.status},
                note=_("Replied; the petitioner may ask for {what} until {until}.").format(
                    what=_("a review") if step == "accepted" else _("a re-review"), until=fmt_local(now + window)))


def request_review(db: Database, actor: Actor, case_id: int, note: str | None = None,
                   seen_version: int | None = None) -> None:
    """The petitioner asks for a review (复查) of the reply, or a re-review (复核) of the review."""
    require(actor, "case.petition")
    text = _clean(note, "note", required=False)
    with db.write() as s:
        case = _petition(s, case_id, seen_version)
        now = db_now(s)
        if case.status not in ("replied", "reviewed"):
            raise _out_of_order(case, _("a review request"))
        pol = policy.petition()
        window = pol.review_request_within if case.status == "replied" else pol.re_review_request_within
        assert case.replied_at is not None
        if now > case.replied_at + window:
            raise IllegalTransition(_("{case}: the window for asking closed at {until}.").format(
                case=case.number, until=fmt_local(case.replied_at + window)))
        timers.cancel(s, reason="review requested", case_id=case.id, kinds=[PETITION_WINDOW_KIND], actor=actor)
        before = case.status
        if before == "replied":
            case.status = "review"
            _arm(s, actor, case, "petition_review", now + pol.review_within)
        else:
            case.status = "re_review"
            _arm(s, actor, case, "petition_re_review", now + pol.re_review_within)
        changed(s, actor, case, "review", now, before={"status": before},
                after={"status": case.status, "step_due_at": case.step_due_at},
                note=_("{what} asked for; to be concluded by {due}.").format(
                    what=_("Review") if case.status == "review" else _("Re-review"),
                    due=fmt_local(case.step_due_at)) + (" " + text if text else ""))
