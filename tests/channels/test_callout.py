"""Leader call-out: call tasks for the on-duty chain, outcomes recorded, the next person after the wait."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from duty_staff import DIRECTOR, LEADER, fire_calls, staff_on_duty, start_calls, wait_passes
from sqlalchemy import select, update
from support.world import World, make_world

from db.engine import Database, db_now
from db.models import IncidentEvent, Notification, Person, Timer
from dispatch_console.channels import callout
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.errors import PermissionDenied, ValidationError
from dispatch_console.timers.engine import fire_due


@pytest.fixture
def world(db: Database) -> World:
    staff_on_duty(db)
    return make_world(db)


def test_the_chain_is_called_one_after_another_until_someone_answers(db: Database, world: World) -> None:
    incident = world.record("化工厂起火", severity=1)
    officer = world.officers[0]
    assert start_calls(db, incident.id) is not None
    assert fire_calls(db) == ["call"]
    (task,) = callout.call_tasks(db)
    assert (task.name, task.phone, task.role) == ("王强", LEADER, "shift_leader")
    assert (task.position, task.chain_length) == (0, 2)
    assert task.incident_number == incident.number and "未受理" in task.reason
    with db.read() as s:  # the task is on the console as a notification for the duty officers
        note = s.get(Notification, task.notification_id)
        assert note is not None and note.target_role == "duty_officer" and LEADER in note.title
    callout.record_outcome(db, officer, task.notification_id, task.version, "no_answer")
    assert callout.call_tasks(db) == []
    assert fire_calls(db) == []  # the next call waits for the policy's wait
    wait_passes(db)
    assert fire_calls(db) == ["call"]
    (second,) = callout.call_tasks(db)
    assert (second.name, second.phone, second.position) == ("陈主任", DIRECTOR, 1)
    done = callout.record_outcome(db, officer, second.notification_id, second.version, "answered")
    assert done.outcome == "answered" and done.recorded_by == officer.display_name
    log = callout.call_tasks(db, open_only=False, incident_id=incident.id)
    assert [(t.name, t.outcome) for t in log] == [("陈主任", "answered"), ("王强", "no_answer")]
    with db.read() as s:
        notes = [e.note or "" for e in s.execute(select(IncidentEvent).where(
            IncidentEvent.incident_id == incident.id).order_by(IncidentEvent.id)).scalars()]
    assert f"Call to 王强 ({LEADER}): No answer." in notes
    assert f"Call to 陈主任 ({DIRECTOR}): Answered." in notes
    assert any("Call task: 王强" in n for n in notes) and any("Call task: 陈主任" in n for n in notes)


def test_an_answered_call_ends_the_chain(db: Database, world: World) -> None:
    incident = world.record("燃气泄漏", severity=1)
    start_calls(db, incident.id)
    fire_calls(db)
    (task,) = callout.call_tasks(db)
    callout.record_outcome(db, world.officers[0], task.notification_id, task.version, "answered")
    wait_passes(db)
    assert fire_calls(db) == []
    with db.read() as s:
        pending = s.execute(select(Timer).where(Timer.kind == "call", Timer.fired_at.is_(None))).scalars().all()
        assert [t.cancel_reason for t in pending] == ["call answered"]


def test_an_unrecorded_call_still_moves_on_and_a_call_is_recorded_once(
        db: Database, world: World, make_actor: Callable[..., Actor]) -> None:
    incident = world.record("河道落水", severity=1)
    start_calls(db, incident.id)
    fire_calls(db)
    wait_passes(db)  # nobody recorded anything: after the wait the director is called anyway
    fire_calls(db)
    first, second = sorted(callout.call_tasks(db), key=lambda t: t.position)
    assert (first.name, second.name) == ("王强", "陈主任")
    with pytest.raises(PermissionDenied):
        callout.record_outcome(db, make_actor("observer"), first.notification_id, first.version, "busy")
    with pytest.raises(ValidationError):
        callout.record_outcome(db, world.officers[0], first.notification_id, first.version, "maybe")
    callout.record_outcome(db, world.officers[0], first.notification_id, first.version, "busy")
    with pytest.raises(ValidationError):
        callout.record_outcome(db, world.officers[1], first.notification_id, first.version + 1, "off")


def test_nobody_to_call_says_so(db: Database) -> None:
    world = make_world(db)  # no roster at all
    incident = world.record("无人值守", severity=1)
    assert start_calls(db, incident.id) is None
    with db.read() as s:
        (note,) = s.execute(select(Notification).where(Notification.kind == "call")).scalars()
        assert note.level == "critical" and note.title.startswith("Nobody on duty can be called")


def test_a_person_on_leave_is_not_in_the_chain(db: Database, world: World) -> None:
    from db.models import Leave

    with db.write() as s:
        leader = s.execute(select(Person).where(Person.phone == LEADER)).scalar_one()
        now = db_now(s)
        s.add(Leave(person_id=leader.id, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1)))
        assert [p["phone"] for p in callout.call_chain(s, now)] == [DIRECTOR]


def test_an_escalation_step_with_call_puts_call_tasks_on_the_console(db: Database, world: World) -> None:
    from dispatch_console.escalation import service as escalation

    policy = {"defaults": {"level": "critical", "ack": "1m",
                           "steps": [{"after": "0s", "role": "shift_leader", "call": True, "call_wait": "2m"},
                                     {"after": "10m", "role": "director"}]},
              "severity": {str(n): {} for n in (1, 2, 3, 4)}}
    escalation.configure(policy=escalation.parse_policy(policy, "escalation.toml"))
    try:
        incident = world.record("仓库冒烟", severity=1)
        with db.write() as s:  # the acknowledgement target has passed
            s.execute(update(Timer).where(Timer.incident_id == incident.id, Timer.kind == "ack")
                      .values(due_at=db_now(s) - timedelta(seconds=1)))
        kinds = [f.kind for f in fire_due(db, "值班台1")]
        assert kinds[0] == "ack" and "call" in kinds  # the call timer was due at once
        (task,) = callout.call_tasks(db)
        assert (task.name, task.chain_length) == ("王强", 2) and "not acknowledged in time" in task.reason
        with db.read() as s:
            (pending,) = s.execute(select(Timer).where(Timer.kind == "call", Timer.fired_at.is_(None))).scalars()
            assert pending.step == 1 and (pending.payload or {})["wait_s"] == 120
        with pytest.raises(Exception) as err:
            escalation.parse_policy({**policy, "defaults": {**policy["defaults"], "steps": [
                {"after": "0s", "role": "shift_leader", "call": "yes"}]}}, "escalation.toml")
        assert "steps[0].call" in str(err.value)
    finally:
        escalation.configure()


def test_a_call_for_a_resolved_incident_is_not_made(db: Database, world: World) -> None:
    from db.models import Incident

    incident = world.record("已处置", severity=1)
    start_calls(db, incident.id)
    with db.write() as s:
        s.execute(update(Incident).where(Incident.id == incident.id).values(status="resolved"))
    fire_calls(db)
    assert callout.call_tasks(db) == []


def test_the_call_log_is_in_the_duty_log(db: Database, world: World) -> None:
    from dispatch_console.handover.duty_log import duty_log

    incident = world.record("管道爆裂", severity=1)
    start_calls(db, incident.id)
    fire_calls(db)
    (task,) = callout.call_tasks(db)
    callout.record_outcome(db, world.officers[0], task.notification_id, task.version, "off")
    texts = [e.text for e in duty_log(db).entries
             if e.category == "escalation" and e.incident_number == incident.number]
    assert any(f"Call task: 王强 ({LEADER})" in t for t in texts)
    assert any(f"Call to 王强 ({LEADER}): Phone off." in t for t in texts)
