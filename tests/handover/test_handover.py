"""Shift handover: drafting, signing, per-incident acceptance, escalation, addenda (both backends)."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from support.handover_fixtures import incident, night_to_day, policy_folder

from db.engine import Database
from db.models import IncidentEvent, Notification, Timer
from dispatch_console.handover import service as handover
from dispatch_console.incidents import service as incidents
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.errors import AuthenticationFailed, PermissionDenied, ValidationError
from dispatch_console.kernel.i18n import set_language
from dispatch_console.kernel.timefmt import local
from dispatch_console.timers import engine as timers

SIGNED_REFUSAL = "已签署的交接记录不能修改，请添加补充说明"


def _timers(db: Database, kind: str) -> list[Timer]:
    with db.read() as s:
        return list(s.execute(select(Timer).where(Timer.kind == kind).order_by(Timer.id)).scalars())


def _notifications(db: Database, kind: str) -> list[Notification]:
    with db.read() as s:
        return list(s.execute(select(Notification).where(Notification.kind == kind).order_by(Notification.id))
                    .scalars())


def test_night_shift_handed_over_across_midnight_incident_by_incident(db: Database, system: Actor) -> None:
    room = night_to_day(db, system)
    fire = incident(db, room.zhang, 1, "厂房冒烟，有人员被困", acknowledge=True)
    flood = incident(db, room.zhang, 2, "地下车库进水")
    dispute = incident(db, room.zhang, 3, "租户与房东因押金发生纠纷", acknowledge=True)
    drill = incident(db, room.zhang, 1, "演练：化工厂泄漏", drill=True)

    record = handover.draft(db, room.wang, room.outgoing)
    assert local(record.shift.starts_at).strftime("%m-%d %H:%M") == "11-27 20:00"
    assert local(record.shift.ends_at).strftime("%m-%d %H:%M") == "11-28 08:00"  # across midnight
    assert record.next_shift is not None and record.next_shift.id == room.incoming
    numbers = [i.number for i in record.situation.incidents]
    assert numbers == [fire.number, flood.number, dispute.number] and drill.number not in numbers
    assert [i.must_reacknowledge for i in record.situation.incidents] == [True, True, False]
    assert record.situation.outgoing.leaders == ("王强",) and record.situation.incoming.leaders == ("李娜",)
    assert record.situation.incidents[0].owner_name == "zhang"
    assert record.situation.incidents[0].next_deadline_at is not None

    with pytest.raises(PermissionDenied):
        handover.draft(db, room.zhang, room.outgoing)  # duty officers do not sign handovers
    with pytest.raises(PermissionDenied):
        handover.save(db, room.li, record.id, record.version, notes="not my shift")
    record = handover.save(db, room.wang, record.id, record.version, notes="夜间平山社区停电，已报供电局。",
                           equipment={"duty_phone": {"ok": True}, "vehicle_keys": {"ok": False, "note": "车辆送修"}})
    with pytest.raises(AuthenticationFailed):
        handover.sign(db, room.wang, record.id, record.version, "wrong")
    signed = handover.sign(db, room.wang, record.id, record.version, "pw")
    assert signed.status == "signed" and signed.signed is not None and signed.signed.station == "值班台1"
    assert signed.content_hash and handover.verify(db, signed.id)
    assert [e.ok for e in signed.equipment if e.code in ("duty_phone", "vehicle_keys")] == [True, False]
    accept_timer = _timers(db, "handover_accept")
    assert len(accept_timer) == 1 and accept_timer[0].target_role == "director"

    # The incoming leader takes over the fire, not (yet) the flood: state per incident.
    with pytest.raises(PermissionDenied):
        handover.reacknowledge(db, room.wang, signed.id, fire.id)  # not on the incoming shift
    state = handover.reacknowledge(db, room.li, signed.id, fire.id)
    by_id = {r.incident_id: r for r in state.incidents}
    assert by_id[fire.id].accepted_at is not None and by_id[fire.id].accepted_by_name == "li"
    assert by_id[flood.id].accepted_at is None
    assert [r.number for r in state.pending_reacknowledgements] == [flood.number]
    assert incidents.get_incident(db, fire.id).row.owner_name == "li"
    with pytest.raises(ValidationError, match=flood.number):
        handover.accept(db, room.li, signed.id, state.version, "pw")
    with pytest.raises(ValidationError):
        handover.reacknowledge(db, room.li, signed.id, fire.id)  # once only

    handover.reacknowledge(db, room.li, signed.id, flood.id, owner_user_id=room.chen.user_id)
    accepted = handover.accept(db, room.li, signed.id, state.version, "pw")
    assert accepted.status == "accepted" and accepted.accepted is not None
    assert accepted.accepted.name == "li" and accepted.accepted.station == "值班台2"
    assert all(r.accepted_at is not None for r in accepted.incidents)
    rows = incidents.rows_by_ids(db, [fire.id, flood.id, dispute.id])
    assert (rows[fire.id].owner_name, rows[flood.id].owner_name, rows[dispute.id].owner_name) == ("li", "chen", "li")
    moved = [e for e in incidents.get_incident(db, dispute.id).events if e.kind == "handed_over"]
    assert len(moved) == 1 and "zhang → li" in (moved[0].note or "")
    assert _timers(db, "handover_accept")[0].cancelled_at is not None
    assert handover.verify(db, signed.id)  # acceptance does not touch the signed content


def test_signed_record_refuses_edits_in_chinese(db: Database, system: Actor) -> None:
    room = night_to_day(db, system)
    incident(db, room.zhang, 3, "噪音扰民")
    record = handover.draft(db, room.wang, room.outgoing)
    signed = handover.sign(db, room.wang, record.id, record.version, "pw", notes="无异常")
    set_language("zh_CN")
    try:
        with pytest.raises(ValidationError) as refused:
            handover.save(db, room.wang, signed.id, signed.version, notes="改一下")
        assert str(refused.value) == SIGNED_REFUSAL
        with pytest.raises(ValidationError, match=SIGNED_REFUSAL):
            handover.draft(db, room.wang, room.outgoing)
        with pytest.raises(ValidationError, match=SIGNED_REFUSAL):
            handover.sign(db, room.wang, signed.id, signed.version, "pw")
    finally:
        set_language("en")
    assert handover.get(db, signed.id).notes == "无异常" and handover.verify(db, signed.id)


def test_signing_refuses_a_draft_that_no_longer_matches_the_incidents(db: Database, system: Actor) -> None:
    room = night_to_day(db, system)
    record = handover.draft(db, room.wang, room.outgoing)
    incident(db, room.zhang, 2, "燃气泄漏")  # arrives after the leader reviewed the draft
    with pytest.raises(ValidationError, match="refresh"):
        handover.sign(db, room.wang, record.id, record.version, "pw")
    fresh = handover.draft(db, room.wang, room.outgoing)
    assert len(fresh.situation.incidents) == 1
    assert handover.sign(db, room.wang, fresh.id, fresh.version, "pw").status == "signed"


def test_incident_arriving_mid_handover_becomes_an_addendum(db: Database, system: Actor) -> None:
    room = night_to_day(db, system)
    incident(db, room.zhang, 3, "路灯损坏")
    record = handover.draft(db, room.wang, room.outgoing)
    signed = handover.sign(db, room.wang, record.id, record.version, "pw")

    late = incident(db, room.zhang, 1, "仓库起火，浓烟较大")
    incident(db, room.zhang, 1, "演练：仓库起火", drill=True)  # drills never reach the record
    now = handover.get(db, signed.id)
    assert [(a.incident_number, a.signed) for a in now.addenda] == [(late.number, None)]
    assert late.number in now.addenda[0].text
    assert [r.number for r in now.pending_reacknowledgements] == [late.number]
    assert now.situation == signed.situation and handover.verify(db, signed.id)  # the signed part stays

    with pytest.raises(AuthenticationFailed):
        handover.add_addendum(db, room.wang, signed.id, "补充：仓库起火已通知消防", "nope")
    with pytest.raises(PermissionDenied):
        handover.add_addendum(db, room.zhang, signed.id, "补充", "pw")
    with_note = handover.add_addendum(db, room.wang, signed.id, "补充：仓库起火已通知消防", "pw",
                                      incident_id=late.id)
    note = with_note.addenda[-1]
    assert note.signed is not None and note.signed.name == "wang" and note.signed.station == "值班台1"
    with pytest.raises(ValidationError, match=late.number):
        handover.accept(db, room.li, signed.id, with_note.version, "pw")
    handover.reacknowledge(db, room.li, signed.id, late.id)
    assert handover.accept(db, room.li, signed.id, with_note.version, "pw").status == "accepted"


def test_nobody_accepts_in_time_the_director_is_alerted_once(
        db: Database, system: Actor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPATCH_CONFIG_DIR", str(policy_folder(tmp_path, accept_within="1s")))
    room = night_to_day(db, system)
    taken = incident(db, room.zhang, 2, "山体滑坡隐患", acknowledge=True)
    left = incident(db, room.zhang, 1, "化工厂异味", acknowledge=True)
    record = handover.draft(db, room.wang, room.outgoing)
    signed = handover.sign(db, room.wang, record.id, record.version, "pw")
    handover.reacknowledge(db, room.li, signed.id, taken.id)  # one taken over, one not, never accepted

    due = _timers(db, "handover_accept")[0].due_at
    while db.now() <= due:  # the database clock passes the deadline (a one-second window)
        time.sleep(0.05)
    first, second = timers.TimerEngine(db, "agent-1"), timers.TimerEngine(db, "值班台2")
    first.fire_due()
    second.fire_due()
    fired = [f for f in first.fired + second.fired if f.kind == "handover_accept"]
    assert len(fired) == 1
    alerts = [n for n in _notifications(db, "escalation") if n.timer_id == fired[0].id]
    assert len(alerts) == 1
    alert = alerts[0]
    assert (alert.level, alert.target_role) == ("critical", "director")
    assert left.number in (alert.body or "") and taken.number not in (alert.body or "")
    assert handover.get(db, signed.id).status == "signed"  # still waiting for the incoming leader


def test_acceptance_in_time_cancels_the_alert(db: Database, system: Actor) -> None:
    room = night_to_day(db, system)
    record = handover.draft(db, room.wang, room.outgoing)
    signed = handover.sign(db, room.wang, record.id, record.version, "pw")
    handover.accept(db, room.li, signed.id, signed.version, "pw")
    with db.write() as s:  # even if its due time passes now, the cancelled timer stays silent
        for t in s.execute(select(Timer).where(Timer.kind == "handover_accept")).scalars():
            t.due_at = t.due_at - timedelta(hours=1)
    timers.fire_due(db, "agent-1")
    assert not [n for n in _notifications(db, "escalation") if n.target_role == "director"]


def test_handed_over_incident_timeline_and_audit(db: Database, system: Actor) -> None:
    room = night_to_day(db, system)
    fire = incident(db, room.zhang, 1, "厂房冒烟", acknowledge=True)
    record = handover.draft(db, room.wang, room.outgoing)
    signed = handover.sign(db, room.wang, record.id, record.version, "pw")
    handover.reacknowledge(db, room.li, signed.id, fire.id)
    with db.read() as s:
        events = s.execute(select(IncidentEvent).where(IncidentEvent.incident_id == fire.id,
                                                       IncidentEvent.kind == "handed_over")).scalars().all()
    assert len(events) == 1 and events[0].username == "li" and events[0].station == "值班台2"
    assert events[0].data and events[0].data["handover_id"] == signed.id
