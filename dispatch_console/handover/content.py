"""What a handover record holds: the handover policy and the situation gathered at drafting.

:func:`gather` reads, inside the caller's session and at the database time, every open incident
with its status, owner and next deadline; the timers coming due in the next shift; unticked
checklist steps; units still out; the shift's notable events; the calls of the leader call-out made
in the shift and how each went (接通/未接/占线/关机); the people of both shifts. DRILL
records never appear (``is_drill`` false only). The result is plain JSON (the record's
``content``, hashed when signed); :class:`Situation` reads it back as frozen rows.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
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
from dispatch_console.cases.reads import due_before as cases_due_before
from dispatch_console.channels.callout import call_log
from dispatch_console.kernel.categories import OPEN_STATUSES
from dispatch_console.kernel.changes import to_jsonable
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.errors import NotFound
from dispatch_console.kernel.i18n import _, language
from dispatch_console.kernel.policies import policy_duration
from dispatch_console.kernel.text import summary
from dispatch_console.rosters import LEADER_ROLE, ShiftRow

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
class CaseDue:
    """A case's follow-up visit or petition deadline due by the end of the next shift (or overdue)."""

    case_number: str
    title: str
    what: str
    due_at: datetime | None
    who: str | None


@dataclass(frozen=True)
class CallMade:
    """One call of the leader call-out (电话调度) during the shift, and how it went."""

    at: datetime | None
    incident_number: str | None
    name: str
    phone: str
    role: str
    position: int       # 1-based place in the chain
    chain_length: int
    outcome: str | None  # answered | no_answer | busy | off; None: not recorded yet
    recorded_by: str | None
    recorded_at: datetime | None


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
    cases: tuple[CaseDue, ...] = ()   # records drafted before the cases room have none
    calls: tuple[CallMade, ...] = ()  # nor before the call log came into the record

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
            cases=tuple(_from_dict(CaseDue, d) for d in content.get("cases", [])),
            calls=tuple(_from_dict(CallMade, d) for d in content.get("calls", [])),
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
    return summary(text, DESCRIPTION_CHARS)


def _next_deadlines(s: Session, ids: list[int]) -> dict[int, tuple[str, datetime]]:
    found: dict[int, tuple[str, datetime]] = {}
    if not ids:
        return found
    rows = s.execute(select(Timer.incident_id, Timer.kind, Timer.due_at, Timer.payload)
                     .where(Timer.incident_id.in_(ids), Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))
                     .order_by(Timer.due_at))
    for incident_id, kind, due_at, payload in rows:
        due = _when((payload or {}).get("deadline")) or due_at
        current = found.get(incident_id)
        if current is None or due < current[1]:
            found[incident_id] = (kind, due)
    return found


# The situation is read as plain columns, never as ORM objects: with 5,000 open incidents and
# their 12,800 unticked steps, whole objects were loaded only to copy a few fields from each
# (every console's handover panel gathers it at start: peak 29 -> 22 MB; with the rows turned into
# JSON field by field, 1.23 -> 0.66 s).


def _incidents(s: Session, policy: HandoverPolicy) -> list[OpenIncident]:
    rows = s.execute(
        select(Incident.id, Incident.number, Incident.category, Incident.severity, Incident.status,
               Incident.description, Incident.address, Incident.owner_user_id, User.display_name,
               Incident.created_at)
        .outerjoin(User, User.id == Incident.owner_user_id)
        .where(Incident.status.in_(OPEN_STATUSES), Incident.is_drill.is_(False))
        .order_by(Incident.severity, Incident.created_at, Incident.id)
    ).all()
    deadlines = _next_deadlines(s, [r.id for r in rows])
    out = []
    for (incident_id, number, category, severity, status, description, address, owner_id, owner,
         created_at) in rows:
        kind, due = deadlines.get(incident_id, (None, None))
        out.append(OpenIncident(incident_id, number, category, severity, status, _short(description),
                                address, owner_id, owner, kind, due, created_at,
                                severity <= policy.reacknowledge_severity))
    return out


def _timers(s: Session, now: datetime, until: datetime) -> list[DueTimer]:
    rows = s.execute(
        select(Timer.id, Timer.kind, Incident.number, Timer.due_at, Timer.target_role)
        .outerjoin(Incident, Incident.id == Timer.incident_id)
        .where(Timer.fired_at.is_(None), Timer.cancelled_at.is_(None), Timer.is_drill.is_(False),
               Timer.due_at <= until, Timer.case_id.is_(None))  # the cases' own section says what is due
        .order_by(Timer.due_at, Timer.id)
    )
    return [DueTimer(*row) for row in rows]


def _cases(s: Session, until: datetime) -> list[CaseDue]:
    return [CaseDue(d.number, _short(d.title), d.what, d.due_at, d.who) for d in cases_due_before(s, until)]


def _steps(s: Session, now: datetime) -> list[OpenStep]:
    rows = s.execute(
        select(ChecklistItem.id, Incident.number, ChecklistItem.text, ChecklistItem.due_at, ChecklistItem.required)
        .join(Incident, Incident.id == ChecklistItem.incident_id)
        .where(ChecklistItem.done_at.is_(None), Incident.status.in_(OPEN_STATUSES),
               Incident.is_drill.is_(False))
        .order_by(Incident.severity, Incident.id, ChecklistItem.position, ChecklistItem.id)
    )
    return [OpenStep(item_id, number, text, due_at, due_at is not None and due_at <= now, bool(required))
            for item_id, number, text, due_at, required in rows]


def _units(s: Session) -> list[UnitOut]:
    rows = s.execute(
        select(Assignment.id, Incident.number, Unit.name, Person.name, Assignment.status, Assignment.assigned_at,
               Assignment.arrived_at)
        .join(Incident, Incident.id == Assignment.incident_id)
        .outerjoin(Unit, Unit.id == Assignment.unit_id).outerjoin(Person, Person.id == Assignment.person_id)
        .where(Assignment.released_at.is_(None), Incident.is_drill.is_(False))
        .order_by(Assignment.assigned_at, Assignment.id)
    )
    return [UnitOut(assignment_id, number, unit or person or "?", status, assigned_at, arrived_at)
            for assignment_id, number, unit, person, status, assigned_at, arrived_at in rows]


def _notable(s: Session, start: datetime, end: datetime) -> list[NotableEvent]:
    events: list[NotableEvent] = []
    severe = s.execute(select(Incident.created_at, Incident.number, Incident.description)
                       .where(Incident.is_drill.is_(False), Incident.severity <= 2,
                              Incident.created_at >= start, Incident.created_at < end)
                       .order_by(Incident.created_at))
    for created_at, number, description in severe:
        events.append(NotableEvent("severe", created_at, number, _short(description)))
    fired = s.execute(select(Notification, Incident.number).outerjoin(Incident, Incident.id == Notification.incident_id)
                      .where(Notification.kind == "escalation", Notification.is_drill.is_(False),
                             Notification.at >= start, Notification.at < end)
                      .order_by(Notification.at)).all()
    for n, number in fired:
        events.append(NotableEvent("escalation", n.at, number, n.title))
    done = s.execute(select(Incident.closed_at, Incident.resolved_at, Incident.number, Incident.description).where(
        Incident.is_drill.is_(False), Incident.status.in_(("resolved", "closed")),
        or_(Incident.closed_at.between(start, end), Incident.resolved_at.between(start, end)))
        .order_by(Incident.id))
    for closed_at, resolved_at, number, description in done:
        events.append(NotableEvent("closed", closed_at or resolved_at, number, _short(description)))
    return sorted(events, key=lambda e: (e.at or start, e.kind))


def _calls(s: Session, start: datetime, end: datetime) -> list[CallMade]:
    return [CallMade(t.at, t.incident_number, t.name, t.phone, t.role, t.position + 1, t.chain_length, t.outcome,
                     t.recorded_by, t.recorded_at) for t in call_log(s, start, end)]


def gather(s: Session, shift: ShiftRow, next_shift: ShiftRow | None, now: datetime,
           policy: HandoverPolicy) -> dict[str, Any]:
    """The situation for handing ``shift`` over to ``next_shift``, as plain JSON."""
    until = next_shift.ends_at if next_shift else now + timedelta(hours=12)
    content = {
        "gathered_at": now,
        "incidents": _incidents(s, policy),
        "timers": _timers(s, now, max(until, now)),
        "steps": _steps(s, now),
        "units": _units(s),
        "cases": _cases(s, max(until, now)),
        "notable": _notable(s, shift.starts_at, min(shift.ends_at, now)),
        "calls": _calls(s, shift.starts_at, min(shift.ends_at, now)),
        "outgoing": shift_people(s, shift.id),
        "incoming": shift_people(s, next_shift.id if next_shift else None),
    }
    return to_jsonable(content)  # type: ignore[no-any-return]  # the rows become dicts there


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
