"""The map's layer of official warnings: the areas of every CAP warning in force, in its colour.

In force: the latest message of its thread (an Update replaces the Alert), not cancelled, not
expired by the database clock, status Actual (an exercise or a test is not drawn). Bounded: at
most ``MAX_MESSAGES`` threads and ``MAX_SHAPES`` shapes, each as stored (the reader checked its
points when the message came in).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from db.engine import Database, db_now
from db.models import CapMessage
from dispatch_console.warnings.board import cap_state

MAX_MESSAGES = 200
MAX_SHAPES = 1000


@dataclass(frozen=True)
class WarningArea:
    identifier: str
    sender: str
    headline: str
    colour: str  # blue | yellow | orange | red (grey on the map when the message names none)
    covers_street: bool
    description: str
    polygons: tuple[tuple[tuple[float, float], ...], ...]  # rings of (lat, lon), as Leaflet takes them
    circles: tuple[tuple[float, float, float], ...]        # (lat, lon, radius in metres)

    def as_json(self) -> dict[str, Any]:
        return {"identifier": self.identifier, "sender": self.sender, "headline": self.headline,
                "colour": self.colour, "covers_street": self.covers_street, "description": self.description,
                "polygons": [[list(p) for p in ring] for ring in self.polygons],
                "circles": [list(c) for c in self.circles]}


@dataclass(frozen=True)
class WarningAreas:
    areas: tuple[WarningArea, ...]
    # seconds on the database clock until the first of the messages drawn expires (None: none
    # does): the map reads again then, since an expiry comes with no change to announce it
    refresh_in: float | None = None

    def as_op(self) -> dict[str, Any]:
        return {"op": "warning_areas", "areas": [a.as_json() for a in self.areas]}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def warning_areas(db: Database) -> WarningAreas:
    """Every official warning in force, one entry per area of its message that has a shape."""
    out: list[WarningArea] = []
    shapes = 0
    expiries: list[datetime] = []

    def result() -> WarningAreas:
        first = min(expiries, default=None)
        return WarningAreas(tuple(out), None if first is None else max(0.0, (first - now).total_seconds()))

    with db.read() as s:
        now = db_now(s)
        latest: dict[str, CapMessage] = {}
        for m in s.execute(select(CapMessage).where(CapMessage.status == "Actual")
                           .order_by(CapMessage.sent.desc(), CapMessage.id.desc()).limit(MAX_MESSAGES * 5)).scalars():
            latest.setdefault(m.thread_key, m)
        for m in list(latest.values())[:MAX_MESSAGES]:
            if cap_state(m, now) != "active":
                continue
            if m.expires is not None:
                expiries.append(m.expires)
            for area in m.areas or []:
                rings = []
                for ring in area.get("polygons", []) or []:
                    points = [(lat, lon) for lon, lat in ((_number(p[0]), _number(p[1])) for p in ring
                                                          if isinstance(p, list) and len(p) == 2)
                              if lat is not None and lon is not None]
                    if len(points) >= 4:
                        rings.append(tuple(points))
                circles = []
                for c in area.get("circles", []) or []:
                    if isinstance(c, list) and len(c) == 3:
                        lon, lat, km = (_number(x) for x in c)
                        if lon is not None and lat is not None and km is not None and km > 0:
                            circles.append((lat, lon, km * 1000.0))
                if not rings and not circles:
                    continue
                shapes += len(rings) + len(circles)
                if shapes > MAX_SHAPES:
                    return result()
                out.append(WarningArea(m.identifier, m.sender, m.headline or m.event or m.identifier,
                                       m.colour or "grey", m.covers_street, str(area.get("description", ""))[:200],
                                       tuple(rings), tuple(circles)))
    return result()
