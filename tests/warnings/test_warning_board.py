"""pytest-qt: an official typhoon warning reaches the board, is seen, starts its checklist and is handled."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from support.qt_input import type_chinese
from support.street import cap_message, make_street
from support.world import isolated_settings, workstations  # noqa: F401

from db.engine import Database
from dispatch_console import warnings
from dispatch_console.kernel.i18n import set_language
from ui.warnings.board import COLOURS, WarningBoard


def test_the_board_shows_a_typhoon_warning_that_is_seen_started_and_handled(
        qtbot: Any, db: Database, workstations: Any, tmp_path: Any) -> None:  # noqa: F811
    street = make_street(db)
    set_language("zh_CN")
    ws = workstations(db, street.leader)
    board = WarningBoard(ws.ui, ws.host)
    board.setFloating(False)
    ws.show()
    board.show()
    (tmp_path / "a.xml").write_bytes(cap_message(severity="Severe", headline="深圳市气象台发布台风橙色预警信号"))
    warnings.import_paths(db, street.leader, [tmp_path / "a.xml"])
    qtbot.waitUntil(lambda: board.list.count() == 1, timeout=15000)
    item = board.list.item(0)
    assert "深圳市气象台发布台风橙色预警信号" in item.text()
    assert item.foreground().color().name() == COLOURS["orange"]
    assert "（1 条未处理）" in board.windowTitle()
    board.list.setFocus()
    board.list.setCurrentRow(0)
    qtbot.waitUntil(lambda: warnings.list_warnings(db)[0].state == "seen", timeout=15000)
    assert "橙色" in board.detail.toPlainText() and "桃源街道" in board.detail.toPlainText()
    assert board.respond_button.isEnabled()
    qtbot.mouseClick(board.respond_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: warnings.list_warnings(db)[0].response_incident_id is not None, timeout=15000)
    qtbot.waitUntil(lambda: not board.respond_button.isEnabled(), timeout=15000)
    board.note.setFocus()
    type_chinese(board.note, "已启动台风防御预案，通知各社区")
    qtbot.keyClick(board.note, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: board.list.count() == 0, timeout=15000)
    (row,) = warnings.list_warnings(db)
    assert row.state == "handled" and row.note == "已启动台风防御预案，通知各社区"


def test_a_repeat_party_warning_on_the_board_names_its_cases(
        qtbot: Any, db: Database, workstations: Any) -> None:  # noqa: F811
    from dispatch_console.cases import service
    from dispatch_console.cases.parties import PartyDraft
    from dispatch_console.warnings.evaluate import evaluate_pending

    street = make_street(db)
    evaluate_pending(db, "agent")
    set_language("zh_CN")
    party = PartyDraft("张三", "applicant", "13800138000")
    for kind in ("dispute", "petition"):
        service.open_case(db, street.officer, service.CaseDraft(kind=kind, title="楼上漏水", parties=(party,)))
    evaluate_pending(db, "agent")
    (row,) = warnings.list_warnings(db)
    ws = workstations(db, street.leader)
    board = WarningBoard(ws.ui, ws.host)
    board.setFloating(False)
    ws.show()
    board.show()
    qtbot.waitUntil(lambda: board.list.count() == 1, timeout=15000)
    assert "重复当事人" in board.list.item(0).text()
    board.list.setFocus()
    board.list.setCurrentRow(0)
    qtbot.waitUntil(lambda: "相关案件：" in board.detail.toPlainText(), timeout=15000)
    assert "相关案件：" + ", ".join(row.case_numbers) in board.detail.toPlainText()
    assert len(row.case_numbers) == 2 and "13800138000" not in board.detail.toPlainText()
