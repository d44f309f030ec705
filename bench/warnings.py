"""Warnings and assessment: the rules per new incident, and the monthly assessment over the history.

On the bulk history (``Sizes.assessment_incidents`` incidents over three years, ``bench.bulk``):

- **rule evaluation per new incident, p99** (target 10 ms): an officer records an incident (not
  timed), then the timer engine's evaluation of it is timed — the change feed read, the subject
  rows, the repeat counts, the grid and category surge counts, the group tiers, the cursor. Its
  details say how many statements an evaluation sent (the figure the load does not change).
  Baseline: the naive repeat rule, every report of the last 30 days read and its phone and
  address normalised in Python to count the same caller.
- **surge counts per new incident p99** (the part of the evaluation migration 0023 changed): for
  each incident of the sample, its grid's and its category's counts as the rules read them — the
  window and the ends of the baseline from the incident index, the whole days between from
  ``incident_day_count`` — against the naive baseline, the statement the rules sent before: all 29
  days of the grid's and the category's reports counted from the incident index. Both timed in
  the same run on the same incidents, in alternating order; their results must agree (the bench
  fails otherwise).
- **monthly assessment** (target 2 s): :func:`dispatch_console.assessment.assess` for the history's
  busiest month. Baseline: the naive holder lookup, one audit-log query per incident, timed over
  the first 200 incidents of the month and scaled to all of them.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import case, event, func, select, true
from sqlalchemy.orm import Session

from bench import bulk, databases
from bench.common import Figure, Sizes, ms, ms_summary, percentile
from bench.workers import WorkerPool
from db.engine import db_now
from db.models import AuditLog, Incident, IncidentDayCount, User
from dispatch_console import assessment
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.kernel.timefmt import LOCAL_TZ
from dispatch_console.users.accounts import actor_for
from dispatch_console.warnings.evaluate import Surge, _facts, evaluate_pending
from dispatch_console.warnings.keys import address_key, phone_key
from dispatch_console.warnings.rules import current_policy

RULE_TARGET_MS = 10.0
ASSESS_TARGET_S = 2.0


def _naive_repeat(db: Any, phone: str, address: str) -> int:
    with db.read() as s:
        since = db_now(s) - timedelta(days=30)
        rows = s.execute(select(Incident.reporter_phone, Incident.address).where(Incident.created_at >= since)).all()
    want_phone, want_address = phone_key(phone), address_key(address)
    return sum(1 for p, a in rows if phone_key(p) == want_phone or address_key(a) == want_address)


def _surges(inc: Incident) -> list[Surge]:
    policy = current_policy()
    out = [Surge("category_surge", policy.category_surge, Incident.category == inc.category, inc.category)]
    if inc.grid_id is not None:
        out.append(Surge("grid_surge", policy.grid_surge, Incident.grid_id == inc.grid_id, str(inc.grid_id)))
    return out


def _naive_surge_counts(session: Session, inc: Incident, surges: list[Surge]) -> list[tuple[int, int]]:
    """The rules' surge counts before migration 0023: each surge's 29 days counted from the incident index."""
    t = inc.created_at
    spans = []
    for n, g in enumerate(surges):
        spans.append(select(
            func.coalesce(func.sum(case((Incident.created_at > t - g.rule.window, 1), else_=0)), 0).label("recent"),
            func.count().label("spanned"),
        ).where(g.where, Incident.created_at > t - g.rule.window - g.rule.baseline, Incident.created_at <= t,
                Incident.is_drill.is_(False), Incident.merged_into_id.is_(None)).subquery(f"span{n}"))
    joined: Any = spans[0]
    for span in spans[1:]:
        joined = joined.join(span, true())
    row = session.execute(select(*[c for span in spans for c in span.c]).select_from(joined)).one()
    return [(int(row[2 * n] or 0), int(row[2 * n + 1] or 0) - int(row[2 * n] or 0)) for n in range(len(surges))]


def _surge_figure(db: Any, backend: str, made: list[int]) -> Figure:
    timed: list[float] = []
    naive: list[float] = []
    with db.read() as s:
        for n, incident_id in enumerate(made):
            inc = s.get(Incident, incident_id)
            assert inc is not None
            surges = _surges(inc)
            for naive_first in ((True, False) if n % 2 else (False, True)):
                t0 = time.perf_counter()
                if naive_first:
                    old = _naive_surge_counts(s, inc, surges)
                    naive.append(time.perf_counter() - t0)
                else:
                    new = [(k, before) for k, before, _running in _facts(s, inc, [], surges).surges]
                    timed.append(time.perf_counter() - t0)
            if old != new:
                raise AssertionError(f"incident {incident_id}: the day counts say {new}, the incidents {old}")
        days = int(s.execute(select(func.count()).select_from(IncidentDayCount)).scalar_one())
    p99 = percentile(timed, 99)
    return Figure("surge counts per new incident p99", backend, ms(p99) if p99 is not None else None, "ms",
                  baseline=ms(percentile(naive, 99) or 0.0),
                  baseline_label="29 days of a grid's and a category's reports counted from the index",
                  details={"samples": ms_summary(timed), "baseline": ms_summary(naive), "day_rows": days})


def run(backend: str, sizes: Sizes, pool: WorkerPool | None = None) -> list[Figure]:
    del pool
    count = sizes.assessment_incidents
    template, _built = bulk.history(backend, count, min(sizes.queue_open, max(count // 20, 10)))
    with databases.fresh(backend, template=template, tag="warnings") as db:
        with db.read() as s:
            officer = s.execute(select(User).where(User.role == "duty_officer").limit(1)).scalar_one()
            actor = actor_for(officer, "bench")
            months = s.execute(select(Incident.created_at).order_by(Incident.id.desc()).limit(1)).scalar_one()
        started = time.perf_counter()
        evaluate_pending(db, "bench-agent")  # the first run: the cursor, the last 30 days' subjects
        start_s = time.perf_counter() - started
        rng = random.Random(7)
        phones = [f"1380013{n:04d}" for n in range(40)]
        timed: list[float] = []
        cpu: list[float] = []
        naive: list[float] = []
        made: list[int] = []
        # the statements an evaluation sends: each waits for the server once, so on a loaded
        # machine their number, not their work, sets the time (and it does not vary with the load)
        statements = [0, False]

        def count_statement(*_args: Any) -> None:
            if statements[1]:
                statements[0] += 1

        event.listen(db.engine, "before_cursor_execute", count_statement)
        for n in range(sizes.rule_samples):
            phone, address = rng.choice(phones), f"桃源街道{rng.randint(1, 30)}栋"
            made.append(incidents.create_incident(db, actor, IncidentDraft(
                category=rng.choice(["dispute", "city_management", "petition"]), severity=3,
                source="hotline_12345", description=f"第{n}次反映", reporter_phone=phone, address=address,
                people_count=rng.choice([None, None, None, 6]))).row.id)
            statements[1] = True
            t0, c0 = time.perf_counter(), time.process_time()
            evaluate_pending(db, "bench-agent")
            timed.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            statements[1] = False
            if n < sizes.rule_baseline_samples:
                t0 = time.perf_counter()
                _naive_repeat(db, phone, address)
                naive.append(time.perf_counter() - t0)
        p99 = percentile(timed, 99)
        rules = Figure("warning rules per new incident p99", backend, ms(p99) if p99 is not None else None, "ms",
                       RULE_TARGET_MS, baseline=ms(percentile(naive, 99) or 0.0),
                       baseline_label="naive repeat count over 30 days in Python",
                       details={"incidents": count, "samples": ms_summary(timed), "baseline": ms_summary(naive),
                                "first_run_s": round(start_s, 3), "cpu_in_this_process": ms_summary(cpu),
                                "statements_per_evaluation": round(int(statements[0]) / max(len(timed), 1), 1)})
        event.remove(db.engine, "before_cursor_execute", count_statement)
        surges = _surge_figure(db, backend, made)
        # the assessment of the month the history's newest incident falls in
        month = months.astimezone(LOCAL_TZ).strftime("%Y-%m")
        t0 = time.perf_counter()
        report = assessment.assess(db, month)
        assess_s = time.perf_counter() - t0
        start, end = assessment.month_bounds(month)
        with db.read() as s:
            ids = list(s.execute(select(Incident.id).where(Incident.created_at >= start, Incident.created_at < end)
                                 .order_by(Incident.id)).scalars())
            sample = ids[:200]
            t0 = time.perf_counter()
            for iid in sample:
                s.execute(select(AuditLog.at, AuditLog.username).where(
                    AuditLog.entity == "incident", AuditLog.entity_id == iid).order_by(AuditLog.id)).all()
            per = (time.perf_counter() - t0) / max(len(sample), 1)
            total = int(s.execute(select(func.count()).select_from(Incident)).scalar_one())
        monthly = Figure("monthly assessment", backend, round(assess_s, 3), "s", ASSESS_TARGET_S,
                         baseline=round(per * len(ids), 3),
                         baseline_label="one audit query per incident (200 timed, scaled)",
                         details={"incidents_in_database": total, "incidents_in_month": report.street.incidents,
                                  "month": month, "breaches": len(report.breaches)})
    return [rules, surges, monthly]
