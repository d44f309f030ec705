"""The map's case mode: grids coloured by their open cases, high risk and 可能激化 emphasised,
switched by key and in the map's layer control, following the change feed (both backends)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from support.case_world import make_case_world

from db.engine import Database
from dispatch_console.cases import policy, service
from dispatch_console.cases.reads import grid_case_counts
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.console import ConsoleContext
from ui.map.map_panel import MapPanel
from ui.map.web import palette
from ui.shell.background import BackgroundRunner
from ui.shell.context import IncidentSelection, Session, UiContext
from ui.shell.feed import QtChangeFeed

WAIT = 60000


@pytest.fixture(autouse=True)
def shipped_policy() -> Iterator[None]:
    policy.configure()
    yield
    policy.configure()


def _open(db: Database, actor: Actor, grid: str | None, **kw: Any) -> int:
    return service.open_case(db, actor, service.CaseDraft(kind="dispute", title="邻里纠纷", grid=grid, **kw))


def test_open_cases_are_counted_per_grid_with_high_risk_and_may_escalate_apart(
        db: Database, make_actor: Callable[..., Actor]) -> None:
    grids = make_case_world(db)
    officer = make_actor("duty_officer")
    _open(db, officer, "G1")
    _open(db, officer, "G1", risk="high")
    _open(db, officer, "G2", may_escalate=True)
    _open(db, officer, "G2", is_drill=True)       # a drill is not the street's caseload
    _open(db, officer, None)                      # no grid: counted apart
    closed = _open(db, officer, "G2")
    service.close_case(db, officer, closed, "已化解")
    counts = grid_case_counts(db)
    by_grid = {g.grid_id: (g.open, g.high_risk, g.may_escalate, g.emphasised) for g in counts.grids}
    assert by_grid == {grids["G1"]: (2, 1, 0, True), grids["G2"]: (1, 0, 1, True)}
    assert (counts.unplaced, counts.total) == (1, 4)
    op = counts.as_op()
    assert op["op"] == "case_grids" and op["on"] is True
    assert op["grids"][str(grids["G1"])] == {"open": 2, "high": 1, "escalate": 0}


@pytest.fixture
def map_panel(qtbot: Any, db: Database) -> Iterator[tuple[MapPanel, dict[str, int]]]:
    grids = make_case_world(db)
    console = ConsoleContext(db, "ws-case-map")
    console.actor = Actor(user_id=None, username="observer", role="observer", station="ws-case-map",
                          display_name="observer")
    runner = BackgroundRunner()
    feed = QtChangeFeed(console)
    ui = UiContext(console=console, runner=runner, feed=feed, selection=IncidentSelection(),
                   session=Session(console))
    panel = MapPanel(ui)
    qtbot.addWidget(panel)
    panel.resize(1000, 700)
    panel.show()
    feed.start()
    try:
        qtbot.waitUntil(panel.is_ready, timeout=WAIT)
        yield panel, grids
    finally:
        feed.stop()
        runner.wait_idle(10000)
        panel.shutdown()
        qtbot.wait(100)


def test_the_case_mode_colours_grids_by_open_cases_by_key_and_layer_control_and_follows_changes(
        qtbot: Any, map_panel: tuple[MapPanel, dict[str, int]], db: Database,
        make_actor: Callable[..., Actor]) -> None:
    panel, grids = map_panel
    officer = make_actor("duty_officer")
    g1, g2 = grids["G1"], grids["G2"]
    scale = palette(panel.theme_name)["case_scale"]
    incident_fill = panel.run_js(f"dc.gridFill({g1})", WAIT)
    _open(db, officer, "G1")
    _open(db, officer, "G1", risk="high")

    def page() -> dict[str, Any]:
        return panel.run_js("dc.caseGrids()", WAIT)  # type: ignore[no-any-return]

    layer = panel.case_grids
    assert page()["on"] is False and page()["control"] is False and not layer.enabled
    reads = layer.reads
    qtbot.wait(200)
    assert layer.reads == reads  # switched off, the layer reads nothing when cases change

    # on by key, anywhere in the map dock
    panel.activateWindow()
    panel.fit_button.setFocus()
    qtbot.keyClick(panel.fit_button, Qt.Key.Key_G,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert layer.enabled and layer.action.isChecked()
    qtbot.waitUntil(lambda: page()["on"] and page()["total"] == 2, timeout=WAIT)
    assert page()["control"] is True  # the layer control shows the mode on
    assert page()["grids"] == {str(g1): {"open": 2, "high": 1, "escalate": 0}}
    assert panel.run_js(f"dc.gridFill({g1})", WAIT) == scale[2]   # two open cases
    assert panel.run_js(f"dc.gridFill({g2})", WAIT) == scale[0]   # none
    style = panel.run_js(f"dc.gridStyle({g1})", WAIT)
    assert style["color"] == palette(panel.theme_name)["case_emphasis"] and style["weight"] > 1
    legend = panel.run_js("document.querySelector('.dc-legend').textContent", WAIT)
    assert "Open cases per grid" in legend or "网格未结案件数" in legend
    assert "High risk or may escalate" in legend or "高风险或可能激化" in legend

    # follows the change feed: a 可能激化 case in G2 outlines it, dashed
    _open(db, officer, "G2", may_escalate=True)
    qtbot.waitUntil(lambda: page()["grids"].get(str(g2)) == {"open": 1, "high": 0, "escalate": 1}, timeout=WAIT)
    assert panel.run_js(f"dc.gridFill({g2})", WAIT) == scale[1]
    assert panel.run_js(f"dc.gridStyle({g2})", WAIT)["dashArray"]

    # off from the page's layer control: Python switches the mode off, the incidents' colours come back
    assert panel.run_js("dc.toggleCaseControl()", WAIT) is True
    qtbot.waitUntil(lambda: not layer.enabled, timeout=WAIT)
    assert not layer.action.isChecked()
    qtbot.waitUntil(lambda: page()["on"] is False, timeout=WAIT)
    assert page()["control"] is False
    assert panel.run_js(f"dc.gridFill({g1})", WAIT) == incident_fill
    legend = panel.run_js("document.querySelector('.dc-legend').textContent", WAIT)
    assert "Open cases per grid" not in legend and "网格未结案件数" not in legend
    # and on again from the control
    assert panel.run_js("dc.toggleCaseControl()", WAIT) is True
    qtbot.waitUntil(lambda: page()["on"] is True and page()["total"] == 3, timeout=WAIT)
    assert layer.action.isChecked()
    assert panel.run_js("dc.errors()", WAIT) == []
