"""pytest-qt: a call task appears, the officer records 未接 by keyboard, the next call appears after the wait."""

from __future__ import annotations

from typing import Any

from duty_staff import DIRECTOR, LEADER, fire_calls, staff_on_duty, start_calls, wait_passes
from PySide6.QtCore import Qt
from support.world import isolated_settings, make_world, workstations  # noqa: F401

from db.engine import Database
from dispatch_console.channels import callout
from dispatch_console.kernel.i18n import set_language
from ui.channels.calls import CallTasksPanel


def test_officer_records_no_answer_by_keyboard_and_the_next_call_appears(
        qtbot: Any, db: Database, workstations: Any) -> None:  # noqa: F811
    staff_on_duty(db)
    world = make_world(db)
    set_language("zh_CN")
    incident = world.record("化工厂起火", severity=1)
    ws = workstations(db, world.officers[0])
    panel = CallTasksPanel(ws.ui, ws.host)
    panel.setFloating(False)
    ws.show()
    panel.show()
    start_calls(db, incident.id)
    fire_calls(db)
    qtbot.waitUntil(lambda: panel.list.count() == 1, timeout=15000)
    assert "王强" in panel.list.item(0).text() and LEADER in panel.list.item(0).text()
    panel.list.setFocus()
    qtbot.keyClick(panel.list, Qt.Key.Key_2)
    assert panel.chosen == "no_answer" and panel.hint.text().startswith("未接")
    qtbot.keyClick(panel.list, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: panel.list.count() == 0, timeout=15000)
    assert [(t.name, t.outcome) for t in callout.call_tasks(db, open_only=False)] == [("王强", "no_answer")]
    wait_passes(db)
    fire_calls(db)
    qtbot.waitUntil(lambda: panel.list.count() == 1 and "陈主任" in panel.list.item(0).text(), timeout=15000)
    assert DIRECTOR in panel.list.item(0).text() and "(2/2)" not in panel.list.item(0).text()
    assert "（2/2）" in panel.list.item(0).text()
