"""``warnings list | handle | dismiss | respond`` from the command line (both backends)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.street import OVER_BEIJING, Street, cap_message, make_street

from db.engine import Database
from dispatch_console import warnings
from dispatch_console.warnings.evaluate import evaluate_pending
from station.launcher import main


@pytest.fixture
def street(db: Database) -> Street:
    s = make_street(db)
    evaluate_pending(db, "agent")
    return s


def _run(db_url: str, who: Street | None, *args: str) -> int:
    login = ["--user", who.leader.username or "", "--password", "pw"] if who else []
    return main(["--db", db_url, "--lang", "en", *login, *args])


def test_list_shows_rule_warnings_and_official_ones_with_their_state(
        street: Street, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    street.report("8人聚集讨要工资", category="labor", people=8)
    evaluate_pending(street.db, "agent")
    (tmp_path / "a.xml").write_bytes(cap_message())
    (tmp_path / "b.xml").write_bytes(cap_message("BJ-1", polygon=OVER_BEIJING, headline="北京市气象台发布大风蓝色预警"))
    assert _run(db_url, street, "cap", "import", str(tmp_path)) == 0
    capsys.readouterr()
    assert _run(db_url, None, "warnings", "list", "--json") == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_kind = {(x["kind"], x["rule"] if x["kind"] == "warning" else x["cap"]["identifier"]): x for x in lines}
    group = by_kind[("warning", "group_incident")]
    assert group["state"] == "raised" and group["target_role"] == "shift_leader" and len(group["incidents"]) == 1
    official = by_kind[("warning", "cap")]["cap"]
    assert official["identifier"] == "GD-SZ-2026-0001" and official["sender"] == "sz-weather@gd.cma.cn"
    assert official["event"] == "台风" and official["headline"] == "深圳市气象台发布台风黄色预警信号"
    assert official["covers_street"] is True and official["state"] == "active" and "桃源街道" in official["areas"]
    elsewhere = by_kind[("cap", "BJ-1")]["cap"]
    assert elsewhere["covers_street"] is False and elsewhere["headline"] == "北京市气象台发布大风蓝色预警"
    assert _run(db_url, None, "warnings", "list") == 0
    text = capsys.readouterr().out
    assert "深圳市气象台发布台风黄色预警信号" in text and "BJ-1" in text


def test_handle_dismiss_and_respond(street: Street, db_url: str, capsys: pytest.CaptureFixture[str],
                                    tmp_path: Path) -> None:
    street.report("6人聚集", category="mass_gathering", people=6)
    street.report("7人聚集", category="mass_gathering", people=7)
    evaluate_pending(street.db, "agent")
    first, second = sorted(w.id for w in warnings.list_warnings(street.db))
    assert _run(db_url, street, "warnings", "handle", str(first), "--note", "维稳办已到场") == 0
    assert _run(db_url, street, "warnings", "dismiss", str(second), "--note", "  ") == 1
    err = capsys.readouterr().err
    assert "note" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert _run(db_url, street, "warnings", "dismiss", str(second), "--note", "与上一条为同一批人") == 0
    assert _run(db_url, street, "warnings", "handle", "999", "--note", "x") == 1
    capsys.readouterr()
    assert _run(db_url, None, "warnings", "list", "--open", "--json") == 0
    assert capsys.readouterr().out.strip() == ""
    (tmp_path / "a.xml").write_bytes(cap_message())
    _run(db_url, street, "cap", "import", str(tmp_path / "a.xml"))
    (official,) = [w for w in warnings.list_warnings(street.db, open_only=True)]
    capsys.readouterr()
    assert _run(db_url, street, "warnings", "respond", str(official.id)) == 0
    out = capsys.readouterr().out
    responded = warnings.get_warning(street.db, official.id)
    assert responded.response_incident_id is not None
    assert responded.incident_numbers[0] in out and "checklist" in out
