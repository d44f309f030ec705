"""Ctrl+Q asks first — and says why it matters mid-drill; No (the default) keeps the console open."""

from __future__ import annotations

from typing import Any

import support.world as support
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from support.world import make_world

from db.engine import Database
from dispatch_console.drills import service as drills
from dispatch_console.drills.scenario import load_scenario
from dispatch_console.kernel.config import resources_root

isolated_settings = support.isolated_settings
workstations = support.workstations


def answer_quit(qtbot: Any, key: Qt.Key, seen: list[str]) -> None:
    """When the question shows, read it and answer with ``key`` (Esc, or Y after Tab to Yes)."""

    def answer() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox) or box.objectName() != "quit-confirm":
            QTimer.singleShot(50, answer)
            return
        seen.append(box.text())
        if key == Qt.Key.Key_Y:
            yes = box.button(QMessageBox.StandardButton.Yes)
            yes.setFocus()
            qtbot.keyClick(yes, Qt.Key.Key_Space)
        else:
            qtbot.keyClick(box, key)

    QTimer.singleShot(0, answer)


def press_ctrl_q(qtbot: Any, window: Any) -> None:
    window.activateWindow()  # the console in front, as after the question closed
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)


def test_ctrl_q_asks_and_names_a_running_drill(qtbot, db: Database, workstations, make_actor) -> None:  # type: ignore[no-untyped-def]
    make_world(db, officers=0)
    director = make_actor("drill_director", station="导调台")
    ws = workstations(db, director, window=True, panels=("DrillPanel",))
    ws.show()
    ws.settle()
    seen: list[str] = []
    answer_quit(qtbot, Qt.Key.Key_Escape, seen)
    press_ctrl_q(qtbot, ws.window)
    qtbot.waitUntil(lambda: len(seen) == 1, timeout=10000)
    assert ws.window.isVisible() and "Quit the duty-room console?" in seen[0] and "drill" not in seen[0]

    scenario = load_scenario(resources_root() / "drills" / "factory_fire.toml")
    drills.start_drill(db, director, scenario, 1.0)
    panel = ws.window.panels["drills"]
    qtbot.waitUntil(lambda: panel.run is not None and panel.run.active, timeout=15000)
    answer_quit(qtbot, Qt.Key.Key_Return, seen)  # Enter is No: the default
    press_ctrl_q(qtbot, ws.window)
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=10000)
    assert ws.window.isVisible() and scenario.name in seen[1] and "drill" in seen[1]

    answer_quit(qtbot, Qt.Key.Key_Y, seen)
    press_ctrl_q(qtbot, ws.window)
    qtbot.waitUntil(lambda: not ws.window.isVisible(), timeout=10000)


def test_enter_is_no_wherever_focus_is(qtbot) -> None:  # type: ignore[no-untyped-def]
    """Even with Yes focused (Tab), Enter keeps the console open; Y quits."""
    from PySide6.QtWidgets import QWidget

    from ui.shell.quit_guard import confirm_quit

    parent = QWidget()
    qtbot.addWidget(parent)
    answers: list[bool] = []

    def press(key: Qt.Key, focus_yes: bool) -> None:
        def act() -> None:
            box = QApplication.activeModalWidget()
            if not isinstance(box, QMessageBox):
                QTimer.singleShot(20, act)
                return
            if focus_yes:
                box.activateWindow()
                qtbot.waitUntil(box.isActiveWindow, timeout=5000)
                yes = box.button(QMessageBox.StandardButton.Yes)
                yes.setFocus()
                qtbot.waitUntil(yes.hasFocus, timeout=5000)
            qtbot.keyClick(box, key)
        QTimer.singleShot(0, act)
        answers.append(confirm_quit(parent, []))

    press(Qt.Key.Key_Return, focus_yes=True)
    press(Qt.Key.Key_Enter, focus_yes=False)
    press(Qt.Key.Key_Y, focus_yes=False)
    assert answers == [False, False, True]
