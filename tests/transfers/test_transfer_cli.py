"""``transfer send | inbox | accept | refuse | list | poll`` between two duty rooms (both backends)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from support.two_rooms import Room

from db.models import Case, Incident
from dispatch_console.cases import service as cases
from dispatch_console.cases.parties import PartyDraft
from station.launcher import main


def _run(room: Room, *args: str, login: bool = True) -> int:
    who = ["--user", room.street.officer.username or "", "--password", "pw"] if login else []
    return main(["--db", room.url, "--config-dir", str(room.config_dir), "--lang", "en", *who, *args])


def _json(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_send_inbox_accept_refuse_and_list(rooms: tuple[Room, Room], capsys: pytest.CaptureFixture[str]) -> None:
    taoyuan, district = rooms
    first = taoyuan.street.report("辖区交界处道路塌陷", category="city_management", address="茶光路与沙河西路交界")
    second = taoyuan.street.report("外区居民来访反映噪音", category="dispute")
    with taoyuan.db.read() as s:
        numbers = [s.execute(select(Incident.number).where(Incident.id == i)).scalar_one() for i in (first, second)]
    for number in numbers:
        assert _run(taoyuan, "transfer", "send", number, "--to", "district", "--note", "请区里协调") == 0
    out = capsys.readouterr().out
    assert "sent to 区总值班室" in out

    assert _run(district, "transfer", "inbox", "--json", login=False) == 0
    rows = {r["sender_number"]: r for r in _json(capsys)}
    assert {r["status"] for r in rows.values()} == {"pending"} and set(rows) == set(numbers)
    assert rows[numbers[0]]["address"] == "茶光路与沙河西路交界" and rows[numbers[0]]["room"] == "taoyuan"

    assert _run(district, "transfer", "accept", str(rows[numbers[0]]["id"]), "--note", "已受理") == 0
    assert "accepted: incident" in capsys.readouterr().out
    assert _run(district, "transfer", "refuse", str(rows[numbers[1]]["id"]), "--note", "不属本区管辖") == 0
    assert _run(district, "transfer", "refuse", str(rows[numbers[1]]["id"])) == 1  # decided already: one line
    err = capsys.readouterr().err
    assert "refused already" in err and "Traceback" not in err

    assert _run(taoyuan, "transfer", "list", "--json", login=False) == 0
    listed = {r["sender_number"]: r for r in _json(capsys)}
    assert listed[numbers[0]]["status"] == "accepted" and listed[numbers[0]]["receiver_number"]
    assert listed[numbers[1]]["status"] == "refused" and listed[numbers[1]]["reason"] == "不属本区管辖"
    assert _run(taoyuan, "transfer", "list", login=False) == 0
    text = capsys.readouterr().out
    assert "区总值班室" in text and "不属本区管辖" in text


def test_an_unknown_room_or_number_is_one_line(rooms: tuple[Room, Room], capsys: pytest.CaptureFixture[str]) -> None:
    taoyuan, _district = rooms
    incident_id = taoyuan.street.report("测试")
    with taoyuan.db.read() as s:
        number = s.execute(select(Incident.number).where(Incident.id == incident_id)).scalar_one()
    assert _run(taoyuan, "transfer", "send", number, "--to", "nowhere") == 1
    assert _run(taoyuan, "transfer", "send", "TY-00000000-9999", "--to", "district") == 1
    drill_id = taoyuan.street.report("演练：交界处化学品泄漏", drill=True)
    with taoyuan.db.read() as s:
        drill = s.execute(select(Incident.number).where(Incident.id == drill_id)).scalar_one()
    assert _run(taoyuan, "transfer", "send", drill, "--to", "district") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and "nowhere" in err[0] and "TY-00000000-9999" in err[1] and "drill" in err[2]
    assert _run(taoyuan, "transfer", "poll", login=False) == 0
    assert "0 taken" in capsys.readouterr().out


def test_a_case_by_its_number_and_the_exchange_setup_needs_an_administrator(
        rooms: tuple[Room, Room], capsys: pytest.CaptureFixture[str]) -> None:
    taoyuan, district = rooms
    case_id = cases.open_case(taoyuan.db, taoyuan.street.officer, cases.CaseDraft(
        kind="petition", title="外区居民反映拆迁补偿", parties=(PartyDraft("赵六", "applicant", "13600000000"),)))
    with taoyuan.db.read() as s:
        number = s.execute(select(Case.number).where(Case.id == case_id)).scalar_one()
    assert _run(taoyuan, "transfer", "send", number, "--to", "district") == 0
    assert number in capsys.readouterr().out
    assert _run(district, "transfer", "inbox", "--json", login=False) == 0
    [row] = _json(capsys)
    assert (row["subject"], row["sender_number"], row["description"]) == ("case", number, "外区居民反映拆迁补偿")
    assert _run(district, "transfer", "accept", str(row["id"])) == 0
    assert "accepted: case" in capsys.readouterr().out
    assert _run(taoyuan, "transfer", "exchange-setup", "district") == 1  # a duty officer may not
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "set up the transfer exchange" in err[0]
