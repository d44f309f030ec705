"""`supplies export` and `supplies import`: Chinese headers, formula-safe cells, messy copies read row by row."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from db.engine import Database
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.config import Resources
from dispatch_console.supplies.stock import add_depot, ledger, load_catalogue, move, stock
from station.launcher import main as cli_main


def url(db: Database) -> str:
    return db.url.render_as_string(hide_password=False)


def setup(db: Database, make_actor) -> tuple[Actor, list[str]]:  # type: ignore[no-untyped-def]
    leader = make_actor("shift_leader")
    system = Actor.system("test")
    add_depot(db, system, code="D1", name="桃源社区应急物资储备点")
    add_depot(db, system, code="D2", name="=HYPERLINK(\"http://evil\")仓库")  # a hostile name
    return leader, ["--db", url(db), "--user", leader.username, "--password", "pw"]


def messy_sheet(path: Path) -> None:
    """A copy as people make them: a title, a note, a header merged over two rows, full-width digits."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["桃源街道应急物资库存表（2026年12月）"])
    ws.merge_cells("A1:E1")
    ws.append(["填报单位：桃源街道应急管理办公室", None, None, "填报日期：2026年12月3日"])
    ws.append(["存放点", "物资情况", None, None, "备注"])
    ws.merge_cells("A3:A4")
    ws.merge_cells("B3:D3")
    ws.merge_cells("E3:E4")
    ws.append([None, "物资名称", "数 量", "单位"])
    rows = [
        ["桃源社区应急物资储备点", "沙袋", "１２０", "袋"],              # 5: full-width digits
        ["桃源社区应急物资储备点", "抽水泵", "3台", "台"],               # 6: the unit after the number
        ["D1", "救生衣", -5, "件"],                                      # 7: negative
        ["D1", "大炮", 1, "门"],                                         # 8: not in the catalogue
        ["留仙洞仓库", "沙袋", 10, "袋"],                                 # 9: no such depot
        ["桃源社区应急物资储备点", "防汛沙袋", 130, "袋"],               # 10: the same item again
        [],                                                              # 11: blank
        ["Ｄ１", "帐篷", None, "顶"],                                     # 12: no quantity
        ["D1", "救生衣", 40.0, "件"],                                    # 13: good, a float cell
        ["D1", "发电机", 2, "箱"],                                       # 14: the wrong unit
    ]
    for r in rows:
        ws.append(r)
    wb.save(path)


def test_import_of_a_messy_sheet_stores_the_good_rows_and_names_each_bad_one(
        db: Database, make_actor, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    _leader, base = setup(db, make_actor)
    path = tmp_path / "库存（整理版）.xlsx"
    messy_sheet(path)
    assert cli_main([*base, "supplies", "import", str(path)]) == 1
    captured = capsys.readouterr()
    errors = captured.err.splitlines()
    assert [e.split(":")[0] for e in errors] == ["row 7", "row 8", "row 9", "row 10", "row 12", "row 14"]
    assert "negative" in errors[0] and "大炮" in errors[1] and "留仙洞仓库" in errors[2]
    assert "row 5" in errors[3] and "missing" in errors[4] and "箱" in errors[5]
    assert "3 rows stored, 0 unchanged, 6 rejected." in captured.out
    held = {(r.depot, r.item): r.quantity for r in stock(db, load_catalogue(Resources())[0])}
    assert held == {("桃源社区应急物资储备点", "sandbag"): 120, ("桃源社区应急物资储备点", "pump"): 3,
                    ("桃源社区应急物资储备点", "life_jacket"): 40}
    assert all(m.kind == "count" and "row" in (m.reason or "") for m in ledger(db))
    # the same file again changes nothing
    assert cli_main([*base, "supplies", "import", "--json", str(path)]) == 1
    again = json.loads(capsys.readouterr().out)
    assert (again["stored"], again["unchanged"], len(again["rejected"])) == (0, 3, 6)


def test_export_has_chinese_headers_text_cells_and_reads_back(
        db: Database, make_actor, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    leader, base = setup(db, make_actor)
    catalogue = load_catalogue(Resources())[0]
    move(db, leader, catalogue, kind="receive", depot="D1", item="沙袋", quantity=150)
    move(db, leader, catalogue, kind="receive", depot="D2", item="帐篷", quantity=8)
    path = tmp_path / "stock.xlsx"
    assert cli_main([*base, "supplies", "export", str(path)]) == 0
    ws = openpyxl.load_workbook(path).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:5] == ("存放点", "所属社区", "物资名称", "数量", "单位")
    assert len(rows) == 1 + 2 * len(catalogue.items)  # one row per depot and item
    hostile = [c for c in ws["A"] if str(c.value).startswith("=")]
    assert hostile and all(c.data_type == "s" for c in hostile)  # text, never a formula
    assert ("桃源社区应急物资储备点", None, "沙袋", 150, "袋", 200, "是") in rows  # no community: empty
    capsys.readouterr()
    # the export reads back as it is: nothing to change
    assert cli_main([*base, "supplies", "import", "--json", str(path)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["stored"], result["unchanged"], result["rejected"]) == (0, 2 * len(catalogue.items), [])
    assert cli_main([*base, "supplies", "list", "--json", "--below"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["quantity"], r["minimum"]) for r in listed] == [("沙袋", 150, 200)]


@pytest.mark.parametrize("content", [b"not a workbook", b"PK\x03\x04broken zip"])
def test_a_file_that_is_not_a_workbook_is_one_line_not_a_traceback(
        db: Database, make_actor, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes) -> None:  # type: ignore[no-untyped-def]
    _leader, base = setup(db, make_actor)
    path = tmp_path / "stock.xlsx"
    path.write_bytes(content)
    assert cli_main([*base, "supplies", "import", str(path)]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "stock.xlsx" in err and "Traceback" not in err
