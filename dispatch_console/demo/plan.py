"""The demo jurisdiction 桃源街道 as plain data: boundaries, people, units, rosters, incidents.

Pure data building, no database: :func:`build_plan` turns 南山区's real boundary and the
database clock into a :class:`DemoPlan`, and ``dispatch_console.demo.seed`` writes it. Everything is
drawn from fixed random seeds; only timestamps follow the clock. The boundaries are made up
(a Voronoi tiling of an outline where the real 桃源街道 lies, clipped to 南山区), not official.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry

from dispatch_console.demo.plan_incidents import INCIDENTS, NOTES, UNITS_FOR

SEED = 20_261_127
TZ = ZoneInfo("Asia/Shanghai")
GRID_SIZE = 1e-6  # coordinates on a 1e-6 degree grid (about 0.1 m)
DISTRICT_CODE, DISTRICT_NAME = "440305", "南山区"
STREET_CODE, STREET_NAME, PREFIX = "taoyuan", "桃源街道", "TY"

# The outline of the demo street, north-central 南山区 (lon, lat); clipped to the district.
STREET_OUTLINE = [
    (113.9555, 22.5655), (113.9625, 22.5585), (113.9745, 22.5560), (113.9880, 22.5575),
    (113.9960, 22.5640), (113.9950, 22.5800), (113.9890, 22.5950), (113.9760, 22.6015),
    (113.9620, 22.5985), (113.9560, 22.5850),
]

# abbreviation, name, kind, seed point, number of grids
COMMUNITIES = [
    ("DXC", "大学城社区", "residential", (113.968, 22.592), 4),
    ("PS", "平山社区", "urbanised_village", (113.982, 22.590), 5),
    ("ZG", "珠光社区", "urbanised_village", (113.962, 22.580), 5),
    ("FJ", "峰景社区", "residential", (113.972, 22.580), 4),
    ("FG", "福光社区", "urbanised_village", (113.986, 22.578), 5),
    ("TL", "塘朗社区", "urbanised_village", (113.992, 22.568), 5),
    ("TY", "桃源社区", "residential", (113.962, 22.568), 4),
    ("LG", "龙光社区", "residential", (113.972, 22.568), 4),
    ("LL", "龙联社区", "urbanised_village", (113.982, 22.566), 5),
    ("GQ", "光前社区", "urbanised_village", (113.975, 22.560), 5),
]

# code, name, kind, community abbreviation, status
UNITS = [
    ("zzb-taoyuan", "桃源街道综治办", "comprehensive_governance", "TY", "available"),
    ("wwb-taoyuan", "桃源街道维稳办", "stability_office", "TY", "available"),
    ("sfs-taoyuan", "桃源司法所", "judicial_office", "LG", "available"),
    ("xfb-taoyuan", "桃源街道信访办", "petition_office", "TY", "available"),
    ("tjzx-taoyuan", "桃源街道矛盾纠纷调解中心", "mediation_centre", "FJ", "available"),
    ("zls-taoyuan", "桃源街道出租屋综合管理所", "rental_office", "PS", "available"),
    ("zgh-taoyuan", "桃源街道总工会", "trade_union", "TY", "available"),
    ("ajk-taoyuan", "桃源街道安监科", "work_safety", "LG", "available"),
    ("jsk-taoyuan", "桃源街道计生科", "family_planning", "FJ", "off_duty"),
    ("pcs-taoyuan", "桃源派出所", "police_station", "LL", "available"),
    ("zfd-taoyuan", "桃源街道执法队", "law_enforcement", "FG", "available"),
    ("wzb-taoyuan", "桃源街道武装部", "armed_forces", "TY", "available"),
    ("mbfd-taoyuan", "桃源街道民兵应急分队", "militia", "TL", "available"),
    ("xfd-taoyuan", "桃源街道专职消防队", "fire_station", "GQ", "available"),
    ("sgz-taoyuan", "桃源街道社工站", "social_worker", "DXC", "available"),
    ("zyz-taoyuan", "桃源街道志愿者服务队", "volunteer", "DXC", "available"),
    ("qyyj-liuxian", "留仙工业园企业应急队", "enterprise_team", "GQ", "available"),
    ("qyyj-tanglang", "塘朗工业区企业应急队", "enterprise_team", "TL", "available"),
    ("qyyj-pingshan", "平山食品厂企业应急队", "enterprise_team", "PS", "off_duty"),
]

STAFF_ROLES = ("grid_manager", "grid_assistant", "grid_supervisor")
STAFF_TITLES = {"grid_manager": "网格管理员", "grid_assistant": "网格协管员", "grid_supervisor": "网格督导员"}
LEADER_TITLES = ["街道党工委副书记", "街道办副主任", "街道办副主任", "综治办主任", "应急办主任", "街道党工委委员"]
N_LEADERS, N_OFFICERS = 6, 12

# username, role, person key (leader:N / officer:N reuse rostered people), title for a new person
ACCOUNTS = [
    ("demo-admin", "admin", "account:demo-admin", "信息化系统管理员"),
    ("demo-director", "director", "account:demo-director", "总值班室主任"),
    ("demo-leader", "shift_leader", "leader:0", None),
    ("demo-leader2", "shift_leader", "leader:1", None),
    ("demo-officer", "duty_officer", "officer:0", None),
    ("demo-officer2", "duty_officer", "officer:1", None),
    ("demo-drill", "drill_director", "account:demo-drill", "应急演练导调员"),
    ("demo-observer", "observer", "account:demo-observer", "区应急管理局联络员"),
    ("demo-intake", "integration", "account:demo-intake", "12345热线对接专员"),
]
STATIONS = ["值班台1", "值班台2"]
# code, name, start, length (minutes)
SHIFT_TYPES = [("day", "白班", "08:00", 720), ("night", "夜班", "20:00", 720)]
REQUIRED_ROLES = {"shift_leader": 1, "duty_officer": 2}

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
            "苏魏吕丁任沈姚卢钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃")
GIVEN = [
    "伟", "芳", "娜", "敏", "静", "磊", "军", "洋", "勇", "艳", "杰", "涛",
    "明", "超", "霞", "刚", "华", "斌", "建国", "志强", "秀英", "桂英", "玉兰", "海燕",
    "晓东", "晓燕", "鹏飞", "春梅", "浩然", "俊杰", "婷婷", "雪梅", "欣怡", "子豪", "嘉诚", "振宇",
    "宏伟", "晨阳", "凯文", "慧敏", "佳琪", "思远", "家乐", "瑞泽", "梓萱", "雨桐", "锦程", "立新",
    "永健", "德昌", "少峰", "丽君", "文华", "国平", "建华", "丽娟", "淑芬", "志明", "卫东", "红梅",
    "小红", "金凤", "伟东", "海涛", "明辉", "丽萍", "美玲", "国强", "建军", "秋菊", "永红", "伟明",
    "志华", "晓明", "家豪", "泽宇", "铭轩", "欣然", "一帆",
]
PHONE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
                  "153", "155", "156", "157", "158", "159", "180", "181", "182", "183", "185", "186",
                  "187", "188", "189")


@dataclass(frozen=True)
class AreaSpec:
    level: str
    code: str
    name: str
    parent_code: str | None
    geometry: dict[str, Any]
    kind: str | None = None
    number_prefix: str | None = None


@dataclass(frozen=True)
class PersonSpec:
    key: str
    name: str
    phone: str
    title: str
    roles: tuple[str, ...]
    unit_code: str | None = None


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name: str
    kind: str
    contact_key: str
    status: str
    lon: float
    lat: float
    community_code: str


@dataclass(frozen=True)
class ShiftSpec:
    type_code: str
    day: date
    starts_at: datetime
    ends_at: datetime
    leader_key: str
    officer_keys: tuple[str, str]


@dataclass(frozen=True)
class EventSpec:
    kind: str  # created, acknowledged, dispatched, on_scene, resolved, closed, note
    at: datetime
    username: str
    note: str | None = None
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class IncidentSpec:
    number: str
    category: str
    severity: int
    source: str
    status: str
    grid_code: str
    address: str
    lon: float
    lat: float
    reporter_name: str | None
    reporter_phone: str | None
    description: str
    people_count: int | None
    created_by: str
    owner: str | None
    station: str
    unit_codes: tuple[str, ...]
    events: tuple[EventSpec, ...]

    @property
    def created_at(self) -> datetime:
        return self.events[0].at

    def at(self, kind: str) -> datetime | None:
        return next((e.at for e in self.events if e.kind == kind), None)


@dataclass(frozen=True)
class DemoPlan:
    district_geometry: dict[str, Any]
    areas: tuple[AreaSpec, ...]
    people: tuple[PersonSpec, ...]
    staff: tuple[tuple[str, str, str], ...]  # (grid code, role, person key)
    units: tuple[UnitSpec, ...]
    accounts: tuple[tuple[str, str, str], ...]  # (username, role, person key)
    shifts: tuple[ShiftSpec, ...]
    incidents: tuple[IncidentSpec, ...]
    counters: dict[tuple[str, str], int] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Geometry.


def _geojson(geom: BaseGeometry) -> dict[str, Any]:
    m = mapping(geom)

    def lists(v: Any) -> Any:
        return [lists(x) for x in v] if isinstance(v, list | tuple) else v

    return {"type": m["type"], "coordinates": lists(m["coordinates"])}


def _polygonal(geom: BaseGeometry) -> Polygon | MultiPolygon:
    """The polygon parts of an intersection (dropping stray lines and points)."""
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and not p.is_empty]
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def _cells(points: list[tuple[float, float]], region: BaseGeometry) -> list[Polygon | MultiPolygon]:
    """The Voronoi cell of each point, clipped to the region (a tiling of the region)."""
    diagram = shapely.voronoi_polygons(shapely.MultiPoint(points), extend_to=region)
    cells = list(diagram.geoms)
    out = []
    for x, y in points:
        cell = next(c for c in cells if c.intersects(Point(x, y)))
        out.append(_polygonal(shapely.intersection(cell, region, grid_size=GRID_SIZE)))
    return out


def random_point(rng: random.Random, geom: BaseGeometry, margin: float = 0.0) -> tuple[float, float]:
    """A point strictly inside ``geom`` (and ``margin`` degrees from its edge where it can be)."""
    inner = geom.buffer(-margin) if margin else geom
    if inner.is_empty:
        inner = geom
    min_x, min_y, max_x, max_y = inner.bounds
    for _attempt in range(5000):
        x, y = round(rng.uniform(min_x, max_x), 6), round(rng.uniform(min_y, max_y), 6)
        if shapely.contains_xy(inner, x, y) and shapely.contains_xy(geom, x, y):
            return x, y
    p = geom.representative_point()
    return round(p.x, 6), round(p.y, 6)


def _split(rng: random.Random, region: BaseGeometry, n: int) -> list[Polygon | MultiPolygon]:
    """Tile a region into n compact cells (a few rounds of Lloyd's relaxation)."""
    points = [random_point(rng, region, 0.0005) for _ in range(n)]
    for _round in range(5):
        moved = []
        for cell in _cells(points, region):
            c = cell.centroid if cell.contains(cell.centroid) else cell.representative_point()
            moved.append((round(c.x, 6), round(c.y, 6)))
        points = moved
    cells = _cells(points, region)
    return sorted(cells, key=lambda c: (-round(c.centroid.y, 3), round(c.centroid.x, 3)))


def build_jurisdiction(district_geometry: dict[str, Any]) -> tuple[list[AreaSpec], dict[str, BaseGeometry]]:
    """The street, its communities and grids; also their shapes by code."""
    rng = random.Random(SEED)
    district = shape(district_geometry)
    street = shapely.intersection(Polygon(STREET_OUTLINE), district.buffer(-0.0005), grid_size=GRID_SIZE)
    street = max(shapely.get_parts(street), key=lambda p: p.area)
    # Grids first, then each community as the union of its grids and the street as the union of
    # its communities: shared edges have identical vertices, so every grid lies exactly inside.
    shapes: dict[str, BaseGeometry] = {}
    communities: list[AreaSpec] = []
    grids: list[AreaSpec] = []
    cells = _cells([c[3] for c in COMMUNITIES], street)
    for (abbr, name, kind, _seed, n_grids), cell in zip(COMMUNITIES, cells, strict=True):
        code = f"{PREFIX}-{abbr}"
        parts = _split(rng, cell, n_grids)
        for i, grid in enumerate(parts, start=1):
            grid_code = f"{code}-{i:02d}"
            shapes[grid_code] = grid
            grids.append(AreaSpec("grid", grid_code, f"{name}第{i}网格", code, _geojson(grid)))
        shapes[code] = _polygonal(shapely.union_all(parts, grid_size=GRID_SIZE))
        communities.append(AreaSpec("community", code, name, STREET_CODE, _geojson(shapes[code]), kind=kind))
    shapes[STREET_CODE] = _polygonal(
        shapely.union_all([shapes[f"{PREFIX}-{c[0]}"] for c in COMMUNITIES], grid_size=GRID_SIZE))
    street_spec = AreaSpec("street", STREET_CODE, STREET_NAME, DISTRICT_CODE, _geojson(shapes[STREET_CODE]),
                           number_prefix=PREFIX)
    return [street_spec, *communities, *grids], shapes


# ---------------------------------------------------------------------------------------------
# People and units.


class _Names:
    """Unique plausible Chinese names and mobile numbers from one seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.names: set[str] = set()
        self.phones: set[str] = set()

    def name(self) -> str:
        while True:
            candidate = self.rng.choice(SURNAMES) + self.rng.choice(GIVEN)
            if candidate not in self.names:
                self.names.add(candidate)
                return candidate

    def phone(self) -> str:
        while True:
            candidate = self.rng.choice(PHONE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if candidate not in self.phones:
                self.phones.add(candidate)
                return candidate

    def caller(self) -> str:
        return self.rng.choice(SURNAMES) + self.rng.choice(("先生", "女士"))


def build_people(areas: list[AreaSpec], names: _Names) -> tuple[list[PersonSpec], list[tuple[str, str, str]]]:
    people: list[PersonSpec] = []
    staff: list[tuple[str, str, str]] = []
    for area in areas:
        if area.level != "grid":
            continue
        for role in STAFF_ROLES:
            key = f"grid:{area.code}:{role}"
            people.append(PersonSpec(key, names.name(), names.phone(), STAFF_TITLES[role], (role,)))
            staff.append((area.code, role, key))
    for i in range(N_LEADERS):
        people.append(PersonSpec(f"leader:{i}", names.name(), names.phone(), LEADER_TITLES[i], ("shift_leader",)))
    for i in range(N_OFFICERS):
        people.append(PersonSpec(f"officer:{i}", names.name(), names.phone(), "总值班室值班员", ("duty_officer",)))
    for _username, _role, key, title in ACCOUNTS:
        if title is not None:
            people.append(PersonSpec(key, names.name(), names.phone(), title, ()))
    for code, _name, _kind, _comm, _status in UNITS:
        people.append(PersonSpec(f"unit:{code}", names.name(), names.phone(), "负责人", ("unit_contact",), code))
    return people, staff


def build_units(shapes: dict[str, BaseGeometry]) -> list[UnitSpec]:
    rng = random.Random(SEED + 2)
    units = []
    for code, name, kind, abbr, status in UNITS:
        community_code = f"{PREFIX}-{abbr}"
        lon, lat = random_point(rng, shapes[community_code], 0.0005)
        units.append(UnitSpec(code, name, kind, f"unit:{code}", status, lon, lat, community_code))
    return units


# ---------------------------------------------------------------------------------------------
# Shifts: this week (Monday–Sunday, Asia/Shanghai) and next, one leader and two officers each.


def build_shifts(now: datetime) -> list[ShiftSpec]:
    today = now.astimezone(TZ).date()
    monday = today - timedelta(days=today.weekday())
    shifts: list[ShiftSpec] = []
    k = 0
    for offset in range(14):
        day = monday + timedelta(days=offset)
        for code, _name, start, length in SHIFT_TYPES:
            hour, minute = (int(v) for v in start.split(":"))
            starts = datetime.combine(day, time(hour, minute), tzinfo=TZ)
            # Each leader works every 6th shift and each officer every 6th: rest is always ≥ 8 h.
            shifts.append(ShiftSpec(code, day, starts, starts + timedelta(minutes=length),
                                    f"leader:{k % N_LEADERS}",
                                    (f"officer:{(2 * k) % N_OFFICERS}", f"officer:{(2 * k + 1) % N_OFFICERS}")))
            k += 1
    return shifts


# ---------------------------------------------------------------------------------------------
# Incidents over the last three days.

STEPS = ("acknowledged", "dispatched", "on_scene", "resolved", "closed")
STEP_MINUTES = {"acknowledged": (2, 6), "dispatched": (4, 15), "on_scene": (12, 40),
                "resolved": (60, 240), "closed": (120, 480)}
INTAKE_SOURCES = ("hotline_12345", "police_110", "video_alarm")
OFFICERS = (("demo-officer", "值班台1"), ("demo-officer2", "值班台2"))


def _created_times(now: datetime, rng: random.Random) -> list[datetime]:
    """One creation time per incident: fixed local times on the two previous days, today's
    spread over the part of today that has passed (so numbers do not depend on the hour)."""
    local_now = now.astimezone(TZ)
    midnight = datetime.combine(local_now.date(), time(0, 0), tzinfo=TZ)
    times: list[datetime] = []
    for days_ago in (2, 1, 0):
        group = [t for t in INCIDENTS if t.days_ago == days_ago]
        for i, _t in enumerate(group):
            jitter = rng.randrange(0, 40)  # drawn whatever the clock says: the plan stays the same
            if days_ago:
                start = midnight - timedelta(days=days_ago)
                times.append(start + timedelta(hours=7) + timedelta(minutes=i * 960 // len(group) + jitter))
            else:
                elapsed = (now - midnight).total_seconds()
                times.append(midnight + timedelta(seconds=elapsed * (i + 0.5) / (len(group) + 0.5)))
    return times


def _events(rng: random.Random, t: Any, created: datetime, now: datetime, creator: tuple[str, str],
            owner: str, units: tuple[str, ...]) -> list[EventSpec]:
    steps = STEPS[: STEPS.index(t.status) + 1] if t.status != "new" else ()
    deltas = [rng.randint(*STEP_MINUTES[s]) for s in steps]
    available = (now - created).total_seconds() / 60 * 0.9
    scale = min(1.0, available / sum(deltas)) if deltas else 1.0
    events = [EventSpec("created", created, creator[0])]
    at = created
    for step, minutes in zip(steps, deltas, strict=True):
        at = at + timedelta(minutes=minutes * scale)
        user = "demo-leader" if step == "closed" else owner
        data = {"units": list(units)} if step == "dispatched" else None
        note = {"resolved": "处置完毕，现场已恢复正常。", "closed": "已回访当事人，对处置结果满意，归档。"}.get(step)
        events.append(EventSpec(step, at, user, note, data))
        if step == "on_scene":
            # half a minute later, or halfway to now just after midnight (today's incidents then
            # fit in the few minutes since, and a note must not be written in the future)
            after = min(timedelta(seconds=30), (now - at) / 2)
            events.append(EventSpec("note", at + after, owner, NOTES[t.category]))
    return events


def build_incidents(now: datetime, shapes: dict[str, BaseGeometry], areas: list[AreaSpec],
                    people: list[PersonSpec], names: _Names) -> tuple[list[IncidentSpec], dict[tuple[str, str], int]]:
    rng = random.Random(SEED + 3)
    grids_of: dict[str, list[str]] = {}
    for a in areas:
        if a.level == "grid" and a.parent_code:
            grids_of.setdefault(a.parent_code, []).append(a.code)
    by_key = {p.key: p for p in people}
    repeat_name, repeat_phone = names.caller(), names.phone()
    drafts = []
    for t, created in zip(INCIDENTS, _created_times(now, rng), strict=True):
        grid_code = rng.choice(grids_of[f"{PREFIX}-{t.community}"])
        lon, lat = random_point(rng, shapes[grid_code], 0.0002)
        if t.repeat_caller:
            reporter: tuple[str | None, str | None] = (repeat_name, repeat_phone)
        elif t.source == "grid_staff":
            manager = by_key[f"grid:{grid_code}:grid_manager"]
            reporter = (manager.name, manager.phone)
        elif t.source == "video_alarm":
            reporter = (None, None)
        else:
            reporter = (names.caller(), names.phone())
        owner, station = OFFICERS[rng.randrange(2)]
        creator = ("demo-intake", "intake") if t.source in INTAKE_SOURCES else (owner, station)
        candidates = UNITS_FOR[t.category]
        units = tuple(candidates[: rng.choice((1, 2))])
        events = _events(rng, t, created, now, creator, owner, units)
        drafts.append((t, created, grid_code, lon, lat, reporter, owner, station, creator, units, events))
    drafts.sort(key=lambda d: d[1])
    counters: dict[tuple[str, str], int] = {}
    incidents = []
    for t, created, grid_code, lon, lat, reporter, owner, station, creator, units, events in drafts:
        day = created.astimezone(TZ).strftime("%Y%m%d")
        counters[(PREFIX, day)] = counters.get((PREFIX, day), 0) + 1
        number = f"{PREFIX}-{day}-{counters[(PREFIX, day)]:04d}"
        dispatched = t.status not in ("new", "acknowledged")
        incidents.append(IncidentSpec(
            number, t.category, t.severity, t.source, t.status, grid_code, t.address, lon, lat,
            reporter[0], reporter[1], t.description, t.people_count, creator[0],
            owner if t.status != "new" else None, station if creator[0] != "demo-intake" else creator[1],
            units if dispatched else (), tuple(events),
        ))
    return incidents, counters


def build_plan(district_geometry: dict[str, Any], now: datetime) -> DemoPlan:
    """Everything the demo seed writes, from 南山区's boundary and the database clock."""
    areas, shapes = build_jurisdiction(district_geometry)
    names = _Names(SEED + 1)
    people, staff = build_people(areas, names)
    units = build_units(shapes)
    shifts = build_shifts(now)
    incidents, counters = build_incidents(now, shapes, areas, people, names)
    accounts = tuple((username, role, key) for username, role, key, _title in ACCOUNTS)
    return DemoPlan(district_geometry, tuple(areas), tuple(people), tuple(staff), tuple(units), accounts,
                    tuple(shifts), tuple(incidents), counters)
