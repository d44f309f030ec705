"""Units and people sent to incidents, and a unit's status that follows its assignments.

Assigning moves a new or acknowledged incident to dispatched (acknowledging it on the way when it
was new, which makes the officer its owner). A unit goes dispatched → on_scene (when the
incident is on scene) → returning (when released); an officer sets it available again, or off
duty. Assignments are released, never deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import OPEN_STATUSES, Assignment, Incident, Person, Unit
from dispatch_console.incidents import followups
from dispatch_console.incidents.lifecycle import add_event, illegal, load_for_update, transition
from dispatch_console.incidents.queue import IncidentRow, UnitRow, row_in, unit_rows
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.categories import UNIT_STATUSES, shipped_catalog
from dispatch_console.kernel.changes import record, serialise_writers, update_versioned
from dispatch_console.kernel.errors import NotFound, ValidationError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import require

SETTABLE_UNIT_STATUSES = ("available", "returning", "off_duty")


def _set_unit(session: Session, actor: Actor, unit: Unit, status: str, now: datetime, why: str) -> None:
    if unit.status == status:
        return
    before = unit.status
    unit.status = status
    unit.version = (unit.version or 1) + 1
    unit.updated_at = now
    session.flush()
    record(session, actor, entity="unit", entity_id=unit.id, op="update", action=f"unit.{why}",
           before={"status": before}, after={"status": status}, at=now)


def _active_elsewhere(session: Session, unit_id: int) -> str | None:
    return session.execute(
        select(Incident.number).join(Assignment, Assignment.incident_id == Incident.id)
        .where(Assignment.unit_id == unit_id, Assignment.released_at.is_(None)).limit(1)
    ).scalar()


def assign(
    db: Database,
    actor: Actor,
    incident_id: int,
    version: int,
    *,
    unit_ids: Sequence[int] = (),
    person_ids: Sequence[int] = (),
) -> IncidentRow:
    """Send units and/or people to the incident."""
    require(actor, "incident.dispatch")
    if not unit_ids and not person_ids:
        raise ValidationError(_("Choose at least one unit or person to dispatch."), "units")
    with db.write() as s:
        inc = load_for_update(s, incident_id, version)
        if inc.status not in OPEN_STATUSES:
            raise illegal(inc, "dispatch")
        now = db_now(s)
        units: list[Unit] = []
        for unit_id in dict.fromkeys(unit_ids):
            unit = s.get(Unit, unit_id)
            if unit is None:
                raise NotFound(_("No unit with id {id}.").format(id=unit_id))
            if unit.status == "off_duty":
                raise ValidationError(_("{unit} is off duty.").format(unit=unit.name), "units")
            busy = _active_elsewhere(s, unit.id)
            if busy is not None:
                raise ValidationError(_("{unit} is already assigned to {number}.").format(
                    unit=unit.name, number=busy), "units")
            units.append(unit)
        people: list[Person] = []
        for person_id in dict.fromkeys(person_ids):
            person = s.get(Person, person_id)
            if person is None or not person.active:
                raise NotFound(_("No person with id {id}.").format(id=person_id))
            already = s.execute(select(Assignment.id).where(
                Assignment.incident_id == inc.id, Assignment.person_id == person.id,
                Assignment.released_at.is_(None))).first()
            if already:
                raise ValidationError(_("{person} is already assigned to {number}.").format(
                    person=person.name, number=inc.number), "people")
            people.append(person)
        for unit in units:
            s.add(Assignment(incident_id=inc.id, unit_id=unit.id, status="dispatched", assigned_at=now,
                             assigned_by=actor.user_id))
            _set_unit(s, actor, unit, "dispatched", now, "dispatched")
        for person in people:
            s.add(Assignment(incident_id=inc.id, person_id=person.id, status="dispatched", assigned_at=now,
                             assigned_by=actor.user_id))
        s.flush()
        data = {"units": [u.name for u in units], "unit_ids": [u.id for u in units],
                "people": [p.name for p in people], "person_ids": [p.id for p in people]}
        values: dict[str, Any] = {}
        changes: list[str] = []
        to_status = inc.status
        if inc.status == "new":
            values.update(acknowledged_at=now, owner_user_id=inc.owner_user_id or actor.user_id)
            changes.append("acknowledged")
        if inc.status in ("new", "acknowledged"):
            values["dispatched_at"] = now
            to_status = "dispatched"
            changes.append("dispatched")
        transition(s, actor, inc, to_status, now, values, event="dispatched" if changes else "assigned",
                   change=changes or ["assigned"], data=data)
        return row_in(s, incident_id)


def mark_on_scene(db: Database, actor: Actor, incident_id: int, version: int) -> IncidentRow:
    """dispatched → on_scene; every unit still assigned is on scene too."""
    require(actor, "incident.transition")
    with db.write() as s:
        inc = load_for_update(s, incident_id, version)
        if inc.status != "dispatched":
            raise illegal(inc, "on_scene")
        now = db_now(s)
        for a in _active(s, inc.id):
            a.status, a.arrived_at = "on_scene", a.arrived_at or now
            if a.unit_id is not None:
                unit = s.get(Unit, a.unit_id)
                assert unit is not None
                _set_unit(s, actor, unit, "on_scene", now, "on_scene")
        transition(s, actor, inc, "on_scene", now, {"on_scene_at": now})
        return row_in(s, incident_id)


def _active(session: Session, incident_id: int) -> list[Assignment]:
    return list(session.execute(
        select(Assignment).where(Assignment.incident_id == incident_id, Assignment.released_at.is_(None))
        .order_by(Assignment.id)
    ).scalars())


def _release_one(session: Session, actor: Actor, a: Assignment, now: datetime) -> None:
    a.status, a.released_at, a.released_by = "released", now, actor.user_id
    a.version = (a.version or 1) + 1
    session.flush()
    if a.unit_id is not None:
        unit = session.get(Unit, a.unit_id)
        assert unit is not None
        if _active_elsewhere(session, unit.id) is None and unit.status in ("dispatched", "on_scene"):
            _set_unit(session, actor, unit, "returning", now, "returning")


def release_all(session: Session, actor: Actor, incident: Incident, now: datetime) -> None:
    """Release every unit and person still on the incident (it is resolved)."""
    released = _active(session, incident.id)
    for a in released:
        _release_one(session, actor, a, now)
    if released:
        add_event(session, actor, incident, "released", now, data={"assignment_ids": [a.id for a in released]})


def release(db: Database, actor: Actor, assignment_id: int) -> IncidentRow:
    """Release one unit or person from its incident (the unit starts returning)."""
    require(actor, "incident.dispatch")
    with db.write() as s:
        serialise_writers(s)
        a = s.get(Assignment, assignment_id)
        if a is None:
            raise NotFound(_("No assignment with id {id}.").format(id=assignment_id))
        if a.released_at is not None:
            raise ValidationError(_("This assignment was already released."), "assignment")
        inc = s.get(Incident, a.incident_id)
        assert inc is not None
        now = db_now(s)
        _release_one(s, actor, a, now)
        name = s.get(Unit, a.unit_id).name if a.unit_id else s.get(Person, a.person_id).name  # type: ignore[union-attr]
        add_event(s, actor, inc, "released", now, data={"assignment_ids": [a.id], "name": name})
        # The queue shows who is assigned: bump the version so every console refreshes the row.
        inc.version += 1
        inc.updated_at = now
        s.flush()
        record(s, actor, entity="incident", entity_id=inc.id, op="update", action="incident.released",
               after={"assignment_id": a.id, "name": name}, at=now)
        followups.after_incident_change(s, actor, inc, "released", None)
        return row_in(s, inc.id)


def set_unit_status(db: Database, actor: Actor, unit_id: int, version: int, status: str) -> UnitRow:
    """Set a unit available, returning or off duty (dispatched and on scene follow assignments)."""
    require(actor, "unit.update")
    if status not in SETTABLE_UNIT_STATUSES:
        allowed = ", ".join(shipped_catalog().unit_status_label(x) for x in SETTABLE_UNIT_STATUSES)
        raise ValidationError(_("A unit's status can be set to {allowed} only.").format(allowed=allowed),
                              "status")
    assert status in UNIT_STATUSES
    with db.write() as s:
        serialise_writers(s)
        unit = s.get(Unit, unit_id)
        if unit is None:
            raise NotFound(_("No unit with id {id}.").format(id=unit_id))
        busy = _active_elsewhere(s, unit.id)
        if busy is not None:
            raise ValidationError(_("{unit} is still assigned to {number}; release it first.").format(
                unit=unit.name, number=busy), "status")
        now = db_now(s)
        before = unit.status
        update_versioned(s, Unit, unit.id, version, {"status": status, "updated_at": now}, entity="unit")
        record(s, actor, entity="unit", entity_id=unit.id, op="update", action="unit.status",
               before={"status": before}, after={"status": status}, at=now)
        return unit_rows(s, unit_id=unit_id)[0]
