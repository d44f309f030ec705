"""A drill run end to end through the console: the drill director starts it in the drill panel at
20×, the injects arrive in the queue marked as drills under the DRILL banner, an officer works
them at another workstation, the run finishes and the after-action report says how it went."""

from __future__ import annotations

from pathlib import Path

import support.world as support
import test_drills
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QToolBar

from db.engine import Database
from dispatch_console.checklists import service as checklists
from dispatch_console.drills import service as drills
from dispatch_console.incidents import service as incidents
from ui.incidents.queue_model import Column
from ui.shell import theme

isolated_settings = support.isolated_settings
workstations = support.workstations
quick_escalation = test_drills.quick_escalation
drill_world = test_drills.drill_world

PANELS = ("drills", "detail")


def test_a_drill_runs_through_the_console_and_is_reported(qtbot, db: Database, workstations,  # type: ignore[no-untyped-def]
                                                           drill_world: test_drills.DrillWorld,
                                                           tmp_path: Path) -> None:
    w = drill_world
    director = workstations(db, w.director, window=True, panels=PANELS)
    officer = workstations(db, w.officer, window=True, panels=PANELS)
    panel = director.window.panels["drills"]
    watching = officer.window.panels["drills"]
    assert not watching.start_button.isEnabled()  # an officer watches; only a director runs drills

    # the shipped scenarios are offered; the director opens the test's own file and starts it at 20×
    qtbot.waitUntil(lambda: panel.scenario.count() >= 3, timeout=15000)
    panel.open_scenario(w.scenario_path)
    qtbot.waitUntil(lambda: panel.scenario.currentData() == "test_factory_fire", timeout=10000)
    panel.speed.setValue(int(test_drills.SPEED / 3))  # the 90 s between "late" and the end: 4.5 real seconds
    director.show()
    assert panel.start_button.isEnabled()
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)

    # every console shows the banner while it runs, and the injects arrive in the queue as drills
    for ws in (director, officer):
        qtbot.waitUntil(lambda ws=ws: ws.window.findChild(QToolBar, "banner-drill") is not None
                        and not ws.window.findChild(QToolBar, "banner-drill").isHidden(), timeout=15000)
        bar = ws.window.findChild(QToolBar, "banner-drill")
        assert "DRILL" in bar.findChild(QLabel, "banner-drill-text").text()
        assert "main-window" in ws.window.styleSheet()  # framed in the drill colour
    # the director pauses the drill clock and resumes it
    qtbot.waitUntil(panel.pause_button.isEnabled, timeout=10000)
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    banner = officer.window.findChild(QLabel, "banner-drill-text")
    qtbot.waitUntil(lambda: "paused" in banner.text() and panel.resume_button.isEnabled(), timeout=15000)
    assert not panel.pause_button.isEnabled()
    qtbot.mouseClick(panel.resume_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "IN PROGRESS" in banner.text(), timeout=15000)
    qtbot.waitUntil(lambda: panel.run is not None and panel.run.injects_fired >= 1, timeout=15000)
    fire = test_drills.incident_of(db, panel.run.id, "fire")
    queue = officer.queue
    qtbot.waitUntil(lambda: fire.id in queue.model.ids, timeout=15000)
    index = queue.model.index(queue.model.row_of(fire.id), int(Column.NUMBER))
    assert index.data() == f"[DRILL] {fire.number}"
    assert index.data(Qt.ItemDataRole.ForegroundRole) == theme.drill_colour()

    # once every inject is in (the update changes the fire), the officer acknowledges it, ticks
    # 核实 late and dispatches; nobody acknowledges the crowd
    qtbot.waitUntil(lambda: len(panel.injects) == 4 and all(i.fired_at for i in panel.injects), timeout=20000)
    fire = incidents.rows_by_ids(db, [fire.id])[fire.id]
    fire = incidents.acknowledge(db, w.officer, fire.id, fire.version)
    qtbot.waitUntil(lambda: panel.run is not None and panel.run.scenario_s >= 90, timeout=20000)
    with test_drills.clock_stopped(db, w.director, panel.run.id):  # however slowly this machine runs the test
        verify = next(i for i in checklists.items_for(db, fire.id) if i.step_key == "verify")
        checklists.tick(db, w.officer, verify.id, verify.version)
        fire = incidents.rows_by_ids(db, [fire.id])[fire.id]
        incidents.assign(db, w.officer, fire.id, fire.version, unit_ids=[w.unit_ids["pcs"]])
    unit_inject = next(i for i in panel.injects if i.key == "militia_out")
    assert unit_inject.outcome is None and panel.progress.value() == 4

    # the run finishes: the banner goes, everywhere
    qtbot.waitUntil(lambda: panel.run is not None and panel.run.status == "finished", timeout=30000)
    for ws in (director, officer):
        qtbot.waitUntil(lambda ws=ws: ws.window.findChild(QToolBar, "banner-drill").isHidden(), timeout=15000)
    assert drills.active_run(db) is None

    # the after-action report: acknowledged in time, 核实 late, one escalation (the crowd)
    qtbot.mouseClick(panel.report_button, Qt.MouseButton.LeftButton)
    view = panel.report_view
    qtbot.addWidget(view)
    qtbot.waitUntil(view.is_ready, timeout=20000)
    report = view.report
    assert (report.met, report.missed, report.escalation_count) == (1, 1, 1)
    fire_result = next(i for i in report.injects if i.key == "fire")
    ack, late = fire_result.expectations
    assert (ack.state, late.state) == ("met", "missed") and late.margin_s < 0
    assert "1 met, 1 missed" in view.summary.text() and "Escalations: 1" in view.summary.text()
    top = view.figures.topLevelItem(0)
    assert top.child(0).text(3).startswith("met") and top.child(1).text(3).startswith("missed by")
    # the officer sent 桃源派出所 from the plain dialog: no run card proposed, and the report says so
    sent = top.child(top.childCount() - 1)
    assert sent.text(3) == "dispatched without a proposal" and "桃源派出所" in sent.text(0)
    assert "dispatched without a proposal" in view.report_html(None)  # the PDF's content
    assert view.chart_rows()[2:] == [w.officer.username]
    assert view.comparison.rowCount() == 1
    pdf = tmp_path / "drill.pdf"
    assert view.export_pdf(pdf) >= 1 and pdf.read_bytes().startswith(b"%PDF")
