"""``dispatch-console grids list | import | locate``: output and exit codes, both backends."""

from __future__ import annotations

import json

from shapely.geometry import shape
from test_jurisdiction import SHENZHEN, messy_collection

from db.engine import Database
from dispatch_console import jurisdiction
from station.launcher import main


def url(db: Database) -> str:
    return db.url.render_as_string(hide_password=False)


def test_grids_list_json_on_the_demo_shows_every_grid_with_its_three_staff(db, capsys) -> None:
    assert main(["--db", url(db), "db", "seed-demo"]) == 0
    assert "10 communities" in capsys.readouterr().out
    assert main(["--db", url(db), "grids", "list", "--json"]) == 0
    communities = json.loads(capsys.readouterr().out)
    assert len(communities) == 10
    assert {c["kind"] for c in communities} == {"urbanised_village", "residential"}
    grids = [g for c in communities for g in c["grids"]]
    assert len(grids) >= 40
    for g in grids:
        assert [s["role"] for s in g["staff"]] == ["grid_manager", "grid_assistant", "grid_supervisor"]
        assert all(s["name"] and len(s["phone"]) == 11 for s in g["staff"])
    assert main(["--db", url(db), "--lang", "zh_CN", "grids", "list"]) == 0
    text = capsys.readouterr().out
    assert "平山社区 (农城化社区)" in text and "网格管理员: " in text and "网格督导员: " in text
    assert main(["--db", url(db), "db", "seed-demo"]) == 0
    assert "nothing was changed" in capsys.readouterr().out


def test_grids_import_needs_an_administrator_and_updates_on_reimport(db, make_actor, capsys) -> None:
    make_actor("admin", "admin-li")
    make_actor("duty_officer", "officer-zhang")
    args = ["grids", "import", str(SHENZHEN), "--level", "district"]
    assert main(["--db", url(db), *args]) == 2  # nobody signed in
    assert main(["--db", url(db), "--user", "officer-zhang", "--password", "pw", *args]) == 1
    assert "may not import jurisdiction boundaries" in capsys.readouterr().err
    assert main([*args, "--db", url(db), "--user", "admin-li", "--password", "pw"]) == 0
    assert "9 features: 9 new, 0 updated, 0 unchanged, 0 rejected." in capsys.readouterr().out
    assert main([*args, "--db", url(db), "--user", "admin-li", "--password", "pw"]) == 0
    assert "9 features: 0 new, 0 updated, 9 unchanged, 0 rejected." in capsys.readouterr().out
    assert len(jurisdiction.areas_geojson(db, "district")["features"]) == 9


def test_grids_import_reports_each_rejected_feature_and_exits_1(db, make_actor, tmp_path, capsys) -> None:
    make_actor("admin", "admin-li")
    messy = tmp_path / "messy.geojson"
    messy.write_text(json.dumps(messy_collection(), ensure_ascii=False), encoding="utf-8")
    assert main(["--db", url(db), "--user", "admin-li", "--password", "pw",
                 "grids", "import", str(messy), "--level", "grid"]) == 1
    out = capsys.readouterr()
    assert "9 features: 2 new, 0 updated, 0 unchanged, 7 rejected." in out.out
    lines = out.err.splitlines()
    assert [line.split(":")[0] for line in lines] == [f"feature {n}" for n in (2, 3, 4, 5, 6, 8, 9)]
    assert "feature 3: unclosed ring" in out.err and "feature 6: missing name (property name)" in out.err
    assert main(["--db", url(db), "--user", "admin-li", "--password", "pw", "--lang", "zh_CN",
                 "grids", "import", str(messy), "--level", "grid"]) == 1
    assert "第 3 个要素：边界环未闭合" in capsys.readouterr().err


def test_grids_import_with_a_name_property_and_parent(db, make_actor, tmp_path, capsys) -> None:
    make_actor("admin", "admin-li")
    assert main(["--db", url(db), "--user", "admin-li", "--password", "pw",
                 "grids", "import", str(SHENZHEN), "--level", "district"]) == 0
    grid = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"名称": "蛇口一格"},
            "geometry": {"type": "Polygon", "coordinates": [[[113.91, 22.48], [113.92, 22.48], [113.92, 22.49],
                                                             [113.91, 22.48]]]}}]}
    path = tmp_path / "grid.geojson"
    path.write_text(json.dumps(grid, ensure_ascii=False), encoding="utf-8")
    assert main(["--db", url(db), "--user", "admin-li", "--password", "pw", "grids", "import", str(path),
                 "--level", "grid", "--name-prop", "名称", "--parent", "南山区"]) == 0
    capsys.readouterr()
    assert main(["--db", url(db), "grids", "locate", "113.918", "22.482", "--json"]) == 0
    where = json.loads(capsys.readouterr().out)
    assert where["grid"]["name"] == "蛇口一格" and where["district"]["name"] == "南山区"


def test_grids_locate_after_importing_shenzhen(db, make_actor, capsys) -> None:
    make_actor("admin", "admin-li")
    assert main(["--db", url(db), "--user", "admin-li", "--password", "pw",
                 "grids", "import", str(SHENZHEN), "--level", "district"]) == 0
    capsys.readouterr()
    assert main(["--db", url(db), "grids", "locate", "113.93", "22.53"]) == 0
    assert "District: 南山区 (440305)" in capsys.readouterr().out
    assert main(["--db", url(db), "grids", "locate", "113.93", "22.53", "--json"]) == 0
    district = json.loads(capsys.readouterr().out)["district"]
    assert (district["code"], district["name"]) == ("440305", "南山区")
    assert main(["--db", url(db), "grids", "locate", "113.0", "22.0"]) == 1
    assert "No known area contains 113.0, 22.0." in capsys.readouterr().err
    assert main(["--db", url(db), "grids", "locate", "190", "22"]) == 1


def test_grids_locate_on_the_demo_answers_every_level(db, capsys) -> None:
    assert main(["--db", url(db), "db", "seed-demo"]) == 0
    capsys.readouterr()
    feature = jurisdiction.areas_geojson(db, "grid")["features"][0]
    point = shape(feature["geometry"]).representative_point()
    assert main(["--db", url(db), "grids", "locate", f"{point.x:.6f}", f"{point.y:.6f}", "--json"]) == 0
    where = json.loads(capsys.readouterr().out)
    assert where["grid"]["code"] == feature["properties"]["code"]
    assert where["community"]["name"].endswith("社区")
    assert where["street"]["name"] == "桃源街道" and where["district"]["name"] == "南山区"
    assert main(["--db", url(db), "--lang", "zh_CN", "grids", "locate", f"{point.x:.6f}", f"{point.y:.6f}"]) == 0
    text = capsys.readouterr().out
    assert "网格: " in text and "街道: 桃源街道 (taoyuan)" in text and "区: 南山区 (440305)" in text
