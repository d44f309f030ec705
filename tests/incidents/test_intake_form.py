"""The intake form, driven with the keyboard only, as an officer fills it during a call."""

from __future__ import annotations

import re
from typing import Any

import pytest
import support.world as support
from PySide6.QtCore import Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from support.world import Workstation, make_world

from db.engine import Database
from ui.incidents.intake_form import IntakeForm

# the shared fixtures (defined with the world in test_queue_support)
isolated_settings = support.isolated_settings
workstations = support.workstations


def focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None
    return widget


def type_text(qtbot: Any, text: str) -> None:
    """Type into whatever has the focus: ASCII as key presses, Chinese as the input method commits it."""
    for ascii_run, chinese_run in re.findall(r"([\x00-\x7f]*)([^\x00-\x7f]*)", text):
        if ascii_run:
            qtbot.keyClicks(focused(), ascii_run)
        if chinese_run:
            event = QInputMethodEvent()
            event.setCommitString(chinese_run)
            QApplication.sendEvent(focused(), event)


def type_and_tab(qtbot: Any, text: str) -> None:
    """Type into whatever has the focus, then Tab to the next field."""
    type_text(qtbot, text)
    qtbot.keyClick(focused(), Qt.Key.Key_Tab)


def open_form(qtbot: Any, ws: Workstation) -> IntakeForm:
    ws.show()
    qtbot.keyClick(ws.window, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: isinstance(getattr(ws.queue, "intake", None), IntakeForm)
                    and ws.queue.intake.isVisible(), timeout=5000)
    form: IntakeForm = ws.queue.intake
    qtbot.waitUntil(lambda: form.pending == 0 and bool(form.grids), timeout=10000)
    form.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is form.category, timeout=5000)
    return form


def test_keyboard_intake_appears_at_another_workstation(qtbot, db: Database, workstations) -> None:  # type: ignore[no-untyped-def]
    world = make_world(db)
    earlier = world.record("上周同一来电人反映噪音", phone="13800138000", severity=4)
    a = workstations(db, world.officers[0], window=True)
    b = workstations(db, world.officers[1])  # another machine: own Database, own change feed
    a.settle()
    b.settle()
    assert b.numbers() == [earlier.number]

    form = open_form(qtbot, a)
    type_and_tab(qtbot, "fire")          # category by code
    type_and_tab(qtbot, "2")             # severity by number
    type_and_tab(qtbot, "12345")         # source by part of its label
    type_and_tab(qtbot, "第2网格")        # grid by part of its name
    type_and_tab(qtbot, "桃源街道留仙大道1号")
    type_and_tab(qtbot, "")              # longitude: not known
    type_and_tab(qtbot, "")              # latitude
    type_and_tab(qtbot, "王先生")
    type_text(qtbot, "13800138000")
    assert focused() is form.reporter_phone
    # a caller who reported before: the earlier incident is listed under the field
    qtbot.waitUntil(lambda: form.phone_hint.isVisible() and form.phone_hint.list.count() == 1, timeout=10000)
    assert earlier.number in form.phone_hint.list.item(0).text()
    qtbot.keyClick(focused(), Qt.Key.Key_Tab)
    type_and_tab(qtbot, "3")
    assert focused() is form.description
    type_text(qtbot, "厂房起火，有浓烟")
    qtbot.keyClick(focused(), Qt.Key.Key_Return)  # Enter inside the description is a new line …
    type_text(qtbot, "三人被困")
    assert form.isVisible()
    qtbot.keyClick(focused(), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # … Ctrl+Enter records

    qtbot.waitUntil(lambda: not form.isVisible(), timeout=10000)
    # the new row is selected at this workstation …
    qtbot.waitUntil(lambda: a.queue.current_row() is not None and a.queue.current_row().description
                    == "厂房起火，有浓烟\n三人被困", timeout=10000)
    new = a.queue.current_row()
    assert (new.category, new.severity, new.source, new.grid_name) == ("fire", 2, "hotline_12345", "测试社区第2网格")
    assert (new.address, new.reporter_name, new.reporter_phone, new.people_count) == (
        "桃源街道留仙大道1号", "王先生", "13800138000", 3)
    # … and appears at the other one without a click, in queue order (severity 2 before 4)
    qtbot.waitUntil(lambda: b.numbers() == [new.number, earlier.number], timeout=15000)


def test_enter_records_and_coordinates_pick_the_grid(qtbot, db: Database, workstations) -> None:  # type: ignore[no-untyped-def]
    world = make_world(db)
    a = workstations(db, world.officers[0], window=True)
    a.settle()
    form = open_form(qtbot, a)
    for text in ("消防", "1", "110", ""):  # Chinese label, severity, source; grid left empty
        type_and_tab(qtbot, text)
    type_and_tab(qtbot, "")  # address
    type_and_tab(qtbot, "113.915")
    type_text(qtbot, "22.505")
    # the service finds the grid by point-in-polygon and the form fills it in
    qtbot.waitUntil(lambda: form.grid.text().startswith("测试社区第2网格"), timeout=10000)
    for _i in range(4):  # reporter name, phone, people involved: left empty
        qtbot.keyClick(focused(), Qt.Key.Key_Tab)
    assert focused() is form.description
    type_text(qtbot, "仓库起火")
    form.reporter_name.setFocus()
    qtbot.keyClick(focused(), Qt.Key.Key_Return)  # Enter in any line records
    qtbot.waitUntil(lambda: not form.isVisible(), timeout=10000)
    qtbot.waitUntil(lambda: a.queue.current_row() is not None
                    and a.queue.current_row().description == "仓库起火", timeout=10000)
    row = a.queue.current_row()
    assert (row.category, row.severity, row.source, row.grid_name) == ("fire", 1, "police_110", "测试社区第2网格")
    assert row.lon == pytest.approx(113.915) and row.lat == pytest.approx(22.505)


def test_validation_errors_are_shown_next_to_the_field(qtbot, db: Database, workstations) -> None:  # type: ignore[no-untyped-def]
    world = make_world(db)
    a = workstations(db, world.officers[0], window=True)
    a.settle()
    form = open_form(qtbot, a)
    type_and_tab(qtbot, "fire")
    type_and_tab(qtbot, "2")
    type_and_tab(qtbot, "hotline")
    type_and_tab(qtbot, "没有这个网格")
    for _i in range(4):  # address, longitude, latitude, reporter name
        type_and_tab(qtbot, "")
    type_text(qtbot, "call me maybe")
    qtbot.keyClick(focused(), Qt.Key.Key_Return)
    # checked before anything is sent: the phone and the empty description, each beside its field
    assert form.isVisible()
    assert form.errors["reporter_phone"].isVisible()
    assert "call me maybe" in form.errors["reporter_phone"].text()
    assert form.errors["description"].isVisible()
    assert not form.errors["category"].isVisible()
    assert focused() is form.reporter_phone
    form.reporter_phone.clear()
    form.description.setFocus()
    type_text(qtbot, "描述")
    qtbot.keyClick(focused(), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    # the unknown grid is the service's verdict (ValidationError.field == "grid")
    qtbot.waitUntil(lambda: form.errors["grid"].isVisible(), timeout=10000)
    assert "没有这个网格" in form.errors["grid"].text()
    assert not form.errors["reporter_phone"].isVisible()
    assert form.isVisible() and a.numbers() == []


def test_esc_asks_before_discarding_typed_text(qtbot, db: Database, workstations, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    world = make_world(db)
    a = workstations(db, world.officers[0], window=True)
    a.settle()
    answers: list[QMessageBox.StandardButton] = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]
    asked: list[str] = []

    def question(_parent: Any, title: str, *_args: Any, **_kw: Any) -> QMessageBox.StandardButton:
        asked.append(title)
        return answers.pop(0)

    monkeypatch.setattr(QMessageBox, "question", question)
    form = open_form(qtbot, a)
    qtbot.keyClick(focused(), Qt.Key.Key_Escape)  # nothing typed: closes without asking
    qtbot.waitUntil(lambda: not form.isVisible(), timeout=5000)
    assert asked == []

    form = open_form(qtbot, a)
    type_and_tab(qtbot, "fire")
    qtbot.keyClick(focused(), Qt.Key.Key_Escape)
    assert asked == ["Discard this report?"] and form.isVisible()  # "No": keep typing
    qtbot.keyClick(focused(), Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not form.isVisible(), timeout=5000)  # "Yes": discarded
    assert len(asked) == 2 and a.numbers() == []
