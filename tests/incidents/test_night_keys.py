"""A night shift from the keyboard: every key of README's table works from the queue, no two
actions share a key, Ctrl+K acknowledges from anywhere, Ctrl+Shift+C reaches the checklist (F1
says so), and a key acts on the incident the detail panel shows — also after resolve."""

from __future__ import annotations

from typing import Any

import support.world as support
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from support.shortcuts import bindings, clashes
from support.world import Workstation, make_world

from db.engine import Database
from dispatch_console.checklists import service as checklists
from dispatch_console.incidents import service as incidents
from ui.incidents import actions as incident_actions
from ui.incidents.detail import IncidentDetailPanel

isolated_settings = support.isolated_settings
workstations = support.workstations
ALL_PANELS = ("JurisdictionPanel", "IncidentDetailPanel", "MapPanel", "ChecklistPanel", "DutyBoardPanel",
              "RosterCalendarPanel", "HandoverPanel", "DrillPanel", "NotificationCentre", "CallTasksPanel")


def key(qtbot: Any, ws: Workstation, code: Qt.Key, modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
        widget: QWidget | None = None) -> None:
    """A key pressed where the focus is (or on ``widget`` after giving it the focus)."""
    if widget is not None:
        widget.setFocus()
        qtbot.waitUntil(widget.hasFocus, timeout=5000)
    target = QApplication.focusWidget() or ws.window
    qtbot.keyClick(target, code, modifiers)


def detail_of(ws: Workstation) -> IncidentDetailPanel:
    panel = ws.window.panels["incident-detail"]
    assert isinstance(panel, IncidentDetailPanel)
    return panel


def test_no_two_actions_of_the_console_share_a_key(qtbot, db: Database, workstations) -> None:  # type: ignore[no-untyped-def]
    w = make_world(db)
    ws = workstations(db, w.officers[0], window=True, panels=ALL_PANELS)
    ws.show()
    ws.settle()
    assert clashes(ws.window) == []
    keys = {b.key for b in bindings(ws.window)}
    for expected in ("F2", "Ctrl+N", "Ctrl+F", "Ctrl+L", "F5", "A", "D", "S", "R", "C", "O", "M", "N", "U",
                     "Ctrl+K", "Ctrl+Shift+C", "Ctrl+R", "Ctrl+J", "Ctrl+Shift+M", "Ctrl+Shift+L", "F1", "Ctrl+Q"):
        assert expected in keys, expected  # README's key table, bound in the window


def test_ctrl_k_acknowledges_from_anywhere_and_ctrl_shift_c_ticks_the_checklist(
        qtbot, db: Database, workstations, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    w = make_world(db)
    fire = w.record("仓库冒烟", category="fire", severity=2)
    ws = workstations(db, w.officers[0], window=True, panels=("detail", "ChecklistPanel", "JurisdictionPanel"))
    ws.show()
    ws.settle()
    checklist = ws.window.panels["checklist"]
    key(qtbot, ws, Qt.Key.Key_Home, widget=ws.queue.table)
    qtbot.waitUntil(lambda: ws.ui.selection.current == fire.id and checklist.model.rows != [], timeout=10000)

    # Ctrl+K from the search box of the jurisdiction panel: the selected incident is acknowledged
    key(qtbot, ws, Qt.Key.Key_J, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: ws.window.panels["jurisdiction"].search.hasFocus(), timeout=5000)
    key(qtbot, ws, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: incidents.get_incident(db, fire.id).row.status == "acknowledged", timeout=10000)

    # Ctrl+Shift+C: the focus goes to the steps; Space ticks the first one
    key(qtbot, ws, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)  # back to the queue first
    qtbot.waitUntil(ws.queue.table.hasFocus, timeout=5000)
    key(qtbot, ws, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(checklist.view.hasFocus, timeout=5000)
    first = checklists.items_for(db, fire.id)[0]
    assert not first.done
    key(qtbot, ws, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: checklists.items_for(db, fire.id)[0].done, timeout=10000)

    # F1 names the way to the checklist
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(box.text()) or 0)
    key(qtbot, ws, Qt.Key.Key_F1)
    assert shown and any(line.startswith("Ctrl+Shift+C\t") and "Checklist" in line for line in shown[0].splitlines())
    assert any(line.startswith("Ctrl+K\t") for line in shown[0].splitlines())


def test_after_resolve_the_next_key_acts_on_the_incident_in_the_detail_panel(
        qtbot, db: Database, workstations, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    w = make_world(db)
    first = w.record("楼道堆物", severity=3)
    second = w.record("邻里噪音", severity=3)
    incidents.acknowledge(db, w.officers[0], first.id, first.version)
    for step in checklists.items_for(db, first.id):  # done on the ground: it may be filed
        checklists.tick(db, w.officers[0], step.id, step.version)
    ws = workstations(db, w.officers[0], window=True)
    ws.show()
    ws.settle()
    notes = iter(["已清理", "已归档"])
    monkeypatch.setattr(incident_actions, "ask_note", lambda *a, **k: next(notes))
    detail = detail_of(ws)
    key(qtbot, ws, Qt.Key.Key_Home, widget=ws.queue.table)
    while ws.ui.selection.current != first.id:
        key(qtbot, ws, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: detail.current_row() is not None and detail.current_row().id == first.id, timeout=10000)

    key(qtbot, ws, Qt.Key.Key_R)  # resolve: the row leaves the open queue
    qtbot.waitUntil(lambda: ws.queue.model.row_of(first.id) is None, timeout=10000)
    ws.settle()
    qtbot.waitUntil(lambda: detail.current_row() is not None and detail.current_row().status == "resolved",
                    timeout=10000)
    # what is highlighted is what the detail panel shows — or nothing, never the neighbour
    index = ws.queue.table.currentIndex()
    highlighted = ws.queue.model.incident_at(index.row()) if index.isValid() else None
    assert highlighted is None or highlighted.id == detail.incident_id
    assert detail.incident_id == first.id == ws.ui.selection.current

    key(qtbot, ws, Qt.Key.Key_C)  # close the one the officer sees
    qtbot.waitUntil(lambda: incidents.get_incident(db, first.id).row.status == "closed", timeout=10000)
    assert incidents.get_incident(db, second.id).row.status == "new"  # the neighbour was never touched
