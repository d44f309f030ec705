"""The case board with 50,000 cases: first paint and filter p95, beside a naive baseline.

50,000 cases are bulk-loaded on the demo street (most closed over three years; a few thousand
open, in every state, with follow-up visits and petition step deadlines). The figure times the
real board dock (``ui.cases.board.CaseBoard``): from constructing it to its first rows and the
first case's detail shown, and from picking a view (all / overdue / follow-ups this week / a
grid / a unit / my cases) to the rows shown. Baseline, same run: the naive board — read every
case and every visit with the ORM and filter and sort in Python — for the same views.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from bench import databases
from bench.common import Figure, Sizes, ms, ms_summary, percentile
from bench.qt import application, close_ui, make_ui, wait_for
from db.engine import Database, db_now
from db.models import Area, Case, CaseVisit, Unit

FIRST_PAINT_TARGET_MS = 100.0
FILTER_P95_TARGET_MS = 100.0
TIMEOUT_S = 120.0
OPEN_SHARE = 0.08
DISPUTE_OPEN = ("open", "mediating", "agreed", "referred")
PETITION_OPEN = ("registered", "accepted", "replied", "review")


def build(db: Database, total: int) -> None:
    """``total`` cases with their visits, in one transaction (SQLite executemany / PostgreSQL batches)."""
    rng = random.Random(23)
    with db.write() as s:
        now = db_now(s)
        grids = list(s.execute(select(Area.id).where(Area.level == "grid")).scalars())
        units = list(s.execute(select(Unit.id).where(Unit.kind.in_(("judicial_office", "petition_office",
                                                                   "mediation_centre", "trade_union")))).scalars())
        start = int(s.execute(select(func.coalesce(func.max(Case.id), 0))).scalar_one()) + 1
        cases: list[dict[str, Any]] = []
        visits: list[dict[str, Any]] = []
        for n in range(total):
            case_id = start + n
            petition = rng.random() < 0.3
            is_open = rng.random() < OPEN_SHARE
            age = timedelta(days=rng.uniform(0, 60) if is_open else rng.uniform(30, 1095))
            created = now - age
            status = rng.choice(PETITION_OPEN if petition else DISPUTE_OPEN) if is_open else "closed"
            step_due = created + timedelta(days=15 if status == "registered" else 60) \
                if status in ("registered", "accepted", "review") else None
            cases.append({
                "id": case_id, "number": f"TY{'X' if petition else 'J'}-B{n:07d}",
                "kind": "petition" if petition else "dispute", "subtype": "other", "title": f"案件 {n}",
                "description": None, "status": status, "grid_id": rng.choice(grids), "risk": "low",
                "may_escalate": False, "responsible_unit_id": rng.choice(units), "responsible_person": None,
                "owner_user_id": None, "opened_by": "direct", "registered_at": created, "extension_days": 0,
                "step_due_at": step_due, "reopen_count": 0, "is_drill": False, "created_at": created,
                "updated_at": created, "closed_at": None if is_open else created + timedelta(days=20), "version": 1,
            })
            if status == "agreed" or (not is_open and rng.random() < 0.3):
                for days in (7, 30):
                    due = created + timedelta(days=days)
                    done = due < now - timedelta(days=1) and rng.random() < 0.9
                    visits.append({"case_id": case_id, "due_at": due, "days": days, "state": "done" if done else "due",
                                   "visited_at": due if done else None, "result": "performed" if done else None,
                                   "version": 1})
        for chunk in range(0, len(cases), 5000):
            s.execute(insert(Case), cases[chunk:chunk + 5000])
        for chunk in range(0, len(visits), 5000):
            s.execute(insert(CaseVisit), visits[chunk:chunk + 5000])


def _naive(db: Database, view: str, grid_id: int, unit_id: int) -> int:
    """The board computed the naive way: every case and visit read, filtered and sorted in Python."""
    with db.read() as s:
        now = db_now(s)
        cases = list(s.execute(select(Case)).scalars())
        visits: dict[int, list[CaseVisit]] = {}
        for v in s.execute(select(CaseVisit)).scalars():
            visits.setdefault(v.case_id, []).append(v)
    rows = [c for c in cases if c.status != "closed" and not c.is_drill]
    if view == "overdue":
        rows = [c for c in rows if (c.step_due_at is not None and c.step_due_at < now)
                or any(v.state == "due" and v.due_at < now for v in visits.get(c.id, []))]
    elif view == "week":
        rows = [c for c in cases if any(v.state == "due" and v.due_at <= now + timedelta(days=7)
                                        for v in visits.get(c.id, []))]
    elif view == "grid":
        rows = [c for c in rows if c.grid_id == grid_id]
    elif view == "unit":
        rows = [c for c in rows if c.responsible_unit_id == unit_id]
    rows.sort(key=lambda c: (c.created_at, c.id), reverse=True)
    return len(rows[:500])


VIEWS = ("all", "overdue", "week", "grid", "unit", "mine")


def run(backend: str, sizes: Sizes, _pool: object = None) -> list[Figure]:
    from ui.cases.board import CaseBoard

    application()
    template, _built = databases.base(backend)
    with databases.fresh(backend, template=template, tag="cases") as db:
        t_build = time.perf_counter()
        build(db, sizes.cases_total)
        build_s = time.perf_counter() - t_build
        with db.read() as s:
            grid_id = int(s.execute(select(Case.grid_id).where(Case.status != "closed").limit(1)).scalar_one())
            unit_id = int(s.execute(select(Case.responsible_unit_id).where(Case.status != "closed")
                                    .limit(1)).scalar_one())
        ui = make_ui(db, "ws-cases")
        paints: list[float] = []
        filters: dict[str, list[float]] = {v: [] for v in VIEWS}
        boards: list[CaseBoard] = []
        try:
            for _i in range(max(1, sizes.queue_first_paints)):
                t0 = time.perf_counter()
                board = CaseBoard(ui)
                boards.append(board)
                board.resize(1400, 700)
                board.show()
                if not wait_for(lambda b=board: b.is_ready() and b.detail.detail is not None, TIMEOUT_S):  # type: ignore[misc]
                    raise TimeoutError("the case board did not paint")
                paints.append(time.perf_counter() - t0)
            board = boards[-1]
            for n in range(sizes.cases_filter_samples):
                view = VIEWS[n % len(VIEWS)]
                index = VIEWS.index(view)
                t0 = time.perf_counter()
                if board.view_box.currentIndex() == index:
                    board.reload()
                else:
                    board.view_box.setCurrentIndex(index)
                if view in ("grid", "unit"):
                    wanted = grid_id if view == "grid" else unit_id
                    at = board.filter_box.findData(wanted)
                    if at >= 0 and board.filter_box.currentIndex() != at:
                        board.filter_box.setCurrentIndex(at)
                if not wait_for(board.is_ready, TIMEOUT_S):
                    raise TimeoutError(f"the case board did not show {view}")
                filters[view].append(time.perf_counter() - t0)
            shown = len(board.model.rows)
        finally:
            close_ui(ui, *boards)
        naive: list[float] = []
        for n in range(max(1, sizes.queue_baseline_filters) * 2):
            view = VIEWS[n % (len(VIEWS) - 1)]
            t0 = time.perf_counter()
            _naive(db, view, grid_id, unit_id)
            naive.append(time.perf_counter() - t0)
    every = [t for ts in filters.values() for t in ts]
    details: dict[str, Any] = {
        "cases": sizes.cases_total, "build_s": round(build_s, 1), "first_paints_ms": [ms(p) for p in paints],
        "filter_ms": ms_summary(every), "by_view_ms": {v: ms_summary(ts) for v, ts in filters.items() if ts},
        "naive_ms": ms_summary(naive), "rows_on_last_view": shown, "at": datetime.now().isoformat(timespec="seconds"),
    }
    paint = sorted(paints)[len(paints) // 2]
    return [
        Figure("case board first paint", backend, ms(paint), "ms", FIRST_PAINT_TARGET_MS, "<=",
               ms(percentile(naive, 50) or 0.0), "naive board p50", details),
        Figure("case board filter p95", backend, ms(percentile(every, 95) or 0.0), "ms", FILTER_P95_TARGET_MS, "<=",
               ms(percentile(naive, 95) or 0.0), "naive board p95", details),
    ]
