"""Drill scenario files: the three shipped ones validate and land on the demo map; a broken file
is reported with its file and line; the ``drill`` commands validate, list, run and report."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import test_drills
from shapely.geometry import Point

from db.engine import Database
from dispatch_console.demo.plan import UNITS, build_jurisdiction
from dispatch_console.drills.scenario import ScenarioError, load_scenario, shipped_scenarios
from dispatch_console.kernel.config import Resources, resources_root
from station.launcher import main as cli_main

drill_world = test_drills.drill_world
quick_escalation = test_drills.quick_escalation


def test_the_shipped_scenarios_validate_and_land_on_the_demo_map() -> None:
    scenarios = [load_scenario(p) for p in shipped_scenarios(Resources())]
    assert {s.code for s in scenarios} == {"typhoon_haikui", "wage_arrears_petition", "factory_fire"}
    district = next(f for f in json.loads((resources_root() / "geo" / "shenzhen_districts.geojson")
                                          .read_text(encoding="utf-8"))["features"]
                    if "南山" in json.dumps(f["properties"], ensure_ascii=False))
    _areas, shapes = build_jurisdiction(district["geometry"])
    units = {code for code, *_rest in UNITS}
    for scenario in scenarios:
        kinds = {i.kind for i in scenario.injects}
        assert kinds == {"incident", "update", "unit_unavailable"}, scenario.code
        assert scenario.objectives and scenario.participants
        assert any(e.action == "acknowledge" and e.within_s == 60 for i in scenario.injects for e in i.expect)
        for inject in scenario.injects:
            if inject.unit:
                assert inject.unit in units, inject.key
            grid = inject.fields.get("grid")
            if grid:
                point = Point(inject.fields["lon"], inject.fields["lat"])
                assert shapes[grid].buffer(1e-4).contains(point), (scenario.code, inject.key, grid)


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_a_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    text = test_drills.SCENARIO.replace('severity = 1\n', 'severity = = 1\n')
    path = test_drills.write_scenario(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    (problem,) = caught.value.problems
    assert problem.file == str(path) and problem.line == _line_of(text, "severity = = 1")
    assert f"{path}:{problem.line}: TOML syntax error" in str(caught.value)
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads(text)


def test_schema_errors_point_at_the_offending_keys_line(tmp_path: Path) -> None:
    text = (test_drills.SCENARIO
            .replace('severity = 1\n', 'severity = 7\n')  # the second inject
            .replace('  step = "verify"\n', '  step = "verfiy"\n')
            .replace('target = "fire"\n', 'target = "flood"\n')
            .replace('  within = "10m"\n', '  within = "soon"\n')
            .replace('duty = "导调"\n', 'duty = "导调"\nshift = "night"\n'))
    path = test_drills.write_scenario(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    lines = {p.line: p.message for p in caught.value.problems}
    assert "Severity" in lines[_line_of(text, "severity = 7")]
    assert "target" in lines[_line_of(text, 'target = "flood"')]
    assert "duration" in lines[_line_of(text, 'within = "soon"')]
    assert "shift" in lines[_line_of(text, 'shift = "night"')]
    # the step typo is found once the file is otherwise right, against the fire checklist's steps
    fixed = text.replace("severity = 7", "severity = 1").replace('"flood"', '"fire"').replace('"soon"', '"10m"')
    fixed = fixed.replace('shift = "night"\n', "")
    path = test_drills.write_scenario(tmp_path, fixed)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    (problem,) = caught.value.problems
    assert problem.line == _line_of(fixed, 'step = "verfiy"') and "verify" in problem.message


def test_drill_commands_validate_run_and_report(drill_world: test_drills.DrillWorld, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    w = drill_world
    url = w.db.url.render_as_string(hide_password=False)
    broken = test_drills.write_scenario(tmp_path, test_drills.SCENARIO.replace('kind = "update"', 'kind = "upd"'),
                                        "broken.toml")
    assert cli_main(["drill", "validate", str(w.scenario_path), str(broken)]) == 1
    out, err = capsys.readouterr()
    assert "ok (测试演练：厂房火灾, 4 injects)" in out
    line = _line_of(broken.read_text(encoding="utf-8"), 'kind = "upd"')
    assert f"{broken}:{line}: kind must be" in err

    assert cli_main(["--db", url, "drill", "run", str(w.scenario_path), "--speed", "900"]) == 2  # who?
    capsys.readouterr()
    code = cli_main(["--db", url, "--user", w.director.username, "--password", "pw", "--station", "cli",
                     "drill", "run", str(w.scenario_path), "--speed", "900", "--interval", "0.02"])
    out, _err = capsys.readouterr()
    assert code == 0 and "inject fire" in out and "inject militia_out" in out
    run_id = int(out.split("Drill run ", 1)[1].split(" ", 1)[0])
    assert cli_main(["--db", url, "drill", "report", str(run_id), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "finished" and len(report["injects"]) == 4
    assert [r["run_id"] for r in report["comparison"]] == [run_id]
    assert report["escalation_count"] >= 1  # nobody answered the crowd in the drill
    assert cli_main(["--db", url, "drill", "report", str(run_id)]) == 0
    text = capsys.readouterr().out
    assert "After-action report: 测试演练：厂房火灾" in text and "Runs of this scenario:" in text
    assert cli_main(["--db", url, "drill", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {s["code"] for s in listed["scenarios"]} >= {"factory_fire", "typhoon_haikui"}
    assert listed["runs"][0]["id"] == run_id


def test_a_run_needs_the_drill_role(db: Database, make_actor, tmp_path: Path,  # type: ignore[no-untyped-def]
                                    capsys: pytest.CaptureFixture[str]) -> None:
    officer = make_actor("duty_officer")
    path = test_drills.write_scenario(tmp_path)
    url = db.url.render_as_string(hide_password=False)
    assert cli_main(["--db", url, "--user", officer.username, "--password", "pw", "drill", "run", str(path)]) == 1
    assert "may not run a drill" in capsys.readouterr().err
