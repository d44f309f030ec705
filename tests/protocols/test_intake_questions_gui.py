"""pytest-qt: a gas-leak call taken by keyboard walks its questions, then its proposal is sent with one key."""

from __future__ import annotations

import re
from typing import Any

import support.world as support
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QWidget
from support.assist_world import fire_forces
from support.qt_input import type_chinese
from support.world import Workstation, make_world

from db.engine import Database
from dispatch_console.incidents import service as incidents
from dispatch_console.protocols import answers_of, proposals_of
from ui.incidents.intake_form import IntakeForm
from ui.protocols.proposal import ProposalDialog

isolated_settings = support.isolated_settings
workstations = support.workstations


def focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None
    return widget


def type_text(qtbot: Any, text: str) -> None:
    for ascii_run, chinese_run in re.findall(r"([\x00-\x7f]*)([^\x00-\x7f]*)", text):
        if ascii_run:
            qtbot.keyClicks(focused(), ascii_run)
        if chinese_run:
            type_chinese(focused(), chinese_run)


def type_and_tab(qtbot: Any, text: str) -> None:
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


def test_gas_leak_intake_walks_its_questions_and_the_proposal_is_sent_with_one_key(
        qtbot, db: Database, workstations) -> None:  # type: ignore[no-untyped-def]
    world = make_world(db)
    units = fire_forces(world)
    a = workstations(db, world.officers[0], window=True)
    b = workstations(db, world.officers[1])  # another machine
    a.settle()
    b.settle()

    form = open_form(qtbot, a)
    type_and_tab(qtbot, "fire")  # the category: its question sets are offered
    assert form.questions.isVisible() and form.questions.current is not None
    assert form.questions.current.code == "fire"
    qtbot.keyClick(form, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)  # the next set: 燃气泄漏
    assert form.questions.current.code == "gas_leak"
    assert focused() is form.questions.choices
    assert "关闭燃气阀门" in form.questions.instruction.text()   # read to the caller first
    for digit in "1", "2", "2", "2", "2":  # strong smell, cannot close, cylinder, dizzy, whole building
        qtbot.keyClick(focused(), getattr(Qt.Key, f"Key_{digit}"))
    assert form.questions.answers == {"smell_now": "strong", "valve": "cannot", "source": "cylinder",
                                      "casualties": "symptoms", "people_nearby": "building"}
    assert "120" in form.questions.instruction.text()  # the latest instruction: the dizzy person
    # 20 + 10 + 8 + 15 + 10 = 63: severity 1 suggested and filled in, the officer left it so
    assert form.severity.code() == "1"
    qtbot.keyClick(focused(), Qt.Key.Key_Backspace)  # the last answer changed: only one household
    qtbot.keyClick(focused(), Qt.Key.Key_1)
    assert form.severity.code() == "2"  # 53
    form.source.setFocus()
    type_and_tab(qtbot, "12345")
    type_and_tab(qtbot, "第1网格")
    for _i in range(6):  # address, coordinates, reporter, phone, people: left empty
        qtbot.keyClick(focused(), Qt.Key.Key_Tab)
    assert focused() is form.description
    type_text(qtbot, "厨房液化气瓶漏气，老人头晕")
    qtbot.keyClick(focused(), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not form.isVisible(), timeout=10000)
    qtbot.waitUntil(lambda: a.queue.current_row() is not None
                    and a.queue.current_row().description == "厨房液化气瓶漏气，老人头晕", timeout=10000)
    row = a.queue.current_row()
    assert (row.category, row.severity) == ("fire", 2)
    stored, = answers_of(db, row.id)
    assert (stored.set_code, stored.score, stored.suggested_severity, stored.reason) == ("gas_leak", 53, 2, None)

    # D: the run card for fire II proposes the two nearest free fire crews, a police station, the grid manager
    seen: dict[str, Any] = {}

    def accept_when_shown() -> None:  # the dialog runs its own event loop: answer it from inside
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, ProposalDialog):
            QTimer.singleShot(20, accept_when_shown)
            return
        seen["proposed"] = dialog.unit_ids()
        seen["people"] = dialog.person_ids()
        seen["listed"] = [dialog.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(dialog.list.count())]
        qtbot.keyClick(dialog.list, Qt.Key.Key_Return)  # one key accepts the proposal

    QTimer.singleShot(0, accept_when_shown)
    messages: list[str] = []
    a.queue.actions_.message.connect(lambda text, _error: messages.append(text))
    a.window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is a.window, timeout=5000)
    a.queue.table.setFocus()
    qtbot.keyClick(a.queue.table, Qt.Key.Key_D)
    qtbot.waitUntil(lambda: "proposed" in seen or bool(messages), timeout=10000)
    assert "proposed" in seen, messages
    assert seen["proposed"] == [units["near"], units["middle"], units["police_near"]]
    assert seen["people"] == [units["grid_manager_person"]]
    assert units["off"] not in seen["listed"]
    qtbot.waitUntil(lambda: bool(proposals_of(db, row.id)), timeout=10000)
    kept, = proposals_of(db, row.id)
    assert kept.accepted and set(kept.sent_unit_ids) == {units["near"], units["middle"], units["police_near"]}

    # the other workstation shows the units sent, without a click
    def b_shows_units() -> bool:
        cached = b.queue.model.cached(row.id)
        return cached is not None and cached.status == "dispatched" and "桃源专职消防队一中队" in cached.units

    qtbot.waitUntil(b_shows_units, timeout=15000)
    assert "李网格" in incidents.get_incident(db, row.id).row.units


def test_a_severity_other_than_the_suggested_one_asks_for_a_reason_before_recording(
        qtbot, db: Database, workstations) -> None:  # type: ignore[no-untyped-def]
    world = make_world(db)
    a = workstations(db, world.officers[0], window=True)
    a.settle()
    form = open_form(qtbot, a)
    type_and_tab(qtbot, "labor")  # 欠薪: the wage-arrears questions
    assert form.questions.current is not None and form.questions.current.code == "wage_arrears"
    qtbot.keyClick(form, Qt.Key.Key_Q, Qt.KeyboardModifier.AltModifier)  # Alt+Q: to the questions
    assert focused() is form.questions.choices
    for digit in "3", "2", "3", "3":  # 30+ workers, boss gone, 3 months+, on the tower crane: 30+20+10+35
        qtbot.keyClick(focused(), getattr(Qt.Key, f"Key_{digit}"))
    assert form.severity.code() == "1"
    assert "消防" in form.questions.instruction.text()  # the instruction of the last answer
    form.severity.setFocus()
    form.severity.setEditText("")
    type_and_tab(qtbot, "2")  # the officer decides otherwise
    type_and_tab(qtbot, "12345")
    form.description.setFocus()
    type_text(qtbot, "工地30余名工人讨薪，一人爬上塔吊")
    qtbot.keyClick(focused(), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    # not recorded: the reason is asked for, next to its field
    assert form.isVisible()
    assert form.questions.reason_error.isVisible() and "severity 1" in form.questions.reason_error.text()
    assert focused() is form.questions.reason
    type_text(qtbot, "塔吊人员已被劝下，现场平稳")
    qtbot.keyClick(focused(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not form.isVisible(), timeout=10000)
    qtbot.waitUntil(lambda: a.queue.current_row() is not None
                    and a.queue.current_row().description == "工地30余名工人讨薪，一人爬上塔吊", timeout=10000)
    row = a.queue.current_row()
    assert row.severity == 2
    stored, = answers_of(db, row.id)
    assert (stored.score, stored.suggested_severity, stored.chosen_severity) == (95, 1, 2)
    assert stored.reason == "塔吊人员已被劝下，现场平稳"
