"""Escalation (升级督办): the incident's targets as timers, and who is told when one is breached.

``resources/policies/escalation.toml`` (a site may override it in its config folder) gives per
severity the targets for acknowledgement, dispatch, arrival and resolution, the escalation steps
(shift leader → director → district duty office) with a repeat count, and the re-page of an
incident acknowledged but not resolved.

:func:`on_incident_change` (called from ``followups.after_incident_change``) keeps the pending
timers in step with the incident's status; :func:`on_timer` is the effect of a fired escalation
timer: a notification (and outbox rows, never for drills) and the next step.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import db_now
from db.models import Incident, Timer
from dispatch_console.kernel import categories
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.policies import PolicyError, policy_duration
from dispatch_console.kernel.timefmt import fmt_duration, fmt_local
from dispatch_console.notifications.service import LEVELS, ROLE_LABELS, notify, role_label
from dispatch_console.timers.engine import (
    ESCALATION_KINDS,
    PHASE_KINDS,
    NewTimer,
    cancel,
    schedule,
    schedule_many,
    set_outcome,
)

log = logging.getLogger(__name__)

POLICY_FILE = "policies/escalation.toml"

# The target that runs while an incident has this status.
PHASE_OF_STATUS = {"new": "ack", "acknowledged": "dispatch", "dispatched": "arrive", "on_scene": "resolve"}
REPAGE_STATUSES = frozenset({"acknowledged", "dispatched", "on_scene"})
STATUS_CHANGES = frozenset({"created", "acknowledged", "dispatched", "on_scene", "resolved", "closed",
                            "cancelled"})

_SEVERITY_KEYS = {"level", "ack", "dispatch", "arrive", "resolve", "repage", "repage_every", "repage_repeat",
                  "repage_role", "repeat", "repeat_every", "steps"}


@dataclass(frozen=True)
class Step:
    after: timedelta
    role: str
    call: bool = False  # also call the role's on-duty people by phone (channels.callout)
    call_wait: timedelta | None = None  # before the next person of the call chain


@dataclass(frozen=True)
class SeverityPolicy:
    severity: int
    level: str
    targets: dict[str, timedelta]  # ack / dispatch / arrive / resolve (a missing one: no timer)
    steps: tuple[Step, ...]
    repeat: int
    repeat_every: timedelta
    repage_after: timedelta | None
    repage_every: timedelta
    repage_repeat: int
    repage_role: str

    @property
    def chain_length(self) -> int:
        """Notifications one breached target may cause: every step, then the repeats."""
        return len(self.steps) + self.repeat

    def role_at(self, step: int) -> str:
        return self.steps[min(step, len(self.steps) - 1)].role

    def wait_before(self, step: int) -> timedelta:
        return self.steps[step].after if step < len(self.steps) else self.repeat_every


@dataclass(frozen=True)
class EscalationPolicy:
    severities: dict[int, SeverityPolicy]

    def for_severity(self, severity: int) -> SeverityPolicy:
        return self.severities[severity]


def parse_policy(data: Mapping[str, Any], source: str) -> EscalationPolicy:
    """Validate escalation.toml; every error names the file and the key."""

    def fail(key: str, problem: str) -> PolicyError:
        return PolicyError(_("{file}: {key}: {problem}").format(file=source, key=key, problem=problem))

    defaults = data.get("defaults", {})
    sections = data.get("severity", {})
    severities: dict[int, SeverityPolicy] = {}
    for sev in (1, 2, 3, 4):
        section = sections.get(str(sev))
        if not isinstance(section, dict):
            raise fail(f"severity.{sev}", _("missing"))
        unknown = sorted(set(section) - _SEVERITY_KEYS)
        if unknown:
            raise fail(f"severity.{sev}.{unknown[0]}", _("unknown key"))
        merged = {**defaults, **section}
        key = f"severity.{sev}"

        def duration(name: str, merged: dict[str, Any] = merged, key: str = key) -> timedelta:
            return policy_duration(merged[name], source, f"{key}.{name}")

        def count(name: str, default: int, merged: dict[str, Any] = merged, key: str = key) -> int:
            value = merged.get(name, default)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise fail(f"{key}.{name}", _("a whole number, 0 or more"))
            return value

        def role(value: Any, where: str) -> str:
            if value not in ROLE_LABELS:
                raise fail(where, _("one of {choices}").format(choices=", ".join(ROLE_LABELS)))
            return str(value)

        level = merged.get("level", "warning")
        if level not in LEVELS:
            raise fail(f"{key}.level", _("one of {choices}").format(choices=", ".join(LEVELS)))
        targets = {k: duration(k) for k in PHASE_KINDS if k in merged}
        raw_steps = merged.get("steps")
        if not isinstance(raw_steps, list) or not raw_steps:
            raise fail(f"{key}.steps", _("a list of steps, each with after and role"))
        steps = []
        for i, item in enumerate(raw_steps):
            where = f"{key}.steps[{i}]"
            if not isinstance(item, dict):
                raise fail(where, _("a list of steps, each with after and role"))
            call = item.get("call", False)
            if not isinstance(call, bool):
                raise fail(f"{where}.call", _("true or false"))
            call_wait = policy_duration(item["call_wait"], source, f"{where}.call_wait") if "call_wait" in item \
                else None
            steps.append(Step(policy_duration(item.get("after", 0), source, f"{where}.after"),
                              role(item.get("role"), f"{where}.role"), call, call_wait))
        repeat_every = duration("repeat_every") if "repeat_every" in merged else (
            steps[-1].after if steps[-1].after > timedelta(0) else timedelta(minutes=5))
        repage_after = duration("repage") if "repage" in merged else None
        severities[sev] = SeverityPolicy(
            severity=sev, level=level, targets=targets, steps=tuple(steps), repeat=count("repeat", 0),
            repeat_every=repeat_every, repage_after=repage_after,
            repage_every=duration("repage_every") if "repage_every" in merged else (
                repage_after or timedelta(minutes=30)),
            repage_repeat=count("repage_repeat", 0),
            repage_role=role(merged.get("repage_role", "duty_officer"), f"{key}.repage_role"),
        )
    return EscalationPolicy(severities)


_resources: Resources | None = None
_policy: EscalationPolicy | None = None


def configure(resources: Resources | None = None, policy: EscalationPolicy | None = None) -> None:
    """Use the site's resources (config folder) or an explicit policy from now on."""
    global _resources, _policy
    _resources, _policy = resources, policy


def load_policy(resources: Resources | None = None) -> EscalationPolicy:
    res = resources or Resources.from_env()
    return parse_policy(res.toml(POLICY_FILE), str(res.path(POLICY_FILE)))


def policy() -> EscalationPolicy:
    global _policy
    if _policy is None:
        _policy = load_policy(_resources)
    return _policy


# ---------------------------------------------------------------------------------------------
# Incident changes → timers.


def _start_of(kind: str, incident: Incident) -> datetime:
    if kind == "repage":
        return incident.acknowledged_at or incident.dispatched_at or incident.created_at
    return incident.created_at


def _pending_kinds(session: Session, incident_id: int) -> set[str]:
    return set(session.execute(
        select(Timer.kind).where(Timer.incident_id == incident_id, Timer.kind.in_(ESCALATION_KINDS),
                                 Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))
    ).scalars())


def _repage_started(session: Session, incident_id: int) -> bool:
    return session.execute(
        select(Timer.id).where(Timer.incident_id == incident_id, Timer.kind == "repage",
                               Timer.cancelled_at.is_(None)).limit(1)
    ).first() is not None


def wanted_kinds(incident: Incident, sp: SeverityPolicy) -> set[str]:
    wanted = set()
    phase = PHASE_OF_STATUS.get(incident.status)
    if phase and phase in sp.targets:
        wanted.add(phase)
    if incident.status in REPAGE_STATUSES and sp.repage_after is not None:
        wanted.add("repage")
    return wanted


def _schedule_first(session: Session, actor: Actor, incident: Incident, sp: SeverityPolicy, kind: str,
                    start: datetime, now: datetime | None = None) -> int:
    if kind == "repage":
        assert sp.repage_after is not None
        deadline, role = start + sp.repage_after, sp.repage_role
    else:
        deadline, role = start + sp.targets[kind], sp.role_at(0)
    (timer_id,) = schedule_many(session, [NewTimer(
        kind=kind, due_at=deadline + (sp.wait_before(0) if kind != "repage" else timedelta(0)),
        incident_id=incident.id, step=0, target_role=role, is_drill=bool(incident.is_drill),
        payload={"started_at": start, "deadline": deadline, "severity": incident.severity},
    )], actor=actor, now=now)
    return timer_id


def sync(session: Session, actor: Actor, incident: Incident, *, reset: bool = False,
         restart_at: datetime | None = None, fresh: bool = False, now: datetime | None = None) -> None:
    """Cancel the timers the incident's status no longer needs and schedule the ones it does.

    ``reset`` cancels every pending escalation timer first and schedules afresh, from the
    original start (severity changed) or from ``restart_at`` (reopened). ``fresh``: the incident
    was recorded in this transaction, so it has no timers to look for; ``now``: the change's time
    by the database clock, if the caller has it.
    """
    sp = policy().for_severity(incident.severity)
    wanted = wanted_kinds(incident, sp)
    pending = set() if fresh else _pending_kinds(session, incident.id)
    stale = pending if reset else pending - wanted
    if stale:
        cancel(session, reason="reset" if reset else f"status:{incident.status}", incident_id=incident.id,
               kinds=sorted(stale), actor=actor)
        pending -= stale
    for kind in sorted(wanted - pending):
        if kind == "repage" and not reset and not fresh and _repage_started(session, incident.id):
            continue  # a re-page chain that ran out is not restarted by moving on scene
        _schedule_first(session, actor, incident, sp, kind, restart_at or _start_of(kind, incident), now)


def on_incident_change(session: Session, actor: Actor, incident: Incident, change: str,
                       before: dict[str, Any] | None = None) -> None:
    """Follow-up of an incident change (see followups.after_incident_change)."""
    if change == "created":  # recorded in this transaction: no timers yet, and its time is the change's
        sync(session, actor, incident, fresh=True, now=incident.created_at)
    elif change == "severity_changed":
        sync(session, actor, incident, reset=True)
    elif change == "reopened":
        sync(session, actor, incident, reset=True, restart_at=db_now(session))
    elif change in STATUS_CHANGES:
        sync(session, actor, incident)


# ---------------------------------------------------------------------------------------------
# A fired escalation timer.

def _title(kind: str, number: str, is_drill: bool) -> str:
    titles = {
        "ack": _("{number} not acknowledged in time"),
        "dispatch": _("{number}: no unit dispatched in time"),
        "arrive": _("{number}: no unit on scene in time"),
        "resolve": _("{number} not resolved in time"),
        "repage": _("{number} acknowledged but still not resolved"),
    }
    title = titles[kind].format(number=number)
    return _("DRILL: {title}").format(title=title) if is_drill else title


def on_timer(session: Session, timer: Timer, now: datetime, fired_by: str) -> None:
    """Notify the step's role, then schedule the next step until the repeat count is used up."""
    incident = session.get(Incident, timer.incident_id)
    if incident is None:
        raise LookupError(f"timer {timer.id}: incident {timer.incident_id} does not exist")
    sp = policy().for_severity(incident.severity)
    labels = categories.load_catalog(_resources)
    if timer.kind not in wanted_kinds(incident, sp):
        set_outcome(timer, _("No longer needed: the incident is {status} now.").format(
            status=labels.status_label(incident.status)))
        return
    payload = timer.payload or {}
    deadline = datetime.fromisoformat(payload["deadline"]) if payload.get("deadline") else timer.due_at
    total = sp.repage_repeat + 1 if timer.kind == "repage" else sp.chain_length
    body = "\n".join([
        f"{labels.category_label(incident.category)} · {labels.severity_label(incident.severity)}",
        incident.description[:500],
        _("Address: {address}").format(address=incident.address or "-"),
        _("Deadline {deadline}, overdue by {overdue}.").format(
            deadline=fmt_local(deadline), overdue=fmt_duration((now - deadline).total_seconds())),
        _("Notified: {role} (step {step} of {steps}).").format(
            role=role_label(timer.target_role), step=timer.step + 1, steps=total),
    ])
    notify(session, kind="escalation", title=_title(timer.kind, incident.number, bool(timer.is_drill)),
           body=body, level=sp.level, target_role=timer.target_role, incident_id=incident.id,
           timer_id=timer.id, is_drill=bool(timer.is_drill), actor=Actor.system(fired_by), at=now)
    if timer.kind != "repage" and timer.step < len(sp.steps) and sp.steps[timer.step].call:
        from dispatch_console.channels import callout

        callout.start_for_step(session, incident_id=incident.id, role=str(timer.target_role),
                               reason=_title(timer.kind, incident.number, bool(timer.is_drill)),
                               wait=sp.steps[timer.step].call_wait, is_drill=bool(timer.is_drill),
                               actor=Actor.system(fired_by), now=now)
    nxt = timer.step + 1
    if nxt >= total:
        return
    if timer.kind == "repage":
        wait, role = sp.repage_every, sp.repage_role
    else:
        wait, role = sp.wait_before(nxt), sp.role_at(nxt)
    schedule(session, kind=timer.kind, due_at=now + wait, incident_id=incident.id, step=nxt, target_role=role,
             payload=payload, is_drill=bool(timer.is_drill), actor=Actor.system(fired_by))
