"""A duty room on shift right now, for the channel and call-out tests."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from db.engine import Database, db_now
from db.models import Leave, Person, PersonRole, RosterEntry, Shift, ShiftType, Timer
from dispatch_console.channels import callout
from dispatch_console.timers.engine import fire_due

LEADER, OFFICER, AWAY, DIRECTOR, EARLIER = "13800000001", "13800000003", "13800000004", "13900000009", "13800000002"


def staff_on_duty(db: Database) -> None:
    """A shift running now: leader 王强, officers 张伟 and 刘洋 (on leave now), director 陈主任 (by role),
    and 李娜, leader of the shift before, who is not on duty."""
    with db.write() as s:
        now = db_now(s)
        t = ShiftType(code="t", name="测试班", start_time="00:00", length_minutes=720, timezone="Asia/Shanghai",
                      required_roles={"shift_leader": 1}, active=True)
        s.add(t)
        s.flush()
        current = Shift(shift_type_id=t.id, day="2026-12-03", starts_at=now - timedelta(hours=1),
                        ends_at=now + timedelta(hours=11))
        before = Shift(shift_type_id=t.id, day="2026-12-02", starts_at=now - timedelta(hours=13),
                       ends_at=now - timedelta(hours=1))
        s.add_all([current, before])
        s.flush()
        people = {}
        staff = [("王强", LEADER), ("张伟", OFFICER), ("刘洋", AWAY), ("陈主任", DIRECTOR), ("李娜", EARLIER)]
        for name, phone in staff:
            p = Person(name=name, phone=phone, active=True)
            s.add(p)
            s.flush()
            people[phone] = p.id
        s.add(PersonRole(person_id=people[DIRECTOR], role="director"))
        for shift, phone, role in [(current, LEADER, "shift_leader"), (current, OFFICER, "duty_officer"),
                                   (current, AWAY, "duty_officer"), (before, EARLIER, "shift_leader")]:
            s.add(RosterEntry(shift_id=shift.id, person_id=people[phone], role=role, active=True, created_at=now))
        s.add(Leave(person_id=people[AWAY], starts_at=now - timedelta(hours=2), ends_at=now + timedelta(days=1),
                    reason="病假"))


def start_calls(db: Database, incident_id: int, wait: timedelta = timedelta(minutes=3)) -> int | None:
    with db.write() as s:
        timer = callout.start_callout(s, incident_id=incident_id, reason="Ⅰ级火情 5 分钟未受理", wait=wait)
        return timer.id if timer is not None else None


def wait_passes(db: Database) -> None:
    """The policy's wait is over: the pending call comes due now (no real waiting in tests)."""
    with db.write() as s:
        s.execute(update(Timer).where(Timer.kind == "call", Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))
                  .values(due_at=db_now(s) - timedelta(seconds=1)))


def fire_calls(db: Database) -> list[str]:
    return [f.kind for f in fire_due(db, "值班台1") if f.kind == "call"]
