"""Boundary import, point lookups and the jurisdiction reads, on both backends."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from db.engine import Database
from db.models import Area, ChangeLog
from dispatch_console import jurisdiction
from dispatch_console.demo.seed import seed_demo
from dispatch_console.kernel.config import resources_root
from dispatch_console.kernel.errors import PermissionDenied, ValidationError

SHENZHEN = resources_root() / "geo" / "shenzhen_districts.geojson"


def square(x: float, y: float, size: float = 0.01) -> list[list[list[float]]]:
    return [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]


def feature(name: str | None, geometry: Any, **props: Any) -> dict[str, Any]:
    properties = dict(props)
    if name is not None:
        properties["name"] = name
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def messy_collection() -> dict[str, Any]:
    """One good grid, then one feature for each kind of bad input, then another good one."""
    return {"type": "FeatureCollection", "features": [
        feature("甲网格", {"type": "Polygon", "coordinates": square(113.90, 22.50)}),
        feature("点", {"type": "Point", "coordinates": [113.9, 22.5]}),
        feature("未闭合", {"type": "Polygon", "coordinates": [[[113.9, 22.5], [113.91, 22.5], [113.91, 22.51],
                                                             [113.9, 22.51]]]}),
        feature("越界", {"type": "Polygon", "coordinates": square(213.9, 22.5)}),
        feature("自相交", {"type": "Polygon", "coordinates": [[[113.9, 22.5], [113.91, 22.51], [113.91, 22.5],
                                                             [113.9, 22.51], [113.9, 22.5]]]}),
        feature(None, {"type": "Polygon", "coordinates": square(113.92, 22.50)}),
        feature("乙网格", {"type": "MultiPolygon", "coordinates": [square(113.93, 22.50)]}),
        "not a feature",
        feature("甲网格", {"type": "Polygon", "coordinates": square(113.94, 22.50)}),
    ]}


def area_count(db: Database, level: str) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count(Area.id)).where(Area.level == level)).scalar_one())


def test_importing_the_shenzhen_districts_twice_stores_nine_once(db, system) -> None:
    first = jurisdiction.import_geojson(db, system, SHENZHEN, "district")
    assert (first.total, first.created, first.errors) == (9, 9, ())
    again = jurisdiction.import_geojson(db, system, str(SHENZHEN), "district")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 9)
    assert area_count(db, "district") == 9
    with db.read() as s:
        nanshan = s.execute(select(Area).where(Area.level == "district", Area.code == "440305")).scalar_one()
        assert nanshan.name == "南山区" and nanshan.version == 1
        assert nanshan.min_lon < 113.93 < nanshan.max_lon
        creates = s.execute(select(func.count(ChangeLog.seq)).where(ChangeLog.entity == "area")).scalar_one()
        assert creates == 9

    data = json.loads(SHENZHEN.read_text(encoding="utf-8"))
    for f in data["features"]:
        if f["properties"]["adcode"] == 440305:
            f["properties"]["name"] = "南山区（新）"
    changed = jurisdiction.import_geojson(db, system, data, "district")
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 8)
    with db.read() as s:
        nanshan = s.execute(select(Area).where(Area.level == "district", Area.code == "440305")).scalar_one()
        assert (nanshan.name, nanshan.version) == ("南山区（新）", 2)
    assert area_count(db, "district") == 9


def test_a_messy_file_keeps_the_good_features_and_says_why_each_bad_one_was_refused(db, system) -> None:
    report = jurisdiction.import_geojson(db, system, messy_collection(), "grid")
    reasons = {e.index: e.reason for e in report.errors}
    assert sorted(reasons) == [2, 3, 4, 5, 6, 8, 9]
    assert "Point" in reasons[2] and "Polygon" in reasons[2]
    assert "unclosed ring" in reasons[3]
    assert "outside the longitude/latitude range" in reasons[4]
    assert "self-intersecting" in reasons[5] and "Self-intersection" in reasons[5]
    assert "missing name" in reasons[6]
    assert "not a GeoJSON Feature" in reasons[8]
    assert "same code 甲网格 as feature 1" in reasons[9]
    assert (report.created, report.total) == (2, 9)
    with db.read() as s:
        names = set(s.execute(select(Area.name).where(Area.level == "grid")).scalars())
    assert names == {"甲网格", "乙网格"}


def test_a_file_that_is_not_geojson_is_refused_as_a_whole(db, system, tmp_path: Path) -> None:
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValidationError):
        jurisdiction.import_geojson(db, system, bad, "grid")
    with pytest.raises(ValidationError):
        jurisdiction.import_geojson(db, system, {"type": "Point", "coordinates": [0, 0]}, "grid")
    with pytest.raises(ValidationError):
        jurisdiction.import_geojson(db, system, messy_collection(), "province")
    with pytest.raises(ValidationError):
        jurisdiction.import_geojson(db, system, messy_collection(), "grid", parent_name="不存在的社区")
    assert area_count(db, "grid") == 0


def test_only_administrators_import_boundaries(db, make_actor) -> None:
    with pytest.raises(PermissionDenied):
        jurisdiction.import_geojson(db, make_actor("duty_officer"), SHENZHEN, "district")
    assert jurisdiction.import_geojson(db, make_actor("admin"), SHENZHEN, "district").created == 9


def test_locate_answers_the_district_inside_and_nothing_outside(db, system) -> None:
    jurisdiction.import_geojson(db, system, SHENZHEN, "district")
    where = jurisdiction.locate(db, 113.93, 22.53)
    assert where.district is not None and where.district.name == "南山区"
    assert (where.grid, where.community, where.street) == (None, None, None)
    futian = jurisdiction.locate(db, 114.05, 22.54).district
    assert futian is not None and futian.name == "福田区"
    assert not jurisdiction.locate(db, 113.0, 22.0).found  # west of the Pearl River mouth
    with pytest.raises(ValidationError):
        jurisdiction.locate(db, 200.0, 22.5)


def test_grids_attach_to_the_community_that_contains_them_and_locate_follows(db, system) -> None:
    community = {"type": "FeatureCollection", "features": [
        feature("试点社区", {"type": "Polygon", "coordinates": square(113.90, 22.50, 0.05)},
                code="C1", kind="residential")]}
    assert jurisdiction.import_geojson(db, system, community, "community").created == 1
    grids = {"type": "FeatureCollection", "features": [
        feature("一网格", {"type": "Polygon", "coordinates": square(113.90, 22.50, 0.02)}, code="G1"),
        feature("二网格", {"type": "Polygon", "coordinates": square(113.92, 22.50, 0.02)}, code="G2")]}
    assert jurisdiction.import_geojson(db, system, grids, "grid").created == 2
    where = jurisdiction.locate(db, 113.93, 22.51)
    assert where.grid is not None and where.grid.code == "G2"
    assert where.community is not None and where.community.name == "试点社区"
    rows = jurisdiction.tree(db)
    assert [(c.name, c.kind, [g.code for g in c.grids]) for c in rows] == [("试点社区", "residential", ["G1", "G2"])]


def test_find_grid_sees_a_reimported_boundary(db, system) -> None:
    before = {"type": "FeatureCollection", "features": [
        feature("移动网格", {"type": "Polygon", "coordinates": square(113.90, 22.50)}, code="M1")]}
    jurisdiction.import_geojson(db, system, before, "grid")
    with db.read() as s:
        grid_id = jurisdiction.find_grid(s, 113.905, 22.505)
        assert grid_id is not None
        assert jurisdiction.find_grid(s, 113.955, 22.505) is None
    after = copy.deepcopy(before)
    after["features"][0]["geometry"]["coordinates"] = square(113.95, 22.50)
    assert jurisdiction.import_geojson(db, system, after, "grid").updated == 1
    with db.read() as s:
        assert jurisdiction.find_grid(s, 113.905, 22.505) is None
        assert jurisdiction.find_grid(s, 113.955, 22.505) == grid_id
        assert jurisdiction.find_grid(s, 500.0, 22.5) is None


def test_reads_on_the_demo_jurisdiction(db, system) -> None:
    seed_demo(db, system)
    rows = jurisdiction.tree(db)
    grid = rows[0].grids[0]
    card = jurisdiction.grid_card(db, grid.id)
    assert card.grid.code == grid.code and card.community is not None and card.community.name == rows[0].name
    assert card.street is not None and card.street.name == "桃源街道"
    assert [s.role for s in card.staff] == ["grid_manager", "grid_assistant", "grid_supervisor"]
    assert card.staff[0].role_label == "Grid manager"
    assert 0 <= card.open_incidents <= card.last_30_days  # every demo incident is recent and real
    total_recent = sum(jurisdiction.grid_card(db, g.id).last_30_days for c in rows for g in c.grids)
    assert total_recent == 50

    manager = grid.staff[0]
    assert any(h.name == manager.name and h.grid_code == grid.code for h in jurisdiction.search_staff(db, manager.name))
    by_phone = jurisdiction.search_staff(db, manager.phone or "")
    assert [(h.name, h.role) for h in by_phone] == [(manager.name, "grid_manager")]
    assert len(jurisdiction.search_staff(db, grid.code)) == 3
    assert jurisdiction.search_staff(db, "%") == [] and jurisdiction.search_staff(db, "  ") == []

    fc = jurisdiction.areas_geojson(db, "grid")
    assert len(fc["features"]) == sum(len(c.grids) for c in rows)
    assert set(fc["features"][0]["properties"]) >= {"id", "code", "name"}
    with pytest.raises(ValidationError):
        jurisdiction.areas_geojson(db, "planet")
