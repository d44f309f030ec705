"""The incident lifecycle on both backends: transitions, reasons, owner, units, notes, merges."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from db.engine import Database
from db.models import Area, Assignment, AuditLog, ChangeLog, ChecklistItem, Incident, IncidentEvent, Person, Unit
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.service import IncidentDraft
from dispatch_console.kernel.errors import (
    ConcurrentChange,
    IllegalTransition,
    PermissionDenied,
    ValidationError,
)


def draft(**kw: object) -> IncidentDraft:
    values: dict[str, object] = {"category": "dispute", "severity": 3, "source": "hotline_12345",
                                 "description": "邻里噪音纠纷"}
    values.update(kw)
    return IncidentDraft(**values)  # type: ignore[arg-type]


def add_unit(db: Database, code: str, name: str, status: str = "available") -> int:
    with db.write() as s:
        unit = Unit(code=code, name=name, kind="police_station", status=status, version=1)
        s.add(unit)
        s.flush()
        return unit.id


def add_jurisdiction(db: Database) -> dict[str, int]:
    """桃源街道 (prefix TY) → 龙联社区 → one square grid; and a second street with prefix XL."""
    square = {"type": "Polygon", "coordinates": [[[113.90, 22.55], [113.92, 22.55], [113.92, 22.57],
                                                  [113.90, 22.57], [113.90, 22.55]]]}
    with db.write() as s:
        street = Area(level="street", code="ty", name="桃源街道", number_prefix="TY", version=1)
        other = Area(level="street", code="xl", name="西丽街道", number_prefix="XL", version=1)
        s.add_all([street, other])
        s.flush()
        community = Area(level="community", code="ll", name="龙联社区", parent_id=street.id, version=1)
        other_c = Area(level="community", code="xlc", name="西丽社区", parent_id=other.id, version=1)
        s.add_all([community, other_c])
        s.flush()
        grid = Area(level="grid", code="LL-01", name="龙联一网格", parent_id=community.id, geometry=square,
                    min_lon=113.90, max_lon=113.92, min_lat=22.55, max_lat=22.57, version=1)
        other_g = Area(level="grid", code="XL-01", name="西丽一网格", parent_id=other_c.id, version=1)
        s.add_all([grid, other_g])
        s.flush()
        return {"grid": grid.id, "community": community.id, "other_grid": other_g.id}


def tick_checklist(db: Database, incident_id: int) -> None:
    with db.write() as s:
        s.execute(update(ChecklistItem).where(ChecklistItem.incident_id == incident_id)
                  .values(done_at=func.now() if s.get_bind().dialect.name == "postgresql" else
                          func.strftime("%Y-%m-%d %H:%M:%f", "now")))


def test_full_lifecycle_sets_times_owner_and_timeline(db: Database, make_actor) -> None:  # type: ignore[no-untyped-def]
    officer = make_actor("duty_officer")
    unit = add_unit(db, "pcs-ty", "桃源派出所")
    row = incidents.create_incident(db, officer, draft(severity=2)).row
    assert row.status == "new" and row.owner_user_id is None and row.number.startswith("TY-")
    row = incidents.acknowledge(db, officer, row.id, row.version)
    assert row.status == "acknowledged" and row.owner_user_id == officer.user_id
    assert row.owner_name == officer.display_name and row.acknowledged_at is not None
    row = incidents.assign(db, officer, row.id, row.version, unit_ids=[unit])
    assert row.status == "dispatched" and row.units == "桃源派出所" and row.dispatched_at is not None
    row = incidents.mark_on_scene(db, officer, row.id, row.version)
    assert row.status == "on_scene" and row.on_scene_at is not None
    row = incidents.resolve(db, officer, row.id, row.version, note="已调解")
    assert row.status == "resolved" and row.units == ""
    tick_checklist(db, row.id)
    row = incidents.close(db, officer, row.id, row.version)
    assert row.status == "closed" and row.closed_at is not None
    detail = incidents.get_incident(db, row.number)
    kinds = [e.kind for e in detail.events]
    for kind in ("created", "acknowledged", "dispatched", "on_scene", "released", "resolved", "closed"):
        assert kind in kinds
    assert all(e.username == officer.username and e.station == "ws-1" for e in detail.events
               if e.kind != "checklist_attached")
    assert [e.at for e in detail.events] == sorted(e.at for e in detail.events)
    assert detail.assignments[0].released_at is not None


@pytest.mark.parametrize(
    ("steps", "action", "reason"),
    [
        ([], "resolve", "is new; it cannot be resolved"),
        ([], "close", "is new; it cannot be closed"),
        ([], "on_scene", "is new; it cannot be marked on scene"),
        (["ack"], "ack", "is acknowledged; it cannot be acknowledged"),
        (["ack", "resolve"], "dispatch", "is resolved; it cannot be dispatched"),
        (["ack", "resolve"], "on_scene", "is resolved; it cannot be marked on scene"),
        (["ack"], "reopen", "is acknowledged; it cannot be reopened"),
    ],
)
def test_illegal_transitions_say_why(db: Database, make_actor, steps, action, reason) -> None:  # type: ignore[no-untyped-def]
    officer = make_actor("duty_officer")
    unit = add_unit(db, "u1", "执法队")
    row = incidents.create_incident(db, officer, draft()).row
    acts = {
        "ack": lambda r: incidents.acknowledge(db, officer, r.id, r.version),
        "resolve": lambda r: incidents.resolve(db, officer, r.id, r.version),
        "close": lambda r: incidents.close(db, officer, r.id, r.version),
        "on_scene": lambda r: incidents.mark_on_scene(db, officer, r.id, r.version),
        "dispatch": lambda r: incidents.assign(db, officer, r.id, r.version, unit_ids=[unit]),
        "reopen": lambda r: incidents.reopen(db, officer, r.id, r.version),
    }
    for step in steps:
        row = acts[step](row)
    with pytest.raises(IllegalTransition) as err:
        acts[action](row)
    assert str(err.value) == f"{row.number} {reason}."
    assert incidents.get_incident(db, row.id).row.status == row.status


def test_illegal_transition_reason_is_translated(db: Database, make_actor) -> None:  # type: ignore[no-untyped-def]
    from dispatch_console.kernel.i18n import set_language

    officer = make_actor("duty_officer")
    row = incidents.create_incident(db, officer, draft()).row
    set_language("zh_CN")
    try:
        with pytest.raises(IllegalTransition) as err:
            incidents.close(db, officer, row.id, row.version)
    finally:
        set_language("en")
    assert "新报" in str(err.value) and "归档" in str(err.value) and row.number in str(err.value)


def test_reopen_returns_a_resolved_or_closed_incident_to_acknowledged(db: Database, make_actor) -> None:  # type: ignore[no-untyped-def]
    officer = make_actor("duty_officer")
    row = incidents.create_incident(db, officer, draft()).row
    row = incidents.acknowledge(db, officer, row.id, row.version)
    row = incidents.resolve(db, officer, row.id, row.version)
    row = incidents.reopen(db, officer, row.id, row.version, reason="群众再次来电")
    assert row.status == "acknowledged" and row.resolved_at is None
    row = incidents.resolve(db, officer, row.id, row.version)
    tick_checklist(db, row.id)
    row = incidents.close(db, officer, row.id, row.version)
    row = incidents.reopen(db, officer, row.id, row.version)
    assert row.status == "acknowledged" and row.closed_at is None
    events = incidents.get_incident(db, row.id).events
    assert [e.kind for e in events].count("reopened") == 2
    assert [e.kind for e in events].count("resolved") == 2
    assert any(e.note == "群众再次来电" for e in events)


def test_merge_cancels_the_duplicate_and_both_timelines_say_so(db: Database, make_actor) -> None:  # type: ignore[no-untyped-def]
    officer = make_actor("duty_officer")
    first = incidents.create_incident(db, officer, draft(description="桃源村12栋冒烟", category="fire")).row
    dup = incidents.create_incident(db, officer, draft(description="12栋有烟", category="fire")).row
    merged = incidents.merge_duplicate(db, officer, dup.id, dup.version, first.number, note="同一起火情")
    assert merged.status == "cancelled" and merged.merged_into_id == first.id
    d_dup = incidents.get_incident(db, dup.id)
    d_first = incidents.get_incident(db, first.id)
    assert d_dup.merged_into_number == first.number
    assert d_first.merged_from == (dup.number,)
    into = [e for e in d_dup.events if e.kind == "merged_into"]
    assert into and into[0].data["into_number"] == first.number  # type: ignore[index]
    came = [e for e in d_first.events if e.kind == "merged_from"]
    assert came and came[0].data["from_number"] == dup.number  # type: ignore[index]
    assert any(e.kind == "created" for e in d_dup.events)  # its own history is kept
    with pytest.raises(IllegalTransition):
        incidents.acknowledge(db, officer, merged.id, merged.version)
    with pytest.raises(ValidationError):
        incidents.merge_duplicate(db, officer, first.id, d_first.row.version, dup.number)
    with pytest.raises(ValidationError):
        incidents.merge_duplicate(db, officer, first.id, d_first.row.version, first.number)


def test_units_follow_their_assignments(db: Database, make_actor) -> None:  # type: ignore[no-untyped-def]
    officer = make_actor("duty_officer")
    police = add_unit(db, "pcs", "派出所")
    militia = add_unit(db, "militia", "民兵应急分队")
    resting = add_unit(db, "resting", "执法队", status="off_duty")
    status = lambda: {u.id: u.status for u in incidents.list_units(db)}  # noqa: E731
    row = incidents.create_incident(db, officer, draft()).row
    # Assigning a new incident acknowledges it on the way: the dispatcher becomes owner.
    row = incidents.assign(db, officer, row.id, row.version, unit_ids=[police])
    assert row.status == "dispatched" and row.owner_user_id == officer.user_id
    assert row.acknowledged_at is not None
    assert status()[police] == "dispatched"
    assert {u.id for u in incidents.list_assignable_units(db)} == {militia}
    with pytest.raises(ValidationError, match="off duty"):
        incidents.assign(db, officer, row.id, row.version, unit_ids=[resting])
    other = incidents.create_incident(db, officer, draft()).row
    with pytest.raises(ValidationError, match="already assigned"):
        incidents.assign(db, officer, other.id, other.version, unit_ids=[police])
    row = incidents.mark_on_scene(db, officer, row.id, row.version)
    assert status()[police] == "on_scene"
    row = incidents.assign(db, officer, row.id, row.version, unit_ids=[militia])
    assert row.status == "on_scene" and status()[militia] == "dispatched"
    assert row.units == "派出所, 民兵应急分队"
    militia_assignment = next(a for a in incidents.get_incident(db, row.id).assignments if a.unit_id == militia)
    row = incidents.release(db, officer, militia_assignment.id)
    assert status()[militia] == "returning" and row.units == "派出所"
    row = incidents.resolve(db, officer, row.id, row.version)
    assert status()[police] == "returning"
    unit_row = next(u for u in incidents.list_units(db) if u.id == police)
    unit_row = incidents.set_unit_status(db, officer, police, unit_row.version, "available")
    assert unit_row.status == "available"
    with pytest.raises(ValidationError):
        incidents.set_unit_status(db, officer, police, unit_row.version, "on_scene")
    with db.read() as s:
        assignments = s.execute(select(Assignment)).scalars().all()
        assert len(assignments) == 2 and all(a.released_at is not None for a in assignments)
        unit_changes = select(func.count()).select_from(ChangeLog).where(ChangeLog.entity == "unit")
        assert s.execute(unit_changes).scalar_one() >= 6


def test_people_can_be_assigned_too(db: Database, make_actor) -> None:  # type: ignore[no-untyped-def]
    officer = make_actor("duty_officer")
    with db.write() as s:
        person = Person(name="李网格", phone="13800000000", active=True, version=1)
        s.add(person)
        s.flush()
        pid = person.id
    row = incidents.create_incident(db, officer, draft()).row
    row = incidents.assign(db, officer, row.id, row.version, person_ids=[pid])
    assert row.units == "李网格" and row.status == "dispatched"
    with pytest.raises(ValidationError):
        incidents.assign(db, officer, row.id, row.version)


def test_notes_and_edits_go_on_the_timeline(db: Database, make_actor) -> None:  # type: ignore[no-untyped-def]
    officer = make_actor("duty_officer")
    row = incidents.create_incident(db, officer, draft(severity=4)).row
    event = incidents.add_note(db, officer, row.id, "已电话联系报警人\n对方情绪激动")
    assert event.kind == "note" and event.note == "已电话联系报警人\n对方情绪激动"
    assert incidents.get_incident(db, row.id).row.version == row.version  # a note is not an edit
    with pytest.raises(ValidationError):
        incidents.add_note(db, officer, row.id, "   ")
    row = incidents.update_incident(db, officer, row.id, row.version, severity=2, category="public_order",
                                    address="桃源村3栋")
    assert (row.severity, row.category, row.address) == (2, "public_order", "桃源村3栋")
    updated = [e for e in incidents.get_incident(db, row.id).events if e.kind == "updated"]
    assert updated[0].data["changes"]["severity"] == [4, 2]  # type: ignore[index]
    assert updated[0].data["changes"]["category"] == ["dispute", "public_order"]  # type: ignore[index]
    with pytest.raises(ValidationError):
        incidents.update_incident(db, officer, row.id, row.version, severity=7)
    with pytest.raises(ValidationError):
        incidents.update_incident(db, officer, row.id, row.version, number="X")


def test_a_stale_version_is_refused_naming_who_changed_it(db: Database, make_actor) -> None:  # type: ignore[no-untyped-def]
    a = make_actor("duty_officer", username="zhang")
    b = make_actor("duty_officer", username="wang", station="ws-2")
    row = incidents.create_incident(db, a, draft()).row
    incidents.acknowledge(db, a, row.id, row.version)
    with pytest.raises(ConcurrentChange) as err:
        incidents.update_incident(db, b, row.id, row.version, severity=1)
    assert err.value.by == "zhang@ws-1" and "zhang@ws-1" in str(err.value)


def test_grid_and_number_prefix_come_from_the_jurisdiction(db: Database, make_actor) -> None:  # type: ignore[no-untyped-def]
    officer = make_actor("duty_officer")
    areas = add_jurisdiction(db)
    by_point = incidents.create_incident(db, officer, draft(lon=113.91, lat=22.56)).row
    assert by_point.grid_id == areas["grid"] and by_point.community_name == "龙联社区"
    assert by_point.grid_name == "龙联一网格" and by_point.number.startswith("TY-")
    by_code = incidents.create_incident(db, officer, draft(grid="XL-01")).row
    assert by_code.grid_id == areas["other_grid"] and by_code.number.startswith("XL-")
    assert by_code.number.endswith("-0001")
    by_name = incidents.create_incident(db, officer, draft(grid="龙联一网格")).row
    assert by_name.grid_id == areas["grid"] and by_name.number.endswith("-0002")
    outside = incidents.create_incident(db, officer, draft(lon=100.0, lat=30.0)).row
    assert outside.grid_id is None and outside.number.startswith("TY-")
    with pytest.raises(ValidationError, match="Unknown grid"):
        incidents.create_incident(db, officer, draft(grid="no-such-grid"))


def test_observers_and_integrations_may_not_act(db: Database, make_actor) -> None:  # type: ignore[no-untyped-def]
    integration = make_actor("integration")
    observer = make_actor("observer")
    row = incidents.create_incident(db, integration, draft()).row  # integrations may record
    with pytest.raises(PermissionDenied):
        incidents.acknowledge(db, integration, row.id, row.version)
    with pytest.raises(PermissionDenied):
        incidents.create_incident(db, observer, draft())
    with pytest.raises(PermissionDenied):
        incidents.add_note(db, observer, row.id, "x")


def test_nothing_is_deleted_and_every_change_is_recorded(db: Database, make_actor) -> None:  # type: ignore[no-untyped-def]
    officer = make_actor("duty_officer")
    unit = add_unit(db, "u", "社工")
    a = incidents.create_incident(db, officer, draft()).row
    b = incidents.create_incident(db, officer, draft()).row
    a = incidents.assign(db, officer, a.id, a.version, unit_ids=[unit])
    a = incidents.resolve(db, officer, a.id, a.version)
    incidents.merge_duplicate(db, officer, b.id, b.version, a.id)
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Incident)).scalar_one() == 2
        assert s.execute(select(func.count()).select_from(Assignment)).scalar_one() == 1
        events = s.execute(select(func.count()).select_from(IncidentEvent)).scalar_one()
        audited = s.execute(select(func.count()).select_from(AuditLog).where(AuditLog.entity == "incident")
                            ).scalar_one()
        feed = set(s.execute(select(ChangeLog.entity_id).where(ChangeLog.entity == "incident")).scalars())
    assert events >= 7 and audited >= 6 and feed == {a.id, b.id}
