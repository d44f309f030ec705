"""Shifts, assignments, swaps, conflicts, publication and the on-duty board, on both backends."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from support.roster_fixtures import DAY, duty_room, link_user, local, shift_id, staff_shift

from db.engine import Database
from db.models import Area, AuditLog, GridStaff, Person, RosterEntry, Shift, Unit
from dispatch_console import rosters as roster
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.errors import ConcurrentChange, PermissionDenied, ValidationError
from dispatch_console.kernel.timefmt import local as to_local

NEXT = DAY + timedelta(days=1)


@pytest.fixture
def room(db: Database, system):  # type: ignore[no-untyped-def]
    r = duty_room(db, system)
    roster.ensure_shifts(db, system, DAY - timedelta(days=1), NEXT + timedelta(days=1))
    return r



def test_night_shift_crosses_midnight_on_the_right_utc_instants(db, room) -> None:
    by_code = {sh.code: sh for sh in roster.shifts(db, DAY, DAY)}
    assert by_code["day"].starts_at == datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
    assert by_code["day"].ends_at == datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    night = by_code["night"]
    assert night.starts_at == datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # 20:00 Shanghai
    assert night.ends_at == datetime(2026, 11, 28, 0, 0, tzinfo=UTC)  # 08:00 next morning
    assert to_local(night.ends_at).date() == NEXT


def test_ensure_shifts_is_idempotent_and_recorded(db, room, system) -> None:
    before = len(roster.shifts(db, DAY, NEXT))
    roster.ensure_shifts(db, system, DAY, NEXT)
    assert len(roster.shifts(db, DAY, NEXT)) == before == 4
    with db.read() as s:
        created = s.execute(select(AuditLog).where(AuditLog.action == "shift.create")).scalars().all()
    assert len(created) == 8  # the fixture made 4 days × 2 shift types, each once


def test_now_on_duty_at_2am_answers_the_night_shift_of_the_previous_day(db, room, leader) -> None:
    staff_shift(db, leader, DAY, "night", room["王强"], room["张伟"], room["刘洋"])
    staff_shift(db, leader, NEXT, "day", room["李娜"], room["陈静"], room["赵磊"])
    duty = roster.now_on_duty(db, local(NEXT, 2))
    assert duty.current is not None and duty.current.shift.code == "night"
    assert duty.current.shift.day == DAY.isoformat()
    assert [p.name for p in duty.current.leaders] == ["王强"]
    assert [(p.name, p.phone) for p in duty.current.officers] == [("张伟", "13800000003"),
                                                                   ("刘洋", "13800000004")]
    assert duty.next is not None and duty.next.shift.code == "day" and duty.next.shift.day == NEXT.isoformat()
    assert [p.name for p in duty.next.leaders] == ["李娜"]
    assert roster.shift_at(db, local(NEXT, 7, 59)).id == duty.current.shift.id  # type: ignore[union-attr]
    assert roster.shift_at(db, local(NEXT, 8)).code == "day"  # type: ignore[union-attr]


def test_shift_at_and_now_on_duty_use_the_database_clock(db, room, system) -> None:
    today = to_local(db.now()).date()
    roster.ensure_shifts(db, system, today - timedelta(days=1), today + timedelta(days=1))
    now = db.now()
    current = roster.shift_at(db)
    assert current is not None and current.starts_at <= now < current.ends_at
    duty = roster.now_on_duty(db)
    assert duty.current is not None and duty.current.shift.id == current.id
    assert duty.next is not None and duty.next.shift.starts_at == current.ends_at
    assert abs((duty.at - now).total_seconds()) < 3600


def test_assign_refuses_wrong_role_unqualified_person_and_double_entry(db, room, leader) -> None:
    sid = shift_id(db, DAY, "day")
    with pytest.raises(ValidationError, match="may not serve"):
        roster.assign(db, leader, sid, room["张伟"], "shift_leader")
    with pytest.raises(ValidationError, match="has no role"):
        roster.assign(db, leader, sid, room["王强"], "driver")
    roster.assign(db, leader, sid, room["李娜"], "shift_leader")
    with pytest.raises(ValidationError, match="already on"):
        roster.assign(db, leader, sid, room["李娜"], "duty_officer")


def test_duty_officer_may_not_edit_the_roster(db, room, make_actor) -> None:
    officer = make_actor("duty_officer")
    with pytest.raises(PermissionDenied):
        roster.assign(db, officer, shift_id(db, DAY, "day"), room["张伟"], "duty_officer")


def test_swap_supersedes_and_keeps_the_original(db, room, leader) -> None:
    sid = staff_shift(db, leader, DAY, "day", room["王强"], room["张伟"], room["刘洋"])
    old = next(e for e in roster.roster(db, DAY, DAY) if e.person_name == "张伟")
    new = roster.swap(db, leader, old.id, old.version, room["陈静"], "张伟 sick")
    kept = roster.entry(db, old.id)
    assert not kept.active and kept.superseded_by_id == new.id and kept.superseded_at is not None
    assert kept.person_name == "张伟" and kept.version == old.version + 1
    assert new.active and new.person_name == "陈静" and new.role == "duty_officer" and new.shift_id == sid
    assert new.reason == "张伟 sick" and new.created_by_name == "leader-wang"
    assert new.created_at == kept.superseded_at
    active = {e.person_name for e in roster.roster(db, DAY, DAY)}
    assert active == {"王强", "陈静", "刘洋"}
    history = {e.id for e in roster.roster(db, DAY, DAY, include_superseded=True)}
    assert {old.id, new.id} <= history
    with db.read() as s:
        assert s.get(RosterEntry, old.id) is not None  # never deleted
        audit = s.execute(select(AuditLog).where(AuditLog.action == "roster.swap")).scalar_one()
    assert audit.entity == "roster" and audit.entity_id == old.id and audit.after["reason"] == "张伟 sick"
    with pytest.raises(ValidationError, match="reason"):
        roster.swap(db, leader, new.id, new.version, room["赵磊"], "  ")


def test_leader_assigns_on_behalf_of_another_person(db, room, leader) -> None:
    staff_shift(db, leader, DAY, "night", room["王强"], room["张伟"], room["刘洋"])
    old = next(e for e in roster.roster(db, DAY, DAY) if e.person_name == "刘洋")
    new = roster.swap(db, leader, old.id, old.version, room["赵磊"], "刘洋 asked by phone",
                      on_behalf_of=room["刘洋"])
    assert new.on_behalf_of == room["刘洋"] and new.on_behalf_of_name == "刘洋"
    assert new.created_by_name == "leader-wang"
    with db.read() as s:
        audit = s.execute(select(AuditLog).where(AuditLog.action == "roster.override")).scalar_one()
    assert audit.after["on_behalf_of"] == room["刘洋"] and audit.username == "leader-wang"


def test_duty_officer_swaps_only_their_own_entry(db, room, leader, make_actor) -> None:
    staff_shift(db, leader, DAY, "day", room["王强"], room["张伟"], room["刘洋"])
    officer = make_actor("duty_officer", "zhang")
    link_user(db, officer, room["张伟"])
    entries = {e.person_name: e for e in roster.roster(db, DAY, DAY)}
    with pytest.raises(PermissionDenied):
        roster.swap(db, officer, entries["刘洋"].id, entries["刘洋"].version, room["赵磊"], "not mine")
    with pytest.raises(PermissionDenied):
        roster.swap(db, officer, entries["张伟"].id, entries["张伟"].version, room["赵磊"], "x",
                    on_behalf_of=room["张伟"])
    new = roster.swap(db, officer, entries["张伟"].id, entries["张伟"].version, room["赵磊"], "family")
    assert new.person_name == "赵磊" and new.created_by_name == "zhang"


def test_second_workstation_editing_the_same_entry_is_told_who_won(db, room, leader, make_actor) -> None:
    other_leader = make_actor("shift_leader", "leader-li", station="ws-2")
    staff_shift(db, leader, DAY, "day", room["王强"], room["张伟"], room["刘洋"])
    seen = next(e for e in roster.roster(db, DAY, DAY) if e.person_name == "张伟")
    ws2 = Database(db.url)  # a second workstation: its own engine and connections
    try:
        roster.swap(db, leader, seen.id, seen.version, room["陈静"], "first")
        with pytest.raises(ConcurrentChange) as info:
            roster.swap(ws2, other_leader, seen.id, seen.version, room["赵磊"], "second")
        assert "leader-wang@ws-1" in str(info.value)
    finally:
        ws2.dispose()
    assert {e.person_name for e in roster.roster(db, DAY, DAY)} == {"王强", "陈静", "刘洋"}


def test_simultaneous_swaps_from_two_connections_one_wins(db, room, leader, make_actor) -> None:
    other_leader = make_actor("shift_leader", "leader-li", station="ws-2")
    staff_shift(db, leader, DAY, "day", room["王强"], room["张伟"], room["刘洋"])
    seen = next(e for e in roster.roster(db, DAY, DAY) if e.person_name == "张伟")
    ws2 = Database(db.url)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def attempt(database: Database, actor, person: int) -> None:  # type: ignore[no-untyped-def]
        barrier.wait()
        try:
            outcomes.append(roster.swap(database, actor, seen.id, seen.version, person, "race"))
        except ConcurrentChange as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=attempt, args=(db, leader, room["陈静"])),
               threading.Thread(target=attempt, args=(ws2, other_leader, room["赵磊"]))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        ws2.dispose()
    assert len(outcomes) == 2
    assert sum(isinstance(o, roster.EntryRow) for o in outcomes) == 1
    assert sum(isinstance(o, ConcurrentChange) for o in outcomes) == 1
    assert len([e for e in roster.roster(db, DAY, DAY) if e.role == "duty_officer"]) == 2


def _kinds(db: Database, **kw) -> set[tuple[str, int | None]]:  # type: ignore[no-untyped-def]
    return {(c.kind, c.person_id) for c in roster.conflicts(db, DAY, DAY, **kw)}


def test_missing_leader_and_short_of_officers(db, room, leader) -> None:
    sid = shift_id(db, DAY, "day")
    roster.assign(db, leader, sid, room["张伟"], "duty_officer")
    found = [c for c in roster.conflicts(db, DAY, DAY) if c.shift_id == sid]
    assert {c.kind for c in found} == {"missing_leader", "short_staffed"}
    assert any("needs 2" in c.message and "has 1" in c.message for c in found)


def test_person_on_overlapping_shifts_is_double_booked(db, room, leader, system) -> None:
    roster.define_shift_type(db, system, code="evening", name="晚班", start_time="16:00", length_minutes=480,
                             required_roles={"duty_officer": 1})
    roster.ensure_shifts(db, system, DAY, DAY)
    roster.assign(db, leader, shift_id(db, DAY, "day"), room["张伟"], "duty_officer")
    roster.assign(db, leader, shift_id(db, DAY, "evening"), room["张伟"], "duty_officer")
    found = [c for c in roster.conflicts(db, DAY, DAY) if c.kind == "double_booked"]
    assert [c.person_id for c in found] == [room["张伟"]]
    assert "张伟" in found[0].message and "晚班" in found[0].message


def test_too_little_rest_between_shifts_uses_the_configured_minimum(db, room, leader, tmp_path: Path) -> None:
    roster.assign(db, leader, shift_id(db, DAY, "day"), room["张伟"], "duty_officer")
    roster.assign(db, leader, shift_id(db, DAY, "night"), room["张伟"], "duty_officer")
    assert ("short_rest", room["张伟"]) in _kinds(db)
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "roster.toml").write_text("min_rest_hours = 0\n", encoding="utf-8")
    assert ("short_rest", room["张伟"]) not in _kinds(db, resources=Resources(tmp_path))
    # A night shift then the next night: 12 h rest, enough under the shipped 8 h policy.
    roster.assign(db, leader, shift_id(db, NEXT, "night"), room["刘洋"], "duty_officer")
    roster.assign(db, leader, shift_id(db, DAY, "night"), room["刘洋"], "duty_officer")
    assert ("short_rest", room["刘洋"]) not in {(c.kind, c.person_id) for c in roster.conflicts(db, DAY, NEXT)}


def test_rest_is_checked_across_the_edge_of_the_range(db, room, leader) -> None:
    roster.assign(db, leader, shift_id(db, DAY - timedelta(days=1), "night"), room["陈静"], "duty_officer")
    roster.assign(db, leader, shift_id(db, DAY, "day"), room["陈静"], "duty_officer")
    assert ("short_rest", room["陈静"]) in _kinds(db)


def test_person_on_leave_is_a_conflict(db, room, leader) -> None:
    roster.assign(db, leader, shift_id(db, DAY, "night"), room["赵磊"], "duty_officer")
    assert ("on_leave", room["赵磊"]) not in _kinds(db)
    roster.add_leave(db, leader, room["赵磊"], local(DAY, 22), local(NEXT, 12), "年假")
    assert ("on_leave", room["赵磊"]) in _kinds(db)


def test_publication_is_blocked_by_conflicts(db, room, leader) -> None:
    roster.assign(db, leader, shift_id(db, DAY, "day"), room["张伟"], "duty_officer")
    with pytest.raises(roster.RosterConflicts) as info:
        roster.publish(db, leader, DAY, DAY)
    assert {c.kind for c in info.value.conflicts} >= {"missing_leader", "short_staffed"}
    assert all(sh.published_at is None for sh in roster.shifts(db, DAY, DAY))


def test_publication_overridden_with_a_reason_is_stored_and_audited(db, room, leader, make_actor) -> None:
    officer = make_actor("duty_officer")
    with pytest.raises(PermissionDenied):
        roster.publish(db, officer, DAY, DAY, override_reason="I say so")
    result = roster.publish(db, leader, DAY, DAY, override_reason="两人病假，街道已知悉")
    assert result.conflicts and result.override_reason == "两人病假，街道已知悉"
    for sh in roster.shifts(db, DAY, DAY):
        assert sh.published_at == result.published_at and sh.override_reason == "两人病假，街道已知悉"
    with db.read() as s:
        rows = s.execute(select(AuditLog).where(AuditLog.action == "roster.publish_override")).scalars().all()
        published_by = {sh.published_by for sh in s.execute(select(Shift).where(Shift.day == DAY.isoformat()))
                        .scalars()}
    assert len(rows) == 2 and all(r.after["override_reason"] == "两人病假，街道已知悉" for r in rows)
    assert any(r.after["conflicts"] for r in rows) and published_by == {leader.user_id}


def test_clean_roster_publishes_without_override(db, room, leader) -> None:
    staff_shift(db, leader, DAY, "day", room["王强"], room["张伟"], room["刘洋"])
    staff_shift(db, leader, DAY, "night", room["李娜"], room["陈静"], room["赵磊"])
    result = roster.publish(db, leader, DAY, DAY)
    assert result.conflicts == () and result.override_reason is None
    assert all(sh.published_at is not None and sh.override_reason is None for sh in roster.shifts(db, DAY, DAY))


def test_units_board_and_grid_staff_directory(db, room) -> None:
    with db.write() as s:
        s.add_all([Unit(code="PCS", name="桃源派出所", kind="police_station", contact_name="黄所长",
                        phone="0755-26600000", status="available"),
                   Unit(code="ZFD", name="执法队", kind="law_enforcement", status="dispatched")])
        community = Area(level="community", code="C1", name="龙联社区")
        s.add(community)
        s.flush()
        grid = Area(level="grid", code="TY-01", name="第一网格", parent_id=community.id)
        s.add(grid)
        s.flush()
        manager = Person(name="孙丽", phone="13700000001")
        assistant = Person(name="吴刚", phone="13700000002")
        s.add_all([manager, assistant])
        s.flush()
        s.add_all([GridStaff(grid_id=grid.id, person_id=manager.id, role="grid_manager"),
                   GridStaff(grid_id=grid.id, person_id=assistant.id, role="grid_assistant")])
    units = {u.code: u for u in roster.units_board(db)}
    assert units["PCS"].contact_name == "黄所长" and units["PCS"].phone == "0755-26600000"
    assert units["ZFD"].status == "dispatched"
    everyone = roster.grid_staff_directory(db)
    assert [(h.grid_code, h.role, h.name) for h in everyone] == [
        ("TY-01", "grid_manager", "孙丽"), ("TY-01", "grid_assistant", "吴刚")]
    assert everyone[0].community == "龙联社区"
    assert [h.name for h in roster.grid_staff_directory(db, "13700000002")] == ["吴刚"]
    assert len(roster.grid_staff_directory(db, "第一网格")) == 2
    assert roster.grid_staff_directory(db, "无此人") == []


def test_people_picker_filters_by_role_and_text(db, room) -> None:
    leaders = {p.name for p in roster.people(db, "shift_leader")}
    assert leaders == {"王强", "李娜"}
    assert [p.phone for p in roster.people(db, "duty_officer", "周")] == ["13900000007", "13900000008"]
    assert [p.name for p in roster.people(db, text="13800000004")] == ["刘洋"]
