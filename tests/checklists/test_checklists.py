"""Incident checklists on both backends: attach, re-attach, tick, untick, deadlines, closure."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from db.engine import Database, db_now
from db.models import ChecklistTemplate, Incident, IncidentEvent, Notification, Timer
from dispatch_console.checklists import service as checklists
from dispatch_console.checklists import templates as ct
from dispatch_console.incidents import followups
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.errors import ConcurrentChange, PermissionDenied, ValidationError
from dispatch_console.timers import engine as timers


@pytest.fixture(autouse=True)
def shipped_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checklists, "_active", Resources())


def new_incident(db: Database, actor: Actor, *, category: str = "fire", severity: int = 2,
                 description: str = "桃源村三巷出租屋起火", people: int | None = None) -> int:
    draft = IncidentDraft(category=category, severity=severity, source="hotline_12345",
                          description=description, people_count=people)
    return incidents.create_incident(db, actor, draft).row.id


def version_of(db: Database, incident_id: int) -> int:
    with db.read() as s:
        return int(s.get(Incident, incident_id).version)  # type: ignore[union-attr]


def change_incident(db: Database, actor: Actor, incident_id: int, **values: object) -> None:
    incidents.update_incident(db, actor, incident_id, version_of(db, incident_id), **values)


def close_incident(db: Database, actor: Actor, incident_id: int) -> None:
    with db.read() as s:
        status = s.get(Incident, incident_id).status  # type: ignore[union-attr]
    if status == "new":
        incidents.acknowledge(db, actor, incident_id, version_of(db, incident_id))
    if status != "resolved":
        incidents.resolve(db, actor, incident_id, version_of(db, incident_id))
    incidents.close(db, actor, incident_id, version_of(db, incident_id))


def timers_of(db: Database, item_id: int) -> list[Timer]:
    with db.read() as s:
        return list(s.execute(select(Timer).where(Timer.checklist_item_id == item_id)
                              .order_by(Timer.id)).scalars())


def by_key(db: Database, incident_id: int) -> dict[str, checklists.ChecklistItemRow]:
    return {f"{r.template_code}.{r.step_key}": r for r in checklists.items_for(db, incident_id)}


def test_a_new_fire_gets_the_fire_template_and_the_report_steps_of_its_severity(db: Database,
                                                                                 system: Actor) -> None:
    incident_id = new_incident(db, system, severity=2)
    items = by_key(db, incident_id)
    fire = ct.load_templates(Resources())[0]
    fire_steps = next(t for t in fire if t.code == "fire").steps
    assert [r.step_key for r in checklists.items_for(db, incident_id) if r.template_code == "fire"] == [
        s.key for s in fire_steps]
    assert items["fire.verify"].text.startswith("核实起火地点")
    assert {k for k in items if k.startswith("reporting.")} == {
        "reporting.report_phone", "reporting.report_written", "reporting.report_followup",
        "reporting.report_final"}
    with db.read() as s:
        incident = s.get(Incident, incident_id)
        assert incident is not None
        created = incident.created_at
        snapshot = incident.checklist_snapshot
        stored = s.execute(select(ChecklistTemplate).where(ChecklistTemplate.code == "fire")).scalar_one()
    assert items["reporting.report_phone"].due_at == created + timedelta(minutes=30)
    assert items["reporting.report_written"].due_at == created + timedelta(minutes=60)
    assert items["fire.verify"].due_at == created + timedelta(minutes=3)
    assert items["reporting.report_phone"].report_kind == "report_first"
    assert items["reporting.report_final"].report_kind == "report_final" and items["reporting.report_final"].required
    assert items["fire.militia_standby"].due_at is None and not items["fire.militia_standby"].required
    # report_first steps come right after verification, the final report last
    ordered = [r.step_key for r in checklists.items_for(db, incident_id)]
    assert ordered[:3] == ["verify", "report_phone", "report_written"] and ordered[-1] == "report_final"
    assert snapshot is not None and snapshot["code"] == "fire" and snapshot["version"] == "2026.1"
    assert snapshot["hash"] == stored.content_hash and len(snapshot["steps"]) == len(fire_steps)
    assert snapshot["reporting"]["severity"] == 2
    # one pending timer per deadline step, none for the others
    for row in items.values():
        pending = [t for t in timers_of(db, row.id) if t.cancelled_at is None]
        assert len(pending) == (1 if row.due_at is not None else 0), row.step_key
        if pending:
            assert pending[0].kind == "checklist" and pending[0].due_at == row.due_at
            assert pending[0].incident_id == incident_id
    assert checklists.progress_for(db, [incident_id]) == {incident_id: (0, len(items))}


def test_a_local_15_and_35_minute_policy_sets_the_report_deadlines(db: Database, system: Actor,
                                                                  tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    local = tmp_path / "policies" / "reporting.toml"
    local.parent.mkdir()
    shipped = (ct.resources_root() / ct.REPORTING_POLICY).read_text(encoding="utf-8")
    local.write_text(shipped.replace("deadline_minutes = 30\n", "deadline_minutes = 15\n", 1)
                     .replace("deadline_minutes = 60\n", "deadline_minutes = 35\n", 1), encoding="utf-8")
    monkeypatch.setattr(checklists, "_active", Resources(tmp_path))
    incident_id = new_incident(db, system, severity=1, category="work_safety", description="工地塔吊倒塌")
    items = by_key(db, incident_id)
    with db.read() as s:
        created = s.get(Incident, incident_id).created_at  # type: ignore[union-attr]
    assert items["reporting.report_phone"].due_at == created + timedelta(minutes=15)
    assert items["reporting.report_written"].due_at == created + timedelta(minutes=35)
    assert timers_of(db, items["reporting.report_phone"].id)[0].due_at == created + timedelta(minutes=15)
    assert items["work_safety.verify"].due_at == created + timedelta(minutes=5)


def test_raising_the_severity_adds_report_steps_and_keeps_ticked_ones(db: Database, system: Actor,
                                                                     make_actor) -> None:  # type: ignore[no-untyped-def]
    officer = make_actor("duty_officer")
    incident_id = new_incident(db, system, severity=4, category="rental_housing", description="出租屋漏水纠纷")
    before = by_key(db, incident_id)
    assert "generic.verify" in before and "reporting.report_phone" not in before
    checklists.tick(db, officer, before["generic.verify"].id, before["generic.verify"].version, note="已电话核实")
    checklists.tick(db, officer, before["reporting.report_first"].id, before["reporting.report_first"].version)

    change_incident(db, system, incident_id, severity=2)

    after = by_key(db, incident_id)
    assert set(before) < set(after)
    assert {"reporting.report_phone", "reporting.report_written", "reporting.report_followup"} <= set(after)
    assert after["generic.verify"].done and after["generic.verify"].note == "已电话核实"
    assert after["reporting.report_first"].done
    with db.read() as s:
        created = s.get(Incident, incident_id).created_at  # type: ignore[union-attr]
        snapshot = s.get(Incident, incident_id).checklist_snapshot  # type: ignore[union-attr]
    assert after["reporting.report_phone"].due_at == created + timedelta(minutes=30)
    assert snapshot is not None and snapshot["reporting"]["severity"] == 2

    # 2 -> 3: the open report steps take the looser deadlines; nothing is removed.
    change_incident(db, system, incident_id, severity=3)
    relaxed = by_key(db, incident_id)
    assert set(relaxed) == set(after)
    assert relaxed["reporting.report_phone"].due_at == created + timedelta(minutes=60)
    phone_timers = timers_of(db, relaxed["reporting.report_phone"].id)
    assert [t.due_at for t in phone_timers if t.cancelled_at is None] == [created + timedelta(minutes=60)]


def test_a_category_change_adds_the_new_template_and_keeps_the_old_steps(db: Database, system: Actor,
                                                                        make_actor) -> None:  # type: ignore[no-untyped-def]
    officer = make_actor("duty_officer")
    incident_id = new_incident(db, system, category="public_order", severity=3, description="住户反映邻居吵闹")
    first = by_key(db, incident_id)
    checklists.tick(db, officer, first["generic.verify"].id, first["generic.verify"].version)
    change_incident(db, system, incident_id, category="fire")
    now = by_key(db, incident_id)
    assert set(first) < set(now)
    assert "fire.call_119" in now and now["generic.verify"].done
    assert max(r.position for r in now.values() if r.template_code == "generic") < min(
        r.position for r in now.values() if r.template_code == "fire")
    with db.read() as s:
        snapshot = s.get(Incident, incident_id).checklist_snapshot  # type: ignore[union-attr]
    assert snapshot is not None and snapshot["code"] == "fire"
    assert [p["code"] for p in snapshot["previous"]] == ["generic"]


def test_ticking_cancels_the_timer_and_unticking_schedules_it_again(db: Database, make_actor) -> None:  # type: ignore[no-untyped-def]
    officer = make_actor("duty_officer", station="ws-2")
    incident_id = new_incident(db, officer)
    phone = by_key(db, incident_id)["reporting.report_phone"]
    ticked = checklists.tick(db, officer, phone.id, phone.version, note="已报区总值班室王科长")
    assert ticked.done and ticked.done_by == officer.user_id and ticked.done_station == "ws-2"
    assert ticked.done_by_name == officer.label and ticked.version == phone.version + 1
    [timer] = timers_of(db, phone.id)
    assert timer.cancelled_at is not None and timer.fired_at is None
    with db.read() as s:
        events = s.execute(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id,
                                                       IncidentEvent.kind == "checklist_ticked")).scalars().all()
    assert [e.note for e in events] == ["已报区总值班室王科长"] and events[0].station == "ws-2"
    assert checklists.progress_for(db, [incident_id])[incident_id][0] == 1

    reopened = checklists.untick(db, officer, phone.id, ticked.version, note="误勾")
    assert not reopened.done and reopened.note is None
    timers = timers_of(db, phone.id)
    assert len(timers) == 2 and timers[1].cancelled_at is None and timers[1].due_at == phone.due_at
    assert checklists.progress_for(db, [incident_id])[incident_id][0] == 0


def test_a_stale_version_is_refused_naming_who_ticked(db: Database, make_actor) -> None:  # type: ignore[no-untyped-def]
    first = make_actor("duty_officer", username="zhang-san", station="ws-1")
    second = make_actor("duty_officer", username="li-si", station="ws-2")
    incident_id = new_incident(db, first)
    step = by_key(db, incident_id)["fire.verify"]
    checklists.tick(db, first, step.id, step.version)
    with pytest.raises(ConcurrentChange, match="zhang-san@ws-1"):
        checklists.tick(db, second, step.id, step.version)


def test_unticking_another_officers_step_needs_a_shift_leader(db: Database, make_actor) -> None:  # type: ignore[no-untyped-def]
    officer = make_actor("duty_officer")
    colleague = make_actor("duty_officer")
    leader = make_actor("shift_leader")
    observer = make_actor("observer")
    incident_id = new_incident(db, officer)
    step = by_key(db, incident_id)["fire.verify"]
    with pytest.raises(PermissionDenied):
        checklists.tick(db, observer, step.id, step.version)
    done = checklists.tick(db, officer, step.id, step.version)
    assert not checklists.can_untick(colleague, done) and checklists.can_untick(leader, done)
    with pytest.raises(PermissionDenied):
        checklists.untick(db, colleague, step.id, done.version)
    assert not checklists.untick(db, leader, step.id, done.version).done


def test_closing_with_required_steps_open_is_refused_with_the_list(db: Database, system: Actor,
                                                                  make_actor) -> None:  # type: ignore[no-untyped-def]
    officer = make_actor("duty_officer")
    incident_id = new_incident(db, system, category="dispute", severity=4, description="邻里噪音纠纷")
    rows = checklists.items_for(db, incident_id)
    required = [r for r in rows if r.required]
    for row in required[:-1]:
        checklists.tick(db, officer, row.id, row.version)
    with pytest.raises(ValidationError) as refused:
        close_incident(db, officer, incident_id)
    assert required[-1].text in str(refused.value) and "1 required" in str(refused.value)
    assert all(r.text not in str(refused.value) for r in required[:-1])
    last = required[-1]
    checklists.tick(db, officer, last.id, last.version)
    close_incident(db, officer, incident_id)  # optional steps may stay open
    with pytest.raises(ValidationError):
        optional = next(r for r in checklists.items_for(db, incident_id) if not r.done)
        checklists.tick(db, officer, optional.id, optional.version)


def test_deadlines_from_acknowledgement_start_when_the_incident_is_acknowledged(db: Database,
                                                                               system: Actor) -> None:
    incident_id = new_incident(db, system, category="city_management", severity=4, description="占道经营")
    assign = by_key(db, incident_id)["generic.assign"]
    assert assign.due_at is None and timers_of(db, assign.id) == []
    incidents.acknowledge(db, system, incident_id, version_of(db, incident_id))
    with db.read() as s:
        ack_at = s.get(Incident, incident_id).acknowledged_at  # type: ignore[union-attr]
    assert ack_at is not None
    assign = by_key(db, incident_id)["generic.assign"]
    assert assign.due_at == ack_at + timedelta(minutes=30)
    assert [t.due_at for t in timers_of(db, assign.id)] == [assign.due_at]


def make_overdue(db: Database, system: Actor, incident_id: int, minutes: int) -> None:
    """Move the incident's intake back in time (as if received ``minutes`` ago)."""
    with db.write() as s:
        incident = s.get(Incident, incident_id)
        assert incident is not None
        incident.created_at = db_now(s) - timedelta(minutes=minutes)
        s.flush()
        followups.after_incident_change(s, system, incident, "severity_changed", {"severity": incident.severity})


def test_an_overdue_step_fires_once_notifies_and_notes_the_timeline(db: Database, system: Actor,
                                                                    make_actor) -> None:  # type: ignore[no-untyped-def]
    officer = make_actor("duty_officer")
    incident_id = new_incident(db, system, severity=1)
    make_overdue(db, system, incident_id, 45)  # the 30-minute phone report is now overdue
    steps = by_key(db, incident_id)
    phone, written = steps["reporting.report_phone"], steps["reporting.report_written"]
    assert phone.overdue and not written.overdue
    verify = steps["fire.verify"]  # its 3 minutes passed too, but it gets ticked first
    checklists.tick(db, officer, verify.id, verify.version)

    fired = timers.fire_due(db, "agent-1")

    fired_items = set()
    with db.read() as s:
        for f in fired:
            fired_items.add(s.get(Timer, f.id).checklist_item_id)  # type: ignore[union-attr]
        notes = s.execute(select(Notification).where(Notification.incident_id == incident_id,
                                                     Notification.kind == "checklist_overdue")).scalars().all()
        events = s.execute(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id,
                                                       IncidentEvent.kind == "deadline")).scalars().all()
    assert phone.id in fired_items and verify.id not in fired_items and written.id not in fired_items
    phone_note = next(n for n in notes if "电话首报" in n.title)
    assert phone_note.level == "critical" and phone_note.target_role == "duty_officer"
    assert any(phone.text in (e.note or "") and e.station == "agent-1" for e in events)
    assert timers.fire_due(db, "agent-2") == []  # exactly once
    # unticking a step whose alarm already went off does not raise it again
    done = checklists.tick(db, officer, phone.id, by_key(db, incident_id)["reporting.report_phone"].version)
    checklists.untick(db, officer, phone.id, done.version)
    assert [t for t in timers_of(db, phone.id) if t.fired_at is None and t.cancelled_at is None] == []


def test_overdue_follows_the_database_clock(db: Database, system: Actor) -> None:
    incident_id = new_incident(db, system)
    make_overdue(db, system, incident_id, 45)
    rows = by_key(db, incident_id)
    assert rows["reporting.report_phone"].overdue and (rows["reporting.report_phone"].seconds_left or 0) < 0
    assert not rows["reporting.report_written"].overdue
    assert 0 < (rows["reporting.report_written"].seconds_left or 0) <= 15 * 60
