"""The shipped call-taking question sets, their walk and score, and `protocols validate`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dispatch_console.kernel.categories import shipped_catalog
from dispatch_console.kernel.config import Resources
from dispatch_console.protocols import load_sets, sets_for
from station.launcher import main as cli_main

CHECKLIST_CATEGORIES = ("fire", "gas_leak", "work_safety", "typhoon_flood", "missing_person", "public_health",
                        "mass_gathering", "wage_arrears", "generic")


def shipped() -> dict[str, object]:
    sets, errors = load_sets(Resources(), shipped_catalog().category_codes)
    assert errors == []
    return {s.code: s for s in sets}


def test_a_set_ships_for_each_checklist_category_and_every_category_finds_one() -> None:
    sets = shipped()
    assert set(CHECKLIST_CATEGORIES) <= set(sets)
    loaded, _errors = load_sets(Resources())
    for category in shipped_catalog().category_codes:
        assert sets_for(loaded, category), category  # the generic set at least
    assert [s.code for s in sets_for(loaded, "fire")][-1] == "generic"
    assert "gas_leak" in [s.code for s in sets_for(loaded, "fire")]


def test_the_gas_leak_set_tells_the_caller_to_close_the_valve_open_windows_and_leave_switches_alone() -> None:
    gas = load_sets(Resources())[0]
    qs = next(s for s in gas if s.code == "gas_leak")
    first = qs.questions[0].instruction or ""  # read out before anything else is asked
    for words in ("关闭燃气阀门", "门窗通风", "不要开关任何电器"):
        assert words in first


def test_answers_branch_score_and_suggest_a_severity() -> None:
    qs = next(s for s in load_sets(Resources())[0] if s.code == "gas_leak")
    # no more smell: the valve question is skipped
    calm = {"smell_now": "gone", "source": "pipe_home", "casualties": "none", "people_nearby": "few",
            "valve": "fire"}  # an answer to a question not asked does not count
    assert [q.key for q, _c in qs.walk(calm)] == ["smell_now", "source", "casualties", "people_nearby"]
    assert qs.score(calm) == 5
    assert qs.suggested_severity(calm) == 4
    bad = {"smell_now": "strong", "valve": "cannot", "source": "street_pipe", "casualties": "unconscious",
           "people_nearby": "crowded"}
    assert qs.score(bad) == 100
    assert qs.suggested_severity(bad) == 1
    assert qs.complete(bad) and not qs.complete({"smell_now": "strong"})


BROKEN = """code = "bad"
name = "坏的问询"
version = 1
categories = ["fire"]

[[questions]]
key = "first"
text = "第一个问题"

[[questions.choices]]
key = "yes"
text = "是"
weight = 5
next = "end"
"""


@pytest.mark.parametrize(("text", "line", "reason"), [
    (BROKEN.replace('next = "end"', 'next = "first"'), 14, "later question"),   # a loop back
    (BROKEN.replace('weight = 5', 'weight = "heavy"'), 13, "wrong type"),
    (BROKEN.replace('categories = ["fire"]', 'categories = ["volcano"]'), 4, "volcano"),
    (BROKEN.replace('[[questions.choices]]', '[[questions.choices]\n'), 10, "TOML"),
    (BROKEN.replace('next = "end"\n', 'next = "end"\ncolour = "red"\n'), 15, "colour"),
])
def test_validate_names_the_broken_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 text: str, line: int, reason: str) -> None:
    (tmp_path / "protocols").mkdir()
    (tmp_path / "protocols" / "bad.toml").write_text(text, encoding="utf-8")
    assert cli_main(["protocols", "validate", "--config-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"bad.toml:{line}" in err and reason in err
    # the shipped sets still load beside the broken one
    assert cli_main(["protocols", "validate", "--json", "--config-dir", str(tmp_path)]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["sets"] == 9 and len(out["errors"]) == 1


def test_the_shipped_files_validate(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["protocols", "validate"]) == 0
    assert cli_main(["protocols", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert {s["code"] for s in listed["sets"]} >= set(CHECKLIST_CATEGORIES)
    assert any(c["name"] == "火灾Ⅱ级" for c in listed["run_cards"])


def test_a_broken_run_card_is_named_with_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "run_cards.toml").write_text(
        'version = 1\n\n[[cards]]\ncategory = "fire"\nname = "火"\nunits = { fire_station = 2 }\n\n'
        '[[cards]]\ncategory = "fire"\nname = "火2"\nunits = { dragon_riders = 1 }\n', encoding="utf-8")
    assert cli_main(["protocols", "validate", "--config-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "run_cards.toml:11" in err and "dragon_riders" in err
