"""Who is on duty now, and the on-duty board's other lists: units and forces, grid staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import Person, RosterEntry, Shift, ShiftType
from dispatch_console.incidents.queue import UnitRow, list_units
from dispatch_console.rosters.rows import LEADER_ROLE, ShiftRow
from dispatch_console.rosters.shift_types import _shift_at, _shift_row

if TYPE_CHECKING:
    from dispatch_console.jurisdiction import StaffHit

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
    # here, not at the top: the jurisdiction loads shapely and numpy, which a command reaching the
    # rosters through the handover follow-up (a one-line intake) does not need
    from dispatch_console.jurisdiction import StaffHit, search_staff, tree

    if text.strip():
        return search_staff(db, text)
    return [StaffHit(g.id, g.code, g.name, c.name if c.id is not None else None, st.role, st.name, st.phone)
            for c in tree(db) for g in c.grids for st in g.staff]
