"""What a handover record holds: the handover policy and the situation gathered at drafting.

:func:`gather` reads, inside the caller's session and at the database time, every open incident
with its status, owner and next deadline; the timers coming due in the next shift; unticked
checklist steps; units still out; the shift's notable events; the people of both shifts. DRILL
records never appear (``is_drill`` false only). The result is plain JSON (the record's
``content``, hashed when signed); :class:`Situation` reads it back as frozen rows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from db.engine import db_now
from db.models import (
    Assignment,
    ChecklistItem,
    Incident,
    Notification,
    Person,
    RosterEntry,
    Shift,
    ShiftType,
    Timer,
    Unit,
    User,
)
from dispatch_console.categories import OPEN_STATUSES
from dispatch_console.changes import to_jsonable
from dispatch_console.config import Resources
from dispatch_console.errors import NotFound
from dispatch_console.i18n import _, language
from dispatch_console.roster import LEADER_ROLE, ShiftRow
from dispatch_console.timers import policy_duration

POLICY_FILE = "policies/handover.toml"
DESCRIPTION_CHARS = 120


# ---------------------------------------------------------------------------------------------
# The policy.


@dataclass(frozen=True)
class EquipmentItem:
    code: str
    zh: str
    en: str

    @property
    def label(self) -> str:
        return self.zh if language() == "zh_CN" else self.en


@dataclass(frozen=True)
class HandoverPolicy:
    reminder_before: timedelta = timedelta(minutes=15)
    accept_within: timedelta = timedelta(minutes=15)
    prepare: timedelta = timedelta(minutes=10)
    reacknowledge_severity: int = 2
    equipment: tuple[EquipmentItem, ...] = ()

    def equipment_label(self, code: str) -> str:
        return next((e.label for e in self.equipment if e.code == code), code)


def load_policy(resources: Resources | None = None) -> HandoverPolicy:
    """``policies/handover.toml`` (the site's copy first); PolicyError names a wrong key."""
    res = resources or Resources.from_env()
    data = res.toml(POLICY_FILE)
    source = str(res.path(POLICY_FILE))
    items = tuple(EquipmentItem(str(e["code"]), str(e.get("zh", e["code"])), str(e.get("en", e["code"])))
                  for e in data.get("equipment", []))
    return HandoverPolicy(
        reminder_before=policy_duration(data.get("reminder_before", "15m"), source, "reminder_before"),
        accept_within=policy_duration(data.get("accept_within", "15m"), source, "accept_within"),
        prepare=policy_duration(data.get("prepare", "10m"), source, "prepare"),
        reacknowledge_severity=int(data.get("reacknowledge_severity", 2)),
        equipment=items,
    )


# ---------------------------------------------------------------------------------------------
# Rows of the situation (stored as JSON in the record, read back as these).


def _when(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    dt = datetime.fromisoformat(str(value))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _from_dict(cls: type, data: dict[str, Any]) -> Any:
    values = {}
    for f in fields(cls):
        value = data.get(f.name)
        if "datetime" in str(f.type):
            value = _when(value)
        values[f.name] = value
    return cls(**values)


@dataclass(frozen=True)
class OpenIncident:
    id: int
    number: str
    category: str
    severity: int
    status: str
    description: str
    address: str | None
    owner_user_id: int | None
    owner_name: str | None
    next_deadline_kind: str | None
    next_deadline_at: datetime | None
    created_at: datetime | None
    must_reacknowledge: bool


@dataclass(frozen=True)
class DueTimer:
    id: int
    kind: str
    incident_number: str | None
    due_at: datetime | None
    target_role: str | None


@dataclass(frozen=True)
class OpenStep:
    item_id: int
    incident_number: str
    text: str
    due_at: datetime | None
    overdue: bool
    required: bool


@dataclass(frozen=True)
class UnitOut:
    assignment_id: int
    incident_number: str
    name: str
    status: str
    assigned_at: datetime | None
    arrived_at: datetime | None


@dataclass(frozen=True)
class NotableEvent:
    kind: str  # severe | escalation | closed
    at: datetime | None
    incident_number: str | None
    text: str


@dataclass(frozen=True)
class ShiftPeople:
    leaders: tuple[str, ...]
    officers: tuple[str, ...]


@dataclass(frozen=True)
class Situation:
    """The record's content, read back."""

    incidents: tuple[OpenIncident, ...]
    timers: tuple[DueTimer, ...]
    steps: tuple[OpenStep, ...]
    units: tuple[UnitOut, ...]
    notable: tuple[NotableEvent, ...]
    outgoing: ShiftPeople
    incoming: ShiftPeople
    gathered_at: datetime | None

    @classmethod
    def from_content(cls, content: dict[str, Any]) -> Situation:
        def people(key: str) -> ShiftPeople:
            p = content.get(key) or {}
            return ShiftPeople(tuple(p.get("leaders", [])), tuple(p.get("officers", [])))

        return cls(
            tuple(_from_dict(OpenIncident, d) for d in content.get("incidents", [])),
            tuple(_from_dict(DueTimer, d) for d in content.get("timers", [])),
            tuple(_from_dict(OpenStep, d) for d in content.get("steps", [])),
            tuple(_from_dict(UnitOut, d) for d in content.get("units", [])),
            tuple(_from_dict(NotableEvent, d) for d in content.get("notable", [])),
            people("outgoing"), people("incoming"), _when(content.get("gathered_at")),
        )


# ---------------------------------------------------------------------------------------------
# Shifts.


def shift_row(s: Session, shift_id: int) -> ShiftRow | None:
    row = s.execute(select(Shift, ShiftType).join(ShiftType, Shift.shift_type_id == ShiftType.id)
                    .where(Shift.id == shift_id)).first()
    if row is None:
        return None
    sh, t = row
    return ShiftRow(sh.id, t.id, t.code, t.name, sh.day, sh.starts_at, sh.ends_at, sh.published_at,
                    sh.override_reason, sh.version)


def next_shift_id(s: Session, shift: ShiftRow) -> int | None:
    """The shift that takes over: the first one starting when (or after) this one ends."""
    return s.execute(select(Shift.id).where(Shift.starts_at >= shift.ends_at)
                     .order_by(Shift.starts_at, Shift.id).limit(1)).scalar()


def shift_people(s: Session, shift_id: int | None) -> ShiftPeople:
    if shift_id is None:
        return ShiftPeople((), ())
    rows = s.execute(select(Person.name, RosterEntry.role).join(Person, Person.id == RosterEntry.person_id)
                     .where(RosterEntry.shift_id == shift_id, RosterEntry.active.is_(True))
                     .order_by(RosterEntry.id)).all()
    return ShiftPeople(tuple(n for n, r in rows if r == LEADER_ROLE), tuple(n for n, r in rows if r != LEADER_ROLE))


def shift_user_ids(s: Session, shift_id: int | None, role: str | None = None) -> set[int]:
    """Accounts of the people rostered (actively) on the shift, optionally in one role."""
    if shift_id is None:
        return set()
    query = (select(User.id).join(RosterEntry, RosterEntry.person_id == User.person_id)
             .where(RosterEntry.shift_id == shift_id, RosterEntry.active.is_(True)))
    if role is not None:
        query = query.where(RosterEntry.role == role)
    return set(s.execute(query).scalars())


# ---------------------------------------------------------------------------------------------
# Gathering.


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= DESCRIPTION_CHARS else text[:DESCRIPTION_CHARS - 1] + "…"


def _next_deadlines(s: Session, ids: list[int]) -> dict[int, tuple[str, datetime]]:
    found: dict[int, tuple[str, datetime]] = {}
    if not ids:
        return found
    rows = s.execute(select(Timer).where(Timer.incident_id.in_(ids), Timer.fired_at.is_(None),
                                         Timer.cancelled_at.is_(None)).order_by(Timer.due_at)).scalars()
    for t in rows:
        due = _when((t.payload or {}).get("deadline")) or t.due_at
        current = found.get(t.incident_id)  # type: ignore[arg-type]
        if current is None or due < current[1]:
            found[t.incident_id] = (t.kind, due)  # type: ignore[index]
    return found


def _incidents(s: Session, policy: HandoverPolicy) -> list[OpenIncident]:
    rows = s.execute(
        select(Incident, User.display_name).outerjoin(User, User.id == Incident.owner_user_id)
        .where(Incident.status.in_(OPEN_STATUSES), Incident.is_drill.is_(False))
        .order_by(Incident.severity, Incident.created_at, Incident.id)
    ).all()
    deadlines = _next_deadlines(s, [i.id for i, _n in rows])
    out = []
    for i, owner in rows:
        kind, due = deadlines.get(i.id, (None, None))
        out.append(OpenIncident(i.id, i.number, i.category, i.severity, i.status, _short(i.description),
                                i.address, i.owner_user_id, owner, kind, due, i.created_at,
                                i.severity <= policy.reacknowledge_severity))
    return out


def _timers(s: Session, now: datetime, until: datetime) -> list[DueTimer]:
    rows = s.execute(
        select(Timer, Incident.number).outerjoin(Incident, Incident.id == Timer.incident_id)
        .where(Timer.fired_at.is_(None), Timer.cancelled_at.is_(None), Timer.is_drill.is_(False),
               Timer.due_at <= until)
        .order_by(Timer.due_at, Timer.id)
    ).all()
    return [DueTimer(t.id, t.kind, number, t.due_at, t.target_role) for t, number in rows]


def _steps(s: Session, now: datetime) -> list[OpenStep]:
    rows = s.execute(
        select(ChecklistItem, Incident.number).join(Incident, Incident.id == ChecklistItem.incident_id)
        .where(ChecklistItem.done_at.is_(None), Incident.status.in_(OPEN_STATUSES),
               Incident.is_drill.is_(False))
        .order_by(Incident.severity, Incident.id, ChecklistItem.position, ChecklistItem.id)
    ).all()
    return [OpenStep(c.id, number, c.text, c.due_at, c.due_at is not None and c.due_at <= now, bool(c.required))
            for c, number in rows]


def _units(s: Session) -> list[UnitOut]:
    rows = s.execute(
        select(Assignment, Incident.number, Unit.name, Person.name)
        .join(Incident, Incident.id == Assignment.incident_id)
        .outerjoin(Unit, Unit.id == Assignment.unit_id).outerjoin(Person, Person.id == Assignment.person_id)
        .where(Assignment.released_at.is_(None), Incident.is_drill.is_(False))
        .order_by(Assignment.assigned_at, Assignment.id)
    ).all()
    return [UnitOut(a.id, number, unit or person or "?", a.status, a.assigned_at, a.arrived_at)
            for a, number, unit, person in rows]


def _notable(s: Session, start: datetime, end: datetime) -> list[NotableEvent]:
    events: list[NotableEvent] = []
    severe = s.execute(select(Incident).where(Incident.is_drill.is_(False), Incident.severity <= 2,
                                              Incident.created_at >= start, Incident.created_at < end)
                       .order_by(Incident.created_at)).scalars()
    for i in severe:
        events.append(NotableEvent("severe", i.created_at, i.number, _short(i.description)))
    fired = s.execute(select(Notification, Incident.number).outerjoin(Incident, Incident.id == Notification.incident_id)
                      .where(Notification.kind == "escalation", Notification.is_drill.is_(False),
                             Notification.at >= start, Notification.at < end)
                      .order_by(Notification.at)).all()
    for n, number in fired:
        events.append(NotableEvent("escalation", n.at, number, n.title))
    done = s.execute(select(Incident).where(
        Incident.is_drill.is_(False), Incident.status.in_(("resolved", "closed")),
        or_(Incident.closed_at.between(start, end), Incident.resolved_at.between(start, end)))
        .order_by(Incident.id)).scalars()
    for i in done:
        events.append(NotableEvent("closed", i.closed_at or i.resolved_at, i.number, _short(i.description)))
    return sorted(events, key=lambda e: (e.at or start, e.kind))


def gather(s: Session, shift: ShiftRow, next_shift: ShiftRow | None, now: datetime,
           policy: HandoverPolicy) -> dict[str, Any]:
    """The situation for handing ``shift`` over to ``next_shift``, as plain JSON."""
    until = next_shift.ends_at if next_shift else now + timedelta(hours=12)
    content = {
        "gathered_at": now,
        "incidents": [asdict(i) for i in _incidents(s, policy)],
        "timers": [asdict(t) for t in _timers(s, now, max(until, now))],
        "steps": [asdict(st) for st in _steps(s, now)],
        "units": [asdict(u) for u in _units(s)],
        "notable": [asdict(e) for e in _notable(s, shift.starts_at, min(shift.ends_at, now))],
        "outgoing": asdict(shift_people(s, shift.id)),
        "incoming": asdict(shift_people(s, next_shift.id if next_shift else None)),
    }
    return to_jsonable(content)  # type: ignore[no-any-return]


def notable_label(kind: str) -> str:
    labels = {"severe": _("Serious incident"), "escalation": _("Escalation"), "closed": _("Case closed")}
    return labels.get(kind, kind)


def shift_or_current(s: Session, shift_id: int | None) -> ShiftRow:
    """The given shift, or the one on duty at the database's time."""
    if shift_id is None:
        now = db_now(s)
        shift_id = s.execute(select(Shift.id).where(Shift.starts_at <= now, Shift.ends_at > now)
                             .order_by(Shift.starts_at.desc()).limit(1)).scalar()
        if shift_id is None:
            raise NotFound(_("No shift is on the roster at this time."))
    shift = shift_row(s, shift_id)
    if shift is None:
        raise NotFound(_("Shift {id} does not exist.").format(id=shift_id))
    return shift
