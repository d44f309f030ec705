"""Checklist templates and the reporting policy: shipped files, matching, broken files, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dispatch_console.checklists import templates as ct
from dispatch_console.kernel.categories import shipped_catalog
from dispatch_console.kernel.config import Resources
from station.launcher import main as cli_main

SHIPPED_CODES = {"fire", "typhoon_flood", "mass_gathering", "wage_arrears", "work_safety", "gas_leak",
                 "missing_person", "public_health", "generic"}


def _write(folder: Path, name: str, text: str) -> Path:
    (folder / "checklists").mkdir(parents=True, exist_ok=True)
    path = folder / "checklists" / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """
code = "rental_fire_check"
name = "出租屋消防检查"
version = "1"

[match]
categories = ["rental_housing"]

[[steps]]
key = "verify"
text = "核实出租屋地址和房东联系方式"
role = "rental_office"
"""


def test_shipped_templates_and_policy_are_valid_and_complete() -> None:
    templates, errors = ct.load_templates(Resources())
    assert errors == []
    assert {t.code for t in templates} == SHIPPED_CODES
    known_categories = shipped_catalog().category_codes
    for t in templates:
        assert t.steps and all(s.text for s in t.steps)
        assert any(s.key == "follow_up" for s in t.steps), t.code  # 回访
        assert t.steps[-1].key == "close", t.code
        for rule in t.rules:
            assert set(rule.categories) <= known_categories, t.code
    policy, policy_errors = ct.load_reporting_policy(Resources())
    assert policy_errors == [] and policy is not None
    gravest = {s.key: s for s in policy.steps_for(1)}
    assert gravest["report_phone"].deadline_minutes == 30
    assert gravest["report_written"].deadline_minutes == 60
    assert {s.report_kind for s in policy.steps_for(2)} == set(ct.REPORT_KINDS)
    assert all(s.deadline_minutes is None for s in policy.steps_for(4))


@pytest.mark.parametrize(
    ("category", "severity", "description", "people", "expected"),
    [
        ("fire", 2, "城中村出租屋三楼起火，有浓烟", None, "fire"),
        ("fire", 2, "餐馆厨房液化气瓶起火", None, "gas_leak"),
        ("public_order", 3, "住户闻到楼道有燃气味", None, "gas_leak"),
        ("public_order", 3, "八旬老人在公园走失", None, "missing_person"),
        ("natural_disaster", 2, "山体滑坡", None, "typhoon_flood"),
        ("city_management", 3, "暴雨后桃源村路口水浸约半米", None, "typhoon_flood"),
        ("petition", 3, "工人集体讨薪", 30, "wage_arrears"),
        ("labor", 4, "劳动合同纠纷", None, "wage_arrears"),
        ("petition", 3, "业主反映物业问题", 12, "mass_gathering"),
        ("petition", 4, "业主反映物业问题", 2, "generic"),
        ("work_safety", 1, "工地脚手架坍塌", None, "work_safety"),
        ("public_health", 2, "学校多名学生腹泻", None, "public_health"),
        ("rental_housing", 4, "房东不退押金", None, "generic"),
    ],
)
def test_the_most_specific_template_wins(category: str, severity: int, description: str,
                                         people: int | None, expected: str) -> None:
    templates, _errors = ct.load_templates(Resources())
    best = ct.best_template(templates, category, severity, description, people)
    assert best is not None and best.code == expected


def test_a_severity_rule_is_more_specific_than_the_category_alone(tmp_path: Path) -> None:
    _write(tmp_path, "major_fire.toml", GOOD.replace("rental_fire_check", "major_fire")
           .replace('categories = ["rental_housing"]', 'categories = ["fire"]\nseverities = [1, 2]'))
    templates, errors = ct.load_templates(Resources(tmp_path))
    assert errors == []
    assert ct.best_template(templates, "fire", 1, "厂房起火").code == "major_fire"  # type: ignore[union-attr]
    assert ct.best_template(templates, "fire", 4, "垃圾桶起火").code == "fire"  # type: ignore[union-attr]


def _error_for(errors: list[ct.TemplateError], name: str) -> ct.TemplateError:
    found = [e for e in errors if e.path.endswith(name)]
    assert len(found) == 1, errors
    return found[0]


def test_broken_templates_are_reported_with_file_and_line_and_the_rest_still_load(tmp_path: Path) -> None:
    _write(tmp_path, "a_good.toml", GOOD)
    _write(tmp_path, "b_syntax.toml", 'code = "x"\nname = "坏"\nversion = 1.2.3\nsteps = []\n')
    unknown_role = GOOD.replace("rental_fire_check", "c_role").replace(
        'role = "rental_office"', 'role = "rental_office"\n\n[[steps]]\nkey = "two"\ntext = "第二步"\n'
                                  'role = "spaceship_crew"')
    _write(tmp_path, "c_role.toml", unknown_role)
    duplicate = GOOD.replace("rental_fire_check", "d_dup") + '\n[[steps]]\nkey = "verify"\ntext = "又一步"\n'
    _write(tmp_path, "d_dup.toml", duplicate)
    _write(tmp_path, "e_missing.toml", GOOD.replace("rental_fire_check", "e_missing").replace(
        'name = "出租屋消防检查"\n', ""))
    _write(tmp_path, "f_type.toml", GOOD.replace("rental_fire_check", "f_type").replace(
        'role = "rental_office"', 'role = "rental_office"\ndeadline_minutes = "soon"'))
    # A site's copy of a shipped file replaces it: here the fire template, broken.
    _write(tmp_path, "fire.toml", (Path(ct.resources_root()) / "checklists" / "fire.toml")
           .read_text(encoding="utf-8").replace("[match]", "[match\n"))

    templates, errors = ct.load_templates(Resources(tmp_path))

    codes = {t.code for t in templates}
    assert "rental_fire_check" in codes and "generic" in codes and "gas_leak" in codes
    assert codes.isdisjoint({"x", "c_role", "d_dup", "e_missing", "f_type", "fire"})
    syntax = _error_for(errors, "b_syntax.toml")
    assert (syntax.line, syntax.column) == (3, 14) and "syntax" in syntax.message
    role = _error_for(errors, "c_role.toml")
    assert role.line == unknown_role.splitlines().index('role = "spaceship_crew"') + 1
    assert "spaceship_crew" in role.message
    dup = _error_for(errors, "d_dup.toml")
    assert dup.line == len(duplicate.splitlines()) - 1 and "verify" in dup.message
    missing = _error_for(errors, "e_missing.toml")
    assert "name" in missing.message and missing.line == 1
    wrong_type = _error_for(errors, "f_type.toml")
    assert "deadline_minutes" in wrong_type.message
    assert _error_for(errors, "fire.toml").path.startswith(str(tmp_path))
    assert len(errors) == 6


def test_validate_command_exits_1_and_names_file_and_line(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path, "a_good.toml", GOOD)
    bad = _write(tmp_path, "bad_role.toml", GOOD.replace("rental_fire_check", "bad_role")
                 .replace("rental_office", "nobody"))
    assert cli_main(["checklists", "validate", "--config-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:" in err and "nobody" in err
    assert cli_main(["checklists", "validate", "--json", "--config-dir", str(tmp_path)]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and out["templates"] == len(SHIPPED_CODES) + 1
    assert out["errors"][0]["line"] == GOOD.splitlines().index('role = "rental_office"') + 1

    assert cli_main(["checklists", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {t["code"] for t in listed["templates"]} == SHIPPED_CODES
    assert cli_main(["checklists", "validate"]) == 0


def test_a_stricter_local_reporting_policy_overrides_the_shipped_one(tmp_path: Path) -> None:
    shipped = (Path(ct.resources_root()) / ct.REPORTING_POLICY).read_text(encoding="utf-8")
    local = tmp_path / "policies" / "reporting.toml"
    local.parent.mkdir()
    local.write_text(shipped.replace("deadline_minutes = 30", "deadline_minutes = 15")
                     .replace("deadline_minutes = 60\n\n[[levels.steps]]\nkey = \"report_followup\"",
                              "deadline_minutes = 35\n\n[[levels.steps]]\nkey = \"report_followup\"", 1),
                     encoding="utf-8")
    policy, errors = ct.load_reporting_policy(Resources(tmp_path))
    assert errors == [] and policy is not None
    steps = {s.key: s.deadline_minutes for s in policy.steps_for(1)}
    assert steps["report_phone"] == 15 and steps["report_written"] == 35
    assert {s.key: s.deadline_minutes for s in policy.steps_for(3)}["report_written"] == 120


def test_a_broken_local_policy_is_reported_and_the_shipped_one_used(tmp_path: Path) -> None:
    local = tmp_path / "policies" / "reporting.toml"
    local.parent.mkdir()
    local.write_text('version = "x"\n\n[[levels]]\nname = "只有一级"\nseverities = [1]\n\n'
                     '[[levels.steps]]\nkey = "report_phone"\nreport_kind = "report_first"\n'
                     'text = "电话首报"\ndeadline_minutes = 15\n', encoding="utf-8")
    policy, errors = ct.load_reporting_policy(Resources(tmp_path))
    assert policy is not None and policy.version == "2026.1"
    assert len(errors) == 1 and errors[0].path == str(local) and "1–4" in errors[0].message
