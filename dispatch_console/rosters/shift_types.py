"""Shift types and the shifts made of them: defining and retiming a type, the shifts of a period."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import RosterEntry, Shift, ShiftType, Timer
from dispatch_console.kernel import changes
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.errors import (
    NotFound,
    ValidationError,
)
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import require
from dispatch_console.kernel.roles import role_label
from dispatch_console.rosters.rows import ROSTER_ROLES, ShiftRow, ShiftTypeRow, describe_shift

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
