"""Leader call-out (电话调度): call tasks on the console, one person of the chain after another.

:func:`start_callout` reads, at that moment (database clock), who to call: the on-duty shift
leader(s), then the director(s) — people on leave left out — and schedules a ``call`` timer due
now. Its firing (:func:`on_timer`, exactly once across workstations like every timer) puts a
call task on the console — a notification of kind ``call`` for the duty officers saying who,
which number, why and for which incident — and schedules the next person's call after the
policy's wait. The officer records the outcome (接通 answered / 未接 no answer / 占线 busy /
关机 phone off, :func:`record_outcome`); "answered" ends the chain (the next call is cancelled),
anything else lets it run on. Each call task and each outcome is in the incident's timeline,
which the duty log and the handover read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import OPEN_STATUSES, Incident, IncidentEvent, Notification, Timer, User
from dispatch_console.channels.audience import on_duty
from dispatch_console.kernel import categories
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changes import record, update_versioned
from dispatch_console.kernel.errors import NotFound, ValidationError
from dispatch_console.kernel.i18n import N_, _
from dispatch_console.kernel.permissions import require
from dispatch_console.kernel.roles import role_label
from dispatch_console.notifications.service import notify
from dispatch_console.timers.engine import cancel, schedule, set_outcome

CALL_KIND = "call"
DEFAULT_ROLES = ("shift_leader", "director")
DEFAULT_WAIT = timedelta(minutes=3)

OUTCOMES: dict[str, str] = {
    "answered": N_("Answered"),   # 接通
    "no_answer": N_("No answer"),  # 未接
    "busy": N_("Busy"),            # 占线
    "off": N_("Phone off"),        # 关机
}


def outcome_label(outcome: str) -> str:
    return _(OUTCOMES[outcome]) if outcome in OUTCOMES else outcome


@dataclass(frozen=True)
class CallTask:
    notification_id: int
    version: int
    incident_id: int | None
    incident_number: str | None
    name: str
    phone: str
    role: str
    reason: str
    position: int  # 0-based place in the chain
    chain_length: int
    at: datetime
    outcome: str | None
    recorded_by: str | None
    recorded_at: datetime | None


def call_chain(session: Session, now: datetime, roles: tuple[str, ...] = DEFAULT_ROLES) -> list[dict[str, Any]]:
    """Who would be called now, in order: each role's on-duty people (with phones, not on leave)."""
    audience = on_duty(session, now)
    chain: list[dict[str, Any]] = []
    for role in roles:
        for c in audience.by_role.get(role, ()):
            if all(x["person_id"] != c.person_id for x in chain):
                chain.append({"person_id": c.person_id, "name": c.name, "phone": c.phone, "role": role})
    return chain


def start_callout(session: Session, *, incident_id: int, reason: str, roles: tuple[str, ...] = DEFAULT_ROLES,
                  wait: timedelta = DEFAULT_WAIT, actor: Actor | None = None, is_drill: bool = False,
                  now: datetime | None = None) -> Timer | None:
    """Begin calling the chain for an incident; None (and a notification saying so) when nobody can be called."""
    now = now or db_now(session)
    chain = call_chain(session, now, roles)
    if not chain:
        notify(session, kind="call", title=_("Nobody on duty can be called: {roles}").format(
            roles=", ".join(role_label(r) for r in roles)), body=reason, level="critical",
            target_role="duty_officer", incident_id=incident_id, is_drill=is_drill, actor=actor, external=True,
            at=now)
        return None
    payload = {"chain": chain, "reason": reason, "wait_s": wait.total_seconds()}
    return schedule(session, kind=CALL_KIND, due_at=now, incident_id=incident_id, step=0, target_role="duty_officer",
                    payload=payload, is_drill=is_drill, actor=actor)


def start_for_step(session: Session, *, incident_id: int, role: str, reason: str, wait: timedelta | None,
                   is_drill: bool, actor: Actor, now: datetime) -> Timer | None:
    """An escalation step with ``call = true``: call its role's on-duty people, then those above it."""
    roles = DEFAULT_ROLES[DEFAULT_ROLES.index(role):] if role in DEFAULT_ROLES else DEFAULT_ROLES
    return start_callout(session, incident_id=incident_id, reason=reason, roles=roles, wait=wait or DEFAULT_WAIT,
                         actor=actor, is_drill=is_drill, now=now)


def on_timer(session: Session, timer: Timer, now: datetime, fired_by: str) -> None:
    """A call comes due: put its task on the console, and schedule the next person after the wait."""
    payload = timer.payload or {}
    chain = list(payload.get("chain") or [])
    if timer.step >= len(chain):
        set_outcome(timer, _("Nobody left to call."))
        return
    person = chain[timer.step]
    incident = session.get(Incident, timer.incident_id) if timer.incident_id is not None else None
    if incident is not None and incident.status not in OPEN_STATUSES:
        set_outcome(timer, _("No call needed: the incident is {status} now.").format(
            status=categories.load_catalog().status_label(incident.status)))
        return
    number = incident.number if incident is not None else "-"
    title = _("Call {name} on {phone} ({role}) about {number}").format(
        name=person["name"], phone=person["phone"], role=role_label(person.get("role")), number=number)
    body = "\n".join([str(payload.get("reason") or ""),
                      _("Call {step} of {steps}; the next one follows in {minutes} min unless answered.").format(
                          step=timer.step + 1, steps=len(chain), minutes=round(float(payload.get("wait_s", 0)) / 60))])
    notify(session, kind="call", title=title, body=body, level="warning", target_role="duty_officer",
           incident_id=timer.incident_id, timer_id=timer.id, is_drill=bool(timer.is_drill),
           actor=Actor.system(fired_by), external=False, at=now)
    set_outcome(timer, _("Call task: {name} ({phone}).").format(name=person["name"], phone=person["phone"]))
    if timer.step + 1 < len(chain):
        schedule(session, kind=CALL_KIND, due_at=now + timedelta(seconds=float(payload.get("wait_s", 0))),
                 incident_id=timer.incident_id, step=timer.step + 1, target_role="duty_officer", payload=payload,
                 is_drill=bool(timer.is_drill), actor=Actor.system(fired_by))


def _task(n: Notification, timer: Timer | None, number: str | None, recorder: str | None,
          outcome: str | None) -> CallTask:
    payload = (timer.payload if timer is not None else None) or {}
    chain = list(payload.get("chain") or [])
    step = timer.step if timer is not None else 0
    person = chain[step] if step < len(chain) else {"name": "?", "phone": "", "role": ""}
    return CallTask(n.id, n.version, n.incident_id, number, str(person["name"]), str(person["phone"]),
                    str(person.get("role") or ""), str(payload.get("reason") or ""), step, len(chain), n.at,
                    outcome, recorder, n.acknowledged_at)


def _outcomes(s: Session, incident_ids: set[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    if not incident_ids:
        return found
    rows = s.execute(select(IncidentEvent.data).where(IncidentEvent.incident_id.in_(incident_ids),
                                                      IncidentEvent.kind == "escalation")).scalars()
    for data in rows:
        if data and data.get("call_notification_id") is not None:
            found[int(data["call_notification_id"])] = str(data.get("call_outcome"))
    return found


def _calls(s: Session, query: Any) -> list[CallTask]:
    rows = s.execute(query).all()
    outcomes = _outcomes(s, {n.incident_id for n, *_rest in rows if n.incident_id is not None})
    return [_task(n, t, number, who, outcomes.get(n.id)) for n, t, number, who in rows]


def _call_query() -> Any:
    return (select(Notification, Timer, Incident.number, User.display_name)
            .outerjoin(Timer, Timer.id == Notification.timer_id)
            .outerjoin(Incident, Incident.id == Notification.incident_id)
            .outerjoin(User, User.id == Notification.acknowledged_by)
            .where(Notification.kind == "call", Notification.timer_id.is_not(None)))


def call_tasks(db: Database, *, open_only: bool = True, incident_id: int | None = None,
               limit: int = 200) -> list[CallTask]:
    """Call tasks, newest first: those still to be recorded (default), or the whole call log."""
    query = _call_query()
    if open_only:
        query = query.where(Notification.acknowledged_at.is_(None))
    if incident_id is not None:
        query = query.where(Notification.incident_id == incident_id)
    with db.read() as s:
        return _calls(s, query.order_by(Notification.at.desc(), Notification.id.desc()).limit(limit))


def call_log(s: Session, start: datetime, end: datetime, *, limit: int = 500) -> list[CallTask]:
    """The call tasks put on the console in [start, end), oldest first, with their outcomes (None: not
    recorded yet) — what the handover record lists for the shift. Drills are left out."""
    query = _call_query().where(Notification.at >= start, Notification.at < end, Notification.is_drill.is_(False))
    return _calls(s, query.order_by(Notification.at, Notification.id).limit(limit))


def record_outcome(db: Database, actor: Actor, notification_id: int, seen_version: int, outcome: str) -> CallTask:
    """The officer says how the call went; "answered" ends the chain, anything else lets it go on."""
    require(actor, "notification.acknowledge")
    if outcome not in OUTCOMES:
        raise ValidationError(_("Unknown call outcome {outcome}.").format(outcome=outcome), "outcome")
    with db.write() as s:
        note = s.get(Notification, notification_id)
        if note is None or note.kind != "call" or note.timer_id is None:
            raise NotFound(_("The call task no longer exists."))
        if note.acknowledged_at is not None:
            who = s.get(User, note.acknowledged_by) if note.acknowledged_by else None
            raise ValidationError(_("Already recorded by {who}.").format(who=who.display_name if who else "?"))
        timer = s.get(Timer, note.timer_id)
        task = _task(note, timer, None, None, None)
        incident_id = note.incident_id
        now = db_now(s)
        update_versioned(s, Notification, notification_id, seen_version,
                         {"acknowledged_at": now, "acknowledged_by": actor.user_id}, entity="notification")
        record(s, actor, entity="notification", entity_id=notification_id, op="call_outcome",
               action="notification.call_outcome", before={"acknowledged_at": None},
               after={"outcome": outcome, "name": task.name, "phone": task.phone}, at=now)
        if note.incident_id is not None:
            s.add(IncidentEvent(
                incident_id=note.incident_id, at=now, kind="escalation", user_id=actor.user_id,
                username=actor.username, station=actor.station,
                note=_("Call to {name} ({phone}): {outcome}.").format(name=task.name, phone=task.phone,
                                                                    outcome=outcome_label(outcome)),
                data={"call_notification_id": notification_id, "call_outcome": outcome, "phone": task.phone,
                      "position": task.position}))
            if outcome == "answered":
                cancel(s, reason="call answered", incident_id=note.incident_id, kinds=[CALL_KIND], actor=actor)
    found = [t for t in call_tasks(db, open_only=False, incident_id=incident_id)
             if t.notification_id == notification_id]
    return found[0] if found else task
