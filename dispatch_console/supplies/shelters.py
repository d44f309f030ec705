"""Emergency shelters (应急避难场所): capacity, place, contact, status, and the people in them.

A shelter is closed, open or full. An officer opens it (a step of the typhoon/flood checklist),
records arrivals and departures (``shelter_movement``, append-only like the stock ledger), and
the occupancy is their sum. Arrivals fill a shelter up to its capacity and no further (the officer
is told how many places are left, and the nearest other open shelter takes the rest); a full
shelter shows as full and opens again when people leave. The nearest open shelter with free
places from an incident is one call away (:func:`nearest_open`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import Area, Incident, Shelter, ShelterMovement
from dispatch_console.incidents.map_data import incident_position
from dispatch_console.incidents.queue import find_incident_id
from dispatch_console.jurisdiction.geometry import bbox_centre, distance_m
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changes import record, serialise_writers
from dispatch_console.kernel.errors import NotFound, ValidationError
from dispatch_console.kernel.i18n import N_, _
from dispatch_console.kernel.permissions import require

STATUSES: dict[str, str] = {"closed": N_("closed"), "open": N_("open"), "full": N_("full")}
MAX_CAPACITY = 100_000
NOTE_MAX = 500


def status_label(status: str) -> str:
    return _(STATUSES[status]) if status in STATUSES else status


@dataclass(frozen=True)
class ShelterRow:
    id: int
    code: str
    name: str
    community: str | None
    address: str | None
    lon: float | None
    lat: float | None
    capacity: int
    occupancy: int
    status: str
    contact_name: str | None
    phone: str | None
    version: int

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.occupancy)

    @property
    def status_label(self) -> str:
        return status_label(self.status)


def _occupancy(session: Session, shelter_id: int) -> int:
    return int(session.execute(select(func.coalesce(func.sum(ShelterMovement.people), 0))
                               .where(ShelterMovement.shelter_id == shelter_id)).scalar() or 0)


def _row(session: Session, s: Shelter, community: str | None = None) -> ShelterRow:
    if community is None and s.community_id:
        area = session.get(Area, s.community_id)
        community = area.name if area else None
    return ShelterRow(s.id, s.code, s.name, community, s.address, s.lon, s.lat, s.capacity,
                      _occupancy(session, s.id), s.status, s.contact_name, s.phone, s.version)


def _find(session: Session, key: str | int) -> Shelter:
    if isinstance(key, int):
        shelter = session.get(Shelter, key)
    else:
        text = key.strip()
        shelter = session.execute(select(Shelter).where((Shelter.code == text) | (Shelter.name == text))).scalar()
    if shelter is None:
        raise NotFound(_("No shelter {key}.").format(key=key))
    return shelter


def add_shelter(db: Database, actor: Actor, *, code: str, name: str, capacity: int, community_id: int | None = None,
                address: str | None = None, lon: float | None = None, lat: float | None = None,
                contact_name: str | None = None, phone: str | None = None) -> ShelterRow:
    require(actor, "supplies.manage")
    code, name = code.strip(), name.strip()
    if not code or not name or len(code) > 64 or len(name) > 200:
        raise ValidationError(_("A shelter needs a code and a name."), "name")
    if isinstance(capacity, bool) or not isinstance(capacity, int) or not 0 < capacity <= MAX_CAPACITY:
        raise ValidationError(_("The capacity must be a whole number from 1 to {n}.").format(n=MAX_CAPACITY),
                              "capacity")
    with db.write() as s:
        serialise_writers(s)
        if s.execute(select(Shelter.id).where(Shelter.code == code)).first():
            raise ValidationError(_("A shelter with code {code} exists already.").format(code=code), "code")
        now = db_now(s)
        shelter = Shelter(code=code, name=name, capacity=capacity, community_id=community_id, address=address,
                          lon=lon, lat=lat, contact_name=contact_name, phone=phone, status="closed", version=1,
                          updated_at=now)
        s.add(shelter)
        s.flush()
        record(s, actor, entity="shelter", entity_id=shelter.id, op="create", action="shelter.create",
               after={"code": code, "name": name, "capacity": capacity}, at=now)
        return _row(s, shelter)


def _set_status(session: Session, actor: Actor, shelter: Shelter, status: str, why: str) -> None:
    if shelter.status == status:
        return
    before = shelter.status
    now = db_now(session)
    shelter.status, shelter.version, shelter.updated_at = status, shelter.version + 1, now
    session.flush()
    record(session, actor, entity="shelter", entity_id=shelter.id, op="update", action=f"shelter.{why}",
           before={"status": before}, after={"status": status}, at=now)


def set_status(db: Database, actor: Actor, shelter: str | int, status: str) -> ShelterRow:
    """Open or close a shelter (full follows its occupancy; closing needs it empty)."""
    require(actor, "shelter.update")
    if status not in ("open", "closed"):
        raise ValidationError(_("A shelter is opened or closed; it is full when its places are taken."), "status")
    with db.write() as s:
        serialise_writers(s)
        row = _find(s, shelter)
        occupancy = _occupancy(s, row.id)
        if status == "closed" and occupancy:
            raise ValidationError(_("{name} still shelters {n} people: record their departure first.").format(
                name=row.name, n=occupancy), "status")
        if status == "open" and occupancy >= row.capacity:
            status = "full"
        _set_status(s, actor, row, status, status)
        return _row(s, row)


def record_people(db: Database, actor: Actor, shelter: str | int, people: int, *, incident: str | int | None = None,
                  note: str | None = None) -> ShelterRow:
    """Arrivals (people > 0) or departures (people < 0) at an open shelter."""
    require(actor, "shelter.update")
    if isinstance(people, bool) or not isinstance(people, int) or people == 0 or abs(people) > MAX_CAPACITY:
        raise ValidationError(_("Give the number of people arriving (positive) or leaving (negative)."), "people")
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX:
        raise ValidationError(_("The note is at most {n} characters.").format(n=NOTE_MAX), "note")
    with db.write() as s:
        serialise_writers(s)
        row = _find(s, shelter)
        incident_id = find_incident_id(s, incident) if incident is not None else None
        occupancy = _occupancy(s, row.id)
        if people > 0:
            if row.status == "closed":
                raise ValidationError(_("{name} is closed: open it first.").format(name=row.name), "status")
            if occupancy + people > row.capacity:
                raise ValidationError(_("{name} has {free} free places of {capacity}; {n} cannot all come in.").format(
                    name=row.name, free=row.capacity - occupancy, capacity=row.capacity, n=people), "people")
        elif occupancy + people < 0:
            raise ValidationError(_("{name} shelters {n} people; more cannot leave.").format(
                name=row.name, n=occupancy), "people")
        now = db_now(s)
        line = ShelterMovement(shelter_id=row.id, at=now, people=people, incident_id=incident_id, note=note,
                               user_id=actor.user_id, username=actor.username)
        s.add(line)
        s.flush()
        after = occupancy + people
        record(s, actor, entity="shelter", entity_id=row.id, op="update",
               action="shelter.arrivals" if people > 0 else "shelter.departures",
               after={"people": people, "occupancy": after, "incident_id": incident_id, "note": note}, at=now)
        if after >= row.capacity and row.status == "open":
            _set_status(s, actor, row, "full", "full")
        elif after < row.capacity and row.status == "full":
            _set_status(s, actor, row, "open", "open")
        return _row(s, row)


def list_shelters(db: Database) -> list[ShelterRow]:
    with db.read() as s:
        rows = s.execute(select(Shelter, Area.name).outerjoin(Area, Area.id == Shelter.community_id)
                         .order_by(Shelter.code)).all()
        return [_row(s, shelter, community) for shelter, community in rows]


@dataclass(frozen=True)
class NearShelter:
    shelter: ShelterRow
    distance_m: float


def _position(session: Session, shelter: Shelter) -> tuple[float, float] | None:
    if shelter.lon is not None and shelter.lat is not None:
        return shelter.lon, shelter.lat
    area = session.get(Area, shelter.community_id) if shelter.community_id else None
    return bbox_centre(area.min_lon, area.min_lat, area.max_lon, area.max_lat) if area else None


def nearest_open(db: Database, incident: str | int, *, limit: int = 5) -> list[NearShelter]:
    """The open shelters with free places, the nearest to the incident first."""
    with db.read() as s:
        found = s.get(Incident, find_incident_id(s, incident))
        assert found is not None
        where = incident_position(s, found)
        if where is None:
            raise ValidationError(_("{number} has no position or grid: no distance can be measured.").format(
                number=found.number), "incident")
        out: list[NearShelter] = []
        for shelter in s.execute(select(Shelter).where(Shelter.status == "open")).scalars():
            row = _row(s, shelter)
            position = _position(s, shelter)
            if row.free > 0 and position is not None:
                out.append(NearShelter(row, distance_m(*where, *position)))
        out.sort(key=lambda n: (n.distance_m, n.shelter.code))
        return out[:limit]
