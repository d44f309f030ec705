"""``dispatch-console cases …``: the command line over the same services; the ledger as xlsx."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from support.case_world import make_case_world

from db.base import Base
from db.engine import Database
from db.migrate import alembic_config, upgrade
from dispatch_console.cases.parties import make_id_number
from dispatch_console.kernel.actor import Actor
from station.launcher import main

ID_OK = make_id_number("44030519850615002")


def _cli(db: Database, actor: Actor | None, *args: str) -> int:
    who = ["--user", actor.username, "--password", "pw"] if actor else []
    return main(["--db", db.url.render_as_string(hide_password=False), "--station", "ws-1", *who, "cases", *args])


def test_open_mediate_visit_show_and_list_from_the_command_line(
        db: Database, make_actor: Callable[..., Actor], capsys: pytest.CaptureFixture[str]) -> None:
    make_case_world(db)
    officer = make_actor("duty_officer", "officer-li")
    assert _cli(db, officer, "open", "--kind", "dispute", "--title", "=HYPERLINK(\"x\") 楼道堆物纠纷",
                "--grid", "G1", "--subtype", "neighbour", "--unit", "SFS",
                "--party", f"applicant:张三:13800138000:{ID_OK}", "--party", "respondent:-李四", "--json") == 0
    opened = json.loads(capsys.readouterr().out)
    number = opened["number"]
    assert number.startswith("TYJ-") and opened["parties"][0]["id_number"] == "440***********" + ID_OK[-4:]
    assert _cli(db, officer, "visit", number, "--result", "performed") == 1
    assert "no agreement" in capsys.readouterr().err
    assert _cli(db, officer, "mediate", number, "--mediator", "王调解", "--outcome", "mediated",
                "--agreement", "三日内清理楼道", "--term", "清理楼道@2026-12-10") == 0
    assert _cli(db, officer, "visit", number, "--result", "performing", "--satisfaction", "satisfied") == 0
    capsys.readouterr()
    assert _cli(db, None, "show", number, "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "agreed" and shown["agreement"]["terms"][0]["text"] == "清理楼道"
    assert [v["result"] for v in shown["follow_ups"]] == ["performing", None]
    assert {d["kind"] for d in shown["deadlines"]} == {"case_follow_up", "case_judicial"}
    assert _cli(db, None, "list", "--kind", "dispute", "--json") == 0
    assert [r["number"] for r in json.loads(capsys.readouterr().out)] == [number]
    assert _cli(db, None, "list", "--overdue", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []


def test_bad_input_on_the_command_line_is_one_line_with_the_reason(
        db: Database, make_actor: Callable[..., Actor], capsys: pytest.CaptureFixture[str]) -> None:
    make_case_world(db)
    officer = make_actor("duty_officer")
    assert _cli(db, officer, "open", "--kind", "dispute", "--title", "纠纷", "--party",
                "applicant:张三::440305198506150021") == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "party 1" in err and "check digit" in err and "Traceback" not in err
    assert _cli(db, officer, "open", "--kind", "petition", "--title", "信访") == 0
    capsys.readouterr()
    assert _cli(db, officer, "reply", "TYX-", "--text", "x") == 1
    assert _cli(db, None, "export", "--month", "2026-13", "x.xlsx") == 2
    assert "YYYY-MM" in capsys.readouterr().err


def test_the_monthly_ledger_opens_in_openpyxl_with_one_row_per_case_and_safe_cells(
        db: Database, make_actor: Callable[..., Actor], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_case_world(db)
    officer = make_actor("duty_officer")
    for title in ("=1+2 邻里纠纷", "@SUM(A1) 物业纠纷", "-3 劳资纠纷"):
        assert _cli(db, officer, "open", "--kind", "dispute", f"--title={title}", "--party", "applicant:+张三") == 0
    assert _cli(db, officer, "open", "--kind", "petition", "--title", "征地补偿") == 0
    capsys.readouterr()
    assert _cli(db, None, "list", "--json") == 0
    month = json.loads(capsys.readouterr().out)[0]["created_at"][:7]
    out = tmp_path / "ledger.xlsx"
    assert _cli(db, None, "export", "--month", month, str(out)) == 0
    wb = openpyxl.load_workbook(out, read_only=True)
    rows = list(wb.active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert len(rows) == 1 + 4
    titles = [r[3] for r in rows[1:]]
    assert titles == ["'=1+2 邻里纠纷", "'@SUM(A1) 物业纠纷", "'-3 劳资纠纷", "征地补偿"]
    assert rows[1][5] == "'+张三"
    other = "2001-01" if month != "2001-01" else "2002-01"
    assert _cli(db, None, "export", "--month", other, str(tmp_path / "empty.xlsx")) == 0
    assert len(list(openpyxl.load_workbook(tmp_path / "empty.xlsx", read_only=True).active.iter_rows())) == 1  # type: ignore[union-attr]


def test_migration_0009_matches_the_models_and_goes_down_and_up(db: Database) -> None:
    tables = {"case_file", "case_party", "case_incident", "case_session", "case_term", "case_visit", "case_event"}
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if any(t in repr(d) for t in (*tables, "ix_timer_case_id"))] == []
    command.downgrade(alembic_config(db), "0008")
    assert not tables & set(sa.inspect(db.engine).get_table_names())
    assert "case_id" not in {c["name"] for c in sa.inspect(db.engine).get_columns("timer")}
    upgrade(db)
    assert tables <= set(sa.inspect(db.engine).get_table_names())
