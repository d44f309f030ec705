"""Taking people off shifts, withdrawing leave and editing shift types, on both backends.

Days are counted from the database's today: a leave or a shift "in the future" must stay so
whenever the suite runs.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from support.roster_fixtures import REQUIRED, duty_room, local, shift_id, staff_shift

from db.engine import Database
from db.models import AuditLog, Leave, Timer
from dispatch_console import rosters as roster
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.errors import ConcurrentChange, NotFound, PermissionDenied, ValidationError
from dispatch_console.kernel.timefmt import local as to_local
from dispatch_console.timers import engine as timers


@pytest.fixture
def today(db: Database) -> date:
    return to_local(db.now()).date()


@pytest.fixture
def soon(today: date) -> date:
    """A day whose shifts have not started yet."""
    return today + timedelta(days=3)


@pytest.fixture
def room(db: Database, system: Actor, today: date, soon: date):  # type: ignore[no-untyped-def]
    r = duty_room(db, system)
    roster.ensure_shifts(db, system, today - timedelta(days=2), soon + timedelta(days=1))
    return r



def _audit(db: Database, action: str) -> list[AuditLog]:
    with db.read() as s:
        return list(s.execute(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)).scalars())


def _kinds(db: Database, day: date) -> set[tuple[str, int | None]]:
    return {(c.kind, c.person_id) for c in roster.conflicts(db, day, day)}


# -- taking a person off a shift ------------------------------------------------------------------


def test_leader_takes_a_person_off_a_shift_with_a_reason(db, room, leader, soon) -> None:
    staff_shift(db, leader, soon, "day", room["王强"], room["张伟"], room["刘洋"])
    seen = next(e for e in roster.roster(db, soon, soon) if e.person_name == "张伟")
    with pytest.raises(ValidationError, match="reason"):
        roster.remove(db, leader, seen.id, seen.version, "  ")
    gone = roster.remove(db, leader, seen.id, seen.version, "调往防汛值守")
    assert not gone.active and gone.version == seen.version + 1 and gone.superseded_at is not None
    assert {e.person_name for e in roster.roster(db, soon, soon)} == {"王强", "刘洋"}
    assert "张伟" in {e.person_name for e in roster.roster(db, soon, soon, include_superseded=True)}
    [audit] = _audit(db, "roster.remove")
    assert audit.entity_id == seen.id and audit.after["reason"] == "调往防汛值守" and audit.username == "leader-wang"
    assert ("short_staffed", None) in _kinds(db, soon)


def test_duty_officer_may_not_take_anyone_off(db, room, leader, make_actor, soon) -> None:
    staff_shift(db, leader, soon, "day", room["王强"], room["张伟"])
    seen = next(e for e in roster.roster(db, soon, soon) if e.person_name == "张伟")
    with pytest.raises(PermissionDenied):
        roster.remove(db, make_actor("duty_officer"), seen.id, seen.version, "我不想上班")
    assert roster.entry(db, seen.id).active


def test_second_workstation_taking_the_same_person_off_is_told_who_won(db, room, leader, make_actor,
                                                                        soon) -> None:
    other = make_actor("shift_leader", "leader-li", station="ws-2")
    staff_shift(db, leader, soon, "day", room["王强"], room["张伟"])
    seen = next(e for e in roster.roster(db, soon, soon) if e.person_name == "张伟")
    ws2 = Database(db.url)
    try:
        roster.remove(db, leader, seen.id, seen.version, "first")
        with pytest.raises(ConcurrentChange) as info:
            roster.remove(ws2, other, seen.id, seen.version, "second")
    finally:
        ws2.dispose()
    assert "leader-wang@ws-1" in str(info.value)
    assert len(_audit(db, "roster.remove")) == 1


# -- leave ------------------------------------------------------------------------------------------


def test_leave_is_listed_for_the_days_it_touches_and_withdrawn_with_the_conflict(db, room, leader,
                                                                                 soon) -> None:
    sid = shift_id(db, soon, "night")
    roster.assign(db, leader, sid, room["赵磊"], "duty_officer")
    leave_id = roster.add_leave(db, leader, room["赵磊"], local(soon, 22), local(soon + timedelta(days=1), 12),
                                "年假")
    assert ("on_leave", room["赵磊"]) in _kinds(db, soon)
    [row] = roster.leaves(db, soon, soon, person_id=room["赵磊"])
    assert (row.id, row.person_name, row.reason, row.active) == (leave_id, "赵磊", "年假", True)
    assert [lv.id for lv in roster.leaves(db, soon + timedelta(days=1), soon + timedelta(days=1))] == [leave_id]
    assert roster.leaves(db, soon - timedelta(days=1), soon - timedelta(days=1)) == []
    assert roster.leaves(db, soon, soon, person_id=room["张伟"]) == []

    cancelled = roster.cancel_leave(db, leader, leave_id, "假期取消，照常上班")
    assert cancelled.cancelled_at is not None and not cancelled.active
    assert ("on_leave", room["赵磊"]) not in _kinds(db, soon)  # the conflict check sees the withdrawal
    assert roster.leaves(db, soon, soon) == []
    assert [lv.id for lv in roster.leaves(db, soon, soon, include_cancelled=True)] == [leave_id]
    [audit] = _audit(db, "roster.leave_cancel")
    assert audit.entity == "roster" and audit.username == "leader-wang"
    assert audit.after["id"] == leave_id and audit.after["reason"] == "假期取消，照常上班"
    assert audit.before["cancelled_at"] is None
    with db.read() as s:
        assert s.get(Leave, leave_id) is not None  # kept, marked cancelled


def test_overlapping_leave_of_the_same_person_is_refused_until_the_first_is_withdrawn(db, room, leader,
                                                                                      soon) -> None:
    first = roster.add_leave(db, leader, room["张伟"], local(soon, 0), local(soon, 23), "病假")
    with pytest.raises(ValidationError, match="already on leave") as info:
        roster.add_leave(db, leader, room["张伟"], local(soon, 12), local(soon + timedelta(days=1), 12))
    assert info.value.field == "starts_at"
    roster.add_leave(db, leader, room["刘洋"], local(soon, 12), local(soon, 20))  # someone else: fine
    roster.add_leave(db, leader, room["张伟"], local(soon, 23), local(soon, 23, 30))  # touching: fine
    roster.cancel_leave(db, leader, first)
    roster.add_leave(db, leader, room["张伟"], local(soon, 12), local(soon, 22), "改为半天")
    assert [lv.reason for lv in roster.leaves(db, soon, soon, person_id=room["张伟"])] == ["改为半天", None]


def test_leave_reason_longer_than_its_column_is_refused(db, room, leader, soon) -> None:
    with pytest.raises(ValidationError, match="200") as info:
        roster.add_leave(db, leader, room["张伟"], local(soon, 8), local(soon, 20), "长" * 201)
    assert info.value.field == "reason"


def test_duty_officer_may_not_withdraw_leave(db, room, leader, make_actor, soon) -> None:
    leave_id = roster.add_leave(db, leader, room["张伟"], local(soon, 8), local(soon, 20))
    with pytest.raises(PermissionDenied):
        roster.cancel_leave(db, make_actor("duty_officer"), leave_id)
    assert roster.leaves(db, soon, soon)[0].active
    assert _audit(db, "roster.leave_cancel") == []


def test_leave_that_has_ended_or_does_not_exist_cannot_be_withdrawn(db, room, leader, today) -> None:
    past = today - timedelta(days=2)
    leave_id = roster.add_leave(db, leader, room["张伟"], local(past, 8), local(past, 20))
    with pytest.raises(ValidationError, match="already ended"):
        roster.cancel_leave(db, leader, leave_id)
    with pytest.raises(NotFound):
        roster.cancel_leave(db, leader, leave_id + 1000)


def test_second_workstation_withdrawing_the_same_leave_is_told_who_did(db, room, leader, make_actor,
                                                                       soon) -> None:
    other = make_actor("shift_leader", "leader-li", station="ws-2")
    leave_id = roster.add_leave(db, leader, room["张伟"], local(soon, 8), local(soon, 20))
    ws2 = Database(db.url)
    try:
        roster.cancel_leave(db, leader, leave_id, "first")
        with pytest.raises(ConcurrentChange) as info:
            roster.cancel_leave(ws2, other, leave_id, "second")
    finally:
        ws2.dispose()
    assert "leader-wang@ws-1" in str(info.value) and info.value.by == "leader-wang@ws-1"
    assert [a.after["reason"] for a in _audit(db, "roster.leave_cancel")] == ["first"]


def test_simultaneous_withdrawals_from_two_connections_one_wins(db, room, leader, make_actor, soon) -> None:
    other = make_actor("shift_leader", "leader-li", station="ws-2")
    leave_id = roster.add_leave(db, leader, room["张伟"], local(soon, 8), local(soon, 20))
    ws2 = Database(db.url)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def attempt(database: Database, actor: Actor) -> None:
        barrier.wait()
        try:
            outcomes.append(roster.cancel_leave(database, actor, leave_id, actor.username))
        except ConcurrentChange as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=attempt, args=(db, leader)),
               threading.Thread(target=attempt, args=(ws2, other))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        ws2.dispose()
    assert sum(isinstance(o, roster.LeaveRow) for o in outcomes) == 1
    assert sum(isinstance(o, ConcurrentChange) for o in outcomes) == 1
    assert len(_audit(db, "roster.leave_cancel")) == 1


# -- shift types ------------------------------------------------------------------------------------


def test_shift_type_fields_are_checked_field_by_field() -> None:
    ok = dict(code="evening", name="晚班", start_time="16:00", length_minutes=480,
              required_roles={"duty_officer": 1})
    assert roster.shift_type_problems(**ok) == {}
    assert roster.shift_type_problems(**{**ok, "start_time": "8:30"}) == {}
    assert set(roster.shift_type_problems(**{**ok, "start_time": "24:00"})) == {"start_time"}
    assert set(roster.shift_type_problems(**{**ok, "start_time": "0800"})) == {"start_time"}
    assert set(roster.shift_type_problems(**{**ok, "length_minutes": 59})) == {"length_minutes"}
    assert roster.shift_type_problems(**{**ok, "length_minutes": 24 * 60}) == {}
    assert set(roster.shift_type_problems(**{**ok, "length_minutes": 24 * 60 + 1})) == {"length_minutes"}
    assert set(roster.shift_type_problems(**{**ok, "length_minutes": None})) == {"length_minutes"}
    assert set(roster.shift_type_problems(**{**ok, "code": "晚 班"})) == {"code"}
    assert set(roster.shift_type_problems(**{**ok, "code": ""})) == {"code"}
    assert set(roster.shift_type_problems(**ok, other_codes=("Evening",))) == {"code"}
    assert set(roster.shift_type_problems(**ok, other_names=("晚班",))) == {"name"}
    assert set(roster.shift_type_problems(**{**ok, "name": "晚\n班"})) == {"name"}
    assert set(roster.shift_type_problems(**{**ok, "required_roles": {"duty_officer": 0}})) == {"required_roles"}
    assert set(roster.shift_type_problems(**{**ok, "required_roles": {"driver": 1}})) == {"required_roles"}


def test_adding_a_shift_type_refuses_a_code_or_name_in_use(db, room, leader, soon) -> None:
    with pytest.raises(ValidationError) as info:
        roster.add_shift_type(db, leader, code="DAY", name="早班", start_time="07:00", length_minutes=600,
                              required_roles=REQUIRED)
    assert info.value.field == "code"
    with pytest.raises(ValidationError) as info:
        roster.add_shift_type(db, leader, code="early", name="白班", start_time="07:00", length_minutes=600,
                              required_roles=REQUIRED)
    assert info.value.field == "name"
    with pytest.raises(ValidationError) as info:
        roster.add_shift_type(db, leader, code="early", name="早班", start_time="07:00", length_minutes=25 * 60,
                              required_roles=REQUIRED)
    assert info.value.field == "length_minutes"
    added = roster.add_shift_type(db, leader, code="early", name="早班", start_time="7:00", length_minutes=600,
                                  required_roles={"shift_leader": 0, "duty_officer": 1})
    assert (added.start_time, added.required_roles) == ("07:00", (("duty_officer", 1),))
    assert [t.code for t in roster.shift_types(db)] == ["early", "day", "night"]
    [audit] = [a for a in _audit(db, "shift.define_type") if a.after["code"] == "early"]
    assert audit.before is None and audit.username == "leader-wang"
    assert "early" in {sh.code for sh in roster.ensure_shifts(db, leader, soon, soon)}


def test_duty_officer_may_not_add_or_change_shift_types(db, room, make_actor) -> None:
    officer = make_actor("duty_officer")
    with pytest.raises(PermissionDenied):
        roster.add_shift_type(db, officer, code="early", name="早班", start_time="07:00", length_minutes=600,
                              required_roles=REQUIRED)
    day = next(t for t in roster.shift_types(db) if t.code == "day")
    with pytest.raises(PermissionDenied):
        roster.change_shift_type(db, officer, day, code="day", name="白班", start_time="09:00",
                                 length_minutes=600, required_roles=REQUIRED)
    assert next(t for t in roster.shift_types(db) if t.code == "day").start_time == "08:00"


def test_changing_a_shift_type_moves_the_coming_shifts_and_keeps_the_started_ones(db, room, leader, today,
                                                                                 soon) -> None:
    past = today - timedelta(days=1)
    staff_shift(db, leader, soon, "day", room["王强"], room["张伟"], room["刘洋"])
    before_past = next(sh for sh in roster.shifts(db, past, past) if sh.code == "day")
    day = next(t for t in roster.shift_types(db) if t.code == "day")
    change = roster.change_shift_type(db, leader, day, code="day", name="白班（长）", start_time="09:00",
                                      length_minutes=780, required_roles=REQUIRED)
    assert change.shift_type.start_time == "09:00" and change.shift_type.name == "白班（长）"
    moved = next(sh for sh in roster.shifts(db, soon, soon) if sh.code == "day")
    assert moved.id in change.retimed_shift_ids
    assert (to_local(moved.starts_at).hour, to_local(moved.ends_at).hour) == (9, 22)
    assert moved.name == "白班（长）"
    assert {e.person_name for e in roster.roster(db, soon, soon) if e.shift_id == moved.id} == {"王强", "张伟", "刘洋"}
    kept = next(sh for sh in roster.shifts(db, past, past) if sh.code == "day")
    assert (kept.starts_at, kept.ends_at) == (before_past.starts_at, before_past.ends_at)
    assert kept.id not in change.retimed_shift_ids
    [audit] = [a for a in _audit(db, "shift.define_type") if a.before is not None]
    assert audit.before["start_time"] == "08:00" and audit.after["start_time"] == "09:00"
    assert moved.id in audit.after["retimed_shift_ids"]
    # the longer day shift now overlaps the night shift: the conflict check follows the new times
    roster.assign(db, leader, shift_id(db, soon, "night"), room["张伟"], "duty_officer")
    assert ("double_booked", room["张伟"]) in _kinds(db, soon)


def test_a_pending_handover_reminder_moves_with_its_shift(db, room, leader, soon) -> None:
    sid = shift_id(db, soon, "day")
    old = next(sh for sh in roster.shifts(db, soon, soon) if sh.id == sid)
    with db.write() as s:
        reminder = timers.schedule(s, kind="handover_reminder", due_at=old.ends_at - timedelta(minutes=15),
                                   shift_id=sid, target_role="shift_leader")
        reminder_id = reminder.id
    day = next(t for t in roster.shift_types(db) if t.code == "day")
    roster.change_shift_type(db, leader, day, code="day", name="白班", start_time="08:30", length_minutes=720,
                             required_roles=REQUIRED)
    with db.read() as s:
        moved = s.get(Timer, reminder_id)
        assert moved is not None
        assert moved.due_at == old.ends_at + timedelta(minutes=15)
        assert "08:30" in moved.payload["shift"]
    assert len(_audit(db, "timer.reschedule")) == 1


def test_changing_a_shift_type_someone_else_changed_is_refused(db, room, leader, make_actor) -> None:
    other = make_actor("shift_leader", "leader-li", station="ws-2")
    seen = next(t for t in roster.shift_types(db) if t.code == "night")
    roster.change_shift_type(db, leader, seen, code="night", name="夜班", start_time="19:00", length_minutes=780,
                             required_roles=REQUIRED)
    with pytest.raises(ConcurrentChange) as info:
        roster.change_shift_type(db, other, seen, code="night", name="夜班", start_time="21:00",
                                 length_minutes=660, required_roles=REQUIRED)
    assert "leader-wang@ws-1" in str(info.value)
    assert next(t for t in roster.shift_types(db) if t.code == "night").start_time == "19:00"


def test_a_post_with_people_on_coming_shifts_cannot_be_dropped(db, room, leader, soon) -> None:
    staff_shift(db, leader, soon, "night", room["王强"], room["张伟"])
    night = next(t for t in roster.shift_types(db) if t.code == "night")
    with pytest.raises(ValidationError, match="take them off first") as info:
        roster.change_shift_type(db, leader, night, code="night", name="夜班", start_time="20:00",
                                 length_minutes=720, required_roles={"shift_leader": 1})
    assert info.value.field == "required_roles"
    renamed = roster.change_shift_type(db, leader, night, code="night-2", name="夜班", start_time="20:00",
                                       length_minutes=720, required_roles={"shift_leader": 1, "duty_officer": 3})
    assert renamed.shift_type.code == "night-2" and renamed.retimed_shift_ids == ()
    found = [c.message for c in roster.conflicts(db, soon, soon) if c.shift_id == shift_id(db, soon, "night-2")]
    assert any("needs 3" in m and "has 1" in m for m in found)
