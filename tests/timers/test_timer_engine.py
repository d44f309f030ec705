"""The timer engine on one process: claims, effects, lateness, cancelling, listing, the agent."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from support.timer_workers import failing_effect, firing_evidence, schedule_reminders, url_of, wait_until

from db.engine import Database, db_now
from db.models import IncidentEvent, Notification
from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.incidents.service import create_incident
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.policies import parse_duration
from dispatch_console.timers import engine as timers
from station.launcher import main as cli_main

ROOT = Path(__file__).resolve().parents[2]


def _incident(db: Database, actor: Actor, severity: int = 3, is_drill: bool = False) -> int:
    draft = IncidentDraft(category="dispute", severity=severity, source="walk_in",
                          description="两户邻里因漏水发生争执", address="桃源街道 龙联花园 3 栋", is_drill=is_drill)
    return create_incident(db, actor, draft).row.id


def test_parse_duration_accepts_seconds_and_units() -> None:
    assert parse_duration(90) == timedelta(seconds=90)
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("5m") == timedelta(minutes=5)
    assert parse_duration("2h") == timedelta(hours=2)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("0.5") == timedelta(seconds=0.5)
    for bad in ("5x", "", "m5", -3, True, "5 minutes"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_a_due_timer_fires_once_with_notification_audit_and_change(db: Database) -> None:
    ids = schedule_reminders(db, 3, first_s=-5, spread_s=1)
    fired = timers.fire_due(db, "ws-a")
    again = timers.fire_due(db, "ws-b")
    assert sorted(f.id for f in fired) == sorted(ids)
    assert again == []
    ev = firing_evidence(db, ids)
    assert all(ev["notifications"][i] == 1 for i in ids)
    assert all(ev["audits"][i] == 1 for i in ids)
    assert all(ev["changes"][i] == 1 for i in ids)
    assert {ev["timers"][i][1] for i in ids} == {"ws-a"}


def test_a_future_timer_does_not_fire_early(db: Database) -> None:
    schedule_reminders(db, 1, first_s=3600, spread_s=0)
    assert timers.fire_due(db, "ws-a") == []
    assert timers.next_due(db) is not None


def test_cancelled_timer_never_fires_and_cancel_needs_a_filter(db: Database, system: Actor) -> None:
    incident_id = _incident(db, system)
    with db.write() as s:
        now = db_now(s)
        timers.schedule(s, kind="reminder", due_at=now - timedelta(seconds=1), incident_id=incident_id)
    with db.write() as s:
        with pytest.raises(ValueError):
            timers.cancel(s, reason="everything")
        assert timers.cancel(s, reason="test", incident_id=incident_id, kinds=["reminder"]) == 1
    assert timers.fire_due(db, "ws-a") == []
    rows = timers.list_timers(db, state="cancelled", incident_id=incident_id)
    assert [r.cancel_reason for r in rows if r.kind == "reminder"] == ["test"]


def test_due_while_down_fires_at_start_marked_late(db: Database, system: Actor) -> None:
    incident_id = _incident(db, system)
    with db.write() as s:
        now = db_now(s)
        late = [timers.schedule(s, kind="reminder", due_at=now - timedelta(hours=1), incident_id=incident_id,
                                payload={"title": "首报提醒"}).id for _ in range(2)]
        future = timers.schedule(s, kind="reminder", due_at=now + timedelta(hours=2)).id
    engine = timers.TimerEngine(db, "ws-start", sweep_interval=0.5).start()
    try:
        assert wait_until(lambda: len(engine.fired) >= 2, 30)
    finally:
        engine.stop()
    ev = firing_evidence(db, [*late, future])
    for timer_id in late:
        fired_at, fired_by, due_at, late_ms = ev["timers"][timer_id]
        assert fired_by == "ws-start"
        assert late_ms >= 3600 * 1000 and late_ms == pytest.approx((fired_at - due_at).total_seconds() * 1000, abs=2)
    assert ev["timers"][future][0] is None
    with db.read() as s:
        notes = s.execute(select(IncidentEvent.note).where(
            IncidentEvent.incident_id == incident_id, IncidentEvent.kind == "deadline")).scalars().all()
    assert len(notes) == 2 and all("Late by 1h00m" in n for n in notes)


def test_engine_arms_for_a_timer_scheduled_after_start(db: Database) -> None:
    engine = timers.TimerEngine(db, "ws-armed", sweep_interval=600, own_feed=True).start()
    try:
        ids = schedule_reminders(db, 2, first_s=0.5, spread_s=0.5)
        assert wait_until(lambda: len(engine.fired) == 2, 30)
    finally:
        engine.stop()
    assert sorted(f.id for f in engine.fired) == sorted(ids)


def test_missing_or_failing_effect_still_fires_with_a_generic_notification(db: Database) -> None:
    ids = schedule_reminders(db, 1, first_s=-1, spread_s=0, kind="mystery")
    ids += schedule_reminders(db, 1, first_s=-1, spread_s=0, kind="broken")
    ids += schedule_reminders(db, 1, first_s=-1, spread_s=0, kind="gone")
    effects = {**timers.EFFECTS, "broken": failing_effect}  # "gone": its room is not installed
    fired = timers.fire_due(db, "ws-a", effects=effects)
    assert sorted(f.id for f in fired) == sorted(ids)
    with db.read() as s:
        notes = {n.timer_id: n for n in s.execute(select(Notification)).scalars()}
    assert {notes[i].kind for i in ids} == {"deadline"}
    assert "the printer is on fire" in (notes[ids[1]].body or "")
    assert timers.fire_due(db, "ws-b", effects=effects) == []


def test_pending_deadlines_and_countdown_colours(db: Database, system: Actor) -> None:
    incident_id = _incident(db, system, severity=1)
    deadlines = timers.pending_deadlines(db, [incident_id, 999_999])
    assert set(deadlines) == {incident_id}
    d = deadlines[incident_id]
    assert d.kind == "ack" and d.due_at - d.started_at == timedelta(minutes=1)
    assert timers.deadline_state(d, d.started_at + timedelta(seconds=10)) == "ok"
    assert timers.deadline_state(d, d.started_at + timedelta(seconds=40)) == "amber"
    assert timers.deadline_state(d, d.due_at) == "red"


def test_timers_list_command_shows_fired_by_and_lateness(db: Database, system: Actor,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    incident_id = _incident(db, system)
    with db.write() as s:
        now = db_now(s)
        timers.schedule(s, kind="reminder", due_at=now - timedelta(minutes=3), incident_id=incident_id)
    timers.fire_due(db, "ws-list")
    assert cli_main(["--db", url_of(db), "timers", "list", "--fired", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    mine = [r for r in lines if r["kind"] == "reminder"]
    assert len(mine) == 1 and mine[0]["fired_by"] == "ws-list" and mine[0]["late_ms"] >= 180_000
    assert mine[0]["incident_number"]
    assert all(r["state"] == "fired" for r in lines)
    assert cli_main(["--db", url_of(db), "timers", "list", "--pending"]) == 0
    text = capsys.readouterr().out
    assert "acknowledgement" in text and "waiting" in text  # the incident's own ack deadline


def test_agent_command_fires_and_delivers_until_sigterm(db: Database, tmp_path: Path) -> None:
    log_file = tmp_path / "out.jsonl"
    (tmp_path / "cfg" / "policies").mkdir(parents=True)
    (tmp_path / "cfg" / "policies" / "notify.toml").write_text(
        f'[senders.log]\ntype = "log_file"\npath = "{log_file.as_posix()}"\n'
        '[roles.shift_leader]\nrecipients = [{ sender = "log", to = "带班领导" }]\n', encoding="utf-8")
    with db.write() as s:
        now = db_now(s)
        timer_id = timers.schedule(s, kind="reminder", due_at=now - timedelta(seconds=2),
                                   target_role="shift_leader", payload={"title": "交班前核对值班日志"}).id
    env = {**os.environ, "DISPATCH_LANG": "en", "DISPATCH_CONFIG_DIR": str(tmp_path / "cfg"),
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from station.launcher import main; sys.exit(main())",
         "--db", url_of(db), "--station", "agent-1", "agent", "--sweep", "0.5"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert wait_until(lambda: log_file.exists() and log_file.read_text(encoding="utf-8").strip(), 60)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)  # generous: a loaded 2-core CI machine
    assert proc.returncode == 0, err
    assert "stopped after firing 1 timers" in out
    line = json.loads(log_file.read_text(encoding="utf-8").splitlines()[0])
    assert line["to"] == "带班领导" and line["subject"] == "交班前核对值班日志"
    assert firing_evidence(db, [timer_id])["timers"][timer_id][1] == "agent-1"


def test_a_skipped_alarm_is_not_warned_about_but_other_skips_are(caplog: pytest.LogCaptureFixture) -> None:
    """Many alarms due at once at start: APScheduler's 'maximum number of running instances' for
    the alarm is expected (each running alarm re-arms when it ends) and stays out of the log."""
    message = 'Execution of job "%s" skipped: maximum number of running instances reached (%d)'
    with caplog.at_level(logging.WARNING, logger=timers.SCHEDULER_LOG.name):
        timers.SCHEDULER_LOG.warning(message, "TimerEngine._alarm (trigger: date[2026-11-28 11:08:54 UTC])", 2)
        timers.SCHEDULER_LOG.warning(message, "TimerEngine._sweep (trigger: date[2026-11-28 11:08:54 UTC])", 1)
    assert [r.getMessage()[:35] for r in caplog.records] == ['Execution of job "TimerEngine._swee']


def test_a_timer_held_elsewhere_does_not_delay_the_next_one(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """The earliest pending timer is past due (another station is firing it): the alarm looks
    again after ``min_delay`` — but a timer due sooner than that is armed for exactly."""
    engine = timers.TimerEngine(db, "ws-armed", sweep_interval=600).start()
    try:
        assert wait_until(lambda: engine._lead.leading, 30)
        with db.read() as s:
            now = db_now(s)
        seen: list[timers.NextDue] = []

        def found(due_s: float, ahead_s: float) -> None:
            seen[:] = [timers.NextDue(now + timedelta(seconds=due_s), now + timedelta(seconds=ahead_s), now)]

        monkeypatch.setattr(timers, "next_due_and_now", lambda _db: seen[0])

        def armed_in() -> float:
            job = engine._scheduler.get_job("alarm")  # type: ignore[union-attr]
            return (job.next_run_time - datetime.now(UTC)).total_seconds()

        found(-0.5, 20.0)  # the next one is due in 20 s, before the 60 s look again
        engine.rearm(min_delay=60.0)
        assert engine.armed_for == now + timedelta(seconds=20) and 15 < armed_in() <= 20.1
        found(-0.5, 90.0)  # the next one is due after it: look again in 60 s
        engine.rearm(min_delay=60.0)
        assert engine.armed_for == now - timedelta(seconds=0.5) and 55 < armed_in() <= 60.1
    finally:
        engine.stop()


def test_a_timer_scheduled_later_than_the_armed_one_costs_no_read(db: Database,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The feed carries a scheduled timer's due time: a new incident's first deadline, minutes
    after what the alarm is armed for, needs no read; one due sooner is armed for without a read;
    only a change that does not say when (a drill clock paused) reads the timers again."""
    from dispatch_console.kernel.changefeed import Change

    engine = timers.TimerEngine(db, "ws-no-read", sweep_interval=600).start()
    try:
        assert wait_until(lambda: engine._lead.leading and engine._scheduler is not None, 30)
        with db.read() as s:
            now = db_now(s)
        armed = now + timedelta(seconds=300)
        engine.rearm(seen=(timers.NextDue(armed, armed, now), time.monotonic()))
        assert engine.armed_for == armed
        reads: list[int] = []
        real = timers.next_due_and_now
        monkeypatch.setattr(timers, "next_due_and_now", lambda d: reads.append(1) or real(d))

        def scheduled(due: datetime | None, op: str = "schedule") -> Change:
            return Change(seq=1, at=now, entity="timer", entity_id=1, op=op, station="ws-x", user_id=None,
                          incident_id=7, due_at=due)

        engine.on_changes([scheduled(now + timedelta(seconds=600)), scheduled(None, op="fire"),
                           scheduled(None, op="cancel")])
        assert reads == [] and engine.armed_for == armed  # later than armed, fired, cancelled: nothing
        sooner = now + timedelta(seconds=120)
        engine.on_changes([scheduled(sooner), scheduled(now + timedelta(seconds=900))])
        job = engine._scheduler.get_job("alarm")  # type: ignore[union-attr]
        assert reads == [] and engine.armed_for == sooner and job is not None
        assert 100 < (job.next_run_time - datetime.now(UTC)).total_seconds() <= 121
        engine.on_changes([scheduled(None, op="pause")])  # whose and when not said: read
        assert reads == [1]
    finally:
        engine.stop()
