"""Shared set-up for the roster tests: the demo's two shift types and a small duty room staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from db.engine import Database
from db.models import Person, PersonRole, User
from dispatch_console import rosters as roster
from dispatch_console.kernel.actor import Actor

SH = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 27)
REQUIRED = {"shift_leader": 1, "duty_officer": 2}

# name, phone, roles
STAFF = [
    ("王强", "13800000001", ("shift_leader",)),
    ("李娜", "13800000002", ("shift_leader", "duty_officer")),
    ("张伟", "13800000003", ("duty_officer",)),
    ("刘洋", "13800000004", ("duty_officer",)),
    ("陈静", "13800000005", ("duty_officer",)),
    ("赵磊", "13800000006", ("duty_officer",)),
    ("周敏", "13900000007", ("duty_officer",)),
    ("周敏", "13900000008", ("duty_officer",)),  # same name, another phone
]


@dataclass
class Room:
    people: dict[str, int]  # name (first of that name) → person id
    by_phone: dict[str, int]

    def __getitem__(self, name: str) -> int:
        return self.people[name]


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=SH)


def duty_room(db: Database, system: Actor) -> Room:
    roster.define_shift_type(db, system, code="day", name="白班", start_time="08:00", length_minutes=720,
                             required_roles=REQUIRED)
    roster.define_shift_type(db, system, code="night", name="夜班", start_time="20:00", length_minutes=720,
                             required_roles=REQUIRED)
    people: dict[str, int] = {}
    by_phone: dict[str, int] = {}
    with db.write() as s:
        for name, phone, roles in STAFF:
            p = Person(name=name, phone=phone, active=True)
            s.add(p)
            s.flush()
            people.setdefault(name, p.id)
            by_phone[phone] = p.id
            for r in roles:
                s.add(PersonRole(person_id=p.id, role=r))
    return Room(people, by_phone)


def link_user(db: Database, actor: Actor, person_id: int) -> None:
    """Make the actor's account that person's (a duty officer swapping their own shift)."""
    with db.write() as s:
        user = s.get(User, actor.user_id)
        assert user is not None
        user.person_id = person_id


def shift_id(db: Database, day: date, code: str) -> int:
    return next(sh.id for sh in roster.shifts(db, day, day) if sh.code == code)


def staff_shift(db: Database, actor: Actor, day: date, code: str, leader: int, *officers: int) -> int:
    sid = shift_id(db, day, code)
    roster.assign(db, actor, sid, leader, "shift_leader")
    for o in officers:
        roster.assign(db, actor, sid, o, "duty_officer")
    return sid
