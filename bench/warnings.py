"""Warnings and assessment: the rules per new incident, and the monthly assessment over the history.

On the bulk history (``Sizes.assessment_incidents`` incidents over three years, ``bench.bulk``):

- **rule evaluation per new incident, p99** (target 10 ms): an officer records an incident (not
  timed), then the timer engine's evaluation of it is timed — the change feed read, the subject
  rows, the repeat counts, the grid and category surge counts, the group tiers, the cursor. Its
  details say how many statements an evaluation sent (the figure the load does not change).
  Baseline: the naive repeat rule, every report of the last 30 days read and its phone and
  address normalised in Python to count the same caller.
- **monthly assessment** (target 2 s): :func:`dispatch_console.assessment.assess` for the history's
  busiest month. Baseline: the naive holder lookup, one audit-log query per incident, timed over
  the first 200 incidents of the month and scaled to all of them.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import event, func, select

from bench import bulk, databases
from bench.common import Figure, Sizes, ms, ms_summary, percentile
from bench.workers import WorkerPool
from db.engine import db_now
from db.models import AuditLog, Incident, User
from dispatch_console import assessment
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.kernel.timefmt import LOCAL_TZ
from dispatch_console.users.accounts import actor_for
from dispatch_console.warnings.evaluate import address_key, evaluate_pending, phone_key

RULE_TARGET_MS = 10.0
ASSESS_TARGET_S = 2.0


def _naive_repeat(db: Any, phone: str, address: str) -> int:
    with db.read() as s:
        since = db_now(s) - timedelta(days=30)
        rows = s.execute(select(Incident.reporter_phone, Incident.address).where(Incident.created_at >= since)).all()
    want_phone, want_address = phone_key(phone), address_key(address)
    return sum(1 for p, a in rows if phone_key(p) == want_phone or address_key(a) == want_address)


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
        naive: list[float] = []
        # the statements an evaluation sends: each waits for the server once, so on a loaded
        # machine their number, not their work, sets the time (and it does not vary with the load)
        statements = [0, False]

        def count(*_args: Any) -> None:
            if statements[1]:
                statements[0] += 1

        event.listen(db.engine, "before_cursor_execute", count)
        for n in range(sizes.rule_samples):
            phone, address = rng.choice(phones), f"桃源街道{rng.randint(1, 30)}栋"
            incidents.create_incident(db, actor, IncidentDraft(
                category=rng.choice(["dispute", "city_management", "petition"]), severity=3,
                source="hotline_12345", description=f"第{n}次反映", reporter_phone=phone, address=address,
                people_count=rng.choice([None, None, None, 6])))
            statements[1] = True
            t0 = time.perf_counter()
            evaluate_pending(db, "bench-agent")
            timed.append(time.perf_counter() - t0)
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
                                "first_run_s": round(start_s, 3),
                                "statements_per_evaluation": round(int(statements[0]) / max(len(timed), 1), 1)})
        event.remove(db.engine, "before_cursor_execute", count)
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
    return [rules, monthly]
