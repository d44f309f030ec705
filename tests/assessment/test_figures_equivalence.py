"""The aggregated figures against the straightforward computation on seeded random history (both
backends): the monthly assessment of a random month (street, severity, community, grid, unit, the
reporting deadlines, every breach) and the situation of the last 30 days (reports per day and
category, response per severity and target, open by age).

The reference reads every incident as an ORM row and computes each figure in Python from its
datetimes, exactly as the definitions say (nearest-rank 90th percentile, met / breached / pending
against the escalation policy's targets at the report's moment). The seeded history has every
kind of row the figures must leave out or treat apart: drills, merged duplicates, cancelled
incidents, incidents of the month before and after, steps never reached, steps "reached" before
the recording (a clock off: counted as zero), incidents without a grid, units sent that never
arrived. Times are whole seconds plus a half, so no time falls exactly on a target and the
backends' floating seconds cannot tip a comparison.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select
from support.street import make_street

from db.engine import Database, db_now
from db.models import OPEN_STATUSES, Area, Assignment, ChecklistItem, Incident, Unit
from dispatch_console.assessment.monthly import TARGETS, GroupRow, assess
from dispatch_console.assessment.situation import AGES, situation
from dispatch_console.escalation.service import policy
from dispatch_console.kernel.timefmt import LOCAL_TZ

REACHED = {"ack": "acknowledged_at", "dispatch": "dispatched_at", "arrive": "on_scene_at", "resolve": "resolved_at"}
CATEGORIES = ("dispute", "fire", "flood", "traffic", "noise")
STATUSES = ("new", "acknowledged", "dispatched", "on_scene", "resolved", "closed", "cancelled")
REPORT_KINDS = ("report_first", "followup", "final")


def _step(rng: random.Random, at: datetime) -> datetime | None:
    """A step's time: never reached (a quarter), before the recording (rarely), within the hour
    (mostly) or up to 30 hours on."""
    draw = rng.random()
    if draw < 0.25:
        return None
    if draw < 0.3:
        return at - timedelta(seconds=rng.randrange(1, 600) + 0.5)
    longest = 3600 if draw < 0.7 else 30 * 3600
    return at + timedelta(seconds=rng.randrange(0, longest) + 0.5)


def _seed(db: Database, rng: random.Random, first: datetime, last: datetime, count: int) -> None:
    """``count`` incidents recorded between ``first`` and ``last`` with units sent and reporting
    steps, inserted as rows (no audit trail: whoever is responsible is the incident's owner)."""
    make_street(db)
    with db.write() as s:
        grids = list(s.execute(select(Area.id).where(Area.level == "grid")).scalars())
        units = []
        for code, name in (("U1", "桃源派出所"), ("U2", "消防救援站"), ("U3", "城管中队")):
            unit = Unit(code=code, name=name, kind="police", status="available", version=1)
            s.add(unit)
            s.flush()
            units.append(unit.id)
        span = (last - first).total_seconds()
        ids: list[int] = []
        for n in range(count):
            at = first + timedelta(seconds=rng.randrange(0, int(span)) + 0.5)
            steps = {kind: _step(rng, at) for kind in REACHED.values()}
            merged = ids[-1] if ids and rng.random() < 0.05 else None
            row = s.execute(insert(Incident).values(
                number=f"R-{n:05d}", category=rng.choice(CATEGORIES), severity=rng.randint(1, 4),
                source="hotline_12345", status=rng.choice(STATUSES),
                grid_id=rng.choice(grids) if rng.random() < 0.9 else None, description="随机历史",
                is_drill=rng.random() < 0.05, merged_into_id=merged, version=1, created_at=at, updated_at=at,
                **steps).returning(Incident.id)).scalar_one()
            ids.append(row)
            for unit in rng.sample(units, rng.randint(0, 2)):
                arrived = _step(rng, at)
                s.add(Assignment(incident_id=row, unit_id=unit, status="on_scene", assigned_at=at, version=1,
                                 arrived_at=arrived))
            for position, kind in enumerate(rng.sample(REPORT_KINDS, rng.randint(0, 2))):
                due = at + timedelta(minutes=rng.choice((30, 60, 240)))
                s.add(ChecklistItem(incident_id=row, template_code="generic", template_version="1",
                                    step_key=f"report{position}", position=position, text=f"报告{kind}",
                                    role="duty_officer", deadline_minutes=30.0, deadline_from="created",
                                    due_at=due, required=True, report_kind=kind, done_at=_step(rng, at),
                                    created_at=at, version=1))


# ---------------------------------------------------------------------------------------------
# The straightforward computation.


@dataclass
class Stats:
    met: int = 0
    breached: int = 0
    pending: int = 0
    seconds: list[float] = field(default_factory=list)

    def add(self, taken: float | None, limit: float, elapsed: float) -> str:
        if taken is not None:
            self.seconds.append(taken)
            outcome = "met" if taken <= limit else "breached"
        else:
            outcome = "breached" if elapsed > limit else "pending"
        setattr(self, outcome, getattr(self, outcome) + 1)
        return outcome

    def figures(self) -> tuple[int, int, int, float | None]:
        ordered = sorted(self.seconds)
        p90 = ordered[math.ceil(0.9 * len(ordered)) - 1] if ordered else None
        return self.met, self.breached, self.pending, p90


def _taken(reached: datetime | None, at: datetime) -> float | None:
    return None if reached is None else max((reached - at).total_seconds(), 0.0)


def _reference_month(db: Database, start: datetime, end: datetime, now: datetime) -> dict[str, Any]:
    rules = policy()
    groups: dict[tuple[str, str], dict[str, Stats]] = defaultdict(lambda: defaultdict(Stats))
    incidents: Counter[tuple[str, str]] = Counter()
    breaches: set[tuple[Any, ...]] = set()
    with db.read() as s:
        areas = {a.id: a for a in s.execute(select(Area)).scalars()}
        unit_names = dict(s.execute(select(Unit.id, Unit.name)).all())
        rows = s.execute(select(Incident).where(Incident.created_at >= start, Incident.created_at < end)).scalars()
        for inc in rows:
            if inc.is_drill or inc.merged_into_id is not None or inc.status == "cancelled":
                continue
            grid = areas.get(inc.grid_id) if inc.grid_id is not None else None
            community = areas.get(grid.parent_id) if grid is not None and grid.parent_id is not None else None
            keys = [("street", ""), ("severity", str(inc.severity))]
            keys += [("community", community.name)] if community else []
            keys += [("grid", grid.name)] if grid else []
            where = (community.name if community else None, grid.name if grid else None)
            elapsed = (now - inc.created_at).total_seconds()
            targets = rules.for_severity(inc.severity).targets
            for key in keys:
                incidents[key] += 1
            for kind, limit in targets.items():
                reached = getattr(inc, REACHED[kind])
                outcomes = {groups[key][kind].add(_taken(reached, inc.created_at), limit.total_seconds(), elapsed)
                            for key in keys}
                assert len(outcomes) == 1
                if outcomes == {"breached"}:
                    breaches.add((inc.number, kind, inc.created_at + limit, reached, *where, None))
            for a in s.execute(select(Assignment).where(Assignment.incident_id == inc.id,
                                                        Assignment.unit_id.is_not(None))).scalars():
                key = ("unit", unit_names[a.unit_id])
                incidents[key] += 1
                if "arrive" in targets:
                    limit = targets["arrive"]
                    if groups[key]["arrive"].add(_taken(a.arrived_at, inc.created_at), limit.total_seconds(),
                                                 elapsed) == "breached":
                        breaches.add((inc.number, "arrive", inc.created_at + limit, a.arrived_at, *where,
                                      unit_names[a.unit_id]))
            for item in s.execute(select(ChecklistItem).where(ChecklistItem.incident_id == inc.id)).scalars():
                if item.report_kind is None or item.due_at is None:
                    continue
                limit_s = (item.due_at - inc.created_at).total_seconds()
                outcomes = {groups[key]["reports"].add(_taken(item.done_at, inc.created_at), limit_s, elapsed)
                            for key in keys}
                if outcomes == {"breached"}:
                    breaches.add((inc.number, item.step_key, item.due_at, item.done_at, *where, None))
    figures = {key: {kind: st.figures() for kind, st in per.items()} for key, per in groups.items()}
    return {"incidents": dict(incidents), "figures": figures, "breaches": breaches}


def _row_figures(row: GroupRow) -> dict[str, tuple[int, int, int, float | None]]:
    out = {kind: (t.met, t.breached, t.pending, t.p90_seconds) for kind, t in row.targets.items()}
    out["reports"] = (row.reports.met, row.reports.breached, row.reports.pending, row.reports.p90_seconds)
    return out


def test_the_monthly_assessment_matches_the_straightforward_computation(db: Database) -> None:
    start = datetime(2026, 11, 1, tzinfo=LOCAL_TZ).astimezone(UTC)
    end = datetime(2026, 12, 1, tzinfo=LOCAL_TZ).astimezone(UTC)
    # the month and a few days either side (never counted)
    _seed(db, random.Random(20261101), start - timedelta(days=3), end + timedelta(days=3), 400)
    report = assess(db, "2026-11")
    expected = _reference_month(db, start, end, report.made_at)
    rows = [report.street, *report.by_severity.values(), *report.communities, *report.grids, *report.units]
    got_incidents = {(r.level, "" if r.level == "street" else r.name): r.incidents for r in rows}
    assert got_incidents == expected["incidents"]
    assert report.street.incidents > 200  # the seed holds the month it means to
    for r in rows:
        key = (r.level, "" if r.level == "street" else r.name)
        want = expected["figures"].get(key, {})
        for kind, figures in _row_figures(r).items():
            met, breached, pending, p90 = want.get(kind, (0, 0, 0, None))
            assert figures[:3] == (met, breached, pending), (key, kind)
            assert figures[3] == (None if p90 is None else pytest.approx(p90, abs=1e-6)), (key, kind)
    got_breaches = {(b.number, b.target, b.due_at, b.reached_at, b.community, b.grid, b.unit) for b in report.breaches}
    assert got_breaches == expected["breaches"]
    assert len(report.breaches) == len(got_breaches)
    assert report.breaches == sorted(report.breaches, key=lambda b: (b.due_at, b.number, b.target))


def test_the_situation_matches_the_straightforward_computation(db: Database) -> None:
    with db.read() as s:
        now = db_now(s)
    # the last 30 days and a few before; some just recorded (their deadlines not yet due)
    _seed(db, random.Random(20261207), now - timedelta(days=33), now - timedelta(minutes=3), 400)
    figures = situation(db, 30)
    made = figures.made_at
    assert made is not None
    rules = policy()
    first = figures.days[0]
    per_day: Counter[tuple[str, int]] = Counter()
    stats: dict[int, dict[str, Stats]] = defaultdict(lambda: defaultdict(Stats))
    ages: Counter[str] = Counter({name: 0 for name, _d in AGES})
    with db.read() as s:
        for inc in s.execute(select(Incident)).scalars():
            age = made - inc.created_at
            if inc.status in OPEN_STATUSES and not inc.is_drill:
                ages[next(name for name, days in AGES if days is None or age < timedelta(days=days))] += 1
            day = (inc.created_at.astimezone(LOCAL_TZ).date() - first).days
            if inc.is_drill or inc.merged_into_id is not None or not 0 <= day < 30:
                continue
            per_day[(inc.category, day)] += 1
            if inc.status == "cancelled":
                continue
            for kind, limit in rules.for_severity(inc.severity).targets.items():
                stats[inc.severity][kind].add(_taken(getattr(inc, REACHED[kind]), inc.created_at),
                                              limit.total_seconds(), age.total_seconds())
    got_per_day = Counter({(category, n): v for category, counts in figures.per_day.items()
                           for n, v in enumerate(counts) if v})
    assert got_per_day == per_day and figures.total > 300
    assert figures.open_by_age == dict(ages)
    assert set(figures.response) == set(stats)
    for severity, per in figures.response.items():
        assert set(per) == set(TARGETS) & set(rules.for_severity(severity).targets)
        for kind, r in per.items():
            met, breached, _pending, p90 = stats[severity][kind].figures()
            assert r.target_s == rules.for_severity(severity).targets[kind].total_seconds()
            assert r.on_time_rate == (pytest.approx(met / (met + breached)) if met + breached else None)
            assert r.p90_s == (None if p90 is None else pytest.approx(p90, abs=0.01)), (severity, kind)
