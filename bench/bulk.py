"""A duty room with history: N incidents (a few thousand open) bulk-loaded with fast SQL.

Built on the demo street (its grids, units and accounts). Closed incidents spread over three
years; open ones over the last ten days, with their checklist steps, the units sent to them and
a pending escalation deadline each, so the queue's row query has real work to do. PostgreSQL
loads with ``COPY``; SQLite with one ``executemany`` per table in one transaction.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text

from bench import databases
from bench.common import source_key
from bench.textgen import report
from db.engine import Database, db_now
from db.models import Area, Assignment, ChecklistItem, Incident, Timer, Unit, User

BUILD_VERSION = "1"  # bump when the generated data changes
OPEN_STATUSES = ("new", "acknowledged", "dispatched", "on_scene")
OPEN_WEIGHTS = (20, 30, 30, 20)
CHECKLIST_STEPS = ("核实现场情况并向带班领导报告", "通知属地社区和网格员到场", "调派处置力量", "首报区应急管理局")
CST = timedelta(hours=8)

INCIDENT_COLUMNS = (
    "id", "number", "category", "severity", "source", "status", "grid_id", "address", "lon", "lat",
    "reporter_name", "reporter_phone", "description", "people_count", "is_drill", "owner_user_id",
    "created_by", "station", "version", "reported_at", "created_at", "acknowledged_at", "dispatched_at",
    "on_scene_at", "resolved_at", "closed_at", "updated_at",
)
CHECKLIST_COLUMNS = ("incident_id", "template_code", "template_version", "step_key", "position", "text", "role",
                     "deadline_minutes", "deadline_from", "due_at", "required", "done_at", "created_at", "version")
ASSIGNMENT_COLUMNS = ("incident_id", "unit_id", "status", "assigned_at", "version")
TIMER_COLUMNS = ("kind", "incident_id", "step", "target_role", "due_at", "created_at", "is_drill")


def _context(db: Database) -> dict[str, Any]:
    with db.read() as s:
        grids = [(int(r.id), r.min_lon, r.min_lat, r.max_lon, r.max_lat) for r in s.execute(
            select(Area.id, Area.min_lon, Area.min_lat, Area.max_lon, Area.max_lat).where(Area.level == "grid"))]
        return {
            "now": db_now(s),
            "grids": grids,
            "users": [int(i) for i in s.execute(select(User.id)).scalars()],
            "units": [int(i) for i in s.execute(select(Unit.id)).scalars()],
            "first_id": int(s.execute(select(func.coalesce(func.max(Incident.id), 0))).scalar_one()) + 1,
        }


def generate(db: Database, count: int, open_count: int, seed: int = 2026) -> dict[str, list[dict[str, Any]]]:
    """The rows to load, as column → value dicts per table."""
    ctx = _context(db)
    rng = random.Random(seed)
    now: datetime = ctx["now"]
    created = sorted(
        [now - timedelta(days=rng.uniform(10, 3 * 365)) for _i in range(count - open_count)]
        + [now - timedelta(days=rng.uniform(0, 10)) for _i in range(open_count)]
    )
    first_open = count - open_count  # the newest incidents are the open ones
    per_day: Counter[str] = Counter()
    incidents: list[dict[str, Any]] = []
    checklist: list[dict[str, Any]] = []
    assignments: list[dict[str, Any]] = []
    timers: list[dict[str, Any]] = []
    for n, at in enumerate(created):
        incident_id = ctx["first_id"] + n
        r = report(rng)
        day = (at + CST).strftime("%Y%m%d")
        per_day[day] += 1
        grid_id, x0, y0, x1, y1 = rng.choice(ctx["grids"])
        is_open = n >= first_open
        status = rng.choices(OPEN_STATUSES, OPEN_WEIGHTS)[0] if is_open else rng.choices(("closed", "resolved"),
                                                                                         (93, 7))[0]
        steps = {"acknowledged": 1, "dispatched": 2, "on_scene": 3, "resolved": 4, "closed": 5}.get(status, 0)
        times = [at]
        for _step in range(steps):
            times.append(times[-1] + timedelta(minutes=rng.uniform(2, 90)))
        if is_open:
            times = [min(t, now) for t in times]
        stamp = dict(zip(("acknowledged_at", "dispatched_at", "on_scene_at", "resolved_at", "closed_at"),
                         times[1:] + [None] * 5, strict=False))
        incidents.append({
            "id": incident_id, "number": f"TY-{day}-{1000 + per_day[day]:04d}", "category": r.category,
            "severity": r.severity, "source": r.source, "status": status, "grid_id": grid_id, "address": r.address,
            "lon": rng.uniform(x0, x1) if x0 is not None else None,
            "lat": rng.uniform(y0, y1) if y0 is not None else None,
            "reporter_name": r.reporter_name, "reporter_phone": r.reporter_phone, "description": r.description,
            "people_count": r.people_count, "is_drill": False,
            "owner_user_id": rng.choice(ctx["users"]) if steps and ctx["users"] else None,
            "created_by": None, "station": rng.choice(("值班台1", "值班台2", "值班台3")), "version": 1 + steps,
            "reported_at": at - timedelta(minutes=rng.uniform(0, 10)), "created_at": at, **stamp,
            "updated_at": times[-1],
        })
        if not is_open:
            continue
        for position, step in enumerate(CHECKLIST_STEPS):
            due = at + timedelta(minutes=15 * (position + 1))
            checklist.append({
                "incident_id": incident_id, "template_code": "generic", "template_version": "1",
                "step_key": f"step{position + 1}", "position": position, "text": step, "role": "duty_officer",
                "deadline_minutes": 15.0 * (position + 1), "deadline_from": "created", "due_at": due,
                "required": position < 2, "done_at": due - timedelta(minutes=5) if position < steps else None,
                "created_at": at, "version": 1,
            })
        if status in ("dispatched", "on_scene") and ctx["units"]:
            assignments.append({"incident_id": incident_id, "unit_id": rng.choice(ctx["units"]), "status": status,
                                "assigned_at": stamp["dispatched_at"], "version": 1})
        # pending, not yet due: a console opened on this history must not start by firing thousands
        timers.append({"kind": "resolve", "incident_id": incident_id, "step": 0, "target_role": "shift_leader",
                       "due_at": now + timedelta(days=rng.uniform(3, 30)), "created_at": at, "is_drill": False})
    return {"incident": incidents, "checklist_item": checklist, "assignment": assignments, "timer": timers}


TABLES = {"incident": (Incident, INCIDENT_COLUMNS), "checklist_item": (ChecklistItem, CHECKLIST_COLUMNS),
          "assignment": (Assignment, ASSIGNMENT_COLUMNS), "timer": (Timer, TIMER_COLUMNS)}


def _chunks(rows: list[dict[str, Any]], size: int = 5000) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def load(db: Database, rows: dict[str, list[dict[str, Any]]]) -> None:
    if db.is_postgres:
        raw = db.engine.raw_connection()
        try:
            conn = raw.driver_connection
            with conn.cursor() as cur:  # type: ignore[union-attr]
                for table, (_model, columns) in TABLES.items():
                    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in rows[table]:
                            copy.write_row([row[c] for c in columns])
                cur.execute("SELECT setval(pg_get_serial_sequence('incident', 'id'), (SELECT max(id) FROM incident))")
            conn.commit()  # type: ignore[union-attr]
        finally:
            raw.close()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE"))
        return
    with db.write() as s:
        for table, (model, _columns) in TABLES.items():
            for chunk in _chunks(rows[table]):
                s.execute(insert(model.__table__), chunk)
    # as the product's upkeep does on SQLite (db.refresh_statistics) and autovacuum on PostgreSQL;
    # begin(), not connect(): ANALYZE is transactional, and connect() rolled it back
    with db.engine.begin() as c:
        c.exec_driver_sql("ANALYZE")


def build(count: int, open_count: int):  # type: ignore[no-untyped-def]
    def fill(db: Database) -> None:
        from dispatch_console.demo.seed import seed_demo
        from dispatch_console.kernel.actor import Actor

        seed_demo(db, Actor.system("bench"))
        load(db, generate(db, count, open_count))

    return fill


def history(backend: str, count: int, open_count: int) -> tuple[str | Path, bool]:
    """The cached database with ``count`` incidents (``open_count`` open) on the demo street."""
    week = "{}-W{}".format(*date.today().isocalendar()[:2])  # rebuilt weekly: ages and deadlines stay current
    key = source_key(Path(__file__), Path(__file__).with_name("textgen.py"),
                     extra=f"{databases.schema_key()}-{BUILD_VERSION}-{count}-{open_count}-{week}")
    return databases.cached(backend, f"queue{count}", key, build(count, open_count))
