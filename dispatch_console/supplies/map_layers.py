"""What the map's depot and shelter layers show: positions, and the line of text of each card.

Depots show their items below minimum (marked on the map); shelters their status, occupancy and
free places. A place without coordinates is shown at the middle of its community.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select

from db.engine import Database
from db.models import Area, Depot, Shelter
from dispatch_console.jurisdiction.geometry import bbox_centre
from dispatch_console.supplies.shelters import list_shelters
from dispatch_console.supplies.stock import Catalogue, stock_in


@dataclass(frozen=True)
class DepotPlace:
    id: int
    name: str
    lon: float
    lat: float
    contact: str
    low: tuple[str, ...]  # "沙袋 120/200 袋", one per item below its minimum
    items: int  # catalogue items held


@dataclass(frozen=True)
class ShelterPlace:
    id: int
    name: str
    lon: float
    lat: float
    status: str
    status_label: str
    occupancy: int
    capacity: int
    free: int
    contact: str


@dataclass(frozen=True)
class Places:
    depots: tuple[DepotPlace, ...]
    shelters: tuple[ShelterPlace, ...]

    def as_op(self) -> dict[str, Any]:
        """The map page's ``places`` operation."""
        return {"op": "places", "depots": [asdict(d) for d in self.depots],
                "shelters": [asdict(s) for s in self.shelters]}


def _where(areas: dict[int, Area], lon: float | None, lat: float | None,
           community_id: int | None) -> tuple[float, float] | None:
    if lon is not None and lat is not None:
        return lon, lat
    area = areas.get(community_id or 0)
    return bbox_centre(area.min_lon, area.min_lat, area.max_lon, area.max_lat) if area else None


def places(db: Database, catalogue: Catalogue) -> Places:
    shelter_rows = {r.id: r for r in list_shelters(db)}
    with db.read() as s:
        areas = {a.id: a for a in s.execute(select(Area).where(Area.level == "community")).scalars()}
        low: dict[int, list[str]] = {}
        held: dict[int, int] = {}
        for r in stock_in(s, catalogue):
            held[r.depot_id] = held.get(r.depot_id, 0) + 1
            if r.below_minimum:
                low.setdefault(r.depot_id, []).append(f"{r.name} {r.quantity}/{r.minimum} {r.unit}")
        depots = []
        for d in s.execute(select(Depot).where(Depot.active.is_(True)).order_by(Depot.code)).scalars():
            at = _where(areas, d.lon, d.lat, d.community_id)
            if at is not None:
                depots.append(DepotPlace(d.id, d.name, at[0], at[1], " ".join(filter(None, (d.contact_name, d.phone))),
                                         tuple(low.get(d.id, ())), held.get(d.id, 0)))
        shelters = []
        for sh in s.execute(select(Shelter).order_by(Shelter.code)).scalars():
            at = _where(areas, sh.lon, sh.lat, sh.community_id)
            row = shelter_rows.get(sh.id)
            if at is not None and row is not None:
                shelters.append(ShelterPlace(sh.id, sh.name, at[0], at[1], row.status, row.status_label,
                                             row.occupancy, row.capacity, row.free,
                                             " ".join(filter(None, (sh.contact_name, sh.phone)))))
    return Places(tuple(depots), tuple(shelters))
