"""Roster import from messy Excel and CSV files, export, and the round trip, on both backends."""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from support.roster_fixtures import DAY, duty_room

from db.engine import Database
from dispatch_console import rosters as roster
from dispatch_console.kernel.errors import PermissionDenied
from dispatch_console.rosters import files as roster_io

NEXT = DAY + timedelta(days=1)


@pytest.fixture
def room(db: Database, system):  # type: ignore[no-untyped-def]
    return duty_room(db, system)



def messy_workbook(path: Path) -> Path:
    """A roster as a duty room really sends it: title rows, a merged two-row header, merged dates,
    blank lines, dates as text / serial / date cells, full-width characters and bad rows."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["桃源街道总值班室2026年11月排班表"])  # row 1, merged A1:E1
    ws.merge_cells("A1:E1")
    ws.append(["制表：综治办", None, None, "2026-11-20"])  # row 2
    ws.append(["日期", "班次", "岗位", "姓名", "联系电话"])  # row 3, merged down to row 4
    ws.append([None, None, None, None, None])  # row 4
    for col in "ABCDE":
        ws.merge_cells(f"{col}3:{col}4")
    ws.append([datetime(2026, 11, 27), "白班", "带班领导", "王强", 13800000001])  # row 5, date merged to 7
    ws.append([None, "白班", "值班员", "张 伟", "13800000003"])  # 6
    ws.append([None, "day", "duty_officer", "刘洋", None])  # 7
    ws.merge_cells("A5:A7")
    ws.append([])  # 8 blank
    ws.append(["２０２６－１１－２７", "夜班", "带班领导", "李娜", None])  # 9 full-width date
    ws.append(["2026年11月27日", "ｎｉｇｈｔ", "值班员", "陈静", ""])  # 10 full-width shift code
    ws.append([46353, "夜班", "值班员", "周敏", "139 0000 0008"])  # 11 Excel serial = 2026-11-27
    ws.append([None, None, None, None, None])  # 12 blank
    ws.append(["2026/11/28", "白班", "值班员", "无名氏", None])  # 13 unknown person
    ws.append(["2026/11/28", "早班", "值班员", "赵磊", None])  # 14 unknown shift
    ws.append(["2026/13/45", "白班", "值班员", "赵磊", None])  # 15 bad date
    ws.append(["2026/11/28", "白班", "司机", "赵磊", None])  # 16 unknown role
    ws.append(["2026-11-27", "白班", "值班员", "刘洋", None])  # 17 duplicate of row 7
    ws.append(["2026-11-28", "白班", "带班领导", "张伟", None])  # 18 may not serve as leader
    ws.append(["2026-11-28", "白班", "值班员", "周敏", None])  # 19 two people called 周敏
    ws.append(["2026-11-28", "夜班", "值班员", "赵磊", "13800000006"])  # 20 good
    wb.save(path)
    return path


def test_messy_xlsx_stores_good_rows_and_reports_each_bad_one(db, room, leader, tmp_path) -> None:
    result = roster_io.import_roster(db, leader, messy_workbook(tmp_path / "排班.xlsx"))
    reasons = {e.row: e.reason for e in result.rejected}
    assert sorted(reasons) == [13, 14, 15, 16, 17, 18, 19]
    assert "unknown person 无名氏" in reasons[13]
    assert "unknown shift 早班" in reasons[14]
    assert "bad date 2026/13/45" in reasons[15]
    assert "unknown role 司机" in reasons[16]
    assert "duplicate of row 7" in reasons[17]
    assert "may not serve" in reasons[18]
    assert "add the phone number" in reasons[19]
    assert result.stored == 7 and not result.ok
    got = {(sh.day, sh.code, e.role, e.person_name, e.phone) for sh in roster.shifts(db, DAY, NEXT)
           for e in roster.roster(db, DAY, NEXT) if e.shift_id == sh.id}
    assert got == {
        ("2026-11-27", "day", "shift_leader", "王强", "13800000001"),
        ("2026-11-27", "day", "duty_officer", "张伟", "13800000003"),
        ("2026-11-27", "day", "duty_officer", "刘洋", "13800000004"),
        ("2026-11-27", "night", "shift_leader", "李娜", "13800000002"),
        ("2026-11-27", "night", "duty_officer", "陈静", "13800000005"),
        ("2026-11-27", "night", "duty_officer", "周敏", "13900000008"),
        ("2026-11-28", "night", "duty_officer", "赵磊", "13800000006"),
    }
    assert all(e.reason == "imported from 排班.xlsx" for e in roster.roster(db, DAY, NEXT))


def test_messy_csv_in_gb18030_with_title_rows(db, room, leader, tmp_path) -> None:
    path = tmp_path / "roster.csv"
    lines = [["2026年排班", "", ""], [], ["值班日期", "班别", "岗位 role", "姓名 name", "电话"],
             ["20261127", "白班", "shift_leader", "王强", ""], ["", "", "", "", ""],
             ["46353", "Day", "Duty officer", "赵磊", ""], ["2026.11.27", "白班", "值班员", "周敏", "1390000000"]]
    with path.open("w", encoding="gb18030", newline="") as fh:
        csv.writer(fh).writerows(lines)
    result = roster_io.import_roster(db, leader, path)
    assert result.stored == 2
    assert [(e.row, e.reason) for e in result.rejected] == [(7, "no 周敏 with phone 1390000000")]


def test_file_without_header_is_refused(db, room, leader, tmp_path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    with pytest.raises(roster_io.RosterFileError, match="no header row"):
        roster_io.import_roster(db, leader, path)


def test_import_needs_the_import_permission(db, room, make_actor, tmp_path) -> None:
    with pytest.raises(PermissionDenied):
        roster_io.import_roster(db, make_actor("duty_officer"), messy_workbook(tmp_path / "r.xlsx"))


def test_reimporting_rows_already_on_the_roster_reports_them(db, room, leader, tmp_path) -> None:
    path = messy_workbook(tmp_path / "r.xlsx")
    roster_io.import_roster(db, leader, path)
    again = roster_io.import_roster(db, leader, path)
    assert again.stored == 0
    assert any(e.row == 5 and "already on" in e.reason for e in again.rejected)
    assert len(roster.roster(db, DAY, NEXT)) == 7


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_export_then_import_gives_the_same_roster(db, room, leader, system, tmp_path, suffix) -> None:
    roster_io.import_roster(db, leader, messy_workbook(tmp_path / "in.xlsx"))
    out = tmp_path / f"out{suffix}"
    assert roster_io.export_roster(db, out, DAY, NEXT) == 7

    def snapshot(database: Database) -> set[tuple[str, str, str, int]]:
        shifts = {sh.id: sh for sh in roster.shifts(database, DAY, NEXT)}
        return {(shifts[e.shift_id].day, shifts[e.shift_id].code, e.role, e.person_id)
                for e in roster.roster(database, DAY, NEXT)}

    before = snapshot(db)
    # Take everyone off, then import the exported file: the same roster comes back.
    for e in roster.roster(db, DAY, NEXT):
        roster.remove(db, leader, e.id, e.version, "round trip")
    assert roster.roster(db, DAY, NEXT) == []
    result = roster_io.import_roster(db, leader, out)
    assert result.ok and result.stored == 7
    assert snapshot(db) == before


def test_exported_xlsx_has_real_date_cells_and_chinese_headers(db, room, leader, tmp_path) -> None:
    roster_io.import_roster(db, leader, messy_workbook(tmp_path / "in.xlsx"))
    out = tmp_path / "out.xlsx"
    roster_io.export_roster(db, out, DAY, DAY)
    ws = openpyxl.load_workbook(out).active
    assert [c.value for c in ws[1]] == ["日期", "班次", "岗位", "姓名", "电话"]
    assert ws["A2"].value == datetime(2026, 11, 27) and ws["B2"].value == "白班"
    assert ws["C2"].value == "带班领导" and ws["D2"].value == "王强" and ws["E2"].value == "13800000001"


@pytest.mark.parametrize("text", ["2026-11-27", "2026/11/27", "2026年11月27日", "２０２６－１１－２７", "20261127",
                                  "46353", "2026.11.27", " 2026 年 11 月 27 日 "])
def test_date_spellings(text: str) -> None:
    assert roster_io.parse_day(text) == date(2026, 11, 27)


def test_date_cells_and_serials() -> None:
    assert roster_io.parse_day(datetime(2026, 11, 27, 8, 0)) == date(2026, 11, 27)
    assert roster_io.parse_day(46353.0) == date(2026, 11, 27)
    for bad in ["2026-02-30", "11/27/2026", "tomorrow", "", 12]:
        with pytest.raises(ValueError):
            roster_io.parse_day(bad)
