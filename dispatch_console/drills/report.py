"""The after-action report of a drill run (演练评估报告), and runs of a scenario side by side.

All times are scenario seconds on the drill clock (see ``drill_clock.DrillClock``), measured from the
moment each inject arrived. Only what happened before the run ended counts, so the stand-down
that closes the drill's incidents never improves anybody's figures. Per inject: time to
acknowledge, dispatch and arrive; each checklist step with a deadline against its target; the
escalations its incident triggered; each expected action met, missed (and by how much) or still
open when the drill ended; the run card's proposal beside the units actually sent (accepted
unchanged, changed — units added or removed — or dispatched without one). Then who did what,
from the incidents' timelines, and the same figures of real incidents of the same categories for
comparison (drills excluded).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import Assignment, ChecklistItem, DrillInject, DrillRun, Incident, IncidentEvent, Notification, Unit
from dispatch_console.drills.clock import DrillClock
from dispatch_console.drills.runs import STATUS_LABELS, load_run, scenario_of
from dispatch_console.drills.scenario import Expectation, Inject, Scenario
from dispatch_console.incidents.statistics import IncidentStatistics, incident_statistics
from dispatch_console.kernel.categories import unit_kind_label
from dispatch_console.kernel.changes import to_jsonable
from dispatch_console.kernel.i18n import N_, _
from dispatch_console.kernel.timefmt import fmt_local
from dispatch_console.protocols.compare import DispatchComparison, compare_dispatch

BASELINE_DAYS = 365
ACTION_LABELS = {"acknowledge": N_("acknowledge"), "dispatch": N_("dispatch"), "arrive": N_("arrive on scene"),
                 "checklist": N_("checklist step"), "resolve": N_("resolve")}
# What officers did, as the incident's timeline calls it (the same words as the detail panel).
EVENT_LABELS = {"acknowledged": N_("Incident acknowledged"), "dispatched": N_("Units dispatched"),
                "assigned": N_("More units sent"), "on_scene": N_("Units on scene"),
                "resolved": N_("Incident resolved"), "closed": N_("Incident closed"),
                "reopened": N_("Incident reopened"), "merged_into": N_("Merged as a duplicate into"),
                "released": N_("Unit released"), "note": N_("Note added"), "updated": N_("Incident edited"),
                "created": N_("Incident recorded"), "checklist_ticked": N_("Checklist step done"),
                "checklist_unticked": N_("Checklist step reopened")}
STATE_LABELS = {"met": N_("met"), "missed": N_("missed"), "open": N_("not yet due"),
                "not_started": N_("not started")}


@dataclass(frozen=True)
class ExpectationResult:
    action: str
    step: str | None
    step_text: str | None
    unit_kind: str | None
    incident_number: str | None
    target_s: float
    actual_s: float | None  # None: not done before the drill ended
    state: str  # met | missed | open
    margin_s: float | None  # target − actual: positive = early, negative = late by


@dataclass(frozen=True)
class StepResult:
    step: str
    text: str
    target_s: float
    done_s: float | None
    state: str  # met | missed | open | not_started
    margin_s: float | None
    done_by: str | None


@dataclass(frozen=True)
class InjectResult:
    key: str
    kind: str
    title: str
    offset_s: float
    fired_s: float | None  # None: the drill ended before it
    incident_id: int | None
    incident_number: str | None
    outcome: str | None
    acknowledge_s: float | None
    dispatch_s: float | None
    arrive_s: float | None
    escalations: int
    steps: tuple[StepResult, ...]
    expectations: tuple[ExpectationResult, ...]
    dispatch: DispatchComparison | None = None  # the run card's proposal beside what was sent


@dataclass(frozen=True)
class OfficerAction:
    at: datetime
    scenario_s: float
    user: str
    station: str | None
    incident_number: str
    kind: str
    note: str | None


def action_text(action: OfficerAction) -> str:
    what = _(EVENT_LABELS.get(action.kind, action.kind))
    return f"{what}: {action.note}" if action.note else what


@dataclass(frozen=True)
class EscalationEvent:
    at: datetime
    scenario_s: float
    incident_number: str
    target_role: str | None
    title: str


@dataclass(frozen=True)
class DrillReport:
    run_id: int
    scenario_code: str
    scenario_name: str
    objectives: tuple[str, ...]
    speed: float
    status: str
    started_at: datetime
    ended_at: datetime | None
    elapsed_s: float
    duration_s: float
    injects: tuple[InjectResult, ...]
    actions: tuple[OfficerAction, ...]
    escalations: tuple[EscalationEvent, ...]
    baseline: IncidentStatistics  # real incidents of the scenario's categories (drills excluded)

    @property
    def met(self) -> int:
        return sum(1 for i in self.injects for e in i.expectations if e.state == "met")

    @property
    def missed(self) -> int:
        return sum(1 for i in self.injects for e in i.expectations if e.state == "missed")

    @property
    def escalation_count(self) -> int:
        return len(self.escalations)


class _Measure:
    """Scenario seconds of database times, up to the end of the run."""

    def __init__(self, clock: DrillClock, end: datetime) -> None:
        self.clock = clock
        self.end = end

    def s(self, at: datetime | None) -> float | None:
        return self.clock.scenario_s(at) if at is not None and at <= self.end else None

    def since(self, at: datetime | None, ref_s: float | None) -> float | None:
        t = self.s(at)
        return None if t is None or ref_s is None else max(0.0, t - ref_s)


def _judge(target: float, actual: float | None, elapsed: float | None) -> tuple[str, float | None]:
    if actual is not None:
        return ("met" if actual <= target else "missed"), target - actual
    if elapsed is not None and elapsed > target:
        return "missed", target - elapsed
    return "open", None


def _first(session: Session, incident_id: int, column: Any, after: datetime | None, unit_kind: str | None
           ) -> datetime | None:
    query = select(column).where(Assignment.incident_id == incident_id, column.is_not(None))
    if after is not None:
        query = query.where(column >= after)
    if unit_kind:
        query = query.join(Unit, Unit.id == Assignment.unit_id).where(Unit.kind == unit_kind)
    return session.execute(query.order_by(column).limit(1)).scalar()


def _expectation(session: Session, m: _Measure, e: Expectation, incident: Incident | None, fired_at: datetime,
                 fired_s: float, inject: Inject) -> ExpectationResult:
    when: datetime | None = None
    step_text: str | None = None
    if incident is not None:
        later = fired_at if inject.kind != "incident" else None  # an update asks for a further action
        if e.action == "acknowledge":
            when = incident.acknowledged_at
        elif e.action == "dispatch":
            when = _first(session, incident.id, Assignment.assigned_at, later, e.unit_kind)
        elif e.action == "arrive":
            when = _first(session, incident.id, Assignment.arrived_at, later, e.unit_kind)
        elif e.action == "resolve":
            when = incident.resolved_at
        else:
            item = session.execute(select(ChecklistItem.done_at, ChecklistItem.text).where(
                ChecklistItem.incident_id == incident.id, ChecklistItem.step_key == e.step)).first()
            when, step_text = (item.done_at, item.text) if item is not None else (None, None)
    actual = m.since(when, fired_s)
    elapsed = m.clock.scenario_s(m.end) - fired_s
    state, margin = _judge(e.within_s, actual, elapsed)
    number = incident.number if incident else None
    return ExpectationResult(e.action, e.step, step_text, e.unit_kind, number, e.within_s, actual, state, margin)


def _steps(session: Session, m: _Measure, incident: Incident) -> tuple[StepResult, ...]:
    from db.models import User

    out = []
    rows = session.execute(
        select(ChecklistItem, User.display_name).outerjoin(User, User.id == ChecklistItem.done_by)
        .where(ChecklistItem.incident_id == incident.id, ChecklistItem.deadline_minutes.is_not(None))
        .order_by(ChecklistItem.position, ChecklistItem.id)
    ).all()
    for item, who in rows:
        target = float(item.deadline_minutes) * 60
        ref = incident.acknowledged_at if item.deadline_from == "acknowledged" else incident.created_at
        ref_s = m.s(ref)
        if ref_s is None:
            out.append(StepResult(item.step_key, item.text, target, None, "not_started", None, None))
            continue
        done = m.since(item.done_at, ref_s)
        state, margin = _judge(target, done, m.clock.scenario_s(m.end) - ref_s)
        out.append(StepResult(item.step_key, item.text, target, done, state, margin,
                              who if done is not None else None))
    return tuple(out)


def build_report(db: Database, run_id: int) -> DrillReport:
    """The after-action report of a run (of what happened so far, while it still runs)."""
    scenario: Scenario = scenario_of(db, run_id)
    with db.read() as s:
        run: DrillRun = load_run(s, run_id)
        end = run.ended_at or db_now(s)
        clock = DrillClock.of(run)
        m = _Measure(clock, end)
        incidents = {i.id: i for i in s.execute(select(Incident).where(Incident.drill_run_id == run_id)).scalars()}
        rows = {r.key: r for r in s.execute(select(DrillInject).where(DrillInject.drill_run_id == run_id)).scalars()}
        incident_of_key = {k: r.incident_id for k, r in rows.items() if r.kind == "incident"}
        notes = s.execute(select(Notification).where(
            Notification.incident_id.in_(list(incidents) or [0]), Notification.kind == "escalation",
            Notification.at <= end).order_by(Notification.at, Notification.id)).scalars().all()
        escalations = tuple(EscalationEvent(n.at, clock.scenario_s(n.at), incidents[n.incident_id].number,
                                            n.target_role, n.title) for n in notes if n.incident_id)
        compared = compare_dispatch(s, list(incidents))
        results = []
        for inject in scenario.injects:
            row = rows.get(inject.key)
            fired_at = row.fired_at if row is not None and row.fired_at and row.fired_at <= end else None
            fired_s = m.s(fired_at)
            own_id = incident_of_key.get(inject.incident_key or "")
            incident = incidents.get(own_id) if own_id else None
            ack = dispatch = arrive = None
            steps: tuple[StepResult, ...] = ()
            count = 0
            if inject.kind == "incident" and incident is not None and fired_s is not None:
                ack = m.since(incident.acknowledged_at, fired_s)
                dispatch = m.since(_first(s, incident.id, Assignment.assigned_at, None, None), fired_s)
                arrive = m.since(_first(s, incident.id, Assignment.arrived_at, None, None) or incident.on_scene_at,
                                 fired_s)
                steps = _steps(s, m, incident)
                count = sum(1 for e in escalations if e.incident_number == incident.number)
            expectations: tuple[ExpectationResult, ...] = ()
            if fired_at is not None and fired_s is not None:
                expectations = tuple(
                    _expectation(s, m, e, incidents.get(incident_of_key.get(e.incident or "") or 0) or incident,
                                 fired_at, fired_s, inject)
                    for e in inject.expect)
            results.append(InjectResult(
                inject.key, inject.kind, inject.title, inject.at_s, fired_s, incident.id if incident else None,
                incident.number if incident else None, (row.data or {}).get("outcome") if row else None,
                ack, dispatch, arrive, count, steps, expectations,
                compared.get(incident.id) if incident is not None and inject.kind == "incident" else None))
        events = s.execute(
            select(IncidentEvent).where(IncidentEvent.incident_id.in_(list(incidents) or [0]),
                                        IncidentEvent.user_id.is_not(None), IncidentEvent.at <= end)
            .order_by(IncidentEvent.at, IncidentEvent.id)).scalars().all()
        actions = tuple(OfficerAction(e.at, clock.scenario_s(e.at), e.username or "?", e.station,
                                      incidents[e.incident_id].number, e.kind, e.note) for e in events)
        categories = sorted({str(i.fields.get("category")) for i in scenario.injects if i.kind == "incident"})
    baseline = incident_statistics(db, since=end - timedelta(days=BASELINE_DAYS), until=end,
                                   categories=categories)
    return DrillReport(run.id, run.scenario_code, run.scenario_name, scenario.objectives, float(run.speed),
                       run.status, run.started_at, run.ended_at, clock.scenario_s(end), scenario.duration_s,
                       tuple(results), actions, escalations, baseline)


def report_json(report: DrillReport) -> dict[str, Any]:
    """The report as plain JSON (stored with the run, printed by ``drill report --json``)."""
    data = to_jsonable(dataclasses.asdict(report))
    data["met"], data["missed"], data["escalation_count"] = report.met, report.missed, report.escalation_count
    return data  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------
# Runs of the same scenario side by side.


@dataclass(frozen=True)
class RunFigures:
    run_id: int
    started_at: datetime
    speed: float
    status: str
    met: int
    missed: int
    escalations: int
    per_inject: dict[str, tuple[float | None, float | None, float | None]]  # key → (ack, dispatch, arrive)


def figures(report: DrillReport) -> RunFigures:
    return RunFigures(report.run_id, report.started_at, report.speed, report.status, report.met, report.missed,
                      report.escalation_count,
                      {i.key: (i.acknowledge_s, i.dispatch_s, i.arrive_s) for i in report.injects
                       if i.kind == "incident"})


def compare_runs(db: Database, scenario_code: str, limit: int = 20) -> list[RunFigures]:
    """The same figures for each run of the scenario, oldest first (at most ``limit`` latest runs)."""
    with db.read() as s:
        ids = list(s.execute(select(DrillRun.id).where(DrillRun.scenario_code == scenario_code)
                             .order_by(DrillRun.id.desc()).limit(limit)).scalars())
    return [figures(build_report(db, run_id)) for run_id in reversed(ids)]


# ---------------------------------------------------------------------------------------------
# As text (command line) — the console's view lays out the same figures.


def fmt_s(seconds: float | None) -> str:
    """Scenario seconds as m:ss (— when it did not happen)."""
    if seconds is None:
        return "—"
    sign = "-" if seconds < 0 else ""
    s = round(abs(seconds))
    return f"{sign}{s // 60}:{s % 60:02d}"


def status_text(status: str) -> str:
    return _(STATUS_LABELS.get(status, status))


def state_text(state: str, margin_s: float | None) -> str:
    label = _(STATE_LABELS.get(state, state))
    if margin_s is None:
        return label
    if state == "met":
        return _("{state}, {time} to spare").format(state=label, time=fmt_s(margin_s))
    return _("{state} by {time}").format(state=label, time=fmt_s(-margin_s))


def expectation_label(e: ExpectationResult) -> str:
    """The expected action as people read it: the step's text, the kind of unit by its name."""
    what = _(ACTION_LABELS.get(e.action, e.action))
    if e.step:
        what += _(": {text}").format(text=e.step_text or e.step)
    if e.unit_kind:
        what += f" ({unit_kind_label(e.unit_kind)})"
    return what


def dispatch_text(c: DispatchComparison, *, verdict: bool = True) -> str:
    """The proposal beside what was sent, on one line: card, proposed, sent, added / removed, and the
    verdict (left out where a column of its own shows it)."""
    sent = "、".join(c.sent) or "—"
    if c.verdict == "none":
        text = _("No units sent")
    elif not c.cards:
        text = _("Sent {sent}, no run card proposed").format(sent=sent)
    else:
        text = _("Run card {card}: proposed {proposed}; sent {sent}").format(
            card="、".join(c.cards), proposed="、".join(c.proposed) or "—", sent=sent)
        if c.added:
            text += _("; added {units}").format(units="、".join(c.added))
        if c.removed:
            text += _("; removed {units}").format(units="、".join(c.removed))
    if verdict and c.verdict not in ("none", "without"):
        text += _(" ({verdict})").format(verdict=c.verdict_label)
    return text


def report_lines(report: DrillReport, runs: list[RunFigures]) -> list[str]:
    out = [
        _("After-action report: {name} (run {id})").format(name=report.scenario_name, id=report.run_id),
        _("Started {start}, {status}, speed ×{speed}; drill time {elapsed} of {duration}.").format(
            start=fmt_local(report.started_at), status=status_text(report.status), speed=f"{report.speed:g}",
            elapsed=fmt_s(report.elapsed_s), duration=fmt_s(report.duration_s)),
        _("Expected actions: {met} met, {missed} missed. Escalations: {escalations}.").format(
            met=report.met, missed=report.missed, escalations=report.escalation_count),
        "",
    ]
    for i in report.injects:
        out.append(f"[{fmt_s(i.offset_s)}] {i.key} · {i.title} · {i.incident_number or '-'}"
                   + (f" · {i.outcome}" if i.outcome else ""))
        if i.kind == "incident":
            out.append("    " + _("acknowledge {ack}, dispatch {dispatch}, arrive {arrive}, escalations {n}").format(
                ack=fmt_s(i.acknowledge_s), dispatch=fmt_s(i.dispatch_s), arrive=fmt_s(i.arrive_s), n=i.escalations))
        if i.dispatch is not None:
            out.append("    " + dispatch_text(i.dispatch))
        for e in i.expectations:
            out.append(f"    {expectation_label(e)} ≤ {fmt_s(e.target_s)}: {fmt_s(e.actual_s)} · "
                       + state_text(e.state, e.margin_s))
        for step in i.steps:
            out.append(f"    ☐ {step.text[:40]} ≤ {fmt_s(step.target_s)}: {fmt_s(step.done_s)} · "
                       + state_text(step.state, step.margin_s))
    out += ["", _("Who did what:")]
    out += [f"  {fmt_s(a.scenario_s)}  {a.user}@{a.station or '-'}  {a.incident_number}  {action_text(a)}"
            for a in report.actions]
    b = report.baseline
    out += ["", _("Real incidents of these categories in the last year (drills excluded): {n}; median "
                  "acknowledge {ack}, dispatch {dispatch}, arrive {arrive}.").format(
        n=b.total, ack=fmt_s(b.acknowledge.median_s), dispatch=fmt_s(b.dispatch.median_s),
        arrive=fmt_s(b.arrive.median_s))]
    if runs:
        out += ["", _("Runs of this scenario:")]
        for r in runs:
            acks = ", ".join(f"{k} {fmt_s(v[0])}" for k, v in r.per_inject.items())
            out.append(f"  #{r.run_id}  {fmt_local(r.started_at)}  ×{r.speed:g}  {status_text(r.status)}  "
                       + _("met {met}, missed {missed}, escalations {n}").format(
                           met=r.met, missed=r.missed, n=r.escalations) + f"  ({acks})")
    return out
