"""Drills on the service side: a run on the accelerated drill clock, its report, and proof that
drill records never reach real statistics, the outbox or handover records. Both backends.

``drill_world`` (a small jurisdiction, units, officers and a short scenario) is shared with the
drill panel's GUI test.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from db.engine import Database
from db.models import Incident, Notification, OutboxMessage, Timer, Unit
from dispatch_console.checklists import service as checklists
from dispatch_console.drills import report as drill_report
from dispatch_console.drills import service as drills
from dispatch_console.drills.scenario import Scenario, load_scenario
from dispatch_console.escalation import service as escalation
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents import statistics
from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.errors import PermissionDenied, ValidationError
from dispatch_console.timers import engine as timers

SPEED = 60.0

SCENARIO = """\
code = "test_factory_fire"
name = "测试演练：厂房火灾"
description = "短演练，供自动测试"
duration = "3m"
objectives = ["及时受理", "按清单核实火情"]

[[participants]]
role = "duty_officer"
count = 2
duty = "受理、派遣、勾选清单"

[[participants]]
role = "drill_director"
duty = "导调"

[[injects]]
key = "fire"
at = "0s"
kind = "incident"
title = "厂房起火"
category = "fire"
severity = 4
source = "police_110"
description = "演练：工业园3栋厂房二楼冒出浓烟，有员工被困"
address = "测试工业园3栋"
grid = "G1"
lon = 113.905
lat = 22.505
people_count = 12

  [[injects.expect]]
  action = "acknowledge"
  within = "10m"

  [[injects.expect]]
  action = "checklist"
  step = "verify"
  within = "1m"

[[injects]]
key = "crowd"
at = "5s"
kind = "incident"
title = "围观人员聚集"
category = "mass_gathering"
severity = 1
source = "grid_staff"
description = "演练：厂房外大量员工和围观群众聚集"
grid = "G2"
people_count = 40

[[injects]]
key = "spread"
at = "20s"
kind = "update"
target = "fire"
people_count = 30
severity = 3
note = "火势蔓延至三楼，被困人员增至30人"

[[injects]]
key = "militia_out"
at = "20s"
kind = "unit_unavailable"
unit = "mbfd"
note = "民兵应急分队在另一处险情抢险"
"""

TEST_POLICY = {
    "defaults": {"steps": [{"after": "0s", "role": "shift_leader"}], "repeat": 0},
    "severity": {
        "1": {"ack": "1m", "dispatch": "1d", "arrive": "1d", "resolve": "1d"},
        **{str(n): {"ack": "1d", "dispatch": "1d", "arrive": "1d", "resolve": "1d"} for n in (2, 3, 4)},
    },
}


@dataclass
class DrillWorld:
    db: Database
    officer: Actor
    director: Actor
    scenario: Scenario
    scenario_path: Path
    unit_ids: dict[str, int]


def write_scenario(tmp_path: Path, text: str = SCENARIO, name: str = "scenario.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def quick_escalation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Severity 1: one escalation a minute after an unacknowledged report; the rest a day."""
    monkeypatch.setattr(escalation, "_policy", escalation.parse_policy(TEST_POLICY, "test"))


@pytest.fixture
def drill_world(db: Database, make_actor, tmp_path: Path, quick_escalation: None) -> DrillWorld:  # type: ignore[no-untyped-def]
    from support.world import make_world

    make_world(db, officers=0)
    ids = {}
    with db.write() as s:
        for code, name, kind in (("pcs", "桃源派出所", "police_station"), ("mbfd", "民兵应急分队", "militia"),
                                 ("xfd", "专职消防队", "fire_station")):
            unit = Unit(code=code, name=name, kind=kind, status="available", version=1)
            s.add(unit)
            s.flush()
            ids[code] = unit.id
    path = write_scenario(tmp_path)
    return DrillWorld(db, make_actor("duty_officer", station="值班台1"), make_actor("drill_director", station="导调台"),
                      load_scenario(path), path, ids)


def drive(db: Database, until: Callable[[drills.TickResult], bool], timeout: float = 60.0,
          station: str = "导调台") -> drills.TickResult:
    """Call tick() as a console does until ``until`` holds (a wait, not a timing assertion)."""
    stop = time.monotonic() + timeout
    while True:
        result = drills.tick(db, station)
        if until(result):
            return result
        if time.monotonic() > stop:
            raise AssertionError(f"drill did not get there: {result}")
        time.sleep(0.03)


def incident_of(db: Database, run_id: int, key: str) -> incidents.IncidentRow:
    row = next(i for i in drills.injects_of(db, run_id) if i.key == key)
    assert row.incident_id is not None
    return incidents.rows_by_ids(db, [row.incident_id])[row.incident_id]


@contextmanager
def clock_stopped(db: Database, director: Actor, run_id: int) -> Iterator[None]:
    """The director pauses the drill while the officer acts, so what the officer does lands at a known
    scenario time however slowly this machine runs the test (the pause is not drill time)."""
    paused = drills.pause_drill(db, director, run_id, drills.get_run(db, run_id).version)
    yield
    drills.resume_drill(db, director, run_id, paused.version)


def test_a_drill_runs_on_the_accelerated_clock_and_is_measured(drill_world: DrillWorld) -> None:
    w, db = drill_world, drill_world.db
    speed = SPEED / 3  # the 90 s between "late" and the drill's end are 4.5 real seconds
    with pytest.raises(PermissionDenied):
        drills.start_drill(db, w.officer, w.scenario, speed)
    run = drills.start_drill(db, w.director, w.scenario, speed)
    with pytest.raises(ValidationError):  # one drill at a time
        drills.start_drill(db, w.director, w.scenario, speed)
    assert drills.active_run(db).id == run.id and run.injects_total == 4

    # the first inject arrives as a drill incident with its checklist; the officer acknowledges it
    drive(db, lambda r: "fire" in r.fired)
    with clock_stopped(db, w.director, run.id):
        fire = incident_of(db, run.id, "fire")
        assert fire.is_drill and fire.category == "fire" and fire.status == "new"
        with db.read() as s:
            assert s.get(Incident, fire.id).drill_run_id == run.id
        fire = incidents.acknowledge(db, w.officer, fire.id, fire.version)
        steps = {i.step_key: i for i in checklists.items_for(db, fire.id)}
        assert "verify" in steps

    # the crowd is reported; nobody acknowledges it: its escalation fires on the drill clock
    drive(db, lambda r: r.run is not None and r.run.injects_fired == 4)
    drive(db, lambda r: r.run is not None and r.run.scenario_s >= 90)
    crowd = incident_of(db, run.id, "crowd")
    assert crowd.is_drill and crowd.status == "new"
    updated = incidents.rows_by_ids(db, [fire.id])[fire.id]
    assert updated.people_count == 30 and updated.severity == 3
    with db.read() as s:
        assert s.get(Unit, w.unit_ids["mbfd"]).status == "off_duty"
    # the step is ticked late (after 90 s of a 60 s target) and a unit is sent
    with clock_stopped(db, w.director, run.id):
        checklists.tick(db, w.officer, steps["verify"].id, steps["verify"].version)
        incidents.assign(db, w.officer, fire.id, updated.version, unit_ids=[w.unit_ids["pcs"]])

    end = drive(db, lambda r: r.ended)
    assert end.run is not None and end.run.status == "finished" and drills.active_run(db) is None

    report = drill_report.build_report(db, run.id)
    by_key = {i.key: i for i in report.injects}
    ack, verify = by_key["fire"].expectations
    assert ack.action == "acknowledge" and ack.state == "met" and ack.margin_s > 0
    assert verify.action == "checklist" and verify.state == "missed" and verify.margin_s < 0 < verify.actual_s - 60
    assert by_key["fire"].acknowledge_s is not None and by_key["fire"].acknowledge_s < by_key["fire"].dispatch_s
    assert by_key["crowd"].acknowledge_s is None and by_key["crowd"].escalations == 1
    assert report.escalation_count == 1 and report.met == 1 and report.missed == 1
    assert {a.user for a in report.actions} == {w.officer.username}
    assert {a.kind for a in report.actions} >= {"acknowledged", "checklist_ticked", "dispatched"}
    with db.read() as s:  # the stored copy says the same
        stored = s.get(drills.DrillRun, run.id).report  # type: ignore[attr-defined]
    assert stored["escalation_count"] == 1 and stored["met"] == 1 and stored["missed"] == 1

    # stand-down: drill incidents closed, the unit given back, no drill timer left pending
    closed = incidents.rows_by_ids(db, [fire.id, crowd.id])
    assert {r.status for r in closed.values()} == {"closed"}
    with db.read() as s:
        assert s.get(Unit, w.unit_ids["mbfd"]).status == "available"
        assert s.execute(select(Timer).where(Timer.is_drill.is_(True), Timer.fired_at.is_(None),
                                             Timer.cancelled_at.is_(None))).first() is None

    # a second run of the same scenario shows beside the first
    again = drills.start_drill(db, w.director, w.scenario, speed)
    drills.abort_drill(db, w.director, again.id, again.version)
    runs = drill_report.compare_runs(db, "test_factory_fire")
    assert [r.run_id for r in runs] == [run.id, again.id]
    assert runs[0].met == 1 and runs[0].escalations == 1 and runs[1].status == "aborted"


def test_pausing_stops_the_drill_clock_and_holds_its_timers(drill_world: DrillWorld) -> None:
    w, db = drill_world, drill_world.db
    run = drills.start_drill(db, w.director, w.scenario, SPEED)
    drive(db, lambda r: "fire" in r.fired)
    paused = drills.pause_drill(db, w.director, run.id, drills.get_run(db, run.id).version)
    assert paused.status == "paused"
    drills.tick(db, "导调台")
    frozen = drills.get_run(db, run.id).scenario_s
    with db.read() as s:
        pending = s.execute(select(Timer).where(Timer.is_drill.is_(True), Timer.fired_at.is_(None),
                                                Timer.cancelled_at.is_(None))).scalars().all()
    assert pending and all("drill_hold_s" in (t.payload or {}) for t in pending)
    time.sleep(0.3)
    assert drills.tick(db, "导调台").fired == ()  # nothing fires while paused
    assert drills.get_run(db, run.id).scenario_s == frozen
    resumed = drills.resume_drill(db, w.director, run.id, drills.get_run(db, run.id).version)
    assert resumed.status == "running" and resumed.scenario_s == pytest.approx(frozen)  # where it stopped
    with db.read() as s:
        held = s.execute(select(Timer).where(Timer.is_drill.is_(True), Timer.fired_at.is_(None),
                                             Timer.cancelled_at.is_(None))).scalars().all()
    assert all("drill_hold_s" not in (t.payload or {}) for t in held)
    drills.abort_drill(db, w.director, run.id, drills.get_run(db, run.id).version)
    assert drills.get_run(db, run.id).status == "aborted"


def _force_due(db: Database, incident_id: int) -> None:
    """The test's stand-in for waiting: the incident's pending timers came due a second ago."""
    with db.write() as s:
        now = s.execute(select(Timer.created_at).order_by(Timer.id.desc()).limit(1)).scalar()
        s.execute(update(Timer).where(Timer.incident_id == incident_id, Timer.fired_at.is_(None),
                                      Timer.cancelled_at.is_(None), Timer.kind == "ack")
                  .values(due_at=now - timedelta(seconds=1)))


def test_drill_records_stay_out_of_statistics_and_the_outbox(drill_world: DrillWorld) -> None:
    w, db = drill_world, drill_world.db
    real = incidents.create_incident(db, w.officer, IncidentDraft(
        category="mass_gathering", severity=1, source="walk_in", description="真实：工人聚集讨薪", grid="G1")).row
    run = drills.start_drill(db, w.director, w.scenario, SPEED)
    drive(db, lambda r: r.run is not None and r.run.injects_fired >= 2)
    crowd = incident_of(db, run.id, "crowd")

    # both escalations fire; only the real one goes out
    _force_due(db, real.id)
    _force_due(db, crowd.id)
    timers.fire_due(db, "test")
    with db.read() as s:
        notes = {n.incident_id: n for n in s.execute(select(Notification).where(
            Notification.kind == "escalation")).scalars()}
        outbox = s.execute(select(OutboxMessage)).scalars().all()
    assert notes[crowd.id].is_drill and notes[crowd.id].title.startswith("DRILL")
    assert not notes[real.id].is_drill
    assert outbox and {m.notification_id for m in outbox} == {notes[real.id].id}

    # real statistics count the real incident only; the run's own figures its drill incidents only
    figures = statistics.incident_statistics(db)
    assert figures.total == 1 and figures.by_category == {"mass_gathering": 1}
    assert figures.by_severity == {1: 1}
    drill_figures = statistics.incident_statistics(db, drill_run_id=run.id)
    assert drill_figures.total == 2 and drill_figures.by_category == {"fire": 1, "mass_gathering": 1}
    incidents.acknowledge(db, w.officer, real.id, real.version)
    assert statistics.incident_statistics(db).acknowledge.count == 1
    assert drill_report.build_report(db, run.id).baseline.total == 1  # the real one, for comparison
    drills.abort_drill(db, w.director, run.id, drills.get_run(db, run.id).version)


def test_drill_records_stay_out_of_the_handover_record(drill_world: DrillWorld, system: Actor) -> None:
    from support.handover_fixtures import incident, now_to_next

    from dispatch_console.handover import service as handover

    w, db = drill_world, drill_world.db
    room = now_to_next(db, system)  # the drill and the incident happen during the outgoing shift
    real = incident(db, room.zhang, 2, "真实：仓库起火", acknowledge=True)
    run = drills.start_drill(db, w.director, w.scenario, SPEED)
    drive(db, lambda r: r.run is not None and r.run.injects_fired >= 2)
    crowd = incident_of(db, run.id, "crowd")
    _force_due(db, crowd.id)
    timers.fire_due(db, "test")  # the crowd's drill escalation fires during the shift

    record = handover.draft(db, room.wang, room.outgoing)
    numbers = {i.number for i in record.situation.incidents}
    assert real.number in numbers and crowd.number not in numbers
    drill_numbers = {i.incident_number for i in drills.injects_of(db, run.id) if i.incident_number}
    assert not drill_numbers & {t.incident_number for t in record.situation.timers}
    assert not drill_numbers & {n.incident_number for n in record.situation.notable}
    assert real.number in {n.incident_number for n in record.situation.notable}  # severe: it is listed
    drills.abort_drill(db, w.director, run.id, drills.get_run(db, run.id).version)


def test_the_report_puts_the_run_cards_proposal_beside_the_units_sent(drill_world: DrillWorld) -> None:
    """The fire: the card's proposal changed by the officer (one unit swapped); the crowd: units sent
    from the plain dialog, without a proposal. The report, its JSON and its text say so."""
    from dispatch_console.kernel.categories import shipped_catalog
    from dispatch_console.kernel.config import Resources
    from dispatch_console.protocols import dispatch, load_run_cards, propose

    w, db = drill_world, drill_world.db
    cards, errors = load_run_cards(Resources(), shipped_catalog().category_codes)
    assert errors == [] and cards is not None
    run = drills.start_drill(db, w.director, w.scenario, SPEED)
    drive(db, lambda r: r.run is not None and r.run.injects_fired >= 2)
    with clock_stopped(db, w.director, run.id):
        fire = incident_of(db, run.id, "fire")
        proposal = propose(db, cards, fire.id)
        assert proposal is not None and proposal.unit_ids == (w.unit_ids["xfd"],)  # 火灾（一般、较大）: one crew
        # the officer swaps it for the police (the militia goes off duty at 0:20: never used here)
        dispatch(db, w.officer, proposal, fire.version, unit_ids=[w.unit_ids["pcs"]])
        crowd = incident_of(db, run.id, "crowd")
        incidents.assign(db, w.officer, crowd.id, crowd.version, unit_ids=[w.unit_ids["xfd"]])
    report = drill_report.build_report(db, run.id)
    by_key = {i.key: i for i in report.injects}
    fire_cmp, crowd_cmp = by_key["fire"].dispatch, by_key["crowd"].dispatch
    assert fire_cmp is not None and crowd_cmp is not None
    assert fire_cmp.verdict == "changed" and fire_cmp.cards == (proposal.card,)
    assert fire_cmp.proposed == ("专职消防队",) and fire_cmp.sent == ("桃源派出所",)
    assert fire_cmp.removed == ("专职消防队",) and fire_cmp.added == ("桃源派出所",)
    assert crowd_cmp.verdict == "without" and crowd_cmp.cards == () and crowd_cmp.sent == ("专职消防队",)
    assert all(i.dispatch is None for i in report.injects if i.kind != "incident")
    data = drill_report.report_json(report)
    assert [i["dispatch"]["verdict"] for i in data["injects"] if i["kind"] == "incident"] == ["changed", "without"]
    text = "\n".join(drill_report.report_lines(report, []))
    assert ("Run card 火灾（一般、较大）: proposed 专职消防队; sent 桃源派出所; added 桃源派出所; removed 专职消防队 "
            "(changed by the officer)") in text
    assert "Sent 专职消防队, no run card proposed" in text
    drills.abort_drill(db, w.director, run.id, drills.get_run(db, run.id).version)
