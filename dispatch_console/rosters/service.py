"""Duty rosters (排班): shifts, who is on them, swaps, conflicts, publication, who is on duty now.

A shift type (白班 08:00 for 12 h, 夜班 20:00 for 12 h …) has a local start time in its timezone
and the roles it needs (``{"shift_leader": 1, "duty_officer": 2}``). A :class:`Shift` is one shift
type on one local day; its UTC start and end are computed in the shift type's timezone, so a night
shift starting 2026-11-27 20:00 ends 2026-11-28 08:00.

A roster entry puts a person in a role on a shift. Nothing is deleted: a swap or an override
marks the old entry inactive (``superseded_by_id``, ``superseded_at``) and adds a new one that
says who made it, when (database clock) and why. Two workstations changing the same entry: the
first wins, the second gets :class:`~dispatch_console.kernel.errors.ConcurrentChange`.

"Now" is always the database's time (:meth:`db.engine.Database.now`).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import Leave, Person, PersonRole, RosterEntry, Shift, ShiftType, Timer, User
from dispatch_console.incidents.queue import UnitRow, list_units
from dispatch_console.jurisdiction import StaffHit, search_staff, tree
from dispatch_console.kernel import changes
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.errors import (
    DispatchError,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import allowed, require
from dispatch_console.kernel.roles import ROSTER_ROLES as STAFFED_ROLES
from dispatch_console.kernel.roles import labels_of, role_label
from dispatch_console.kernel.timefmt import LOCAL_TZ, fmt_local

log = logging.getLogger(__name__)

ROSTER_ROLES: dict[str, str] = labels_of(STAFFED_ROLES)  # the roles a shift is staffed with (kernel/roles.py)
LEADER_ROLE = "shift_leader"
DEFAULT_MIN_REST_HOURS = 8.0
MAX_REASON = 500


# ---------------------------------------------------------------------------------------------
# Plain rows handed to callers.


@dataclass(frozen=True)
class ShiftTypeRow:
    id: int
    code: str
    name: str
    start_time: str
    length_minutes: int
    timezone: str
    required_roles: tuple[tuple[str, int], ...]
    active: bool

    def required(self, role: str) -> int:
        return dict(self.required_roles).get(role, 0)


@dataclass(frozen=True)
class ShiftRow:
    id: int
    shift_type_id: int
    code: str
    name: str
    day: str
    starts_at: datetime
    ends_at: datetime
    published_at: datetime | None
    override_reason: str | None
    version: int


@dataclass(frozen=True)
class EntryRow:
    id: int
    shift_id: int
    role: str
    person_id: int
    person_name: str
    phone: str | None
    active: bool
    created_at: datetime
    created_by: int | None
    created_by_name: str | None
    on_behalf_of: int | None
    on_behalf_of_name: str | None
    reason: str | None
    superseded_by_id: int | None
    superseded_at: datetime | None
    version: int


@dataclass(frozen=True)
class Conflict:
    kind: str  # double_booked | short_rest | missing_leader | short_staffed | on_leave
    shift_id: int
    person_id: int | None
    message: str
    role: str | None = None  # the role short of people (missing_leader, short_staffed)


@dataclass(frozen=True)
class PersonRow:
    id: int
    name: str
    phone: str | None
    roles: tuple[str, ...]


@dataclass(frozen=True)
class RosterPolicy:
    min_rest: timedelta = timedelta(hours=DEFAULT_MIN_REST_HOURS)


class RosterConflicts(DispatchError):
    """Publication refused: the roster has conflicts and no override reason was given."""

    def __init__(self, message: str, conflicts: list[Conflict]) -> None:
        super().__init__(message)
        self.conflicts = conflicts


def load_policy(resources: Resources | None = None) -> RosterPolicy:
    """``policies/roster.toml`` (the site's copy first); the defaults if it has none."""
    res = resources or Resources()
    try:
        data = res.toml("policies/roster.toml")
    except FileNotFoundError:
        return RosterPolicy()
    hours = float(data.get("min_rest_hours", DEFAULT_MIN_REST_HOURS))
    return RosterPolicy(min_rest=timedelta(hours=hours))




# ---------------------------------------------------------------------------------------------
# Shift types and shifts.


def _type_row(t: ShiftType) -> ShiftTypeRow:
    roles = tuple((str(k), int(v)) for k, v in (t.required_roles or {}).items())
    return ShiftTypeRow(t.id, t.code, t.name, t.start_time, t.length_minutes, t.timezone, roles, t.active)


def _shift_row(sh: Shift, t: ShiftType) -> ShiftRow:
    return ShiftRow(sh.id, t.id, t.code, t.name, sh.day, sh.starts_at, sh.ends_at, sh.published_at,
                    sh.override_reason, sh.version)


def shift_bounds(start_time: str, length_minutes: int, timezone: str, day: date) -> tuple[datetime, datetime]:
    """The UTC start and end of a shift starting ``start_time`` local on ``day``."""
    hh, mm = (int(x) for x in start_time.split(":"))
    local_start = datetime.combine(day, time(hh, mm), tzinfo=ZoneInfo(timezone))
    start = local_start.astimezone(UTC)
    return start, start + timedelta(minutes=length_minutes)


def _days(start_day: date, end_day: date) -> list[date]:
    if end_day < start_day:
        raise ValidationError(_("The last day comes before the first day."), "end_day")
    return [start_day + timedelta(days=i) for i in range((end_day - start_day).days + 1)]


SHIFT_TYPE_FIELDS = ("code", "name", "start_time", "length_minutes", "required_roles")
MIN_SHIFT_MINUTES, MAX_SHIFT_MINUTES = 60, 24 * 60
MAX_PER_ROLE = 20
_CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")
_HHMM = re.compile(r"([01]?[0-9]|2[0-3]):[0-5][0-9]")


@dataclass(frozen=True)
class ShiftTypeChange:
    """A shift type as saved, and the coming shifts moved to its new times."""

    shift_type: ShiftTypeRow
    retimed_shift_ids: tuple[int, ...]


def shift_type_problems(*, code: str, name: str, start_time: str, length_minutes: int | None,
                        required_roles: dict[str, int], timezone: str = "Asia/Shanghai",
                        other_codes: tuple[str, ...] = (), other_names: tuple[str, ...] = ()) -> dict[str, str]:
    """What is wrong with these shift type fields, by field (empty when nothing is).

    The editor shows these next to its fields as the leader types; the services refuse the
    first of them. ``other_codes`` / ``other_names``: those of the other shift types (a code
    and a name are unique, letter case aside: the roster import finds a shift type by either).
    """
    found: dict[str, str] = {}
    code, name = code.strip(), name.strip()
    if not _CODE.fullmatch(code):
        found["code"] = _("A code is 1 to 32 letters, digits, - or _ (for example day, night).")
    elif code.casefold() in {c.casefold() for c in other_codes}:
        found["code"] = _("Another shift type has the code {code}.").format(code=code)
    if not name or len(name) > 100 or any(ch in name for ch in "\x00\r\n\t"):
        found["name"] = _("A name is 1 to 100 characters on one line.")
    elif name.casefold() in {n.casefold() for n in other_names}:
        found["name"] = _("Another shift type is called {name}.").format(name=name)
    try:
        ZoneInfo(timezone)
        known_zone = True
    except Exception:
        known_zone = False
    if not _HHMM.fullmatch(start_time.strip()) or not known_zone:
        found["start_time"] = _("A start time is HH:MM, from 00:00 to 23:59.")
    if length_minutes is None or not MIN_SHIFT_MINUTES <= length_minutes <= MAX_SHIFT_MINUTES:
        found["length_minutes"] = _("A shift lasts between 1 and 24 hours.")
    counts = dict(required_roles)
    if any(role not in ROSTER_ROLES for role in counts) or any(
            not isinstance(n, int) or not 0 <= n <= MAX_PER_ROLE for n in counts.values()):
        found["required_roles"] = _("Each post needs 0 to {n} people.").format(n=MAX_PER_ROLE)
    elif not any(counts.values()):
        found["required_roles"] = _("A shift needs at least one person.")
    return found


def _refuse_problems(found: dict[str, str]) -> None:
    for field in SHIFT_TYPE_FIELDS:
        if field in found:
            raise ValidationError(found[field], field)


def _others(s: Session, type_id: int | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    rows = s.execute(select(ShiftType.code, ShiftType.name).where(ShiftType.id != (type_id or 0))).all()
    return tuple(r.code for r in rows), tuple(r.name for r in rows if r.name)


def _retime_coming_shifts(s: Session, actor: Actor, t: ShiftType, now: datetime) -> list[int]:
    """Move the shifts of ``t`` that have not started to its (new) start time and length.

    A shift that has started keeps its times (it is being worked, or history), and so does one
    whose new start would already be past. The people on a moved shift stay on it; conflicts are
    computed from the new times. A pending handover reminder moves with the shift's end.
    """
    moved: list[int] = []
    coming = s.execute(select(Shift).where(Shift.shift_type_id == t.id, Shift.starts_at > now)
                       .order_by(Shift.starts_at)).scalars().all()
    for sh in coming:
        starts, ends = shift_bounds(t.start_time, t.length_minutes, t.timezone, date.fromisoformat(sh.day))
        if starts <= now or (starts, ends) == (sh.starts_at, sh.ends_at):
            continue
        delta = ends - sh.ends_at
        sh.starts_at, sh.ends_at, sh.version = starts, ends, sh.version + 1
        s.flush()
        moved.append(sh.id)
        reminders = s.execute(select(Timer).where(Timer.shift_id == sh.id, Timer.kind == "handover_reminder",
                                                  Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))).scalars()
        for timer in reminders:
            before = {"due_at": timer.due_at}
            timer.due_at = timer.due_at + delta
            timer.payload = {**(timer.payload or {}), "shift": describe_shift(_shift_row(sh, t))}
            s.flush()
            # a timer change: every timer engine re-arms
            changes.record(s, actor, entity="timer", entity_id=timer.id, op="reschedule",
                           action="timer.reschedule", before=before, after={"due_at": timer.due_at}, at=now)
    return moved


def _roles_still_rostered(s: Session, t: ShiftType, roles: dict[str, int], now: datetime) -> None:
    """Refuse to drop a post that people are on in shifts that have not ended."""
    dropped = [r for r, n in (t.required_roles or {}).items() if int(n) > 0 and not roles.get(r)]
    for role in dropped:
        n = len(s.execute(select(RosterEntry.id).join(Shift, RosterEntry.shift_id == Shift.id).where(
            Shift.shift_type_id == t.id, Shift.ends_at > now, RosterEntry.role == role,
            RosterEntry.active.is_(True))).all())
        if n:
            raise ValidationError(_("{n} people are on coming {shift} shifts as {role}: take them off first.")
                                  .format(n=n, shift=t.name, role=role_label(role)), "required_roles")


def _set_type(s: Session, actor: Actor, t: ShiftType | None, *, code: str, name: str, start_time: str,
              length_minutes: int, required_roles: dict[str, int], timezone: str) -> ShiftTypeChange:
    """Add (``t`` None) or change a shift type inside the caller's write transaction."""
    others = _others(s, t.id if t else None)
    _refuse_problems(shift_type_problems(code=code, name=name, start_time=start_time,
                                         length_minutes=length_minutes, required_roles=required_roles,
                                         timezone=timezone, other_codes=others[0], other_names=others[1]))
    roles = {r: int(n) for r, n in required_roles.items() if int(n) > 0}
    now = db_now(s)
    before = changes.row_dict(t) if t else None
    if t is None:
        t = ShiftType(code=code.strip())
        s.add(t)
    else:
        _roles_still_rostered(s, t, roles, now)
    hh, mm = (int(x) for x in start_time.strip().split(":"))
    t.code, t.name, t.start_time, t.length_minutes = code.strip(), name.strip(), f"{hh:02d}:{mm:02d}", length_minutes
    t.timezone, t.required_roles, t.active = timezone, roles, True
    s.flush()
    moved = _retime_coming_shifts(s, actor, t, now) if before is not None else []
    changes.record(s, actor, entity="shift", entity_id=None, op="type", action="shift.define_type",
                   before=before, after={**changes.row_dict(t), "retimed_shift_ids": moved}, at=now)
    return ShiftTypeChange(_type_row(t), tuple(moved))


def define_shift_type(
    db: Database,
    actor: Actor,
    *,
    code: str,
    name: str,
    start_time: str,
    length_minutes: int,
    required_roles: dict[str, int],
    timezone: str = "Asia/Shanghai",
) -> ShiftTypeRow:
    """Add a shift type, or change the one with this code (as :func:`change_shift_type` does)."""
    require(actor, "roster.edit")
    with db.write() as s:
        changes.serialise_writers(s)
        t = s.execute(select(ShiftType).where(ShiftType.code == code.strip())).scalar_one_or_none()
        return _set_type(s, actor, t, code=code, name=name, start_time=start_time, length_minutes=length_minutes,
                         required_roles=required_roles, timezone=timezone).shift_type


def add_shift_type(db: Database, actor: Actor, *, code: str, name: str, start_time: str, length_minutes: int,
                   required_roles: dict[str, int], timezone: str = "Asia/Shanghai") -> ShiftTypeRow:
    """Add a new shift type; a code or name that another shift type has is refused."""
    require(actor, "roster.edit")
    with db.write() as s:
        changes.serialise_writers(s)
        return _set_type(s, actor, None, code=code, name=name, start_time=start_time,
                         length_minutes=length_minutes, required_roles=required_roles, timezone=timezone).shift_type


def change_shift_type(db: Database, actor: Actor, seen: ShiftTypeRow, *, code: str, name: str, start_time: str,
                      length_minutes: int, required_roles: dict[str, int]) -> ShiftTypeChange:
    """Change a shift type as the caller saw it (``seen``); coming shifts move to the new times.

    Shifts that have started keep their times; shifts not started yet (published or not) are
    moved, with the people on them, so that the calendar, the on-duty board and the conflict
    checks all follow the new times. If somebody changed the type since ``seen`` was read,
    :class:`ConcurrentChange` says who and when.
    """
    require(actor, "roster.edit")
    with db.write() as s:
        changes.serialise_writers(s)
        t = s.get(ShiftType, seen.id)
        if t is None:
            raise NotFound(_("Shift type {id} does not exist.").format(id=seen.id))
        if _type_row(t) != seen:
            raise changes.changed_by(*changes.last_action_by(s, "shift.define_type", t.id))
        return _set_type(s, actor, t, code=code, name=name, start_time=start_time, length_minutes=length_minutes,
                         required_roles=required_roles, timezone=t.timezone)


def shift_types(db: Database) -> list[ShiftTypeRow]:
    with db.read() as s:
        rows = s.execute(select(ShiftType).where(ShiftType.active.is_(True)).order_by(ShiftType.start_time))
        return [_type_row(t) for t in rows.scalars()]


def _missing(s: Session, start_day: date, end_day: date) -> list[tuple[ShiftType, str]]:
    types = s.execute(select(ShiftType).where(ShiftType.active.is_(True))).scalars().all()
    days = [d.isoformat() for d in _days(start_day, end_day)]
    have = {(r.shift_type_id, r.day) for r in s.execute(
        select(Shift.shift_type_id, Shift.day).where(Shift.day.in_(days)))}
    return [(t, d) for t in types for d in days if (t.id, d) not in have]


def _ensure_in(s: Session, actor: Actor, start_day: date, end_day: date) -> None:
    now = None
    for t, d in _missing(s, start_day, end_day):
        starts, ends = shift_bounds(t.start_time, t.length_minutes, t.timezone, date.fromisoformat(d))
        sh = Shift(shift_type_id=t.id, day=d, starts_at=starts, ends_at=ends)
        s.add(sh)
        s.flush()
        now = now or db_now(s)
        changes.record(s, actor, entity="shift", entity_id=sh.id, op="create", action="shift.create",
                       after=changes.row_dict(sh), at=now)


def ensure_shifts(db: Database, actor: Actor, start_day: date, end_day: date) -> list[ShiftRow]:
    """Create the missing shifts of every active shift type from ``start_day`` to ``end_day``."""
    require(actor, "roster.edit")
    with db.read() as s:
        missing = bool(_missing(s, start_day, end_day))
    if missing:  # most calls find every shift there: no write transaction for nothing
        with db.write() as s:
            changes.serialise_writers(s)
            _ensure_in(s, actor, start_day, end_day)
    return shifts(db, start_day, end_day)


def _shift_query(start_day: date, end_day: date):  # type: ignore[no-untyped-def]
    return (select(Shift, ShiftType).join(ShiftType, Shift.shift_type_id == ShiftType.id)
            .where(Shift.day >= start_day.isoformat(), Shift.day <= end_day.isoformat())
            .order_by(Shift.starts_at))


def shifts(db: Database, start_day: date, end_day: date) -> list[ShiftRow]:
    with db.read() as s:
        return [_shift_row(sh, t) for sh, t in s.execute(_shift_query(start_day, end_day))]


def _shift_at(s: Session, when: datetime) -> ShiftRow | None:
    row = s.execute(
        select(Shift, ShiftType).join(ShiftType, Shift.shift_type_id == ShiftType.id)
        .where(Shift.starts_at <= when, Shift.ends_at > when)
        .order_by(Shift.starts_at.desc()).limit(1)
    ).first()
    return _shift_row(*row) if row else None


def shift_at(db: Database, when: datetime | None = None) -> ShiftRow | None:
    """The shift running at ``when`` (default: the database's current time)."""
    with db.read() as s:
        return _shift_at(s, when or db_now(s))


# ---------------------------------------------------------------------------------------------
# Roster entries: assign, swap / override, remove.


def _entry_query():  # type: ignore[no-untyped-def]
    behalf = Person.__table__.alias("behalf")
    return (
        select(RosterEntry, Person.name, Person.phone, User.username, behalf.c.name)
        .join(Person, RosterEntry.person_id == Person.id)
        .outerjoin(User, RosterEntry.created_by == User.id)
        .outerjoin(behalf, RosterEntry.on_behalf_of == behalf.c.id)
    )


def _entry_row(e: RosterEntry, name: str, phone: str | None, username: str | None,
               behalf: str | None) -> EntryRow:
    return EntryRow(e.id, e.shift_id, e.role, e.person_id, name, phone, e.active, e.created_at,
                    e.created_by, username, e.on_behalf_of, behalf, e.reason, e.superseded_by_id,
                    e.superseded_at, e.version)


def _load_entry(s: Session, entry_id: int) -> EntryRow:
    row = s.execute(_entry_query().where(RosterEntry.id == entry_id)).first()
    if row is None:
        raise NotFound(_("Roster entry {id} does not exist.").format(id=entry_id))
    return _entry_row(*row)


def roster(db: Database, start_day: date, end_day: date, *,
           include_superseded: bool = False) -> list[EntryRow]:
    """Entries on the shifts of these days (only the active ones unless asked)."""
    with db.read() as s:
        q = (_entry_query().join(Shift, RosterEntry.shift_id == Shift.id)
             .where(Shift.day >= start_day.isoformat(), Shift.day <= end_day.isoformat())
             .order_by(Shift.starts_at, RosterEntry.role, RosterEntry.id))
        if not include_superseded:
            q = q.where(RosterEntry.active.is_(True))
        return [_entry_row(*r) for r in s.execute(q)]


def entry(db: Database, entry_id: int) -> EntryRow:
    with db.read() as s:
        return _load_entry(s, entry_id)


def people(db: Database, role: str | None = None, text: str = "") -> list[PersonRow]:
    """Active people, optionally only those who may serve as ``role``, filtered by name or phone."""
    with db.read() as s:
        q = select(Person).where(Person.active.is_(True)).order_by(Person.name, Person.id)
        if role:
            q = q.where(Person.id.in_(select(PersonRole.person_id).where(PersonRole.role == role)))
        if text.strip():
            like = f"%{text.strip()}%"
            q = q.where(Person.name.ilike(like) | Person.phone.ilike(like))
        found = s.execute(q).scalars().all()
        roles: dict[int, list[str]] = {}
        for pid, r in s.execute(select(PersonRole.person_id, PersonRole.role)
                                .where(PersonRole.person_id.in_([p.id for p in found]))):
            roles.setdefault(pid, []).append(r)
        return [PersonRow(p.id, p.name, p.phone, tuple(sorted(roles.get(p.id, [])))) for p in found]


def _check_reason(reason: str | None, *, needed: bool, limit: int = MAX_REASON) -> str | None:
    reason = (reason or "").strip() or None
    if needed and reason is None:
        raise ValidationError(_("Give a reason."), "reason")
    if reason and len(reason) > limit:
        raise ValidationError(_("A reason has at most {n} characters.").format(n=limit), "reason")
    if reason and "\x00" in reason:
        raise ValidationError(_("A reason may not contain the NUL character."), "reason")
    return reason


def _check_assignable(s: Session, shift: Shift, person_id: int, role: str, *,
                      replacing: int | None) -> Person:
    """Refuse a person who does not exist, may not serve in the role, or is already on the shift."""
    person = s.get(Person, person_id)
    if person is None or not person.active:
        raise ValidationError(_("Unknown person {id}.").format(id=person_id), "person")
    stype = s.get(ShiftType, shift.shift_type_id)
    if stype is None or role not in (stype.required_roles or {}):
        raise ValidationError(_("The shift {shift} has no role {role}.").format(
            shift=stype.name if stype else "?", role=role_label(role)), "role")
    holds = s.execute(select(PersonRole.id).where(PersonRole.person_id == person_id,
                                                  PersonRole.role == role)).first()
    if holds is None:
        raise ValidationError(_("{name} may not serve as {role}.").format(
            name=person.name, role=role_label(role)), "person")
    clash = s.execute(select(RosterEntry.id).where(
        RosterEntry.shift_id == shift.id, RosterEntry.person_id == person_id, RosterEntry.active.is_(True),
        RosterEntry.id != (replacing or 0))).first()
    if clash is not None:
        raise ValidationError(_("{name} is already on the {shift} of {day}.").format(
            name=person.name, shift=stype.name, day=shift.day), "person")
    return person


def add_entry(s: Session, actor: Actor, shift: Shift, person_id: int, role: str, *,
              reason: str | None = None, on_behalf_of: int | None = None,
              replacing: int | None = None, now: datetime | None = None) -> RosterEntry:
    """Add one entry inside the caller's write transaction (also used by the roster import)."""
    _check_assignable(s, shift, person_id, role, replacing=replacing)
    e = RosterEntry(shift_id=shift.id, person_id=person_id, role=role, active=True,
                    created_at=now or db_now(s), created_by=actor.user_id, on_behalf_of=on_behalf_of,
                    reason=reason)
    s.add(e)
    s.flush()
    changes.record(s, actor, entity="roster", entity_id=e.id, op="create", action="roster.assign",
                   after=changes.row_dict(e), at=e.created_at)
    return e


def assign(db: Database, actor: Actor, shift_id: int, person_id: int, role: str,
           reason: str | None = None) -> EntryRow:
    """Put a person in a role on a shift."""
    require(actor, "roster.edit")
    reason = _check_reason(reason, needed=False)
    with db.write() as s:
        changes.serialise_writers(s)
        shift = s.get(Shift, shift_id)
        if shift is None:
            raise NotFound(_("Shift {id} does not exist.").format(id=shift_id))
        e = add_entry(s, actor, shift, person_id, role, reason=reason)
        return _load_entry(s, e.id)


def _actor_person(s: Session, actor: Actor) -> int | None:
    if actor.user_id is None:
        return None
    return s.execute(select(User.person_id).where(User.id == actor.user_id)).scalar_one_or_none()


def swap(db: Database, actor: Actor, entry_id: int, version: int, person_id: int, reason: str, *,
         on_behalf_of: int | None = None) -> EntryRow:
    """Replace the person of an entry (a swap, or a leader's override), keeping the original.

    A duty officer may swap only an entry of their own, or take one over themselves; a shift
    leader (``roster.edit``) may change any entry and say on whose behalf (``on_behalf_of``).
    ``version`` is the entry's version as the caller saw it: if somebody changed the entry since,
    :class:`ConcurrentChange` says who and when.
    """
    require(actor, "roster.swap")
    reason = _check_reason(reason, needed=True)
    with db.write() as s:
        changes.serialise_writers(s)
        old = s.get(RosterEntry, entry_id)
        if old is None:
            raise NotFound(_("Roster entry {id} does not exist.").format(id=entry_id))
        if not allowed(actor, "roster.edit"):
            mine = _actor_person(s, actor)
            if on_behalf_of is not None or mine is None or mine not in (old.person_id, person_id):
                raise PermissionDenied(_("{user} may swap only their own shifts.").format(user=actor.label))
        elif on_behalf_of is not None and s.get(Person, on_behalf_of) is None:
            raise ValidationError(_("Unknown person {id}.").format(id=on_behalf_of), "on_behalf_of")
        before = changes.row_dict(old)
        if old.version == version and not old.active:
            raise ValidationError(_("This entry was already replaced."), "entry")
        if old.person_id == person_id:
            raise ValidationError(_("That person is already on this entry."), "person")
        shift, role = s.get(Shift, old.shift_id), old.role
        assert shift is not None
        now = db_now(s)
        # The version check first, so that the second of two workstations hears "changed by X".
        changes.update_versioned(s, RosterEntry, entry_id, version, {"active": False, "superseded_at": now},
                                 entity="roster")
        new = add_entry(s, actor, shift, person_id, role, reason=reason, on_behalf_of=on_behalf_of,
                        replacing=entry_id, now=now)
        superseded = s.get(RosterEntry, entry_id)
        assert superseded is not None
        superseded.superseded_by_id = new.id
        changes.record(s, actor, entity="roster", entity_id=entry_id, op="supersede",
                       action="roster.override" if on_behalf_of else "roster.swap",
                       before=before, after={"superseded_by_id": new.id, "person_id": person_id,
                                             "on_behalf_of": on_behalf_of, "reason": reason}, at=now)
        return _load_entry(s, new.id)


def remove(db: Database, actor: Actor, entry_id: int, version: int, reason: str) -> EntryRow:
    """Take a person off a shift: the entry becomes inactive (kept, with the reason in the audit)."""
    require(actor, "roster.edit")
    reason = _check_reason(reason, needed=True)
    with db.write() as s:
        changes.serialise_writers(s)
        old = s.get(RosterEntry, entry_id)
        if old is None:
            raise NotFound(_("Roster entry {id} does not exist.").format(id=entry_id))
        before = changes.row_dict(old)
        now = db_now(s)
        changes.update_versioned(s, RosterEntry, entry_id, version, {"active": False, "superseded_at": now},
                                 entity="roster")
        changes.record(s, actor, entity="roster", entity_id=entry_id, op="remove", action="roster.remove",
                       before=before, after={"active": False, "reason": reason}, at=now)
        return _load_entry(s, entry_id)


MAX_LEAVE_REASON = 200  # the leave table's column


@dataclass(frozen=True)
class LeaveRow:
    id: int
    person_id: int
    person_name: str
    starts_at: datetime
    ends_at: datetime
    reason: str | None
    cancelled_at: datetime | None

    @property
    def active(self) -> bool:
        return self.cancelled_at is None


def _leave_row(lv: Leave, name: str) -> LeaveRow:
    return LeaveRow(lv.id, lv.person_id, name, lv.starts_at, lv.ends_at, lv.reason, lv.cancelled_at)


def _local_day_bounds(start_day: date, end_day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(start_day, time(0), tzinfo=LOCAL_TZ).astimezone(UTC)
    end = datetime.combine(end_day + timedelta(days=1), time(0), tzinfo=LOCAL_TZ).astimezone(UTC)
    return start, end


def add_leave(db: Database, actor: Actor, person_id: int, starts_at: datetime, ends_at: datetime,
              reason: str | None = None) -> int:
    """Record a person's leave (it makes their shifts in that time a conflict); returns its id.

    A leave that overlaps another (not cancelled) leave of the same person is refused: the
    second workstation to enter the same sick note hears that it is already there.
    """
    require(actor, "roster.edit")
    if ends_at <= starts_at:
        raise ValidationError(_("A leave ends after it starts."), "ends_at")
    reason = _check_reason(reason, needed=False, limit=MAX_LEAVE_REASON)
    with db.write() as s:
        changes.serialise_writers(s)  # check for an overlap and insert under the writers' lock
        person = s.get(Person, person_id)
        if person is None or not person.active:
            raise ValidationError(_("Unknown person {id}.").format(id=person_id), "person")
        overlap = s.execute(select(Leave).where(Leave.person_id == person_id, Leave.cancelled_at.is_(None),
                                                Leave.starts_at < ends_at, Leave.ends_at > starts_at)
                            .order_by(Leave.starts_at).limit(1)).scalar_one_or_none()
        if overlap is not None:
            raise ValidationError(_("{name} is already on leave from {start} to {end}.").format(
                name=person.name, start=fmt_local(overlap.starts_at, "%Y-%m-%d %H:%M"),
                end=fmt_local(overlap.ends_at, "%Y-%m-%d %H:%M")), "starts_at")
        leave = Leave(person_id=person_id, starts_at=starts_at, ends_at=ends_at, reason=reason)
        s.add(leave)
        s.flush()
        changes.record(s, actor, entity="roster", entity_id=None, op="leave", action="roster.leave",
                       after=changes.row_dict(leave))
        return leave.id


def leaves(db: Database, start_day: date, end_day: date, *, person_id: int | None = None,
           include_cancelled: bool = False) -> list[LeaveRow]:
    """Leave that overlaps these local days (of one person when asked), earliest first."""
    start, end = _local_day_bounds(start_day, end_day)
    with db.read() as s:
        q = (select(Leave, Person.name).join(Person, Leave.person_id == Person.id)
             .where(Leave.starts_at < end, Leave.ends_at > start).order_by(Leave.starts_at, Leave.id))
        if person_id is not None:
            q = q.where(Leave.person_id == person_id)
        if not include_cancelled:
            q = q.where(Leave.cancelled_at.is_(None))
        return [_leave_row(lv, name) for lv, name in s.execute(q)]


def cancel_leave(db: Database, actor: Actor, leave_id: int, reason: str | None = None) -> LeaveRow:
    """Withdraw a leave (kept, marked cancelled): the person's shifts in that time are no longer a conflict.

    The leave table has no version: the first of two workstations cancelling the same leave
    wins (``UPDATE … WHERE cancelled_at IS NULL``), the second gets :class:`ConcurrentChange`
    saying who cancelled it and when. A leave that has already ended stays as it is.
    """
    require(actor, "roster.edit")
    reason = _check_reason(reason, needed=False)
    with db.write() as s:
        changes.serialise_writers(s)
        leave = s.get(Leave, leave_id)
        if leave is None:
            raise NotFound(_("Leave {id} does not exist.").format(id=leave_id))
        person = s.get(Person, leave.person_id)
        name = person.name if person else "?"
        now = db_now(s)
        before = changes.row_dict(leave)
        if leave.cancelled_at is None and leave.ends_at <= now:
            raise ValidationError(_("This leave has already ended; it stays on record."), "leave")
        done = leave.cancelled_at is None and s.execute(
            update(Leave).where(Leave.id == leave_id, Leave.cancelled_at.is_(None)).values(cancelled_at=now)
            .execution_options(synchronize_session=False)).rowcount == 1  # type: ignore[attr-defined]
        if not done:
            raise changes.changed_by(*changes.last_action_by(s, "roster.leave_cancel", leave_id))
        s.expire_all()
        changes.record(s, actor, entity="roster", entity_id=None, op="leave_cancel", action="roster.leave_cancel",
                       before=before, after={"id": leave_id, "person_id": before["person_id"],
                                             "cancelled_at": now, "reason": reason}, at=now)
        cancelled = s.get(Leave, leave_id)
        assert cancelled is not None
        return _leave_row(cancelled, name)


# ---------------------------------------------------------------------------------------------
# Conflicts and publication.


def _conflicts_in(s: Session, start_day: date, end_day: date, policy: RosterPolicy) -> list[Conflict]:
    # Neighbouring days too: a night shift before the first day can leave too little rest.
    margin = timedelta(days=2)
    rows = s.execute(_shift_query(start_day - margin, end_day + margin)).all()
    first, last = start_day.isoformat(), end_day.isoformat()
    shifts_by_id = {sh.id: (sh, t) for sh, t in rows}
    in_range = {sid for sid, (sh, _t) in shifts_by_id.items() if first <= sh.day <= last}
    entries = s.execute(
        select(RosterEntry.shift_id, RosterEntry.person_id, RosterEntry.role, Person.name)
        .join(Person, RosterEntry.person_id == Person.id)
        .where(RosterEntry.active.is_(True), RosterEntry.shift_id.in_(list(shifts_by_id)))
    ).all()
    found: list[Conflict] = []

    def label(sid: int) -> str:
        sh, t = shifts_by_id[sid]
        return f"{sh.day} {t.name}"

    for sid in sorted(in_range, key=lambda i: shifts_by_id[i][0].starts_at):
        sh, t = shifts_by_id[sid]
        counts: dict[str, int] = {}
        for e in entries:
            if e.shift_id == sid:
                counts[e.role] = counts.get(e.role, 0) + 1
        for role, needed in (t.required_roles or {}).items():
            have = counts.get(role, 0)
            if have >= int(needed):
                continue
            kind = "missing_leader" if role == LEADER_ROLE else "short_staffed"
            msg = (_("{shift} has no shift leader.").format(shift=label(sid)) if kind == "missing_leader"
                   else _("{shift} needs {needed} × {role}, has {have}.").format(
                       shift=label(sid), needed=needed, role=role_label(role), have=have))
            found.append(Conflict(kind, sid, None, msg, role))

    by_person: dict[int, list[tuple[Shift, str]]] = {}
    for e in entries:
        by_person.setdefault(e.person_id, []).append((shifts_by_id[e.shift_id][0], e.name))
    for pid, items in by_person.items():
        items.sort(key=lambda it: it[0].starts_at)
        name = items[0][1]
        for i, (a, _n) in enumerate(items):
            for b, _m in items[i + 1:]:
                if b.starts_at >= a.ends_at + policy.min_rest:
                    break
                if b.id not in in_range and a.id not in in_range:
                    continue
                target = b.id if b.id in in_range else a.id
                if b.starts_at < a.ends_at:
                    found.append(Conflict("double_booked", target, pid, _(
                        "{name} is on two overlapping shifts: {a} and {b}.").format(
                        name=name, a=label(a.id), b=label(b.id))))
                else:
                    rest = (b.starts_at - a.ends_at).total_seconds() / 3600
                    found.append(Conflict("short_rest", target, pid, _(
                        "{name} rests only {hours:g} h between {a} and {b} (at least {min:g} h).").format(
                        name=name, hours=round(rest, 1), a=label(a.id), b=label(b.id),
                        min=policy.min_rest.total_seconds() / 3600)))

    if by_person:
        leaves = s.execute(select(Leave).where(Leave.person_id.in_(list(by_person)),
                                               Leave.cancelled_at.is_(None))).scalars().all()
        for lv in leaves:
            for sh, name in by_person[lv.person_id]:
                if sh.id in in_range and lv.starts_at < sh.ends_at and lv.ends_at > sh.starts_at:
                    found.append(Conflict("on_leave", sh.id, lv.person_id, _(
                        "{name} is on leave during {shift}.").format(name=name, shift=label(sh.id))))
    return found


def conflicts(db: Database, start_day: date, end_day: date, *,
              resources: Resources | None = None) -> list[Conflict]:
    """Everything wrong with the roster of these days (shifts that do not exist yet are not checked)."""
    policy = load_policy(resources)
    with db.read() as s:
        return _conflicts_in(s, start_day, end_day, policy)


@dataclass(frozen=True)
class RosterPeriod:
    """Everything the roster calendar shows for a run of days, read in one transaction."""

    start_day: date
    end_day: date
    types: tuple[ShiftTypeRow, ...]
    shifts: tuple[ShiftRow, ...]
    entries: tuple[EntryRow, ...]
    conflicts: tuple[Conflict, ...]


def period(db: Database, start_day: date, end_day: date, *,
           resources: Resources | None = None) -> RosterPeriod:
    policy = load_policy(resources)
    with db.read() as s:
        types = s.execute(select(ShiftType).where(ShiftType.active.is_(True)).order_by(ShiftType.start_time))
        type_rows = tuple(_type_row(t) for t in types.scalars())
        shift_rows = tuple(_shift_row(sh, t) for sh, t in s.execute(_shift_query(start_day, end_day)))
        q = (_entry_query().join(Shift, RosterEntry.shift_id == Shift.id)
             .where(Shift.day >= start_day.isoformat(), Shift.day <= end_day.isoformat(),
                    RosterEntry.active.is_(True))
             .order_by(Shift.starts_at, RosterEntry.role, RosterEntry.id))
        entries = tuple(_entry_row(*r) for r in s.execute(q))
        return RosterPeriod(start_day, end_day, type_rows, shift_rows, entries,
                            tuple(_conflicts_in(s, start_day, end_day, policy)))


@dataclass(frozen=True)
class Publication:
    shift_ids: tuple[int, ...]
    published_at: datetime
    conflicts: tuple[Conflict, ...]
    override_reason: str | None


def publish(db: Database, actor: Actor, start_day: date, end_day: date,
            override_reason: str | None = None, *, resources: Resources | None = None) -> Publication:
    """Publish the roster of these days; refused while it has conflicts, unless overridden.

    An override needs ``roster.override`` and a reason; the reason is stored on every shift
    published and in the audit row, with the conflicts it overrode.
    """
    require(actor, "roster.publish")
    override_reason = _check_reason(override_reason, needed=False)
    if override_reason:
        require(actor, "roster.override")
    policy = load_policy(resources)
    with db.write() as s:
        changes.serialise_writers(s)
        _ensure_in(s, actor, start_day, end_day)
        found = _conflicts_in(s, start_day, end_day, policy)
        if found and not override_reason:
            raise RosterConflicts(_("The roster has {n} conflicts: resolve them or give an override reason.")
                                  .format(n=len(found)), found)
        now = db_now(s)
        published = s.execute(select(Shift).where(Shift.day >= start_day.isoformat(),
                                                  Shift.day <= end_day.isoformat())
                              .order_by(Shift.starts_at)).scalars().all()
        reason = override_reason if found else None
        for sh in published:
            before = {"published_at": sh.published_at, "override_reason": sh.override_reason}
            sh.published_at, sh.published_by, sh.override_reason = now, actor.user_id, reason
            sh.version += 1
            mine = [c for c in found if c.shift_id == sh.id]
            changes.record(s, actor, entity="shift", entity_id=sh.id, op="publish",
                           action="roster.publish_override" if reason else "roster.publish", before=before,
                           after={"published_at": now, "override_reason": reason,
                                  "conflicts": [c.message for c in mine]}, at=now)
        return Publication(tuple(sh.id for sh in published), now, tuple(found), reason)


# ---------------------------------------------------------------------------------------------
# Who is on duty now.


@dataclass(frozen=True)
class OnDutyPerson:
    entry_id: int
    person_id: int
    name: str
    phone: str | None
    role: str


@dataclass(frozen=True)
class ShiftOnDuty:
    shift: ShiftRow
    people: tuple[OnDutyPerson, ...]

    @property
    def leaders(self) -> tuple[OnDutyPerson, ...]:
        return tuple(p for p in self.people if p.role == LEADER_ROLE)

    @property
    def officers(self) -> tuple[OnDutyPerson, ...]:
        return tuple(p for p in self.people if p.role != LEADER_ROLE)


@dataclass(frozen=True)
class OnDuty:
    at: datetime
    current: ShiftOnDuty | None
    next: ShiftOnDuty | None


def _with_people(s: Session, shift: ShiftRow) -> ShiftOnDuty:
    rows = s.execute(
        select(RosterEntry.id, RosterEntry.person_id, Person.name, Person.phone, RosterEntry.role)
        .join(Person, RosterEntry.person_id == Person.id)
        .where(RosterEntry.shift_id == shift.id, RosterEntry.active.is_(True))
        .order_by(RosterEntry.role.desc(), RosterEntry.id)  # shift_leader before duty_officer
    ).all()
    return ShiftOnDuty(shift, tuple(OnDutyPerson(*r) for r in rows))


def now_on_duty(db: Database, when: datetime | None = None) -> OnDuty:
    """The shift at the database's current time with its people, and the next shift."""
    with db.read() as s:
        at = when or db_now(s)
        current = _shift_at(s, at)
        after = current.ends_at if current else at
        nxt = s.execute(
            select(Shift, ShiftType).join(ShiftType, Shift.shift_type_id == ShiftType.id)
            .where(Shift.starts_at >= after).order_by(Shift.starts_at).limit(1)
        ).first()
        return OnDuty(at, _with_people(s, current) if current else None,
                      _with_people(s, _shift_row(*nxt)) if nxt else None)


def describe_shift(shift: ShiftRow) -> str:
    """``2026-11-27 夜班 20:00–08:00`` in local time."""
    hours = f"{fmt_local(shift.starts_at, '%H:%M')}–{fmt_local(shift.ends_at, '%H:%M')}"
    return f"{shift.day} {shift.name} {hours}"


# ---------------------------------------------------------------------------------------------
# The on-duty board's other lists: units and forces, grid staff.

def units_board(db: Database) -> list[UnitRow]:
    """Every unit and force with its status, whom to call and the incident it is on (if any).

    The incident service owns units (status changes: ``incident_units.set_unit_status``); the
    board shows its list rather than a second copy of it.
    """
    return list_units(db)


def grid_staff_directory(db: Database, text: str = "") -> list[StaffHit]:
    """一格三员 of every grid, or those whose grid, name or phone contains ``text``."""
    if text.strip():
        return search_staff(db, text)
    return [StaffHit(g.id, g.code, g.name, c.name if c.id is not None else None, st.role, st.name, st.phone)
            for c in tree(db) for g in c.grids for st in g.staff]
