"""Conflicts in a period and publishing it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import Leave, Person, RosterEntry, Shift, ShiftType
from dispatch_console.kernel import changes
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import require
from dispatch_console.kernel.roles import role_label
from dispatch_console.rosters.entries import _check_reason, _entry_query, _entry_row
from dispatch_console.rosters.rows import (
    LEADER_ROLE,
    Conflict,
    EntryRow,
    RosterConflicts,
    RosterPolicy,
    ShiftRow,
    ShiftTypeRow,
    load_policy,
)
from dispatch_console.rosters.shift_types import _ensure_in, _shift_query, _shift_row, _type_row

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
