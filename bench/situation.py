"""The situation view's reads over the bulk history (``Sizes.assessment_incidents`` incidents over
three years, ``bench.bulk``; 1,000,000 in ``make bench``, 100,000 in ``make bench-quick``).

- **situation view, 365 days** (target 2 s): :func:`dispatch_console.assessment.situation` for the
  longest window the view offers — the reports per day by category grouped in SQL, the response
  times as seconds computed by the database, open incidents and cases by age, warnings by rule,
  the shelters. The median of three reads.
  Baseline: the naive read, every incident of the window loaded as an ORM row and each figure
  computed in Python from its datetimes (what the view did before).
- **monthly assessment** (target 2 s): :func:`dispatch_console.assessment.assess` for the
  history's newest month, now with the follow-up visits — measured here on the history opened in
  place, beside the same naive baseline as ``bench.warnings`` (one audit-log query per incident,
  200 timed and scaled to the month), so that it is measured without the rules' samples.
- **duty work report, one month** (target 2 s): :func:`dispatch_console.assessment.duty.duty_report`
  for the history's last whole month (totals beside the previous month, by category and community,
  the month's situation and its assessment with the follow-up visits). No baseline of its own: its
  parts are the figures above and the monthly assessment (``bench.warnings``).
"""

from __future__ import annotations

import statistics
import time
from collections import Counter, defaultdict
from datetime import timedelta

from sqlalchemy import select

from bench import bulk, databases
from bench.common import Figure, Sizes
from db.engine import Database, db_now
from db.models import AuditLog, Incident
from dispatch_console.assessment import situation as figures
from dispatch_console.assessment.duty import duty_report
from dispatch_console.assessment.monthly import TARGETS, TargetStats, assess, month_bounds
from dispatch_console.escalation.service import policy
from dispatch_console.kernel.timefmt import LOCAL_TZ

TARGET_S = 2.0
REACHED = {"ack": "acknowledged_at", "dispatch": "dispatched_at", "arrive": "on_scene_at", "resolve": "resolved_at"}


def naive_situation(db: Database, days: int) -> tuple[int, dict[int, dict[str, float | None]]]:
    """Every incident of the window as an ORM row, the figures computed in Python."""
    rules = policy()
    with db.read() as s:
        now = db_now(s)
        rows = s.execute(select(Incident).where(Incident.created_at >= now - timedelta(days=days),
                                                Incident.is_drill.is_(False))).scalars().all()
        per_day: Counter[tuple[str, object]] = Counter()
        stats: dict[int, dict[str, TargetStats]] = defaultdict(lambda: {k: TargetStats() for k in TARGETS})
        for r in rows:
            per_day[(r.category, r.created_at.astimezone(LOCAL_TZ).date())] += 1
            elapsed = (now - r.created_at).total_seconds()
            for kind, limit in rules.for_severity(r.severity).targets.items():
                reached = getattr(r, REACHED[kind])
                taken = None if reached is None else (reached - r.created_at).total_seconds()
                stats[r.severity][kind].add(taken, limit.total_seconds(), elapsed)
    return sum(per_day.values()), {sev: {k: st.p90_seconds for k, st in per.items()} for sev, per in stats.items()}


def _timed(fn: object, repeat: int) -> tuple[float, list[float]]:
    times = []
    for _n in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return statistics.median(times), [round(t, 3) for t in times]


def run(backend: str, sizes: Sizes, _pool: object = None) -> list[Figure]:
    count = sizes.assessment_incidents
    template, _built = bulk.history(backend, count, min(sizes.queue_open, max(count // 20, 10)))
    with databases.opened(backend, template) as db:
        situation_s, runs = _timed(lambda: figures.situation(db, 365), 3)
        data = figures.situation(db, 365)
        naive_s, naive_runs = _timed(lambda: naive_situation(db, 365), 1)
        total, _p90s = naive_situation(db, 365)
        with db.read() as s:
            newest = s.execute(select(Incident.created_at).order_by(Incident.id.desc()).limit(1)).scalar_one()
        # the last whole month (the newest one has only begun)
        month = (newest.astimezone(LOCAL_TZ).date().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
        duty_s, duty_runs = _timed(lambda: duty_report(db, month=month), 1)
        assess_s, assess_runs = _timed(lambda: assess(db, month), 1)
        start, end = month_bounds(month)
        with db.read() as s:
            ids = list(s.execute(select(Incident.id).where(Incident.created_at >= start, Incident.created_at < end)
                                 .order_by(Incident.id)).scalars())
            t0 = time.perf_counter()
            for iid in ids[:200]:
                s.execute(select(AuditLog.at, AuditLog.username).where(
                    AuditLog.entity == "incident", AuditLog.entity_id == iid).order_by(AuditLog.id)).all()
            per = (time.perf_counter() - t0) / max(len(ids[:200]), 1)
    return [
        Figure("situation view 365 days", backend, round(situation_s, 3), "s", TARGET_S, baseline=round(naive_s, 3),
               baseline_label="ORM rows of the window, figures in Python",
               details={"incidents_in_database": count, "reports_in_window": data.total,
                        "naive_reports_in_window": total, "runs_s": runs, "baseline_runs_s": naive_runs}),
        Figure("monthly assessment with visits", backend, round(assess_s, 3), "s", TARGET_S,
               baseline=round(per * len(ids), 3), baseline_label="one audit query per incident (200 timed, scaled)",
               details={"incidents_in_database": count, "month": month, "incidents_in_month": len(ids),
                        "runs_s": assess_runs}),
        Figure("duty work report one month", backend, round(duty_s, 3), "s", TARGET_S,
               details={"incidents_in_database": count, "month": month, "runs_s": duty_runs}),
    ]
