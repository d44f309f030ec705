"""Emergency drills (应急演练): running a scenario on the drill clock.

A run lives in the database (``drill_run`` and one ``drill_inject`` row per inject), so any
console or ``dispatch-console drill run`` can drive it and several of them never fire an inject
twice: firing is a claim (``UPDATE … WHERE fired_at IS NULL``) made in the same transaction as
the incident it records.

The drill clock (:mod:`dispatch_console.drills.clock`): scenario time = (database time − start −
paused time) × speed; at 60× a ten-minute scenario passes in ten seconds. The run's escalation
and checklist timers follow the same clock (compressed by :func:`tick`, held while paused) and are
otherwise the ordinary timers; their notifications are marked as drill ones and never reach the
outbox.

When the scenario's duration has passed (or the director aborts), the run ends: the after-action
report is stored with it, and the drill stands down — its open incidents are closed, pending
timers cancelled and units that an inject took off duty are set back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import OPEN_STATUSES, Area, Assignment, DrillInject, DrillRun, Incident, Unit
from dispatch_console.drills.clock import (
    DrillClock,
    compress_timers,
    hold_timers,
    release_timers,
    run_timers,
    unsettled,
)
from dispatch_console.drills.report import build_report, report_json
from dispatch_console.drills.runs import STATUS_LABELS, load_run, scenario_of
from dispatch_console.drills.scenario import Inject, Scenario
from dispatch_console.incidents.draft import IncidentDraft, validate_draft
from dispatch_console.incidents.lifecycle import add_event, transition
from dispatch_console.incidents.service import add_incident, resolve_grid
from dispatch_console.kernel.actor import SYSTEM_ROLE, Actor
from dispatch_console.kernel.changes import record, serialise_writers, to_jsonable, update_versioned
from dispatch_console.kernel.errors import IllegalTransition, ValidationError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import require
from dispatch_console.timers import engine as timers

log = logging.getLogger(__name__)

ACTIVE = ("running", "paused")
MAX_SPEED = 3600.0


def inject_actor(station: str) -> Actor:
    """Who records what an inject brings: the drill itself, on the station that fired it."""
    return Actor(user_id=None, username="drill", role=SYSTEM_ROLE, station=station,
                 display_name=_("Drill inject"))


# ---------------------------------------------------------------------------------------------
# Rows for the console and the command line.


@dataclass(frozen=True)
class DrillRunRow:
    id: int
    scenario_code: str
    scenario_name: str
    speed: float
    status: str
    started_at: datetime
    started_by: int | None
    paused_at: datetime | None
    ended_at: datetime | None
    version: int
    scenario_s: float  # drill clock when read
    duration_s: float
    injects_total: int
    injects_fired: int

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def status_label(self) -> str:
        return _(STATUS_LABELS.get(self.status, self.status))


@dataclass(frozen=True)
class InjectRow:
    id: int
    key: str
    kind: str
    title: str
    offset_s: float
    fired_at: datetime | None
    incident_id: int | None
    incident_number: str | None
    outcome: str | None  # what came of it ("skipped: …") when not the plain effect


def _run_row(session: Session, run: DrillRun, now: datetime) -> DrillRunRow:
    injects = session.execute(select(DrillInject.fired_at).where(DrillInject.drill_run_id == run.id)).all()
    end = run.ended_at or run.paused_at or now
    return DrillRunRow(
        run.id, run.scenario_code, run.scenario_name, float(run.speed), run.status, run.started_at,
        run.started_by, run.paused_at, run.ended_at, run.version, DrillClock.of(run).scenario_s(end),
        float((run.scenario or {}).get("_duration_s", 0.0)), len(injects), sum(1 for r in injects if r[0]),
    )


def get_run(db: Database, run_id: int) -> DrillRunRow:
    with db.read() as s:
        return _run_row(s, load_run(s, run_id), db_now(s))


def active_run(db: Database) -> DrillRunRow | None:
    """The drill running or paused now (one at a time), or None."""
    with db.read() as s:
        run = s.execute(select(DrillRun).where(DrillRun.status.in_(ACTIVE)).order_by(DrillRun.id.desc())
                        .limit(1)).scalar()
        return _run_row(s, run, db_now(s)) if run is not None else None


def list_runs(db: Database, scenario_code: str | None = None, limit: int = 200) -> list[DrillRunRow]:
    """Runs newest first (of one scenario when given)."""
    query = select(DrillRun).order_by(DrillRun.id.desc()).limit(limit)
    if scenario_code:
        query = query.where(DrillRun.scenario_code == scenario_code)
    with db.read() as s:
        now = db_now(s)
        return [_run_row(s, run, now) for run in s.execute(query).scalars()]


def injects_of(db: Database, run_id: int) -> list[InjectRow]:
    with db.read() as s:
        rows = s.execute(
            select(DrillInject, Incident.number).outerjoin(Incident, Incident.id == DrillInject.incident_id)
            .where(DrillInject.drill_run_id == run_id).order_by(DrillInject.offset_s, DrillInject.id)
        ).all()
        return [InjectRow(i.id, i.key, i.kind, str((i.data or {}).get("title", i.key)), i.offset_s, i.fired_at,
                          i.incident_id, number, (i.data or {}).get("outcome")) for i, number in rows]


# ---------------------------------------------------------------------------------------------
# The director's controls.


def start_drill(db: Database, actor: Actor, scenario: Scenario, speed: float = 1.0) -> DrillRunRow:
    """Start a run of the scenario now; one drill at a time."""
    require(actor, "drill.run")
    if isinstance(speed, bool) or not isinstance(speed, int | float) or not 0 < speed <= MAX_SPEED:
        raise ValidationError(_("The speed must be a number above 0 and at most {max}.").format(
            max=int(MAX_SPEED)), "speed")
    with db.write() as s:
        serialise_writers(s)
        running = s.execute(select(DrillRun).where(DrillRun.status.in_(ACTIVE)).limit(1)).scalar()
        if running is not None:
            raise ValidationError(_("The drill {name} (run {id}) is still {status}; end it first.").format(
                name=running.scenario_name, id=running.id, status=_(STATUS_LABELS[running.status])))
        now = db_now(s)
        stored = {**to_jsonable(dict(scenario.data)), "_source": scenario.source,
                  "_duration_s": scenario.duration_s}
        run = DrillRun(scenario_code=scenario.code, scenario_name=scenario.name, scenario=stored,
                       speed=float(speed), status="running", started_at=now, started_by=actor.user_id,
                       paused_seconds=0.0, pauses=[], version=1)
        s.add(run)
        s.flush()
        for inject in scenario.injects:
            s.add(DrillInject(drill_run_id=run.id, key=inject.key, offset_s=inject.at_s, kind=inject.kind,
                              data={"title": inject.title}))
        s.flush()
        record(s, actor, entity="drill", entity_id=run.id, op="start", action="drill.start",
               after={"scenario": scenario.code, "name": scenario.name, "speed": speed}, at=now)
        return _run_row(s, run, now)


def pause_drill(db: Database, actor: Actor, run_id: int, version: int) -> DrillRunRow:
    """Stop the drill clock: no inject fires and the drill's timers are held until resumed."""
    require(actor, "drill.run")
    with db.write() as s:
        serialise_writers(s)
        run = load_run(s, run_id)
        if run.status != "running":
            raise IllegalTransition(_("The drill is {status}; it cannot be paused.").format(
                status=_(STATUS_LABELS[run.status])))
        now = db_now(s)
        pauses = [*(run.pauses or []), [now.isoformat(), None]]
        update_versioned(s, DrillRun, run.id, version, {"status": "paused", "paused_at": now, "pauses": pauses},
                         entity="drill")
        s.refresh(run)
        hold_timers(s, actor, run, now)
        record(s, actor, entity="drill", entity_id=run.id, op="pause", action="drill.pause", at=now)
        return _run_row(s, run, now)


def resume_drill(db: Database, actor: Actor, run_id: int, version: int) -> DrillRunRow:
    """Start the drill clock again where it stopped."""
    require(actor, "drill.run")
    with db.write() as s:
        serialise_writers(s)
        run = load_run(s, run_id)
        if run.status != "paused" or run.paused_at is None:
            raise IllegalTransition(_("The drill is {status}; it cannot be resumed.").format(
                status=_(STATUS_LABELS[run.status])))
        now = db_now(s)
        pauses = [list(p) for p in (run.pauses or [])]
        if pauses and pauses[-1][1] is None:
            pauses[-1][1] = now.isoformat()
        paused = (now - run.paused_at).total_seconds()
        update_versioned(s, DrillRun, run.id, version,
                         {"status": "running", "paused_at": None, "pauses": pauses,
                          "paused_seconds": float(run.paused_seconds or 0) + paused}, entity="drill")
        s.refresh(run)
        release_timers(s, actor, run, now)
        record(s, actor, entity="drill", entity_id=run.id, op="resume", action="drill.resume",
               after={"paused_s": paused}, at=now)
        return _run_row(s, run, now)


def abort_drill(db: Database, actor: Actor, run_id: int, version: int) -> DrillRunRow:
    """End the drill now; the report covers what happened until then."""
    require(actor, "drill.run")
    with db.write() as s:
        serialise_writers(s)
        run = load_run(s, run_id)
        if run.status not in ACTIVE:
            raise IllegalTransition(_("The drill is {status}; it cannot be aborted.").format(
                status=_(STATUS_LABELS[run.status])))
        if run.version != version:
            update_versioned(s, DrillRun, run.id, version, {}, entity="drill")  # raises who/when
    _end(db, actor, run_id, "aborted")
    return get_run(db, run_id)


# ---------------------------------------------------------------------------------------------
# Injects.


def _grid_id(session: Session, code: Any) -> int | None:
    if not code:
        return None
    return session.execute(select(Area.id).where(Area.level == "grid", Area.code == str(code))).scalar()


def _incident_of(session: Session, run_id: int, key: str | None) -> Incident | None:
    if key is None:
        return None
    found = session.execute(select(DrillInject.incident_id).where(
        DrillInject.drill_run_id == run_id, DrillInject.key == key)).scalar()
    return session.get(Incident, found) if found else None


def _fire_incident(session: Session, actor: Actor, run: DrillRun, inject: Inject) -> tuple[int | None, str | None]:
    fields = dict(inject.fields)
    grid = fields.pop("grid", None)
    grid_id = _grid_id(session, grid)  # a grid this database does not have: found from the coordinates
    draft = IncidentDraft(**fields, grid_id=grid_id, is_drill=True, drill_run_id=run.id)
    incident, _dup = add_incident(session, actor, draft)
    return incident.id, None


def _fire_update(session: Session, actor: Actor, run: DrillRun, inject: Inject, now: datetime
                 ) -> tuple[int | None, str | None]:
    incident = _incident_of(session, run.id, inject.target)
    if incident is None:
        return None, _("skipped: the incident of {key} was never recorded").format(key=inject.target)
    if incident.status in ("closed", "cancelled"):
        return incident.id, _("skipped: the incident is already closed")
    changes = dict(inject.fields)
    grid = changes.pop("grid", None)
    values: dict[str, Any] = dict(changes)
    if grid is not None or "lon" in changes:
        grid_id = _grid_id(session, grid)
        probe = IncidentDraft(category=incident.category, severity=incident.severity, source=incident.source,
                              description=incident.description, lon=changes.get("lon", incident.lon),
                              lat=changes.get("lat", incident.lat), grid_id=grid_id)
        validate_draft(probe)
        values["grid_id"] = resolve_grid(session, probe)
    diff = {k: [getattr(incident, k), v] for k, v in values.items() if getattr(incident, k) != v}
    if diff:
        kinds = [f"{k}_changed" for k in ("severity", "category") if k in diff] or ["updated"]
        transition(session, actor, incident, incident.status, now, values, event="updated", note=inject.note,
                   change=kinds, data={"changes": diff, "drill_inject": inject.key})
    elif inject.note:
        add_event(session, actor, incident, "note", now, note=inject.note, data={"drill_inject": inject.key})
        record(session, actor, entity="incident", entity_id=incident.id, op="note", action="incident.note",
               after={"note": inject.note}, at=now)
    return incident.id, None


def _fire_unit(session: Session, actor: Actor, inject: Inject, now: datetime) -> tuple[str | None, dict[str, Any]]:
    unit = session.execute(select(Unit).where(Unit.code == inject.unit)).scalar()
    if unit is None:
        return _("skipped: no unit with the code {code}").format(code=inject.unit), {}
    busy = session.execute(
        select(Incident.is_drill).join(Assignment, Assignment.incident_id == Incident.id)
        .where(Assignment.unit_id == unit.id, Assignment.released_at.is_(None)).limit(1)
    ).first()
    if busy is not None:
        # Never take a unit off a real (or running drill) incident: it keeps working.
        return _("skipped: {unit} is assigned to an incident").format(unit=unit.name), {}
    if unit.status == "off_duty":
        return _("skipped: {unit} is already off duty").format(unit=unit.name), {}
    before = unit.status
    update_versioned(session, Unit, unit.id, unit.version, {"status": "off_duty", "updated_at": now}, entity="unit")
    record(session, actor, entity="unit", entity_id=unit.id, op="update", action="unit.drill_unavailable",
           before={"status": before}, after={"status": "off_duty", "note": inject.note}, at=now)
    return None, {"unit_id": unit.id, "previous_status": before}


def _fire_inject(db: Database, station: str, run_id: int, inject_id: int, scenario: Scenario) -> bool:
    """Claim one inject and bring it into the duty room, in one transaction."""
    with db.write() as s:
        serialise_writers(s)
        run = load_run(s, run_id)
        row = s.get(DrillInject, inject_id)
        if run.status != "running" or row is None or row.fired_at is not None:
            return False
        now = db_now(s)
        claimed = s.execute(update(DrillInject).where(DrillInject.id == inject_id, DrillInject.fired_at.is_(None))
                            .values(fired_at=now).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return False
        inject = scenario.inject(row.key)
        actor = inject_actor(station)
        data: dict[str, Any] = {**(row.data or {})}
        incident_id: int | None = None
        outcome: str | None = None
        if inject.kind == "incident":
            incident_id, outcome = _fire_incident(s, actor, run, inject)
        elif inject.kind == "update":
            incident_id, outcome = _fire_update(s, actor, run, inject, now)
        else:
            outcome, extra = _fire_unit(s, actor, inject, now)
            data.update(extra)
        if outcome:
            data["outcome"] = outcome
        s.execute(update(DrillInject).where(DrillInject.id == inject_id)
                  .values(incident_id=incident_id, data=data).execution_options(synchronize_session=False))
        record(s, actor, entity="drill", entity_id=run.id, op="inject", action="drill.inject",
               after={"key": inject.key, "kind": inject.kind, "incident_id": incident_id, "outcome": outcome}, at=now)
        return True


# ---------------------------------------------------------------------------------------------
# The heartbeat: whoever runs the drill calls tick() every fraction of a second.


@dataclass(frozen=True)
class TickResult:
    run: DrillRunRow | None
    fired: tuple[str, ...]  # keys of the injects this call fired
    timers_fired: int
    ended: bool


def tick(db: Database, station: str, run_id: int | None = None, *, fire_timers: bool = True) -> TickResult:
    """Advance the active drill: fire the injects that are due, put new timers on the drill clock,
    fire due timers, and end the run when its duration has passed."""
    with db.read() as s:
        if run_id is None:
            run = s.execute(select(DrillRun).where(DrillRun.status.in_(ACTIVE)).order_by(DrillRun.id.desc())
                            .limit(1)).scalar()
        else:
            run = s.get(DrillRun, run_id)
        if run is None:
            return TickResult(None, (), 0, False)
        now = db_now(s)
        clock_s = DrillClock.of(run).scenario_s(run.paused_at or now)
        due = [(i.id, i.key) for i in s.execute(
            select(DrillInject).where(DrillInject.drill_run_id == run.id, DrillInject.fired_at.is_(None),
                                      DrillInject.offset_s <= clock_s).order_by(DrillInject.offset_s, DrillInject.id)
        ).scalars()] if run.status == "running" else []
        to_settle = [t for t in run_timers(s, run.id) if unsettled(t, run.status)]
        status, run_id, speed = run.status, run.id, float(run.speed)
        duration = float((run.scenario or {}).get("_duration_s", 0.0))
    fired: list[str] = []
    if due:
        scenario = scenario_of(db, run_id)
        for inject_id, key in due:
            if _fire_inject(db, station, run_id, inject_id, scenario):
                fired.append(key)
    if status in ACTIVE and (to_settle or fired) and (speed != 1.0 or status == "paused"):
        with db.write() as s:
            serialise_writers(s)
            run = load_run(s, run_id)
            now = db_now(s)
            if run.status == "running":
                compress_timers(s, run, now, inject_actor(station))
            elif run.status == "paused":
                hold_timers(s, inject_actor(station), run, now)
    timers_fired = 0
    if fire_timers and status in ACTIVE:
        next_at = timers.next_due(db)  # a read first: no write lock taken while nothing is due
        if next_at is not None and next_at <= db.now():
            timers_fired = len(timers.fire_due(db, station))
    ended = False
    if status == "running" and clock_s >= duration and not due:
        ended = _end(db, inject_actor(station), run_id, "finished")
    return TickResult(get_run(db, run_id), tuple(fired), timers_fired, ended)


def _end(db: Database, actor: Actor, run_id: int, status: str) -> bool:
    """End the run (finished or aborted), store its report and stand the drill down."""
    with db.write() as s:
        serialise_writers(s)
        run = load_run(s, run_id)
        if run.status not in ACTIVE:
            return False
        now = db_now(s)
        pauses = [list(p) for p in (run.pauses or [])]
        if pauses and pauses[-1][1] is None:
            pauses[-1][1] = now.isoformat()
        s.execute(update(DrillRun).where(DrillRun.id == run.id)
                  .values(status=status, ended_at=now, paused_at=None, pauses=pauses, version=run.version + 1)
                  .execution_options(synchronize_session=False))
        record(s, actor, entity="drill", entity_id=run.id, op=status, action=f"drill.{status}", at=now)
    report = build_report(db, run_id)
    with db.write() as s:
        serialise_writers(s)
        s.execute(update(DrillRun).where(DrillRun.id == run_id).values(report=report_json(report))
                  .execution_options(synchronize_session=False))
        _stand_down(s, actor, run_id)
        record(s, actor, entity="drill", entity_id=run_id, op="report", action="drill.report", at=db_now(s))
    return True


def _stand_down(session: Session, actor: Actor, run_id: int) -> None:
    """Close the drill's open incidents (releasing their units) and give back units it took."""
    from dispatch_console.incidents.units import release_all

    now = db_now(session)
    open_ids = session.execute(select(Incident.id).where(
        Incident.drill_run_id == run_id, Incident.status.in_((*OPEN_STATUSES, "resolved")))).scalars().all()
    for incident_id in open_ids:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        release_all(session, actor, incident, now)
        transition(session, actor, incident, "closed", now,
                   {"closed_at": now, "resolved_at": incident.resolved_at or now},
                   note=_("The drill ended: closed by the drill."), event="drill_closed", change="closed")
        timers.cancel(session, reason="drill_ended", incident_id=incident_id, actor=actor)
    for row in session.execute(select(DrillInject).where(DrillInject.drill_run_id == run_id,
                                                         DrillInject.kind == "unit_unavailable")).scalars():
        data = row.data or {}
        unit = session.get(Unit, data["unit_id"]) if data.get("unit_id") else None
        if unit is not None and unit.status == "off_duty" and data.get("previous_status"):
            update_versioned(session, Unit, unit.id, unit.version,
                             {"status": data["previous_status"], "updated_at": now}, entity="unit")
            record(session, actor, entity="unit", entity_id=unit.id, op="update", action="unit.drill_restored",
                   before={"status": "off_duty"}, after={"status": data["previous_status"]}, at=now)
