"""``db seed-demo``: write the demo jurisdiction 桃源街道 into an empty (or demo) database.

Only a demo database takes demo data (:mod:`dispatch_console.demo.marking`): an empty one is
marked demo in the same transaction, any database holding a site's real data is refused.

The data comes from :mod:`dispatch_console.demo.plan` (deterministic; only timestamps follow the database
clock). Seeding twice is harmless: a database that already holds 桃源街道 is left as it is.
Each kind of seeded record gets one audit/change_log entry (entity ``database``, action
``db.seed_demo``); the demo accounts are created through
:func:`dispatch_console.users.accounts.create_user`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import (
    OPEN_STATUSES,
    Area,
    Assignment,
    ChecklistItem,
    GridStaff,
    Incident,
    IncidentCounter,
    IncidentEvent,
    Person,
    PersonRole,
    RosterEntry,
    Shift,
    ShiftType,
    Station,
    Timer,
    Unit,
    User,
)
from dispatch_console.demo.plan import (
    DISTRICT_CODE,
    DISTRICT_NAME,
    REQUIRED_ROLES,
    SHIFT_TYPES,
    STATIONS,
    STREET_CODE,
    TZ,
    DemoPlan,
    IncidentSpec,
    build_plan,
)
from dispatch_console.demo.supplies_plan import write_supplies
from dispatch_console.jurisdiction.geometry import bbox, to_shape
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changes import record
from dispatch_console.kernel.config import resources_root
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import require
from dispatch_console.users.accounts import create_user

DISTRICTS_FILE = "geo/shenzhen_districts.geojson"
DEMO_PASSWORD = "demo"

@dataclass(frozen=True)
class SeedSummary:
    already_seeded: bool
    communities: int
    grids: int
    people: int
    units: int
    users: int
    shifts: int
    incidents: int

    def describe(self) -> str:
        if self.already_seeded:
            return _("The demo data is already there ({communities} communities, {grids} grids, "
                     "{incidents} incidents); nothing was changed.").format(
                communities=self.communities, grids=self.grids, incidents=self.incidents)
        return _("Seeded the demo jurisdiction 桃源街道: {communities} communities, {grids} grids, "
                 "{people} people, {units} units, {users} demo accounts (password \"demo\"), "
                 "{shifts} shifts, {incidents} incidents.").format(
            communities=self.communities, grids=self.grids, people=self.people, units=self.units,
            users=self.users, shifts=self.shifts, incidents=self.incidents)


def _count(s: Session, query: Any) -> int:
    return int(s.execute(query).scalar_one())


def _existing_summary(s: Session) -> SeedSummary:
    return SeedSummary(
        True,
        _count(s, select(func.count(Area.id)).where(Area.level == "community")),
        _count(s, select(func.count(Area.id)).where(Area.level == "grid")),
        _count(s, select(func.count(Person.id))),
        _count(s, select(func.count(Unit.id))),
        _count(s, select(func.count(User.id)).where(User.is_demo.is_(True))),
        _count(s, select(func.count(Shift.id))),
        _count(s, select(func.count(Incident.id))),
    )


def existing_summary(db: Database) -> SeedSummary | None:
    """What a seeded demo database holds (None when the demo street is not there yet)."""
    with db.read() as s:
        if not s.execute(select(Area.id).where(Area.level == "street", Area.code == STREET_CODE)).first():
            return None
        return _existing_summary(s)


def _district_feature() -> dict[str, Any]:
    data = json.loads((resources_root() / DISTRICTS_FILE).read_text(encoding="utf-8"))
    for feature in data["features"]:
        if str(feature["properties"].get("adcode")) == DISTRICT_CODE:
            return dict(feature)
    raise LookupError(f"{DISTRICT_NAME} ({DISTRICT_CODE}) is missing from {DISTRICTS_FILE}")


def _seeded(s: Session, actor: Actor, kind: str, count: int, now: datetime) -> None:
    record(s, actor, entity="database", entity_id=None, op="seed", action="db.seed_demo",
           after={"kind": kind, "count": count}, at=now)


def seed_demo(db: Database, actor: Actor) -> SeedSummary:
    """Fill the database with the demo street, people, units, accounts, rosters, incidents and cases.

    The cases come after the street's one transaction, each worked through the cases room's
    services (:mod:`dispatch_console.demo.cases`); a demo database without them gets them here.
    """
    from dispatch_console.demo.cases import seed_cases

    summary = _seed_street(db, actor)
    seed_cases(db, actor)
    return summary


def _seed_street(db: Database, actor: Actor) -> SeedSummary:
    from dispatch_console.demo.marking import claim_for_demo

    require(actor, "db.admin")
    with db.write() as s:
        claim_for_demo(s, db.display_url)  # a demo database only: never beside a site's real data
        if s.execute(select(Area.id).where(Area.level == "street", Area.code == STREET_CODE)).first():
            return _existing_summary(s)
        now = db_now(s)
        district = _write_district(s, now)
        plan = build_plan(district.geometry or {}, now)
        area_ids = _write_areas(s, plan, district, now)
        _seeded(s, actor, "area", len(plan.areas), now)
        unit_ids = _write_units(s, plan, area_ids, now)
        _seeded(s, actor, "unit", len(plan.units), now)
        person_ids = _write_people(s, plan, area_ids, unit_ids)
        _seeded(s, actor, "person", len(plan.people), now)
        user_ids = {
            username: create_user(s, actor, username=username, password=DEMO_PASSWORD, role=role,
                                  display_name=_person_name(plan, key), person_id=person_ids[key],
                                  is_demo=True).id
            for username, role, key in plan.accounts
        }
        shifts = _write_shifts(s, plan, person_ids, user_ids, now)
        _seeded(s, actor, "shift", shifts, now)
        for name in STATIONS:
            s.add(Station(name=name, kind="console", first_seen_at=now))
        _seeded(s, actor, "station", len(STATIONS), now)
        for spec in plan.incidents:
            add_incident(s, spec, area_ids, unit_ids, user_ids)
        for (prefix, day), last in plan.counters.items():
            s.merge(IncidentCounter(prefix=prefix, day=day, last_value=last))
        _set_unit_status(s, plan, unit_ids, now)
        communities = list(s.execute(select(Area).where(Area.level == "community").order_by(Area.code)).scalars())
        depots, shelters = write_supplies(s, communities, now)
        _seeded(s, actor, "depot", depots, now)
        _seeded(s, actor, "shelter", shelters, now)
        _follow_up_open_incidents(s, actor)
        _live_deadlines(s, now)
        _seeded(s, actor, "incident", len(plan.incidents), now)
        return SeedSummary(False, sum(a.level == "community" for a in plan.areas),
                           sum(a.level == "grid" for a in plan.areas), len(plan.people), len(plan.units),
                           len(plan.accounts), shifts, len(plan.incidents))


# how far along its checklist a seeded incident is, by status: the officer works through the steps
_STEPS_DONE = {"new": 0, "acknowledged": 1, "dispatched": 3, "on_scene": 5}


def _follow_up_open_incidents(s: Session, actor: Actor) -> None:
    """Give the open demo incidents what a live one has: its checklist, its deadlines, ticked steps."""
    from dispatch_console.checklists import service as checklists
    from dispatch_console.escalation import service as escalation
    from dispatch_console.timers import engine as timers

    incidents = s.execute(select(Incident).where(Incident.status.in_(OPEN_STATUSES))
                          .order_by(Incident.id)).scalars().all()
    for incident in incidents:
        checklists.attach(s, actor, incident)
        escalation.sync(s, actor, incident)
        items = s.execute(select(ChecklistItem).where(ChecklistItem.incident_id == incident.id,
                                                      ChecklistItem.report_kind.is_(None))
                          .order_by(ChecklistItem.position)).scalars().all()
        start = incident.acknowledged_at or incident.created_at
        for n, item in enumerate(items[:_STEPS_DONE[incident.status]], start=1):
            item.done_at = start + timedelta(minutes=4 * n)
            item.done_by = incident.owner_user_id
            item.done_station = incident.station
            item.version += 1
            timers.cancel(s, reason="ticked", checklist_item_id=item.id, actor=actor)


# A new user opens a live duty room, not a wall of red: the deadlines that the seeded history has
# long passed are moved to come due over the next hour or two, as in a room where the past
# escalations were handled; only the BREACHED most serious unacknowledged incidents stay overdue.
LIVE_OFFSETS = tuple(timedelta(minutes=m) for m in (4, 9, 15, 22, 30, 40, 55, 70, 90, 120))
BREACHED = 2
JUST_BREACHED = timedelta(minutes=3)


def _live_deadlines(s: Session, now: datetime) -> None:
    """Overdue deadlines of the open demo incidents, relative to the moment of seeding."""
    incidents = s.execute(select(Incident).where(Incident.status.in_(OPEN_STATUSES))
                          .order_by(Incident.severity, Incident.created_at, Incident.id)).scalars().all()
    breached = {i.id for i in incidents if i.status == "new"}
    breached = set(sorted(breached, key=[i.id for i in incidents].index)[:BREACHED])
    moved = 0
    for incident in incidents:
        overdue = s.execute(select(Timer).where(
            Timer.incident_id == incident.id, Timer.fired_at.is_(None), Timer.cancelled_at.is_(None),
            Timer.due_at <= now).order_by(Timer.due_at, Timer.id)).scalars().all()
        if not overdue:
            continue
        if incident.id in breached:  # breached a few minutes ago: its first escalation is due now
            shift = now - JUST_BREACHED - overdue[0].due_at
        else:
            shift = now + LIVE_OFFSETS[moved % len(LIVE_OFFSETS)] - overdue[0].due_at
            moved += 1
        for timer in overdue:
            timer.due_at = timer.due_at + shift
            payload = dict(timer.payload or {})
            if payload.get("deadline"):
                payload["deadline"] = (datetime.fromisoformat(str(payload["deadline"])) + shift).isoformat()
                timer.payload = payload
            if timer.checklist_item_id is not None:
                item = s.get(ChecklistItem, timer.checklist_item_id)
                if item is not None and item.due_at is not None:
                    item.due_at = item.due_at + shift
                    item.version += 1


def _person_name(plan: DemoPlan, key: str) -> str:
    return next(p.name for p in plan.people if p.key == key)


def _write_district(s: Session, now: datetime) -> Area:
    """南山区 as it is, if it was imported before; else from the shipped boundary file."""
    found = s.execute(select(Area).where(Area.level == "district", Area.code == DISTRICT_CODE)).scalar_one_or_none()
    if found is not None and found.geometry:
        return found
    feature = _district_feature()
    min_lon, min_lat, max_lon, max_lat = bbox(to_shape(feature["geometry"]))
    area = Area(level="district", code=DISTRICT_CODE, name=DISTRICT_NAME, geometry=feature["geometry"],
                properties=feature["properties"], min_lon=min_lon, min_lat=min_lat, max_lon=max_lon,
                max_lat=max_lat, version=1, updated_at=now)
    s.add(area)
    s.flush()
    return area


def _write_areas(s: Session, plan: DemoPlan, district: Area, now: datetime) -> dict[str, int]:
    ids = {DISTRICT_CODE: district.id}
    for spec in plan.areas:  # parents come before their children
        min_lon, min_lat, max_lon, max_lat = bbox(to_shape(spec.geometry))
        area = Area(level=spec.level, code=spec.code, name=spec.name, parent_id=ids[spec.parent_code or ""],
                    kind=spec.kind, number_prefix=spec.number_prefix, geometry=spec.geometry,
                    min_lon=min_lon, min_lat=min_lat, max_lon=max_lon, max_lat=max_lat,
                    properties={"source": "demo"}, version=1, updated_at=now)
        s.add(area)
        s.flush()
        ids[spec.code] = area.id
    return ids


def _write_units(s: Session, plan: DemoPlan, area_ids: dict[str, int], now: datetime) -> dict[str, int]:
    ids = {}
    for u in plan.units:
        unit = Unit(code=u.code, name=u.name, kind=u.kind, status=u.status, lon=u.lon, lat=u.lat,
                    community_id=area_ids[u.community_code], version=1, updated_at=now)
        s.add(unit)
        s.flush()
        ids[u.code] = unit.id
    return ids


def _write_people(s: Session, plan: DemoPlan, area_ids: dict[str, int], unit_ids: dict[str, int]) -> dict[str, int]:
    ids = {}
    for p in plan.people:
        person = Person(name=p.name, phone=p.phone, title=p.title,
                        unit_id=unit_ids[p.unit_code] if p.unit_code else None, active=True, version=1)
        s.add(person)
        s.flush()
        ids[p.key] = person.id
        s.add_all(PersonRole(person_id=person.id, role=role) for role in p.roles)
    contacts = {p.unit_code: p for p in plan.people if p.unit_code}
    for code, unit_id in unit_ids.items():
        unit = s.get(Unit, unit_id)
        assert unit is not None
        unit.contact_name, unit.phone = contacts[code].name, contacts[code].phone
    s.add_all(GridStaff(grid_id=area_ids[g], person_id=ids[key], role=role) for g, role, key in plan.staff)
    s.flush()
    return ids


def _write_shifts(s: Session, plan: DemoPlan, person_ids: dict[str, int], user_ids: dict[str, int],
                  now: datetime) -> int:
    type_ids = {}
    for code, name, start, length in SHIFT_TYPES:
        st = ShiftType(code=code, name=name, start_time=start, length_minutes=length, timezone=str(TZ),
                       required_roles=dict(REQUIRED_ROLES), active=True)
        s.add(st)
        s.flush()
        type_ids[code] = st.id
    for spec in plan.shifts:
        shift = Shift(shift_type_id=type_ids[spec.type_code], day=spec.day.isoformat(), starts_at=spec.starts_at,
                      ends_at=spec.ends_at, published_at=now, published_by=user_ids["demo-director"], version=1)
        s.add(shift)
        s.flush()
        people = [("shift_leader", spec.leader_key)] + [("duty_officer", k) for k in spec.officer_keys]
        s.add_all(RosterEntry(shift_id=shift.id, person_id=person_ids[key], role=role, active=True,
                              created_at=now, created_by=user_ids["demo-director"], version=1)
                  for role, key in people)
    s.flush()
    return len(plan.shifts)


def add_incident(s: Session, spec: IncidentSpec, area_ids: dict[str, int], unit_ids: dict[str, int],
                 user_ids: dict[str, int]) -> int:
    """One seeded incident with its timeline and unit assignments, as ORM rows."""
    incident = Incident(
        number=spec.number, category=spec.category, severity=spec.severity, source=spec.source,
        status=spec.status, grid_id=area_ids[spec.grid_code], address=spec.address, lon=spec.lon, lat=spec.lat,
        reporter_name=spec.reporter_name, reporter_phone=spec.reporter_phone, description=spec.description,
        people_count=spec.people_count, is_drill=False, owner_user_id=user_ids.get(spec.owner or ""),
        created_by=user_ids[spec.created_by], station=spec.station,
        version=sum(e.kind != "note" for e in spec.events),
        reported_at=spec.created_at, created_at=spec.created_at, acknowledged_at=spec.at("acknowledged"),
        dispatched_at=spec.at("dispatched"), on_scene_at=spec.at("on_scene"), resolved_at=spec.at("resolved"),
        closed_at=spec.at("closed"), updated_at=spec.events[-1].at,
    )
    s.add(incident)
    s.flush()
    s.add_all(
        IncidentEvent(incident_id=incident.id, at=e.at, kind=e.kind, user_id=user_ids[e.username],
                      username=e.username, station=spec.station, note=e.note, data=e.data)
        for e in spec.events
    )
    dispatched_at = spec.at("dispatched")
    if dispatched_at is not None:
        status = "released" if spec.at("resolved") else ("on_scene" if spec.at("on_scene") else "dispatched")
        s.add_all(
            Assignment(incident_id=incident.id, unit_id=unit_ids[code], status=status, assigned_at=dispatched_at,
                       assigned_by=incident.owner_user_id, arrived_at=spec.at("on_scene"),
                       released_at=spec.at("resolved"),
                       released_by=incident.owner_user_id if spec.at("resolved") else None, version=1)
            for code in spec.unit_codes
        )
    s.flush()
    return incident.id


def _set_unit_status(s: Session, plan: DemoPlan, unit_ids: dict[str, int], now: datetime) -> None:
    """Units still working an open incident show as dispatched or on scene."""
    busy: dict[str, str] = {}
    for spec in plan.incidents:
        if spec.status in ("dispatched", "on_scene"):
            for code in spec.unit_codes:
                if busy.get(code) != "on_scene":
                    busy[code] = spec.status
    for code, status in busy.items():
        unit = s.get(Unit, unit_ids[code])
        assert unit is not None
        unit.status = status
        unit.updated_at = now
