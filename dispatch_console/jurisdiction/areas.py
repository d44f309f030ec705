"""The jurisdiction: district → street (街道) → community (社区工作站) → grid (网格).

Which grid holds a point (the incident service fills in the grid from coordinates), where a
point lies at every level, the tree of communities and grids with their 一格三员 staff, a grid's
card, staff search and the boundaries for the map. Boundary imports are in
:mod:`dispatch_console.jurisdiction.geojson_import`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import OPEN_STATUSES, Area, GridStaff, Incident, Person
from dispatch_console.jurisdiction.geometry import cached_shape, covers_point, intersects, prepared_shape
from dispatch_console.kernel.errors import NotFound, ValidationError
from dispatch_console.kernel.i18n import N_, _
from dispatch_console.kernel.places import LEVELS

__all__ = [
    "COMMUNITY_KINDS",
    "LEVELS",
    "STAFF_ROLES",
    "AreaRef",
    "CommunityRow",
    "GridCard",
    "GridRow",
    "Location",
    "StaffHit",
    "StaffRow",
    "areas_geojson",
    "areas_intersecting",
    "check_lon_lat",
    "find_grid",
    "grid_card",
    "locate",
    "search_staff",
    "tree",
]

COMMUNITY_KINDS: dict[str, str] = {
    "urbanised_village": N_("Urbanised-village community"),
    "residential": N_("Residential community"),
}
STAFF_ROLES: dict[str, str] = {
    "grid_manager": N_("Grid manager"),
    "grid_assistant": N_("Grid assistant"),
    "grid_supervisor": N_("Grid supervisor"),
}
_LEVEL_ORDER = ("grid", "community", "street", "district")


@dataclass(frozen=True)
class AreaRef:
    id: int
    level: str
    code: str
    name: str


@dataclass(frozen=True)
class Location:
    """The smallest known area at each level that contains a point (None where there is none)."""

    lon: float
    lat: float
    grid: AreaRef | None
    community: AreaRef | None
    street: AreaRef | None
    district: AreaRef | None

    @property
    def found(self) -> bool:
        return any((self.grid, self.community, self.street, self.district))

    def as_dict(self) -> dict[str, Any]:
        def ref(a: AreaRef | None) -> dict[str, Any] | None:
            return None if a is None else {"id": a.id, "code": a.code, "name": a.name}

        return {"lon": self.lon, "lat": self.lat, "grid": ref(self.grid), "community": ref(self.community),
                "street": ref(self.street), "district": ref(self.district)}


@dataclass(frozen=True)
class StaffRow:
    role: str
    person_id: int
    name: str
    phone: str | None

    @property
    def role_label(self) -> str:
        return _(STAFF_ROLES.get(self.role, self.role))


@dataclass(frozen=True)
class GridRow:
    id: int
    code: str
    name: str
    staff: tuple[StaffRow, ...]


@dataclass(frozen=True)
class CommunityRow:
    id: int | None  # None: grids imported without a community
    code: str
    name: str
    kind: str | None
    street: str | None
    grids: tuple[GridRow, ...]

    @property
    def kind_label(self) -> str:
        return _(COMMUNITY_KINDS[self.kind]) if self.kind in COMMUNITY_KINDS else ""


@dataclass(frozen=True)
class GridCard:
    grid: AreaRef
    community: AreaRef | None
    street: AreaRef | None
    staff: tuple[StaffRow, ...]
    open_incidents: int  # new … on scene, drills included (they are on the queue too)
    last_30_days: int  # real incidents (drills excluded) created in the last 30 days


@dataclass(frozen=True)
class StaffHit:
    grid_id: int
    grid_code: str
    grid_name: str
    community: str | None
    role: str
    name: str
    phone: str | None

    @property
    def role_label(self) -> str:
        return _(STAFF_ROLES.get(self.role, self.role))


def check_lon_lat(lon: float, lat: float) -> None:
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise ValidationError(
            _("Coordinates {lon}, {lat} are outside the longitude/latitude range.").format(lon=lon, lat=lat),
            "lon",
        )


# ---------------------------------------------------------------------------------------------
# Point lookups.


@dataclass(frozen=True)
class _Hit:
    id: int
    level: str
    code: str
    name: str
    parent_id: int | None
    size: float


def _containing(session: Session, lon: float, lat: float, levels: tuple[str, ...]) -> list[_Hit]:
    """Areas of ``levels`` containing the point, smallest first: bbox in SQL, then shapely."""
    rows = session.execute(
        select(Area.id, Area.version, Area.level, Area.code, Area.name, Area.parent_id).where(
            Area.level.in_(levels), Area.min_lon <= lon, Area.max_lon >= lon,
            Area.min_lat <= lat, Area.max_lat >= lat,
        )
    ).all()
    if not rows:
        return []
    db_key = str(session.get_bind().url)
    missing = [r.id for r in rows if cached_shape(db_key, r.id, r.version) is None]
    geometries: dict[int, Any] = {}
    if missing:
        geometries = dict(session.execute(select(Area.id, Area.geometry).where(Area.id.in_(missing))).all())
    hits: list[_Hit] = []
    for r in rows:
        geometry = geometries.get(r.id)
        shape = cached_shape(db_key, r.id, r.version)
        if shape is None:
            if not geometry:
                continue
            shape = prepared_shape(db_key, r.id, r.version, geometry)
        if covers_point(shape, lon, lat):
            hits.append(_Hit(r.id, r.level, r.code, r.name, r.parent_id, float(shape.area)))
    hits.sort(key=lambda h: (h.size, h.id))
    return hits


def areas_intersecting(session: Session, geom: Any, levels: tuple[str, ...] = ("street", "community", "grid"),
                       ) -> list[AreaRef]:
    """Areas of ``levels`` whose boundary meets the shape ``geom`` (a warning's polygon or circle).

    Bounding boxes in SQL first, then shapely on the cached prepared boundaries; the street
    before its communities before their grids, by name within a level.
    """
    min_lon, min_lat, max_lon, max_lat = (float(v) for v in geom.bounds)
    rows = session.execute(
        select(Area.id, Area.version, Area.level, Area.code, Area.name).where(
            Area.level.in_(levels), Area.min_lon <= max_lon, Area.max_lon >= min_lon,
            Area.min_lat <= max_lat, Area.max_lat >= min_lat,
        )
    ).all()
    db_key = str(session.get_bind().engine.url)
    missing = [r.id for r in rows if cached_shape(db_key, r.id, r.version) is None]
    geometries: dict[int, Any] = {}
    if missing:
        geometries = dict(session.execute(select(Area.id, Area.geometry).where(Area.id.in_(missing))).all())
    order = {level: n for n, level in enumerate(("district", "street", "community", "grid"))}
    hits: list[AreaRef] = []
    for r in sorted(rows, key=lambda r: (order.get(r.level, 9), r.name)):
        shape = cached_shape(db_key, r.id, r.version)
        if shape is None:
            if not geometries.get(r.id):
                continue
            shape = prepared_shape(db_key, r.id, r.version, geometries[r.id])
        if intersects(shape, geom):
            hits.append(AreaRef(r.id, r.level, r.code, r.name))
    return hits


def find_grid(session: Session, lon: float, lat: float) -> int | None:
    """The id of the grid containing the point, or None (the incident service fills in grid_id)."""
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        return None
    hits = _containing(session, lon, lat, ("grid",))
    return hits[0].id if hits else None


def locate(db: Database, lon: float, lat: float) -> Location:
    """Grid, community, street and district of a point; each level answers on its own.

    Where the level below was found, its parent is preferred, so a point on a shared boundary
    still gives one consistent chain.
    """
    check_lon_lat(lon, lat)
    with db.read() as s:
        hits = _containing(s, lon, lat, _LEVEL_ORDER)
    chosen: dict[str, AreaRef | None] = {}
    child: _Hit | None = None
    for level in _LEVEL_ORDER:
        candidates = [h for h in hits if h.level == level]
        pick = None
        if child is not None and child.parent_id is not None:
            pick = next((h for h in candidates if h.id == child.parent_id), None)
        if pick is None and candidates:
            pick = candidates[0]
        chosen[level] = None if pick is None else AreaRef(pick.id, pick.level, pick.code, pick.name)
        child = pick or child
    return Location(lon, lat, chosen["grid"], chosen["community"], chosen["street"], chosen["district"])


# ---------------------------------------------------------------------------------------------
# Reading the tree.


_ROLE_ORDER = {role: i for i, role in enumerate(STAFF_ROLES)}


def _staff_by_grid(session: Session, grid_ids: list[int] | None = None) -> dict[int, tuple[StaffRow, ...]]:
    query = select(GridStaff.grid_id, GridStaff.role, Person.id, Person.name, Person.phone).join(
        Person, Person.id == GridStaff.person_id
    )
    if grid_ids is not None:
        query = query.where(GridStaff.grid_id.in_(grid_ids))
    found: dict[int, list[StaffRow]] = {}
    for grid_id, role, person_id, name, phone in session.execute(query):
        found.setdefault(grid_id, []).append(StaffRow(role, person_id, name, phone))
    return {
        gid: tuple(sorted(rows, key=lambda r: (_ROLE_ORDER.get(r.role, 9), r.name)))
        for gid, rows in found.items()
    }


def tree(db: Database) -> list[CommunityRow]:
    """Every community with its grids, each grid with its 一格三员, ordered by code."""
    with db.read() as s:
        areas = s.execute(
            select(Area.id, Area.level, Area.code, Area.name, Area.kind, Area.parent_id)
            .where(Area.level.in_(("street", "community", "grid")))
            .order_by(Area.code)
        ).all()
        staff = _staff_by_grid(s)
    streets = {a.id: a.name for a in areas if a.level == "street"}
    grids_of: dict[int | None, list[GridRow]] = {}
    community_ids = {a.id for a in areas if a.level == "community"}
    for a in areas:
        if a.level == "grid":
            parent = a.parent_id if a.parent_id in community_ids else None
            grids_of.setdefault(parent, []).append(GridRow(a.id, a.code, a.name, staff.get(a.id, ())))
    rows = [
        CommunityRow(a.id, a.code, a.name, a.kind, streets.get(a.parent_id) if a.parent_id else None,
                     tuple(grids_of.get(a.id, ())))
        for a in areas
        if a.level == "community"
    ]
    if grids_of.get(None):
        rows.append(CommunityRow(None, "", _("(no community)"), None, None, tuple(grids_of[None])))
    return rows


def _ref(area: Area | None) -> AreaRef | None:
    return None if area is None else AreaRef(area.id, area.level, area.code, area.name)


def grid_card(db: Database, grid_id: int) -> GridCard:
    """One grid: its community and street, its three staff and its incident counts."""
    with db.read() as s:
        grid = s.get(Area, grid_id)
        if grid is None or grid.level != "grid":
            raise NotFound(_("There is no grid with id {id}.").format(id=grid_id))
        community = s.get(Area, grid.parent_id) if grid.parent_id else None
        street = s.get(Area, community.parent_id) if community is not None and community.parent_id else None
        now = db_now(s)
        open_count = s.execute(
            select(func.count(Incident.id)).where(Incident.grid_id == grid_id,
                                                  Incident.status.in_(OPEN_STATUSES))
        ).scalar_one()
        recent = s.execute(
            select(func.count(Incident.id)).where(
                Incident.grid_id == grid_id, Incident.is_drill.is_(False),
                Incident.created_at >= now - timedelta(days=30),
            )
        ).scalar_one()
        staff = _staff_by_grid(s, [grid_id]).get(grid_id, ())
        grid_ref = _ref(grid)
        assert grid_ref is not None
        return GridCard(grid_ref, _ref(community), _ref(street), staff, int(open_count), int(recent))


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_staff(db: Database, text: str, limit: int = 200) -> list[StaffHit]:
    """Grid staff whose grid code or name, person name or phone contains ``text``."""
    text = text.strip()[:100]
    if not text:
        return []
    pattern = _like(text)
    community = Area.__table__.alias("community")
    query = (
        select(Area.id, Area.code, Area.name, community.c.name, GridStaff.role, Person.name, Person.phone)
        .join(GridStaff, GridStaff.grid_id == Area.id)
        .join(Person, Person.id == GridStaff.person_id)
        .outerjoin(community, community.c.id == Area.parent_id)
        .where(
            Area.code.ilike(pattern, escape="\\") | Area.name.ilike(pattern, escape="\\")
            | Person.name.ilike(pattern, escape="\\") | Person.phone.like(pattern, escape="\\")
        )
        .order_by(Area.code, GridStaff.role)
        .limit(limit)
    )
    with db.read() as s:
        rows = s.execute(query).all()
    hits = [StaffHit(*r) for r in rows]
    hits.sort(key=lambda h: (h.grid_code, _ROLE_ORDER.get(h.role, 9)))
    return hits


def areas_geojson(db: Database, level: str) -> dict[str, Any]:
    """The boundaries of one level as a GeoJSON FeatureCollection for the map."""
    if level not in LEVELS:
        raise ValidationError(_("Unknown level {level}.").format(level=level), "level")
    with db.read() as s:
        rows = s.execute(
            select(Area.id, Area.code, Area.name, Area.kind, Area.parent_id, Area.geometry)
            .where(Area.level == level)
            .order_by(Area.code)
        ).all()
    features = [
        {
            "type": "Feature",
            "id": r.id,
            "properties": {"id": r.id, "code": r.code, "name": r.name, "level": level, "kind": r.kind,
                           "parent_id": r.parent_id},
            "geometry": r.geometry,
        }
        for r in rows
        if r.geometry
    ]
    return {"type": "FeatureCollection", "features": features}
