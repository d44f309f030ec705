"""Who is told: the roster's on-duty shift leader and officers and the directors, at sending time.

Read in the sending transaction with the database clock: the shift running at that moment, its
active (not superseded) entries, and every active person who is a director (by role, or as the
person of a director's account). A person on leave at that moment is left out, as is anyone
without a phone.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from db.models import Leave, Person, PersonRole, RosterEntry, Shift, User
from dispatch_console.channels.base import Audience, Contact


def _on_leave(s: Session, now: datetime) -> set[int]:
    return set(s.execute(select(Leave.person_id).where(
        Leave.cancelled_at.is_(None), Leave.starts_at <= now, Leave.ends_at > now)).scalars())


def on_duty(s: Session, now: datetime) -> Audience:
    away = _on_leave(s, now)
    by_role: dict[str, list[Contact]] = {"shift_leader": [], "duty_officer": [], "director": []}

    def add(role: str, p: Person) -> None:
        if p.id in away or not p.active or not (p.phone or "").strip():
            return
        if all(c.person_id != p.id for c in by_role[role]):
            by_role[role].append(Contact(p.id, p.name, p.phone.strip()))  # type: ignore[union-attr]

    rows = s.execute(
        select(RosterEntry.role, Person)
        .join(Shift, RosterEntry.shift_id == Shift.id).join(Person, RosterEntry.person_id == Person.id)
        .where(Shift.starts_at <= now, Shift.ends_at > now, RosterEntry.active.is_(True),
               RosterEntry.role.in_(("shift_leader", "duty_officer")))
        .order_by(Shift.starts_at, RosterEntry.role, RosterEntry.id)
    ).all()
    for role, person in rows:
        add(role, person)
    directors = s.execute(
        select(Person).where(or_(
            Person.id.in_(select(PersonRole.person_id).where(PersonRole.role == "director")),
            Person.id.in_(select(User.person_id).where(User.role == "director", User.disabled.is_(False),
                                                       User.person_id.is_not(None))),
        )).order_by(Person.id)
    ).scalars()
    for person in directors:
        add("director", person)
    return Audience(now, {role: tuple(found) for role, found in by_role.items()})
