"""What the grid map shows, as plain data: boundaries, open incidents, units, counts per grid.

Qt-free. The map panel asks for a :class:`MapSnapshot` once, then for :func:`incident_update` /
:func:`unit_update` with the ids the change feed names, and hands the page only what changed.
Everything here is JSON-ready (``as_json``): the page receives it through the web channel and
builds its DOM with ``textContent``, so no text from the database is ever parsed as HTML.
A click on a unit asks for its :func:`unit_card` (who, what, where, and the incident it is on).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import Area, Assignment, Incident, Unit
from dispatch_console.incidents.queue import IncidentRow, UnitRow, unit_rows
from dispatch_console.jurisdiction import AreaRef, areas_geojson, locate
from dispatch_console.kernel.categories import OPEN_STATUSES, Catalog, shipped_catalog, unit_kind_label
from dispatch_console.kernel.errors import NotFound
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.text import summary

EXCERPT_CHARS = 80

__all__ = [
    "IncidentMarker", "IncidentUpdate", "MapSnapshot", "UnitCard", "UnitIncident", "UnitMarker", "UnitUpdate",
    "excerpt", "grid_open_counts", "grid_open_incidents", "incident_update", "load_snapshot",
    "synthetic_snapshot", "unit_card", "unit_kind_label", "unit_update",
]


@dataclass(frozen=True)
class IncidentMarker:
    """One open incident with coordinates, as the map draws it."""

    id: int
    number: str
    lon: float
    lat: float
    severity: int
    severity_label: str
    category: str
    category_label: str
    status: str
    status_label: str
    is_drill: bool
    grid_id: int | None
    address: str
    excerpt: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class UnitMarker:
    """A unit whose position is known."""

    id: int
    code: str
    name: str
    kind: str
    status: str
    status_label: str
    lon: float
    lat: float

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MapSnapshot:
    communities: dict[str, Any]  # GeoJSON FeatureCollection
    grids: dict[str, Any]  # GeoJSON FeatureCollection; properties.open_count per grid
    incidents: tuple[IncidentMarker, ...]
    units: tuple[UnitMarker, ...]
    grid_counts: dict[int, int] = field(default_factory=dict)
    open_total: int = 0  # open incidents, with a position or not (the queue's count)


@dataclass(frozen=True)
class IncidentUpdate:
    """Markers to add or redraw, incident ids to take off the map, and every grid's open count."""

    upsert: tuple[IncidentMarker, ...]
    remove: tuple[int, ...]
    grid_counts: dict[int, int]
    open_total: int = 0


@dataclass(frozen=True)
class UnitUpdate:
    upsert: tuple[UnitMarker, ...]
    remove: tuple[int, ...]


def excerpt(text: str | None, limit: int = EXCERPT_CHARS) -> str:
    """The first line-folded ``limit`` characters of a description."""
    return summary(text, limit)


def _valid(lon: float | None, lat: float | None) -> bool:
    return (lon is not None and lat is not None and math.isfinite(lon) and math.isfinite(lat)
            and -180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0)


_INCIDENT_COLUMNS = (Incident.id, Incident.number, Incident.lon, Incident.lat, Incident.severity,
                     Incident.category, Incident.status, Incident.is_drill, Incident.grid_id,
                     Incident.address, Incident.description, Incident.merged_into_id)


def _marker(r: Any, catalog: Catalog) -> IncidentMarker:
    return IncidentMarker(
        id=r.id, number=r.number, lon=float(r.lon), lat=float(r.lat), severity=int(r.severity),
        severity_label=catalog.severity_label(int(r.severity)), category=r.category,
        category_label=catalog.category_label(r.category), status=r.status,
        status_label=catalog.status_label(r.status), is_drill=bool(r.is_drill), grid_id=r.grid_id,
        address=r.address or "", excerpt=excerpt(r.description),
    )


def _on_map(r: Any) -> bool:
    return r.status in OPEN_STATUSES and r.merged_into_id is None and _valid(r.lon, r.lat)


def _unit(u: Any, catalog: Catalog) -> UnitMarker:
    return UnitMarker(u.id, u.code, u.name, u.kind, u.status, catalog.unit_status_label(u.status),
                      float(u.lon), float(u.lat))


def grid_open_counts(db: Database) -> dict[int, int]:
    """Open incidents per grid (grids with none are absent)."""
    with db.read() as s:
        return grid_open_counts_in(s)


def grid_open_counts_in(s: Session) -> dict[int, int]:
    """:func:`grid_open_counts` inside an open session."""
    rows = s.execute(
        select(Incident.grid_id, func.count(Incident.id))
        .where(Incident.status.in_(OPEN_STATUSES), Incident.grid_id.is_not(None),
               Incident.merged_into_id.is_(None))
        .group_by(Incident.grid_id)
    ).all()
    return {int(gid): int(n) for gid, n in rows}


def open_total(db: Database) -> int:
    """Open incidents (drills too, as the queue shows them), on the map or not: those without a
    usable position are this minus the markers."""
    with db.read() as s:
        return open_total_in(s)


def open_total_in(s: Session) -> int:
    """:func:`open_total` inside an open session."""
    return int(s.execute(select(func.count()).select_from(Incident).where(
        Incident.status.in_(OPEN_STATUSES), Incident.merged_into_id.is_(None))).scalar_one())


def marker_of(row: IncidentRow, catalog: Catalog) -> IncidentMarker | None:
    """The map marker of a queue row (the rows the console reads once per batch of changes), or
    None when the incident is not on the map (closed, merged, no usable position)."""
    return _marker(row, catalog) if _on_map(row) else None


def load_snapshot(db: Database, catalog: Catalog | None = None) -> MapSnapshot:
    """Everything the map shows now: one call when the page has loaded."""
    catalog = catalog or shipped_catalog()
    communities = areas_geojson(db, "community")
    grids = areas_geojson(db, "grid")
    counts = grid_open_counts(db)
    for feature in grids["features"]:
        feature["properties"]["open_count"] = counts.get(int(feature["id"]), 0)
    with db.read() as s:
        incidents = tuple(
            _marker(r, catalog)
            for r in s.execute(
                select(*_INCIDENT_COLUMNS)
                .where(Incident.status.in_(OPEN_STATUSES), Incident.lon.is_not(None),
                       Incident.lat.is_not(None), Incident.merged_into_id.is_(None))
                .order_by(Incident.severity.desc(), Incident.id)
            )
            if _on_map(r)
        )
        units = tuple(
            _unit(u, catalog)
            for u in s.execute(select(Unit.id, Unit.code, Unit.name, Unit.kind, Unit.status, Unit.lon,
                                      Unit.lat).order_by(Unit.id))
            if _valid(u.lon, u.lat)
        )
    return MapSnapshot(communities, grids, incidents, units, counts, open_total(db))


def incident_update(db: Database, ids: Iterable[int], catalog: Catalog | None = None) -> IncidentUpdate:
    """The changed incidents: open ones with a position are (re)drawn, the others removed."""
    catalog = catalog or shipped_catalog()
    wanted = sorted(set(ids))
    seen: dict[int, Any] = {}
    with db.read() as s:  # one transaction: the markers and the counts agree
        for start in range(0, len(wanted), 500):
            for r in s.execute(select(*_INCIDENT_COLUMNS).where(Incident.id.in_(wanted[start:start + 500]))):
                seen[r.id] = r
        counts, total = grid_open_counts_in(s), open_total_in(s)
    upsert = tuple(_marker(seen[i], catalog) for i in wanted if i in seen and _on_map(seen[i]))
    shown = {m.id for m in upsert}
    remove = tuple(i for i in wanted if i not in shown)
    return IncidentUpdate(upsert, remove, counts, total)


def unit_update(db: Database, ids: Iterable[int], catalog: Catalog | None = None) -> UnitUpdate:
    catalog = catalog or shipped_catalog()
    wanted = sorted(set(ids))
    with db.read() as s:
        rows = {u.id: u for u in s.execute(
            select(Unit.id, Unit.code, Unit.name, Unit.kind, Unit.status, Unit.lon, Unit.lat)
            .where(Unit.id.in_(wanted)))}
    upsert = tuple(_unit(rows[i], catalog) for i in wanted if i in rows and _valid(rows[i].lon, rows[i].lat))
    shown = {u.id for u in upsert}
    return UnitUpdate(upsert, tuple(i for i in wanted if i not in shown))


def grid_open_incidents(db: Database, grid_id: int, catalog: Catalog | None = None,
                        limit: int = 50) -> tuple[IncidentMarker, ...]:
    """The open incidents of one grid, most severe first (the grid card lists them)."""
    catalog = catalog or shipped_catalog()
    with db.read() as s:
        rows = s.execute(
            select(*_INCIDENT_COLUMNS)
            .where(Incident.grid_id == grid_id, Incident.status.in_(OPEN_STATUSES),
                   Incident.merged_into_id.is_(None))
            .order_by(Incident.severity, Incident.created_at)
            .limit(limit)
        ).all()
    # an incident without coordinates still belongs to the grid's list (not to the map)
    return tuple(
        IncidentMarker(
            id=r.id, number=r.number, lon=float(r.lon or 0.0), lat=float(r.lat or 0.0),
            severity=int(r.severity), severity_label=catalog.severity_label(int(r.severity)),
            category=r.category, category_label=catalog.category_label(r.category), status=r.status,
            status_label=catalog.status_label(r.status), is_drill=bool(r.is_drill), grid_id=r.grid_id,
            address=r.address or "", excerpt=excerpt(r.description),
        )
        for r in rows
    )


# ---------------------------------------------------------------------------------------------
# The unit card: what a duty officer sees after clicking a unit on the map.


@dataclass(frozen=True)
class UnitIncident:
    """The incident a unit is assigned to now (its assignment is not released)."""

    id: int
    number: str
    category: str
    category_label: str
    severity: int
    severity_label: str
    status: str
    status_label: str
    is_drill: bool
    assigned_at: datetime
    arrived_at: datetime | None


@dataclass(frozen=True)
class UnitCard:
    """One unit with labels, where it is and what it is doing, read at ``read_at`` (database clock)."""

    unit: UnitRow
    kind_label: str
    status_label: str
    lon: float | None  # None: no usable position
    lat: float | None
    grid: AreaRef | None  # the grid its position lies in
    community: AreaRef | None  # the community of its position, else the one it belongs to
    incident: UnitIncident | None
    read_at: datetime

    @property
    def has_position(self) -> bool:
        return self.lon is not None and self.lat is not None

    @property
    def assigned_for_s(self) -> float | None:
        """Seconds between the assignment and ``read_at`` (None when the unit is free)."""
        if self.incident is None:
            return None
        return (self.read_at - self.incident.assigned_at).total_seconds()


def unit_card(db: Database, unit_id: int, catalog: Catalog | None = None) -> UnitCard:
    """The unit card for ``unit_id``; :class:`NotFound` when there is no such unit (any more)."""
    catalog = catalog or shipped_catalog()
    with db.read() as s:
        rows = unit_rows(s, unit_id=unit_id)
        if not rows:
            raise NotFound(_("No unit with id {id}.").format(id=unit_id))
        unit = rows[0]
        place = s.execute(select(Unit.lon, Unit.lat, Unit.community_id).where(Unit.id == unit_id)).one()
        home = None
        if place.community_id is not None:
            area = s.get(Area, place.community_id)
            home = None if area is None else AreaRef(area.id, area.level, area.code, area.name)
        # a unit is on one incident at a time (assign refuses a second); the newest wins if not
        current = s.execute(
            select(Incident.id, Incident.number, Incident.category, Incident.severity, Incident.status,
                   Incident.is_drill, Assignment.assigned_at, Assignment.arrived_at)
            .join(Assignment, Assignment.incident_id == Incident.id)
            .where(Assignment.unit_id == unit_id, Assignment.released_at.is_(None))
            .order_by(Assignment.assigned_at.desc(), Assignment.id.desc())
            .limit(1)
        ).first()
        read_at = db_now(s)
    incident = None
    if current is not None:
        incident = UnitIncident(
            id=current.id, number=current.number, category=current.category,
            category_label=catalog.category_label(current.category), severity=int(current.severity),
            severity_label=catalog.severity_label(int(current.severity)), status=current.status,
            status_label=catalog.status_label(current.status), is_drill=bool(current.is_drill),
            assigned_at=current.assigned_at, arrived_at=current.arrived_at,
        )
    lon, lat, grid, community = None, None, None, home
    if _valid(place.lon, place.lat):
        lon, lat = float(place.lon), float(place.lat)
        where = locate(db, lon, lat)
        grid, community = where.grid, where.community or home
    return UnitCard(unit, unit_kind_label(unit.kind), catalog.unit_status_label(unit.status), lon, lat,
                    grid, community, incident, read_at)


# ---------------------------------------------------------------------------------------------
# Synthetic data for benchmarks: N markers over M square grids around 桃源街道.


def synthetic_snapshot(markers: int, polygons: int, *, seed: int = 0,
                       centre: tuple[float, float] = (113.99, 22.57)) -> MapSnapshot:
    """A snapshot with ``markers`` incidents and ``polygons`` grid squares, for timing the page."""
    rng = random.Random(seed)
    side = max(1, math.ceil(math.sqrt(max(polygons, 1))))
    cell = 0.004
    west, south = centre[0] - side * cell / 2, centre[1] - side * cell / 2
    features = []
    for n in range(polygons):
        x0, y0 = west + (n % side) * cell, south + (n // side) * cell
        ring = [[x0, y0], [x0 + cell, y0], [x0 + cell, y0 + cell], [x0, y0 + cell], [x0, y0]]
        features.append({
            "type": "Feature", "id": n + 1,
            "properties": {"id": n + 1, "code": f"SYN-{n + 1:05d}", "name": f"Grid {n + 1}", "level": "grid",
                           "kind": None, "parent_id": None, "open_count": rng.randint(0, 6)},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        })
    catalog = shipped_catalog()
    categories = [c.code for c in catalog.categories]
    incidents = []
    for n in range(markers):
        severity = rng.randint(1, 4)
        category = rng.choice(categories)
        incidents.append(IncidentMarker(
            id=n + 1, number=f"SYN-{n + 1:06d}", lon=west + rng.random() * side * cell,
            lat=south + rng.random() * side * cell, severity=severity,
            severity_label=catalog.severity_label(severity), category=category,
            category_label=catalog.category_label(category), status="new",
            status_label=catalog.status_label("new"), is_drill=n % 17 == 0, grid_id=None, address="",
            excerpt=f"synthetic incident {n + 1}",
        ))
    grids = {"type": "FeatureCollection", "features": features}
    return MapSnapshot({"type": "FeatureCollection", "features": []}, grids, tuple(incidents), ())


def incident_position(session: Any, incident: Incident) -> tuple[float, float] | None:
    """Where the incident is: its coordinates, else the middle of its grid (None: not known)."""
    from dispatch_console.jurisdiction.geometry import bbox_centre

    if _valid(incident.lon, incident.lat):
        assert incident.lon is not None and incident.lat is not None
        return incident.lon, incident.lat
    grid = session.get(Area, incident.grid_id) if incident.grid_id else None
    return bbox_centre(grid.min_lon, grid.min_lat, grid.max_lon, grid.max_lat) if grid is not None else None
