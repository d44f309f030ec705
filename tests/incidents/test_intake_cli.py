"""``dispatch-console intake``: every rule refuses its line with the line number; good lines stay."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from db.engine import Database
from dispatch_console.incidents import service as incidents
from station.launcher import main

GOOD = {"category": "fire", "severity": 2, "source": "video_alarm", "description": "仓库冒烟"}


def line(**changes: Any) -> str:
    data = {**GOOD, **changes}
    return json.dumps({k: v for k, v in data.items() if v is not ...}, ensure_ascii=False)


class Cli:
    def __init__(self, db: Database, user: str, capsys: pytest.CaptureFixture[str],
                 monkeypatch: pytest.MonkeyPatch) -> None:
        self.url = db.url.render_as_string(hide_password=False)
        self.user, self.capsys, self.monkeypatch = user, capsys, monkeypatch

    def __call__(self, *args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
        if stdin is not None:
            self.monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
        self.capsys.readouterr()
        code = main(["--db", self.url, "--user", self.user, "--password", "pw", *args])
        out, err = self.capsys.readouterr()
        return code, out, err

    def intake(self, *lines: str | bytes) -> tuple[int, str, str]:
        data = b"\n".join(x if isinstance(x, bytes) else x.encode("utf-8") for x in lines) + b"\n"
        return self("intake", "-", stdin=data)


@pytest.fixture
def cli(db: Database, make_actor, capsys, monkeypatch) -> Cli:  # type: ignore[no-untyped-def]
    return Cli(db, make_actor("integration").username, capsys, monkeypatch)


def stored(db: Database) -> list[incidents.IncidentRow]:
    return list(incidents.query_incidents(db).rows)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ('{"category": "fire", "severity": 2,', "Not valid JSON"),
        ('["fire", 2]', "Expected a JSON object"),
        (line(category="arson"), "Unknown category arson"),
        (line(source="twitter"), "Unknown source twitter"),
        (line(severity=5), "Severity must be a whole number from 1 to 4, not 5"),
        (line(severity=0), "Severity must be a whole number from 1 to 4"),
        (line(severity="2"), "Severity must be a whole number from 1 to 4"),
        (line(severity=2.5), "Severity must be a whole number from 1 to 4"),
        (line(severity=True), "Severity must be a whole number from 1 to 4"),
        (line(description=...), "Missing field(s): description"),
        (line(description="   "), "A description is required"),
        (line(description="x" * 4001), "Description is 4001 characters long; at most 4000"),
        (line(address="x" * 501), "Address is 501 characters long; at most 500"),
        (line(reporter_name="x" * 101), "Reporter name is 101 characters long; at most 100"),
        (line(reporter_phone="1" * 33), "Reporter phone is 33 characters long; at most 32"),
        (line(reporter_phone="call me maybe"), "call me maybe does not look like a phone number"),
        (line(lon=181.0, lat=22.5), "Longitude 181.0 is not a number between -180 and 180"),
        (line(lon=113.9, lat=-91), "Latitude -91 is not a number between -90 and 90"),
        (line(lon=113.9), "Give both longitude and latitude"),
        ('{"category":"fire","severity":2,"source":"walk_in","description":"x","lon":NaN,"lat":1}',
         "Not valid JSON"),
        (line(description="a\x00b"), "Description contains a control character (U+0000)"),
        (line(address="桃源村\x1b[31m"), "Address contains a control character (U+001B)"),
        (line(reporter_name="张\u0085三"), "Reporter name contains a control character (U+0085)"),
        (line(grid="no-such-grid"), "Unknown grid no-such-grid"),
        (line(people_count=-1), "The number of people must be a whole number of 0 or more"),
        (line(reported_at="yesterday"), "reported_at: yesterday is not an ISO 8601"),
        (line(is_drill="yes"), "is_drill must be true or false"),
        (line(colour="red"), "Unknown field(s): colour"),
    ],
)
def test_each_bad_line_is_refused_with_its_number_and_reason(cli: Cli, db: Database, bad: str, reason: str) -> None:
    code, out, err = cli.intake(line(description="第一行"), bad, line(description="第三行"))
    assert code == 1
    assert f"line 2: {reason}" in err
    assert "line 1" not in err and "line 3" not in err
    assert "2 stored, 0 duplicates, 1 rejected." in out
    assert sorted(r.description for r in stored(db)) == ["第一行", "第三行"]


def test_invalid_utf8_spoils_only_its_own_line(cli: Cli, db: Database) -> None:
    broken = line(description="坏字节").encode("utf-8").replace("坏".encode(), b"\xff\xfe")
    code, _out, err = cli.intake(line(description="前"), broken, line(description="后"))
    assert code == 1 and "line 2: Not valid UTF-8" in err
    assert sorted(r.description for r in stored(db)) == ["前", "后"]


def test_blank_lines_are_ignored_and_line_numbers_count_them(cli: Cli, db: Database) -> None:
    code, out, err = cli.intake(line(), "", "   ", line(category="nope"), line())
    assert code == 1 and "line 4: Unknown category nope" in err
    assert "2 stored, 0 duplicates, 1 rejected." in out


def test_all_good_lines_exit_zero_and_every_field_is_kept(cli: Cli, db: Database) -> None:
    full = line(address="桃源村12栋", lon=113.95, lat=22.58, reporter_name="张三", reporter_phone="138 0013 8000",
                people_count=3, reported_at="2026-11-27T08:30:00+08:00", external_id="VID-1", is_drill=True)
    code, out, err = cli.intake(full, line(reported_at="2026-11-27 09:00:00"))
    assert (code, err) == (0, "") and "2 stored, 0 duplicates, 0 rejected." in out
    detail = incidents.get_incident(db, stored(db)[0].number)
    r = detail.row
    assert (r.address, r.lon, r.lat, r.reporter_name, r.reporter_phone, r.people_count, r.is_drill) == (
        "桃源村12栋", 113.95, 22.58, "张三", "138 0013 8000", 3, True)
    assert detail.external_id == "VID-1" and r.source == "video_alarm" and r.severity == 2
    assert r.reported_at is not None and r.reported_at.isoformat() == "2026-11-27T00:30:00+00:00"
    naive = next(x for x in stored(db) if x.id != r.id)
    assert naive.reported_at is not None and naive.reported_at.hour == 1  # 09:00 Shanghai is 01:00 UTC


def test_a_repeated_external_id_is_a_duplicate_not_an_error(cli: Cli, db: Database) -> None:
    code, out, err = cli.intake(line(external_id="12345-88"), line(external_id="12345-88"))
    assert (code, err) == (0, "")
    assert "line 2: duplicate of" in out and "1 stored, 1 duplicates, 0 rejected." in out
    code, out, err = cli.intake(line(external_id="12345-88"))
    assert code == 0 and "line 1: duplicate of" in out
    assert len(stored(db)) == 1


def test_intake_reads_a_file_with_a_byte_order_mark(cli: Cli, db: Database, tmp_path: Path) -> None:
    path = tmp_path / "hotline.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + line().encode() + b"\r\n" + line(severity=9).encode() + b"\r\n")
    code, out, err = cli("intake", str(path))
    assert code == 1 and "line 2: Severity" in err and "1 stored" in out


def test_intake_needs_a_user_who_may_record(db: Database, make_actor, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    observer = Cli(db, make_actor("observer").username, capsys, monkeypatch)
    code, _out, err = observer.intake(line())
    assert code == 1 and "may not record an incident" in err
    url = db.url.render_as_string(hide_password=False)
    monkeypatch.delenv("DISPATCH_USER", raising=False)
    monkeypatch.delenv("DISPATCH_PASSWORD", raising=False)
    assert main(["--db", url, "intake", "-"]) == 2
    assert stored(db) == []


def test_a_missing_file_is_a_usage_error(cli: Cli) -> None:
    code, _out, err = cli("intake", "/no/such/file.jsonl")
    assert code == 2 and "No such file" in err
