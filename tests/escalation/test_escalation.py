"""Escalation: incident changes keep the timers in step; breached targets climb the ladder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from db.engine import Database
from db.models import Incident, IncidentEvent, Notification, OutboxMessage, Timer, Unit
from dispatch_console.escalation import service as escalation
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.incidents.units import assign, mark_on_scene
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.policies import PolicyError
from dispatch_console.notifications import outbox
from dispatch_console.timers import engine as timers


@pytest.fixture(autouse=True)
def shipped_policies() -> Iterator[None]:
    escalation.configure(Resources())
    outbox.configure(Resources())
    yield
    escalation.configure()
    outbox.configure()


def _create(db: Database, actor: Actor, severity: int = 1, is_drill: bool = False) -> incidents.IncidentRow:
    draft = IncidentDraft(category="fire", severity=severity, source="hotline_12345",
                          description="厂房冒烟，有人员被困", address="桃源街道 平山工业区 7 号", is_drill=is_drill)
    return incidents.create_incident(db, actor, draft).row


def _timers(db: Database, incident_id: int) -> list[Timer]:
    with db.read() as s:
        return list(s.execute(select(Timer).where(Timer.incident_id == incident_id,
                                                  Timer.kind.in_(timers.ESCALATION_KINDS))
                              .order_by(Timer.id)).scalars())


def _pending(db: Database, incident_id: int) -> dict[str, Timer]:
    return {t.kind: t for t in _timers(db, incident_id) if t.fired_at is None and t.cancelled_at is None}


def _advance(db: Database, seconds: float) -> None:
    """Let time pass for the pending timers (their deadlines move closer by ``seconds``)."""
    with db.write() as s:
        for t in s.execute(select(Timer).where(Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))).scalars():
            t.due_at = t.due_at - timedelta(seconds=seconds)


def _escalations(db: Database, incident_id: int) -> list[Notification]:
    with db.read() as s:
        return list(s.execute(select(Notification).where(Notification.incident_id == incident_id,
                                                         Notification.kind == "escalation")
                              .order_by(Notification.id)).scalars())


def test_unacknowledged_incident_climbs_the_ladder_until_the_repeats_are_used(
        db: Database, make_actor: Callable[..., Actor]) -> None:
    officer = make_actor("duty_officer")
    inc = _create(db, officer, severity=1)
    ack = _pending(db, inc.id)["ack"]
    assert ack.target_role == "shift_leader" and ack.step == 0
    assert ack.due_at - inc.created_at == timedelta(minutes=1)
    assert all(f.kind != "ack" for f in timers.fire_due(db, "ws-1"))  # not due yet
    for _ in range(10):  # far more than the ladder is long
        _advance(db, 3600)
        timers.fire_due(db, "ws-1")
    notes = _escalations(db, inc.id)
    assert [n.target_role for n in notes] == ["shift_leader", "director", "district_duty_office",
                                              "district_duty_office", "district_duty_office",
                                              "district_duty_office"]
    assert {n.level for n in notes} == {"critical"}
    assert notes[0].title == f"{inc.number} not acknowledged in time"
    assert "ack" not in _pending(db, inc.id)
    with db.read() as s:
        out = s.execute(select(OutboxMessage.recipient).where(
            OutboxMessage.notification_id.in_([n.id for n in notes]))).scalars().all()
        events = s.execute(select(IncidentEvent).where(IncidentEvent.incident_id == inc.id,
                                                       IncidentEvent.kind == "escalation")).scalars().all()
    assert sorted(out) == sorted(["带班领导", "主任", "区值班室", "区值班室", "区值班室", "区值班室"])
    assert len(events) == 6 and events[1].data["target_role"] == "director"


def test_each_status_change_cancels_its_target_and_starts_the_next(
        db: Database, make_actor: Callable[..., Actor]) -> None:
    officer = make_actor("duty_officer")
    inc = _create(db, officer, severity=2)
    assert set(_pending(db, inc.id)) == {"ack"}
    row = incidents.acknowledge(db, officer, inc.id, inc.version)
    assert set(_pending(db, inc.id)) == {"dispatch", "repage"}
    ack = next(t for t in _timers(db, inc.id) if t.kind == "ack")
    assert ack.cancelled_at is not None and ack.fired_at is None
    assert timers.pending_deadlines(db, [inc.id])[inc.id].kind == "dispatch"
    with db.write() as s:
        unit = Unit(code="TY-PCS", name="桃源派出所", kind="police_station", status="available")
        s.add(unit)
        s.flush()
        unit_id = unit.id
    row = assign(db, officer, inc.id, row.version, unit_ids=[unit_id])
    assert set(_pending(db, inc.id)) == {"arrive", "repage"}
    row = mark_on_scene(db, officer, inc.id, row.version)
    pending = _pending(db, inc.id)
    assert set(pending) == {"resolve", "repage"}
    assert pending["resolve"].due_at - inc.created_at == timedelta(hours=8)
    incidents.resolve(db, officer, inc.id, row.version)
    assert _pending(db, inc.id) == {}
    _advance(db, 86400)
    timers.fire_due(db, "ws-1")
    assert _escalations(db, inc.id) == []


def test_acknowledged_but_unresolved_incident_is_paged_again(
        db: Database, make_actor: Callable[..., Actor]) -> None:
    officer = make_actor("duty_officer")
    inc = _create(db, officer, severity=1)
    incidents.acknowledge(db, officer, inc.id, inc.version)
    for _ in range(8):
        _advance(db, 3600)
        timers.fire_due(db, "ws-1")
    with db.read() as s:
        repages = s.execute(select(Notification).join(Timer, Timer.id == Notification.timer_id).where(
            Timer.kind == "repage", Notification.incident_id == inc.id)).scalars().all()
    assert len(repages) == 4  # the first page and repage_repeat = 3 more
    assert {n.target_role for n in repages} == {"duty_officer"}


def test_drill_timers_escalate_the_same_but_never_reach_the_outbox(
        db: Database, make_actor: Callable[..., Actor]) -> None:
    officer = make_actor("drill_director")
    inc = _create(db, officer, severity=1, is_drill=True)
    assert all(t.is_drill for t in _timers(db, inc.id))
    for _ in range(3):
        _advance(db, 3600)
        timers.fire_due(db, "ws-1")
    notes = _escalations(db, inc.id)
    assert [n.target_role for n in notes[:3]] == ["shift_leader", "director", "district_duty_office"]
    assert all(n.is_drill and n.title.startswith("DRILL: ") for n in notes)
    with db.read() as s:
        assert s.execute(select(OutboxMessage).where(
            OutboxMessage.notification_id.in_([n.id for n in notes]))).first() is None


def test_severity_change_reschedules_from_the_original_start(
        db: Database, make_actor: Callable[..., Actor]) -> None:
    officer = make_actor("duty_officer")
    inc = _create(db, officer, severity=1)
    incidents.update_incident(db, officer, inc.id, inc.version, severity=4)
    ack = _pending(db, inc.id)["ack"]
    assert ack.due_at - inc.created_at == timedelta(minutes=15)
    cancelled = [t for t in _timers(db, inc.id) if t.cancelled_at is not None]
    assert [t.cancel_reason for t in cancelled] == ["reset"]


def test_stale_timer_fires_without_notifying(db: Database, system: Actor) -> None:
    inc = _create(db, system, severity=1)
    with db.write() as s:  # acknowledged behind escalation's back: the ack timer was not cancelled
        s.execute(update(Incident).where(Incident.id == inc.id).values(status="acknowledged"))
    _advance(db, 120)
    fired = [f for f in timers.fire_due(db, "ws-1") if f.kind == "ack"]
    assert len(fired) == 1
    assert _escalations(db, inc.id) == []
    with db.read() as s:
        note = s.execute(select(IncidentEvent.note).where(IncidentEvent.incident_id == inc.id,
                                                          IncidentEvent.kind == "escalation")).scalar_one()
    assert "No longer needed" in note


def _write_policy(tmp_path: Path, text: str) -> Resources:
    (tmp_path / "policies").mkdir(exist_ok=True)
    (tmp_path / "policies" / "escalation.toml").write_text(text, encoding="utf-8")
    return Resources(tmp_path)


_SMALL = """
[defaults]
steps = [{ after = "0s", role = "shift_leader" }]
[severity.1]
ack = "90s"
[severity.2]
ack = "2m"
[severity.3]
ack = "5m"
[severity.4]
ack = 900
"""


def test_site_policy_overrides_with_second_durations(tmp_path: Path) -> None:
    policy = escalation.load_policy(_write_policy(tmp_path, _SMALL))
    assert policy.for_severity(1).targets == {"ack": timedelta(seconds=90)}
    assert policy.for_severity(4).targets["ack"] == timedelta(minutes=15)
    assert policy.for_severity(2).chain_length == 1


@pytest.mark.parametrize(("bad", "key"), [
    ('ack = "90s"', None),
    ('ack = "5x"', "severity.2.ack"),
    ('ack = "2m"\nack_time = "1m"', "severity.2.ack_time"),
    ('ack = "2m"\nsteps = [{ after = "1m", role = "mayor" }]', "severity.2.steps[0].role"),
    ('ack = "2m"\nrepeat = -1', "severity.2.repeat"),
    ('ack = "2m"\nlevel = "loud"', "severity.2.level"),
])
def test_policy_errors_name_the_file_and_the_key(tmp_path: Path, bad: str, key: str | None) -> None:
    text = _SMALL.replace('[severity.2]\nack = "2m"', "[severity.2]\n" + bad)
    resources = _write_policy(tmp_path, text)
    if key is None:
        escalation.load_policy(resources)
        return
    with pytest.raises(PolicyError) as err:
        escalation.load_policy(resources)
    assert "escalation.toml" in str(err.value) and key in str(err.value)
