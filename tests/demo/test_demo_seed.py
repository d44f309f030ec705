"""The demo seed: deterministic, valid, idempotent, on both backends."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import shapely
from conftest import create_pg_database, drop_pg_database
from shapely.geometry import shape
from sqlalchemy import func, select

from db.engine import Database
from db.migrate import upgrade
from db.models import (
    Area,
    Assignment,
    AuditLog,
    ChangeLog,
    GridStaff,
    Incident,
    IncidentCounter,
    IncidentEvent,
    Person,
    PersonRole,
    RosterEntry,
    Shift,
    ShiftType,
    Station,
    Unit,
    User,
)
from dispatch_console import jurisdiction
from dispatch_console.demo.seed import seed_demo
from dispatch_console.kernel.categories import UNIT_KINDS
from dispatch_console.kernel.config import resources_root
from dispatch_console.kernel.timefmt import local
from dispatch_console.users import accounts as users

CATEGORIES = {"dispute", "petition", "public_order", "fire", "work_safety", "labor", "rental_housing",
              "city_management", "natural_disaster", "public_health", "mass_gathering", "other"}
SOURCES = {"grid_staff", "hotline_12345", "police_110", "walk_in", "video_alarm", "enterprise", "other"}
PATH = {"new": [], "acknowledged": ["acknowledged"], "dispatched": ["acknowledged", "dispatched"],
        "on_scene": ["acknowledged", "dispatched", "on_scene"],
        "resolved": ["acknowledged", "dispatched", "on_scene", "resolved"],
        "closed": ["acknowledged", "dispatched", "on_scene", "resolved", "closed"]}


@pytest.fixture
def second_db(backend: str, tmp_path: Path) -> Iterator[Database]:
    """Another fresh, migrated database on the same backend."""
    url = f"sqlite:///{tmp_path / 'second.sqlite3'}" if backend == "sqlite" else create_pg_database()
    database = Database(url)
    upgrade(database)
    try:
        yield database
    finally:
        database.dispose()
        if backend == "pg":
            drop_pg_database(url)


def snapshot(db: Database) -> dict[str, Any]:
    with db.read() as s:
        areas = {a.id: a.code for a in s.execute(select(Area)).scalars()}
        people = {p.id: p.name for p in s.execute(select(Person)).scalars()}
        return {
            "areas": sorted((a.level, a.code, a.name, a.kind or "", json.dumps(a.geometry, sort_keys=True))
                            for a in s.execute(select(Area)).scalars()),
            "people": sorted((p.name, p.phone or "", p.title or "") for p in s.execute(select(Person)).scalars()),
            "staff": sorted((areas[g.grid_id], g.role, people[g.person_id])
                            for g in s.execute(select(GridStaff)).scalars()),
            "units": sorted((u.code, u.kind, u.lon, u.lat, u.contact_name) for u in s.execute(select(Unit)).scalars()),
            "users": sorted((u.username, u.role, people[u.person_id]) for u in s.execute(select(User)).scalars()),
            "incidents": sorted((i.number, i.category, i.severity, i.status, areas[i.grid_id], i.lon, i.lat,
                                 i.reporter_phone or "") for i in s.execute(select(Incident)).scalars()),
        }


def test_two_seeds_of_fresh_databases_are_the_same(db, second_db, system) -> None:
    seed_demo(db, system)
    seed_demo(second_db, system)
    first, second = snapshot(db), snapshot(second_db)
    for key in first:
        assert first[key] == second[key], key


def test_the_demo_jurisdiction_is_valid_and_fully_staffed(db, system) -> None:
    summary = seed_demo(db, system)
    assert not summary.already_seeded and "10 communities" in summary.describe()
    district_file = json.loads((resources_root() / "geo/shenzhen_districts.geojson").read_text("utf-8"))
    nanshan = shape(next(f["geometry"] for f in district_file["features"] if f["properties"]["adcode"] == 440305))
    with db.read() as s:
        areas = list(s.execute(select(Area)).scalars())
        by_id = {a.id: a for a in areas}
        shapes = {a.id: shape(a.geometry) for a in areas}
        street = next(a for a in areas if a.level == "street")
        assert (street.code, street.name, street.number_prefix) == ("taoyuan", "桃源街道", "TY")
        assert by_id[street.parent_id].name == "南山区"
        communities = [a for a in areas if a.level == "community"]
        grids = [a for a in areas if a.level == "grid"]
        assert Counter(c.kind for c in communities) == {"urbanised_village": 6, "residential": 4}
        assert len(grids) >= 40
        per_community = Counter(g.parent_id for g in grids)
        assert set(per_community) == {c.id for c in communities} and set(per_community.values()) <= {4, 5}
        for a in areas:
            assert shapes[a.id].is_valid, a.code
            assert shapes[a.id].within(nanshan), a.code
            if a.level in ("community", "grid"):
                assert shapes[a.id].within(shapes[a.parent_id]), a.code
            assert (a.min_lon, a.min_lat, a.max_lon, a.max_lat) == pytest.approx(shapes[a.id].bounds)
        # the grids tile their communities and the communities tile the street
        for c in communities:
            union = shapely.union_all([shapes[g.id] for g in grids if g.parent_id == c.id])
            assert union.symmetric_difference(shapes[c.id]).area < 1e-9
        assert 113.95 < shapes[street.id].centroid.x < 114.0 and 22.56 < shapes[street.id].centroid.y < 22.60
        assert re.fullmatch(r"TY-PS-0\d", next(g.code for g in grids if by_id[g.parent_id].name == "平山社区"))
        assert any(g.name == "平山社区第1网格" for g in grids)

        staff = Counter((g.grid_id, g.role) for g in s.execute(select(GridStaff)).scalars())
        assert set(staff) == {(g.id, r) for g in grids for r in jurisdiction.STAFF_ROLES}
        assert set(staff.values()) == {1}

        people = list(s.execute(select(Person)).scalars())
        assert len(people) >= 120 and len({p.name for p in people}) == len(people)
        assert all(re.fullmatch(r"1[358]\d{9}", p.phone or "") for p in people)
        roles = Counter(r.role for r in s.execute(select(PersonRole)).scalars())
        assert roles["shift_leader"] >= 6 and roles["duty_officer"] >= 12 and roles["grid_manager"] == len(grids)

        units = list(s.execute(select(Unit)).scalars())
        assert {u.kind for u in units} <= set(UNIT_KINDS)
        assert {"police_station", "militia", "mediation_centre", "enterprise_team"} <= {u.kind for u in units}
        pcs = next(u for u in units if u.code == "pcs-taoyuan")
        assert pcs.name == "桃源派出所" and pcs.contact_name and pcs.phone
        for u in units:
            assert shapely.contains_xy(shapes[street.id], u.lon, u.lat), u.code

        accounts = {u.username: u for u in s.execute(select(User)).scalars()}
        assert set(accounts) == {"demo-admin", "demo-director", "demo-leader", "demo-leader2", "demo-officer",
                                 "demo-officer2", "demo-drill", "demo-observer", "demo-intake"}
        assert all(u.is_demo and u.person_id for u in accounts.values())
        assert accounts["demo-intake"].role == "integration" and accounts["demo-leader2"].role == "shift_leader"
        assert len(s.execute(select(Station)).all()) == 2
    assert users.authenticate(db, "demo-leader", "demo", "ws").role == "shift_leader"


def test_the_demo_rosters_cover_this_week_and_next_with_rest(db, system) -> None:
    seed_demo(db, system)
    with db.read() as s:
        now = db.now(s)
        types = {t.id: t for t in s.execute(select(ShiftType)).scalars()}
        assert {(t.code, t.name, t.start_time, t.length_minutes, t.timezone) for t in types.values()} == {
            ("day", "白班", "08:00", 720, "Asia/Shanghai"), ("night", "夜班", "20:00", 720, "Asia/Shanghai")}
        assert all(t.required_roles == {"shift_leader": 1, "duty_officer": 2} for t in types.values())
        shifts = list(s.execute(select(Shift).order_by(Shift.starts_at)).scalars())
        monday = local(now).date() - timedelta(days=local(now).weekday())
        assert len(shifts) == 28 and shifts[0].day == monday.isoformat()
        assert shifts[-1].day == (monday + timedelta(days=13)).isoformat()
        assert all(sh.published_at is not None for sh in shifts)
        assert local(shifts[0].starts_at).hour == 8 and local(shifts[1].starts_at).hour == 20
        by_shift = {sh.id: sh for sh in shifts}
        worked: dict[int, list[Shift]] = defaultdict(list)
        per_shift: dict[int, Counter[str]] = defaultdict(Counter)
        for e in s.execute(select(RosterEntry)).scalars():
            per_shift[e.shift_id][e.role] += 1
            worked[e.person_id].append(by_shift[e.shift_id])
        assert all(per_shift[sh.id] == {"shift_leader": 1, "duty_officer": 2} for sh in shifts)
        for times in worked.values():
            times.sort(key=lambda sh: sh.starts_at)
            for a, b in itertools.pairwise(times):
                assert b.starts_at - a.ends_at >= timedelta(hours=8)


def test_the_demo_incidents_are_consistent(db, system) -> None:
    seed_demo(db, system)
    with db.read() as s:
        now = db.now(s)
        incidents = list(s.execute(select(Incident)).scalars())
        assert 45 <= len(incidents) <= 60
        assert {i.category for i in incidents} == CATEGORIES and {i.source for i in incidents} == SOURCES
        assert {i.severity for i in incidents} == {1, 2, 3, 4}
        assert sum(i.severity >= 3 for i in incidents) > 0.8 * len(incidents)
        assert {i.status for i in incidents} == set(PATH)
        events = defaultdict(list)
        for e in s.execute(select(IncidentEvent).order_by(IncidentEvent.at, IncidentEvent.id)).scalars():
            events[e.incident_id].append(e)
        # the incidents' counters (the cases count TYJ-/TYX- numbers in the same table)
        counters = {(c.prefix, c.day): c.last_value for c in s.execute(select(IncidentCounter)).scalars()
                    if c.prefix == "TY"}
        numbers = Counter()
        for i in incidents:
            assert now - timedelta(days=3) <= i.created_at <= now
            day = local(i.created_at).strftime("%Y%m%d")
            assert re.fullmatch(rf"TY-{day}-\d{{4}}", i.number)
            numbers[day] = max(numbers[day], int(i.number[-4:]))
            assert jurisdiction.find_grid(s, i.lon, i.lat) == i.grid_id, i.number
            # the status path; notes and checklist bookkeeping (attach on open incidents) aside
            kinds = [e.kind for e in events[i.id] if e.kind != "note" and not e.kind.startswith("checklist")]
            assert kinds == ["created", *PATH[i.status]], i.number
            for step in PATH[i.status]:
                assert getattr(i, f"{step}_at") == next(e.at for e in events[i.id] if e.kind == step)
            assert all(e.at <= now for e in events[i.id]), [(e.kind, e.at) for e in events[i.id] if e.at > now]
            assert (i.owner_user_id is None) == (i.status == "new")
            assigned = s.execute(select(Assignment).where(Assignment.incident_id == i.id)).scalars().all()
            assert bool(assigned) == (i.dispatched_at is not None), i.number
        assert counters == {("TY", day): last for day, last in numbers.items()}
        assert sum(counters.values()) == len(incidents)
        phones = Counter(i.reporter_phone for i in incidents if i.reporter_phone)
        assert phones.most_common(1)[0][1] == 3


def test_seeding_a_seeded_database_changes_nothing(db, system) -> None:
    seed_demo(db, system)

    def counts() -> tuple[int, ...]:
        with db.read() as s:
            return tuple(int(s.execute(select(func.count()).select_from(m)).scalar_one())
                         for m in (Area, Person, User, Unit, Incident, Shift, ChangeLog, AuditLog))

    before = counts()
    again = seed_demo(db, system)
    assert again.already_seeded and "nothing was changed" in again.describe()
    assert (again.communities, again.incidents) == (10, 50)
    assert counts() == before
    with db.read() as s:
        seeded = s.execute(select(func.count(AuditLog.id)).where(AuditLog.action == "db.seed_demo")).scalar_one()
    assert seeded >= 4


def test_the_demo_reuses_an_imported_nanshan(db, system) -> None:
    from dispatch_console.demo.database import mark_new_demo_database

    mark_new_demo_database(db)  # created as a demo database, then the districts imported into it
    jurisdiction.import_geojson(db, system, resources_root() / "geo/shenzhen_districts.geojson", "district")
    seed_demo(db, system)
    with db.read() as s:
        assert s.execute(select(func.count(Area.id)).where(Area.level == "district")).scalar_one() == 9
    where = jurisdiction.locate(db, 113.975, 22.58)
    assert where.street is not None and where.street.name == "桃源街道"
    assert where.district is not None and where.district.name == "南山区"


def test_a_new_incident_after_the_seed_continues_todays_sequence(db, system) -> None:
    from dispatch_console.incidents.numbers import next_number

    seed_demo(db, system)
    with db.write() as s:
        today = local(db.now(s)).strftime("%Y%m%d")
        seeded_today = s.execute(
            select(func.count(Incident.id)).where(Incident.number.like(f"TY-{today}-%"))).scalar_one()
        assert next_number(s, "TY") == f"TY-{today}-{seeded_today + 1:04d}"


@pytest.mark.parametrize("local_time", ["00:00:20", "00:03:00", "00:30:00", "07:59:00", "23:59:00"])
def test_no_demo_event_lies_in_the_future_whatever_the_hour(local_time: str) -> None:
    """Today's incidents fit in the part of today that has passed; just after midnight that is a
    few minutes, and a note half a minute after arrival used to land after 'now' (CI at 00:03)."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from dispatch_console.demo.plan import build_plan
    from dispatch_console.demo.seed import _district_feature

    local = datetime.fromisoformat(f"2026-11-29T{local_time}").replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    now = local.astimezone(UTC)
    plan = build_plan(_district_feature()["geometry"], now)
    late = [(i.number, e.kind, e.at) for i in plan.incidents for e in i.events if e.at > now]
    assert not late
    assert all(i.created_at <= now for i in plan.incidents)
