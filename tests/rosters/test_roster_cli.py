"""``dispatch-console roster import | export | now | check``: output and exit codes, both backends."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from support.roster_fixtures import DAY, duty_room, staff_shift
from test_roster_io import messy_workbook

from db.engine import Database
from dispatch_console import rosters as roster
from dispatch_console.kernel.timefmt import local
from station.launcher import main


@pytest.fixture
def room(db: Database, system):  # type: ignore[no-untyped-def]
    return duty_room(db, system)


def url(db: Database) -> str:
    return db.url.render_as_string(hide_password=False)


def test_import_exit_codes(db, room, make_actor, tmp_path, capsys) -> None:
    make_actor("shift_leader", "leader-wang")
    make_actor("duty_officer", "officer-zhang")
    bad = messy_workbook(tmp_path / "r.xlsx")
    assert main(["--db", url(db), "roster", "import", str(bad)]) == 2  # nobody signed in
    assert main(["--db", url(db), "--user", "officer-zhang", "--password", "pw",
                 "roster", "import", str(bad)]) == 1  # may not import
    assert "may not import a roster" in capsys.readouterr().err
    assert main(["roster", "import", str(bad), "--db", url(db), "--user", "leader-wang", "--password", "pw"]) == 1
    out = capsys.readouterr()
    assert "7 roster rows stored, 7 rejected." in out.out
    assert "row 13: unknown person 无名氏" in out.err and "row 15: bad date 2026/13/45" in out.err

    good = tmp_path / "good.csv"
    good.write_text("日期,班次,岗位,姓名\n2026-11-29,白班,带班领导,王强\n", encoding="utf-8")
    assert main(["--db", url(db), "--user", "leader-wang", "--password", "pw", "roster", "import", str(good)]) == 0
    missing = tmp_path / "missing.csv"
    missing.write_text("no,header\n", encoding="utf-8")
    assert main(["--db", url(db), "--user", "leader-wang", "--password", "pw",
                 "roster", "import", str(missing)]) == 1


def test_export_and_bad_dates(db, room, system, tmp_path, capsys) -> None:
    roster.ensure_shifts(db, system, DAY, DAY)
    staff_shift(db, system, DAY, "day", room["王强"], room["张伟"], room["刘洋"])
    out = tmp_path / "out.csv"
    assert main(["--db", url(db), "roster", "export", str(out), "--from", "2026-11-27", "--to", "2026-11-27"]) == 0
    assert "3 roster rows" in capsys.readouterr().out
    assert out.read_text(encoding="utf-8-sig").splitlines()[1] == "2026-11-27,白班,带班领导,王强,13800000001"
    assert main(["--db", url(db), "roster", "export", str(out), "--from", "someday"]) == 2
    assert main(["--db", url(db), "roster", "export", str(out), "--from", "2026-11-28", "--to", "2026-11-27"]) == 2


def test_now_json_answers_the_shift_at_the_database_time(db, room, system, capsys) -> None:
    today = local(db.now()).date()
    roster.ensure_shifts(db, system, today - timedelta(days=1), today + timedelta(days=1))
    current = roster.shift_at(db)
    assert current is not None
    roster.assign(db, system, current.id, room["王强"], "shift_leader")
    roster.assign(db, system, current.id, room["张伟"], "duty_officer")
    assert main(["--db", url(db), "roster", "now", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["current"]["id"] == current.id
    assert data["current"]["leaders"] == [{"name": "王强", "phone": "13800000001", "role": "shift_leader"}]
    assert [p["name"] for p in data["current"]["officers"]] == ["张伟"]
    assert data["next"]["starts_at"] == current.ends_at.isoformat() and data["next"]["leaders"] == []
    assert main(["--db", url(db), "roster", "now"]) == 0
    text = capsys.readouterr().out
    assert "王强" in text and "13800000001" in text and "nobody rostered" in text


def test_check_exit_code_says_whether_there_are_conflicts(db, room, system, capsys) -> None:
    roster.ensure_shifts(db, system, DAY, DAY)
    assert main(["--db", url(db), "roster", "check", "--from", "2026-11-27", "--to", "2026-11-27", "--json"]) == 1
    kinds = {c["kind"] for c in json.loads(capsys.readouterr().out)}
    assert kinds == {"missing_leader", "short_staffed"}
    staff_shift(db, system, DAY, "day", room["王强"], room["张伟"], room["刘洋"])
    staff_shift(db, system, DAY, "night", room["李娜"], room["陈静"], room["赵磊"])
    assert main(["--db", url(db), "roster", "check", "--from", "2026-11-27", "--to", "2026-11-27"]) == 0
