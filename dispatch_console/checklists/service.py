"""Emergency-response checklists of incidents (应急处置清单) and their information-report steps.

An incident gets the most specific template for its category, severity and description when it
is created, plus the report steps (首报 / 续报 / 终报) that the reporting policy sets for its
severity. A change of severity or category re-attaches: new steps are added, ticked ones stay,
open report steps take the new level's deadlines, nothing is deleted. The template version the
incident got is kept in ``checklist_template`` and as a snapshot on the incident.

Steps with a deadline have a timer (kind ``checklist``); ticking cancels it, unticking schedules it
again while it still matters, and when it fires :func:`on_deadline` raises the alarm.

Change-log rows of this module use entity ``checklist`` with the *incident's* id, so that the
queue and the checklist panel know which incident to refresh without another query.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import ChecklistItem, ChecklistTemplate, Incident, IncidentEvent, Timer, User
from dispatch_console.checklists import templates as ct
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changes import changed_by, person_at, record
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.errors import ConcurrentChange, NotFound, ValidationError
from dispatch_console.kernel.i18n import N_, _
from dispatch_console.kernel.permissions import ROLES, allowed, require
from dispatch_console.kernel.timefmt import fmt_local
from dispatch_console.notifications import service as notifications
from dispatch_console.timers import engine as timers
from dispatch_console.timers.store import insert_ids

log = logging.getLogger(__name__)

NOTE_MAX = 1000
FINISHED_STATUSES = ("closed", "cancelled")
# Display order: report_first steps right after the template's first step (核实), the rest last.
_REPORT_POSITION = {"report_first": 15, "report_followup": 50_000, "report_final": 90_000}
_REASONS = {"created": N_("new incident"), "severity_changed": N_("severity changed"),
            "category_changed": N_("category changed")}


# ---------------------------------------------------------------------------------------------
# The templates and policy in force (loaded once per config folder).


@dataclass(frozen=True)
class Catalog:
    templates: tuple[ct.Template, ...]
    policy: ct.ReportingPolicy | None
    errors: tuple[ct.TemplateError, ...]


_catalogs: dict[str, Catalog] = {}
_active: Resources | None = None


def use_resources(resources: Resources) -> Catalog:
    """Make this config folder's templates and policy the ones incidents get (at start-up)."""
    global _active
    _active = resources
    return catalog(resources)


def catalog(resources: Resources | None = None, *, reload: bool = False) -> Catalog:
    resources = resources or _active or Resources.from_env()
    key = str(resources.config_dir or "")
    if reload or key not in _catalogs:
        templates, errors = ct.load_templates(resources)
        policy, policy_errors = ct.load_reporting_policy(resources)
        for error in [*errors, *policy_errors]:
            log.error("checklist template: %s", error)
        _catalogs[key] = Catalog(tuple(templates), policy, tuple(errors + policy_errors))
    return _catalogs[key]


# ---------------------------------------------------------------------------------------------
# Rows for the console.


@dataclass(frozen=True)
class ChecklistItemRow:
    id: int
    incident_id: int
    template_code: str
    template_version: str
    step_key: str
    position: int
    text: str
    role: str | None
    deadline_minutes: float | None
    deadline_from: str | None
    due_at: datetime | None
    required: bool
    report_kind: str | None
    done_at: datetime | None
    done_by: int | None
    done_by_name: str | None
    done_station: str | None
    note: str | None
    version: int
    overdue: bool  # open and past its due time by the database clock
    seconds_left: float | None  # until due_at, by the database clock when read

    @property
    def done(self) -> bool:
        return self.done_at is not None


def _row(item: ChecklistItem, now: datetime, done_by_name: str | None) -> ChecklistItemRow:
    left = (item.due_at - now).total_seconds() if item.due_at is not None else None
    overdue = item.done_at is None and left is not None and left <= 0
    return ChecklistItemRow(
        item.id, item.incident_id, item.template_code, item.template_version, item.step_key,
        item.position, item.text, item.role, item.deadline_minutes, item.deadline_from, item.due_at,
        bool(item.required), item.report_kind, item.done_at, item.done_by, done_by_name,
        item.done_station, item.note, item.version, overdue, left,
    )


def items_for(db: Database, incident_id: int) -> list[ChecklistItemRow]:
    """The incident's steps in order, with overdue flags against the database clock."""
    with db.read() as s:
        now = db_now(s)
        rows = s.execute(
            select(ChecklistItem, User.display_name)
            .outerjoin(User, User.id == ChecklistItem.done_by)
            .where(ChecklistItem.incident_id == incident_id)
            .order_by(ChecklistItem.position, ChecklistItem.id)
        ).all()
        return [_row(item, now, name) for item, name in rows]


def progress_for(db: Database, incident_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """(done, total) steps per incident; incidents without a checklist are left out."""
    ids = list(set(incident_ids))
    if not ids:
        return {}
    done = func.count(ChecklistItem.done_at)
    with db.read() as s:
        rows = s.execute(
            select(ChecklistItem.incident_id, done, func.count(ChecklistItem.id))
            .where(ChecklistItem.incident_id.in_(ids))
            .group_by(ChecklistItem.incident_id)
        ).all()
    return {int(i): (int(d), int(t)) for i, d, t in rows}


def snapshot_for(db: Database, incident_id: int) -> dict[str, Any] | None:
    """The template version (code, name, version, hash, steps) the incident got."""
    with db.read() as s:
        return s.execute(select(Incident.checklist_snapshot).where(Incident.id == incident_id)).scalar()


# ---------------------------------------------------------------------------------------------
# Timers (the timer engine owns the table; these are the only two calls we make).


def _schedule(session: Session, item: ChecklistItem, incident: Incident, actor: Actor) -> None:
    timers.schedule(session, kind="checklist", due_at=item.due_at, incident_id=incident.id,
                    checklist_item_id=item.id, is_drill=bool(incident.is_drill), actor=actor)


def _cancel(session: Session, item_id: int, reason: str, actor: Actor) -> None:
    timers.cancel(session, reason=reason, checklist_item_id=item_id, actor=actor)


def _timer_has_fired(session: Session, item_id: int) -> bool:
    return session.execute(
        select(Timer.id).where(Timer.checklist_item_id == item_id, Timer.fired_at.is_not(None)).limit(1)
    ).first() is not None


# ---------------------------------------------------------------------------------------------
# Attaching (inside the incident service's transaction, through followups).


def on_incident_change(session: Session, actor: Actor, incident: Incident, change: str,
                       before: dict[str, Any] | None = None) -> None:
    """The checklist's part of an incident change (called from ``followups``)."""
    if change == "created":  # recorded in this transaction: no steps yet, and its time is the change's
        attach(session, actor, incident, reason=change, fresh=True, now=incident.created_at)
    elif change in ("severity_changed", "category_changed"):
        attach(session, actor, incident, reason=change)
    elif change == "acknowledged":
        _start_acknowledged_deadlines(session, actor, incident)
    elif change in FINISHED_STATUSES:
        for item in _open_items(session, incident.id):
            _cancel(session, item.id, f"incident_{change}", actor)
    elif change == "reopened":
        for item in _open_items(session, incident.id):
            if item.due_at is not None and not _timer_has_fired(session, item.id):
                _schedule(session, item, incident, actor)


def _open_items(session: Session, incident_id: int) -> list[ChecklistItem]:
    return list(session.execute(
        select(ChecklistItem).where(ChecklistItem.incident_id == incident_id, ChecklistItem.done_at.is_(None))
    ).scalars())


def _due_at(incident: Incident, step: ct.Step) -> datetime | None:
    if step.deadline_minutes is None:
        return None
    start = incident.created_at if step.deadline_from == "created" else incident.acknowledged_at
    return None if start is None else start + timedelta(minutes=step.deadline_minutes)


# (code, content hash) of the template versions a database is known to hold, per engine: a
# version, once stored and committed, is never removed, so each station asks for it once.
_stored_versions: weakref.WeakKeyDictionary[Any, set[tuple[str, str]]] = weakref.WeakKeyDictionary()
_INSERTED_HERE = "dc_checklist_versions_inserted"  # Session.info: versions this session inserted


def _store_version(session: Session, code: str, name: str, version: str, digest: str,
                   body: dict[str, Any], now: datetime) -> None:
    bind = session.get_bind()
    known = _stored_versions.setdefault(bind, set())
    if (code, digest) in known:
        return
    found = session.execute(select(ChecklistTemplate.id).where(
        ChecklistTemplate.code == code, ChecklistTemplate.content_hash == digest)).first()
    inserted_here: set[tuple[str, str]] = session.info.setdefault(_INSERTED_HERE, set())
    if found is not None:
        if (code, digest) not in inserted_here:  # committed (not this transaction's own, which may roll back)
            known.add((code, digest))
        return
    # Writers recording incidents at once do not wait for each other until their commit's
    # last step: two may store the same new version at the same moment; one row is kept.
    dialect = postgresql if bind.dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(ChecklistTemplate).values(
        code=code, name=name, template_version=version, content_hash=digest, body=body, loaded_at=now,
    ).on_conflict_do_nothing(index_elements=["code", "content_hash"]))
    inserted_here.add((code, digest))


def attach(session: Session, actor: Actor, incident: Incident, *, reason: str = "created",
           fresh: bool = False, now: datetime | None = None) -> int:
    """Add the fitting template's and the reporting policy's steps; returns how many were added.

    ``fresh``: the incident was recorded in this transaction and has no steps yet (they are not
    looked for); ``now``: the change's time by the database clock, if the caller has it.
    """
    cat = catalog()
    template = ct.best_template(list(cat.templates), incident.category, incident.severity,
                                incident.description or "", incident.people_count)
    now = now or db_now(session)
    existing: dict[tuple[str, str], ChecklistItem] = {} if fresh else {
        (i.template_code, i.step_key): i for i in session.execute(
            select(ChecklistItem).where(ChecklistItem.incident_id == incident.id)).scalars()}
    added: list[dict[str, Any]] = []  # new rows, inserted together (Core: nobody reads them back here)
    changed: list[ChecklistItem] = []

    def add(code: str, version: str, step: ct.Step, position: int) -> None:
        added.append({
            "incident_id": incident.id, "template_code": code, "template_version": version, "step_key": step.key,
            "position": position, "text": step.text, "role": step.role, "deadline_minutes": step.deadline_minutes,
            "deadline_from": step.deadline_from if step.deadline_minutes is not None else None,
            "due_at": _due_at(incident, step), "required": step.required, "report_kind": step.report_kind,
            "created_at": now, "version": 1})

    snapshot = dict(incident.checklist_snapshot or {})
    policy = cat.policy
    new_template = template is not None and not any(code == template.code for code, _k in existing)
    if template is not None and new_template:
        _store_version(session, template.code, template.name, template.version, template.content_hash,
                       template.body, now)
    if policy is not None:
        _store_version(session, ct.REPORTING_CODE, _("Information reporting"), policy.version,
                       policy.content_hash, {"levels": [_level_dict(lv) for lv in policy.levels]}, now)
    if template is not None and new_template:
        base = max((i.position for i in existing.values() if i.template_code != ct.REPORTING_CODE),
                   default=0)
        for n, step in enumerate(template.steps, start=1):
            add(template.code, template.version, step, base + 10 * n)
        if snapshot.get("code"):
            previous = [*snapshot.get("previous", []),
                        {k: snapshot.get(k) for k in ("code", "version", "hash", "attached_at")}]
            snapshot["previous"] = previous
        snapshot.update(code=template.code, name=template.name, version=template.version,
                        hash=template.content_hash, attached_at=now.isoformat(), reason=reason,
                        steps=[s.as_dict() for s in template.steps])
    if policy is not None:
        steps = policy.steps_for(incident.severity)
        for n, step in enumerate(steps):
            item = existing.get((ct.REPORTING_CODE, step.key))
            if item is None:
                add(ct.REPORTING_CODE, policy.version, step,
                    _REPORT_POSITION.get(step.report_kind or "", 90_000) + n)
            elif item.done_at is None and _retarget(item, incident, step, policy.version):
                changed.append(item)
        snapshot["reporting"] = {"version": policy.version, "hash": policy.content_hash,
                                 "severity": incident.severity,
                                 "steps": [s.as_dict() for s in steps]}
    incident.checklist_snapshot = snapshot
    if changed:
        session.flush()  # the retargeted steps, before their timers are cancelled and scheduled again
    if added:
        for row, item_id in zip(added, insert_ids(session, ChecklistItem.__table__, added), strict=True):
            row["id"] = item_id
    open_incident = incident.status not in FINISHED_STATUSES
    for item in changed:
        _cancel(session, item.id, "deadline_changed", actor)
    due = [(row["id"], row["due_at"]) for row in added] + [(item.id, item.due_at) for item in changed]
    if open_incident:
        timers.schedule_many(session, [
            timers.NewTimer(kind="checklist", due_at=due_at, incident_id=incident.id, checklist_item_id=item_id,
                            is_drill=bool(incident.is_drill))
            for item_id, due_at in due if due_at is not None], actor=actor, now=now)
    if added or changed:
        added_keys = [(row["template_code"], row["step_key"]) for row in added]
        _timeline(session, actor, incident.id, now, "checklist_attached",
                  _("Checklist {name}: {added} steps added, {changed} deadlines changed ({reason}).").format(
                      name=template.name if template else "-", added=len(added), changed=len(changed),
                      reason=_(_REASONS.get(reason, reason))),
                  {"template": template.code if template else None, "added": [k for _c, k in added_keys],
                   "changed": [i.step_key for i in changed]})
        record(session, actor, entity="checklist", entity_id=incident.id, op="attach",
               action="checklist.attach", at=now,
               after={"template": snapshot.get("code"), "version": snapshot.get("version"),
                      "added": [f"{c}.{k}" for c, k in added_keys],
                      "changed": [f"{i.template_code}.{i.step_key}" for i in changed]})
    return len(added)


def _level_dict(level: ct.ReportingLevel) -> dict[str, Any]:
    return {"name": level.name, "severities": list(level.severities),
            "steps": [s.as_dict() for s in level.steps]}


def _retarget(item: ChecklistItem, incident: Incident, step: ct.Step, version: str) -> bool:
    """An open report step takes the new severity's text and deadline; True if anything changed."""
    due = _due_at(incident, step)
    if (item.text, item.deadline_minutes, item.due_at, item.required, item.role) == (
            step.text, step.deadline_minutes, due, step.required, step.role):
        return False
    item.text, item.deadline_minutes, item.due_at = step.text, step.deadline_minutes, due
    item.deadline_from = step.deadline_from if step.deadline_minutes is not None else None
    item.required, item.role, item.template_version = step.required, step.role, version
    item.version += 1
    return True


def _start_acknowledged_deadlines(session: Session, actor: Actor, incident: Incident) -> None:
    start = incident.acknowledged_at or db_now(session)
    for item in _open_items(session, incident.id):
        if item.deadline_from == "acknowledged" and item.due_at is None and item.deadline_minutes:
            item.due_at = start + timedelta(minutes=item.deadline_minutes)
            item.version += 1
            session.flush()
            _schedule(session, item, incident, actor)


def _open_required(session: Session, incident_id: int) -> list[str]:
    return list(session.execute(
        select(ChecklistItem.text).where(
            ChecklistItem.incident_id == incident_id, ChecklistItem.required.is_(True),
            ChecklistItem.done_at.is_(None))
        .order_by(ChecklistItem.position, ChecklistItem.id)
    ).scalars().all())


RESOLVE_POLICY_FILE = "policies/checklists.toml"
RESOLVE_POLICIES = ("allow", "reason", "refuse")


@dataclass(frozen=True)
class ResolveCheck:
    """What resolving an incident meets, known before the officer types: the required steps still
    open, and the site's policy for them (``allow``; ``reason``: allowed with a reason; ``refuse``)."""

    open_required: tuple[str, ...]
    policy: str

    @property
    def refused(self) -> bool:
        return bool(self.open_required) and self.policy == "refuse"

    @property
    def needs_reason(self) -> bool:
        return bool(self.open_required) and self.policy == "reason"

    def listed(self) -> str:
        return "\n".join(f"· {text}" for text in self.open_required)


def resolve_policy(resources: Resources | None = None) -> str:
    """``resolve_with_required_open`` of ``policies/checklists.toml`` (the site's copy first)."""
    res = resources or _active or Resources.from_env()
    value = str(res.toml(RESOLVE_POLICY_FILE).get("resolve_with_required_open", "allow"))
    if value not in RESOLVE_POLICIES:
        from dispatch_console.kernel.policies import PolicyError

        raise PolicyError(_("{file}: {key}: {problem}").format(
            file=res.path(RESOLVE_POLICY_FILE), key="resolve_with_required_open",
            problem=_("write one of {choices}").format(choices=", ".join(RESOLVE_POLICIES))))
    return value


def resolve_check(db: Database, incident_id: int, resources: Resources | None = None) -> ResolveCheck:
    """For the console, before it asks for a note: which required steps are open, and the policy."""
    with db.read() as s:
        return ResolveCheck(tuple(_open_required(s, incident_id)), resolve_policy(resources))


def before_resolve(session: Session, incident: Incident, note: str | None) -> None:
    """Required steps open: refused, or allowed only with a reason, per the site's policy."""
    check = ResolveCheck(tuple(_open_required(session, incident.id)), resolve_policy())
    if check.refused:
        raise ValidationError(
            _("{n} required checklist steps are still open; tick them before resolving:\n{steps}").format(
                n=len(check.open_required), steps=check.listed()), "checklist")
    if check.needs_reason and not (note or "").strip():
        raise ValidationError(
            _("{n} required checklist steps are still open; say why it is resolved anyway:\n{steps}").format(
                n=len(check.open_required), steps=check.listed()), "note")


def before_close(session: Session, incident: Incident) -> None:
    """Refuse to close while required steps are open, naming them."""
    open_required = _open_required(session, incident.id)
    if open_required:
        listed = "\n".join(f"· {text}" for text in open_required)
        raise ValidationError(
            _("{n} required checklist steps are still open:\n{steps}").format(n=len(open_required),
                                                                              steps=listed),
            "checklist")


# ---------------------------------------------------------------------------------------------
# Ticking.


def _timeline(session: Session, actor: Actor, incident_id: int, at: datetime, kind: str, note: str | None,
              data: dict[str, Any]) -> None:
    session.add(IncidentEvent(incident_id=incident_id, at=at, kind=kind, user_id=actor.user_id,
                              username=actor.username, station=actor.station, note=note, data=data))


def _conflict(session: Session, item: ChecklistItem) -> ConcurrentChange:
    """Who changed the step last (from the timeline), for the 'reload' message."""
    events = session.execute(
        select(IncidentEvent).where(IncidentEvent.incident_id == item.incident_id,
                                    IncidentEvent.kind.in_(("checklist_ticked", "checklist_unticked")))
        .order_by(IncidentEvent.id.desc())
    ).scalars()
    for ev in events:
        if (ev.data or {}).get("item_id") == item.id:
            return changed_by(person_at(session, ev.username, ev.station), ev.at)
    return changed_by(None, None)


def _load_for_change(session: Session, item_id: int, seen_version: int) -> tuple[ChecklistItem, Incident]:
    item = session.get(ChecklistItem, item_id)
    if item is None:
        raise NotFound(_("The checklist step no longer exists."))
    if item.version != seen_version:
        raise _conflict(session, item)
    incident = session.get(Incident, item.incident_id)
    assert incident is not None
    if incident.status in FINISHED_STATUSES:
        raise ValidationError(_("Incident {number} is closed; its checklist can no longer change.").format(
            number=incident.number))
    return item, incident


def _write(session: Session, item: ChecklistItem, seen_version: int, values: dict[str, Any]) -> None:
    result = session.execute(
        update(ChecklistItem).where(ChecklistItem.id == item.id, ChecklistItem.version == seen_version)
        .values(**values, version=seen_version + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise _conflict(session, item)
    session.refresh(item)


def _clean_note(note: str | None) -> str | None:
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX:
        raise ValidationError(_("A note is at most {n} characters.").format(n=NOTE_MAX), "note")
    return note


def _state(item: ChecklistItem) -> dict[str, Any]:
    return {"item_id": item.id, "step": f"{item.template_code}.{item.step_key}", "done_at": item.done_at,
            "done_by": item.done_by, "done_station": item.done_station, "note": item.note,
            "version": item.version}


def tick(db: Database, actor: Actor, item_id: int, seen_version: int, note: str | None = None
         ) -> ChecklistItemRow:
    """Mark a step done by this officer at this station, at the database time."""
    require(actor, "checklist.tick")
    note = _clean_note(note)
    with db.write() as s:
        item, incident = _load_for_change(s, item_id, seen_version)
        if item.done_at is not None:
            raise ValidationError(_("This step is already ticked."))
        before = _state(item)
        now = db_now(s)
        _write(s, item, seen_version, {"done_at": now, "done_by": actor.user_id,
                                       "done_station": actor.station, "note": note})
        _cancel(s, item.id, "checklist_ticked", actor)
        _timeline(s, actor, incident.id, now, "checklist_ticked", note,
                  {"item_id": item.id, "step": item.step_key, "text": item.text})
        record(s, actor, entity="checklist", entity_id=incident.id, op="tick", action="checklist.tick",
               before=before, after=_state(item), at=now)
        return _row(item, now, actor.label)


def untick(db: Database, actor: Actor, item_id: int, seen_version: int, note: str | None = None
           ) -> ChecklistItemRow:
    """Reopen a step; another officer's tick needs ``checklist.untick_others``."""
    require(actor, "checklist.tick")
    note = _clean_note(note)
    with db.write() as s:
        item, incident = _load_for_change(s, item_id, seen_version)
        if item.done_at is None:
            raise ValidationError(_("This step is not ticked."))
        if item.done_by != actor.user_id:
            require(actor, "checklist.untick_others")
        before = _state(item)
        now = db_now(s)
        _write(s, item, seen_version, {"done_at": None, "done_by": None, "done_station": None, "note": None})
        # The deadline matters again unless its alarm already went off once.
        if item.due_at is not None and not _timer_has_fired(s, item.id):
            _schedule(s, item, incident, actor)
        _timeline(s, actor, incident.id, now, "checklist_unticked", note,
                  {"item_id": item.id, "step": item.step_key, "text": item.text})
        record(s, actor, entity="checklist", entity_id=incident.id, op="untick", action="checklist.untick",
               before=before, after=_state(item), at=now)
        return _row(item, now, None)


# ---------------------------------------------------------------------------------------------
# The deadline's effect (timer kind "checklist", run by the timer engine when the timer fires).


def on_deadline(session: Session, timer: Timer, now: datetime, fired_by: str) -> None:
    """A step's deadline passed while it was open: alarm its role (the engine notes the timeline)."""
    item = session.get(ChecklistItem, timer.checklist_item_id) if timer.checklist_item_id else None
    if item is None or item.done_at is not None:
        timers.set_outcome(timer, _("The step was already done."))
        return
    incident = session.get(Incident, item.incident_id)
    if incident is None or incident.status in FINISHED_STATUSES:
        timers.set_outcome(timer, _("The incident is closed."))
        return
    critical = item.report_kind is not None and incident.severity <= 2
    # Duty-room roles get the alarm themselves; for a unit or grid step the duty officer chases it.
    target = item.role if item.role in ROLES else ("duty_officer" if item.role else "shift_leader")
    who = _(ct.ROLE_LABELS[item.role]) if item.role in ct.ROLE_LABELS else "-"
    title = _("Overdue step on {number}: {text}").format(number=incident.number, text=item.text[:120])
    body = _("Due {due} ({who}), still open.").format(due=fmt_local(item.due_at), who=who)
    notifications.notify(session, kind="checklist_overdue", title=title, body=body,
                         level="critical" if critical else "warning", target_role=target,
                         incident_id=incident.id, timer_id=timer.id, is_drill=bool(incident.is_drill),
                         actor=Actor.system(fired_by), at=now)
    timers.set_outcome(timer, _("Overdue: {text}").format(text=item.text))


def can_untick(actor: Actor | None, row: ChecklistItemRow) -> bool:
    """Whether the console should offer unticking this row to this officer."""
    if actor is None or not row.done or not allowed(actor, "checklist.tick"):
        return False
    return row.done_by == actor.user_id or allowed(actor, "checklist.untick_others")
