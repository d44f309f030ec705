"""Importing district, street, community and grid boundaries from GeoJSON.

Every feature is checked before anything is written: a bad feature is reported with its number
(1-based, in file order) and the reason, the good ones are stored. Re-importing the same file
updates the areas it matches on (level, code) instead of adding duplicates; the code is the
feature's ``adcode`` or ``code`` property, else its name.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import Area
from dispatch_console.jurisdiction.geometry import bbox, to_geojson, to_shape
from dispatch_console.kernel import bounded_input
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changes import record, row_dict
from dispatch_console.kernel.errors import ValidationError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import require

IMPORT_LEVELS = ("district", "street", "community", "grid")
PARENT_LEVEL = {"street": "district", "community": "street", "grid": "community"}
_COMMUNITY_KINDS = ("urbanised_village", "residential")
MAX_NAME, MAX_CODE = 200, 64


@dataclass(frozen=True)
class FeatureError:
    index: int  # 1-based position of the feature in the file
    reason: str


@dataclass(frozen=True)
class ImportReport:
    level: str
    total: int
    created: int
    updated: int
    unchanged: int
    errors: tuple[FeatureError, ...]

    @property
    def stored(self) -> int:
        return self.created + self.updated + self.unchanged

    def describe(self) -> str:
        return _("{total} features: {created} new, {updated} updated, {unchanged} unchanged, "
                 "{rejected} rejected.").format(total=self.total, created=self.created, updated=self.updated,
                                                unchanged=self.unchanged, rejected=len(self.errors))


@dataclass(frozen=True)
class _Good:
    index: int
    code: str
    name: str
    shape: BaseGeometry
    properties: dict[str, Any]


# A boundary file of a whole district is a few MB; one feature's properties are a few hundred
# bytes (name, code, kind): anything near the limits is not a boundary file.
# The file as a whole is bounded in size and depth; each feature's strings more narrowly, so that
# one feature with a huge property is that feature's error, not the file's.
GEOJSON_LIMITS = bounded_input.Limits(file_bytes=32 * bounded_input.MIB, field_chars=32 * bounded_input.MIB,
                                      items=1_000_000)
FEATURE_LIMITS = bounded_input.Limits(field_chars=4096, items=1_000_000)
MAX_PROPERTIES_BYTES = 16 * 1024


def _load(data_or_path: dict[str, Any] | str | Path) -> list[Any]:
    """The features of a FeatureCollection (or one Feature), read through the bounded reader."""
    if isinstance(data_or_path, dict):
        data: Any = bounded_input.check_value(data_or_path, bounded_input.Position("GeoJSON"), GEOJSON_LIMITS)
    else:
        data = bounded_input.load_json(data_or_path, GEOJSON_LIMITS)  # InputError names file, line, reason
    if isinstance(data, dict) and data.get("type") == "FeatureCollection" and isinstance(
        data.get("features"), list
    ):
        return list(data["features"])
    if isinstance(data, dict) and data.get("type") == "Feature":
        return [data]
    raise ValidationError(_("The file is not a GeoJSON FeatureCollection."), "file")


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and (isinstance(v, int) or math.isfinite(v))


def _flat(geometry: dict[str, Any]) -> dict[str, Any]:
    """The geometry with every position cut to (lon, lat): a boundary is flat, and shapely refuses
    rings that mix 2-D and 3-D positions."""
    polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    flat = [[[[float(p[0]), float(p[1])] for p in ring] for ring in polygon] for polygon in polygons]
    return {"type": geometry["type"], "coordinates": flat[0] if geometry["type"] == "Polygon" else flat}


def _geometry_problem(geometry: Any) -> str | None:
    """Why the geometry cannot be a boundary, or None."""
    if not isinstance(geometry, dict):
        return _("no geometry")
    kind = geometry.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        return _("geometry is {kind}, not a Polygon or MultiPolygon").format(kind=kind)
    coords = geometry.get("coordinates")
    polygons = [coords] if kind == "Polygon" else coords
    if not isinstance(polygons, list) or not polygons:
        return _("malformed coordinates")
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            return _("malformed coordinates")
        for ring in polygon:
            if not isinstance(ring, list) or not all(
                isinstance(p, list) and len(p) >= 2 and _is_number(p[0]) and _is_number(p[1]) for p in ring
            ):
                return _("malformed coordinates")
            for lon, lat, *_rest in ring:
                if not (-180 <= lon <= 180 and -90 <= lat <= 90):  # ints compare exactly, floats are finite
                    return _("coordinates outside the longitude/latitude range ({lon}, {lat})").format(
                        lon=lon, lat=lat)
            if len(ring) < 4:
                return _("a ring has fewer than 4 positions")
            if ring[0][:2] != ring[-1][:2]:
                return _("unclosed ring: its first and last positions differ")
    return None


def _check(index: int, feature: Any, name_prop: str) -> _Good | FeatureError:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return FeatureError(index, _("not a GeoJSON Feature"))
    try:
        bounded_input.check_value(feature, bounded_input.Position(""), FEATURE_LIMITS)
    except bounded_input.InputError as exc:
        return FeatureError(index, _("{field}: {reason}").format(field=exc.position.field, reason=exc.reason)
                            if exc.position.field else exc.reason)
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        return FeatureError(index, _("properties is not an object"))
    reasons: list[str] = []
    raw_name = props.get(name_prop)
    name = str(raw_name).strip() if raw_name is not None else ""
    if not name:
        reasons.append(_("missing name (property {prop})").format(prop=name_prop))
    elif len(name) > MAX_NAME:
        reasons.append(_("name longer than {n} characters").format(n=MAX_NAME))
    size = len(json.dumps(props, ensure_ascii=False).encode("utf-8"))
    if size > MAX_PROPERTIES_BYTES:  # they are stored with the area and again in its audit row
        reasons.append(_("properties of {size} bytes, more than {limit}").format(size=size,
                                                                                  limit=MAX_PROPERTIES_BYTES))
    problem = _geometry_problem(feature.get("geometry"))
    shape: BaseGeometry | None = None
    if problem is None:
        shape = to_shape(_flat(feature["geometry"]))
        if shape.is_empty:
            problem = _("empty geometry")
        elif not shape.is_valid:
            problem = _("self-intersecting or invalid boundary: {detail}").format(
                detail=shapely.is_valid_reason(shape))
    if problem is not None:
        reasons.append(problem)
    raw_code = props.get("adcode") if props.get("adcode") not in (None, "") else props.get("code")
    code = str(raw_code).strip() if raw_code not in (None, "") else name
    if len(code) > MAX_CODE:
        reasons.append(_("code longer than {n} characters").format(n=MAX_CODE))
    if reasons or shape is None:
        return FeatureError(index, "; ".join(reasons))
    return _Good(index, code, name, shape, props)


def _find_parent(session: Session, level: str, parent_name: str | None, good: _Good) -> int | None:
    parent_level = PARENT_LEVEL.get(level)
    if parent_name is not None:
        rows = session.execute(select(Area.id, Area.level).where(Area.name == parent_name)).all()
        rows = [r for r in rows if r.level != level]
        rows.sort(key=lambda r: r.level != parent_level)
        if not rows:
            raise ValidationError(_("There is no area named {name} to import under.").format(name=parent_name),
                                  "parent")
        return int(rows[0].id)
    if parent_level is None:
        return None
    from dispatch_console.jurisdiction.areas import _containing  # the lookup lives with the other lookups

    point = good.shape.representative_point()
    hits = [h for h in _containing(session, point.x, point.y, (parent_level,))]
    return hits[0].id if hits else None


def import_geojson(
    db: Database,
    actor: Actor,
    data_or_path: dict[str, Any] | str | Path,
    level: str,
    name_prop: str = "name",
    parent_name: str | None = None,
) -> ImportReport:
    """Validate every feature, store the good ones at ``level`` and report the bad ones."""
    require(actor, "jurisdiction.import")
    if level not in IMPORT_LEVELS:
        raise ValidationError(_("Unknown level {level}.").format(level=level), "level")
    features = _load(data_or_path)
    errors: list[FeatureError] = []
    good: list[_Good] = []
    seen: dict[str, int] = {}
    for index, feature in enumerate(features, start=1):
        checked = _check(index, feature, name_prop)
        if isinstance(checked, _Good) and checked.code in seen:
            checked = FeatureError(index, _("same code {code} as feature {other}").format(
                code=checked.code, other=seen[checked.code]))
        if isinstance(checked, FeatureError):
            errors.append(checked)
        else:
            seen[checked.code] = index
            good.append(checked)
    created = updated = unchanged = 0
    with db.write() as s:
        now = db_now(s)
        for g in good:
            outcome = _store(s, actor, level, g, _find_parent(s, level, parent_name, g), now)
            created += outcome == "created"
            updated += outcome == "updated"
            unchanged += outcome == "unchanged"
    return ImportReport(level, len(features), created, updated, unchanged, tuple(errors))


def _store(session: Session, actor: Actor, level: str, g: _Good, parent_id: int | None, now: Any) -> str:
    geometry = to_geojson(g.shape)
    min_lon, min_lat, max_lon, max_lat = bbox(g.shape)
    kind = g.properties.get("kind") if level == "community" else None
    prefix = g.properties.get("number_prefix") if level == "street" else None
    values: dict[str, Any] = {
        "name": g.name, "parent_id": parent_id, "geometry": geometry, "properties": g.properties,
        "kind": kind if kind in _COMMUNITY_KINDS else None,
        "number_prefix": str(prefix)[:8] if prefix else None,
        "min_lon": min_lon, "min_lat": min_lat, "max_lon": max_lon, "max_lat": max_lat,
    }
    area = session.execute(select(Area).where(Area.level == level, Area.code == g.code)).scalar_one_or_none()
    if area is None:
        area = Area(level=level, code=g.code, version=1, updated_at=now, **values)
        session.add(area)
        session.flush()
        record(session, actor, entity="area", entity_id=area.id, op="create", action="area.import",
               after=row_dict(area, exclude=("geometry",)), at=now)
        return "created"
    if values["parent_id"] is None:
        values["parent_id"] = area.parent_id  # a re-import without --parent keeps the known parent
    if all(getattr(area, k) == v for k, v in values.items()):
        return "unchanged"
    before = row_dict(area, exclude=("geometry",))
    geometry_changed = area.geometry != geometry
    for key, value in values.items():
        setattr(area, key, value)
    area.version = (area.version or 1) + 1
    area.updated_at = now
    session.flush()
    after = row_dict(area, exclude=("geometry",)) | {"geometry_changed": geometry_changed}
    record(session, actor, entity="area", entity_id=area.id, op="update", action="area.import",
           before=before, after=after, at=now)
    return "updated"
