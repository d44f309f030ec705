"""Boundary geometry: GeoJSON in and out of shapely, bounding boxes, and the per-process cache.

Prepared geometries are cached per database, area and version: a re-imported boundary bumps the
area's version, so the next lookup reads the new shape instead of a stale one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

CACHE_SIZE = 20_000

_lock = threading.Lock()
_cache: OrderedDict[tuple[str, int, int], BaseGeometry] = OrderedDict()


def to_shape(geometry: dict[str, Any]) -> BaseGeometry:
    return shape(geometry)


def to_geojson(geom: BaseGeometry) -> dict[str, Any]:
    """A plain GeoJSON geometry (lists, not tuples), as stored in ``area.geometry``."""

    def lists(value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [lists(v) for v in value]
        return value

    m = mapping(geom)
    return {"type": m["type"], "coordinates": lists(m["coordinates"])}


def bbox(geom: BaseGeometry) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat)."""
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    return float(min_lon), float(min_lat), float(max_lon), float(max_lat)


def prepared_shape(db_key: str, area_id: int, version: int, geometry: dict[str, Any]) -> BaseGeometry:
    """The area's shape, prepared for fast containment tests, cached per (database, id, version)."""
    key = (db_key, area_id, version)
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    geom = to_shape(geometry)
    shapely.prepare(geom)
    shapely.intersects_xy(geom, 0.0, 0.0)  # build GEOS's lazy point locator before sharing the shape
    with _lock:
        _cache[key] = geom
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return geom


def covers_point(geom: BaseGeometry, lon: float, lat: float) -> bool:
    """Point in polygon (boundary included); serialised, as GEOS prepared shapes are shared."""
    with _lock:
        return bool(shapely.intersects_xy(geom, lon, lat))


def intersects(prepared: BaseGeometry, other: BaseGeometry) -> bool:
    """Whether two shapes meet (boundary included); serialised like :func:`covers_point`."""
    with _lock:
        return bool(shapely.intersects(prepared, other))


def cached_shape(db_key: str, area_id: int, version: int) -> BaseGeometry | None:
    with _lock:
        return _cache.get((db_key, area_id, version))


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Straight-line (great-circle) distance in metres; over a street the haversine is plenty."""
    import math

    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(min(1.0, math.sqrt(a)))


def bbox_centre(min_lon: float | None, min_lat: float | None, max_lon: float | None,
                max_lat: float | None) -> tuple[float, float] | None:
    """The middle of an area's bounding box (where a unit or a place without a position is taken to be)."""
    if min_lon is None or min_lat is None or max_lon is None or max_lat is None:
        return None
    return (min_lon + max_lon) / 2, (min_lat + max_lat) / 2
