"""Roster entries: reading the roster, assigning a person to a shift, swaps and overrides, removal."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import Person, PersonRole, RosterEntry, Shift, ShiftType, User
from dispatch_console.kernel import changes
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.errors import (
    NotFound,
    PermissionDenied,
    ValidationError,
)
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import allowed, require
from dispatch_console.kernel.roles import role_label
from dispatch_console.rosters.rows import MAX_REASON, EntryRow, PersonRow

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
