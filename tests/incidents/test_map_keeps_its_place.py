"""The map on a night shift: arrowing through the queue leaves one label (the selected incident's),
the map in its own window and docked back shows the whole jurisdiction, and the summary says how
many open incidents have no coordinates, so its count and the queue's agree."""

from __future__ import annotations

from typing import Any

import pytest
import support.world as support
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from support.world import make_world

from db.engine import Database
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.draft import IncidentDraft

isolated_settings = support.isolated_settings
workstations = support.workstations
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
WAIT = 60000
JURISDICTION = (113.90, 22.50, 113.92, 22.52)  # the world's community: west, south, east, north


def record_at(w: Any, description: str, lon: float | None, lat: float | None) -> int:
    draft = IncidentDraft(category="dispute", severity=3, source="hotline_12345", description=description,
                          grid="G1" if lon is None else None, lon=lon, lat=lat)
    return incidents.create_incident(w.db, w.officers[0], draft).row.id


def contains(outer: list[float], inner: tuple[float, float, float, float]) -> bool:
    west, south, east, north = outer
    return west <= inner[0] and south <= inner[1] and east >= inner[2] and north >= inner[3]


def test_labels_fit_and_the_count_of_incidents_without_coordinates(
        qtbot, db: Database, workstations) -> None:  # type: ignore[no-untyped-def]
    w = make_world(db)
    placed = [record_at(w, f"楼道堆物{i}", 113.901 + 0.002 * i, 22.501 + 0.001 * i) for i in range(4)]
    record_at(w, "来电未说清位置", None, None)
    ws = workstations(db, w.officers[0], window=True, panels=("MapPanel",))
    ws.show()
    ws.settle()
    panel = ws.window.panels["map"]
    qtbot.waitUntil(panel.is_ready, timeout=WAIT)
    assert ws.queue.model.total == 5
    qtbot.waitUntil(lambda: "1 more open incidents have no coordinates" in panel.summary.text(), timeout=WAIT)
    assert "4 open incidents on the map" in panel.summary.text()

    # arrow down the queue: each selected incident gets its label, the one before loses it
    ws.queue.table.setFocus()
    qtbot.keyClick(ws.queue.table, Qt.Key.Key_Home)
    for _step in range(4):
        qtbot.keyClick(ws.queue.table, Qt.Key.Key_Down)
        current = ws.ui.selection.current
        qtbot.waitUntil(lambda c=current: panel.run_js(f"dc.selected() === {c}"), timeout=WAIT)
    shown = panel.run_js("dc.tooltipsOpen()")
    assert len(shown) <= 1 and set(shown) <= set(placed)

    # its own window, then docked back: the whole jurisdiction in view both times
    def whole_jurisdiction() -> bool:
        return bool(contains(panel.run_js("dc.bounds()"), JURISDICTION))

    qtbot.keyClick(ws.queue.table, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(panel.isFloating, timeout=WAIT)
    qtbot.waitUntil(whole_jurisdiction, timeout=WAIT)
    ws.window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is not None, timeout=5000)
    panel.detach_action.trigger()  # the same action the key and the button trigger
    qtbot.waitUntil(lambda: not panel.isFloating(), timeout=WAIT)
    qtbot.waitUntil(whole_jurisdiction, timeout=WAIT)
