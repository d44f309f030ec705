"""The checklist dock, driven from the keyboard, seen from a second workstation on the same database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog

from db.engine import Database
from dispatch_console.checklists import service as checklists
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.incidents.queue import rows_by_ids
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.console import ConsoleContext
from ui.checklists.panel import DEADLINE, STEP, ChecklistPanel
from ui.shell.background import BackgroundRunner
from ui.shell.context import IncidentSelection, Session, UiContext
from ui.shell.feed import QtChangeFeed

pytestmark = pytest.mark.gui


@pytest.fixture(autouse=True)
def shipped_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checklists, "_active", Resources())


@pytest.fixture
def workstations(db: Database) -> Iterator[list[UiContext]]:
    """Two consoles, each with its own engine, change feed and background runner."""
    made: list[UiContext] = []
    for station in ("值班台1", "值班台2"):
        console = ConsoleContext(Database(db.url), station, Resources())
        ui = UiContext(console=console, runner=BackgroundRunner(), feed=QtChangeFeed(console),
                       selection=IncidentSelection(), session=Session(console))
        ui.feed.start()
        made.append(ui)
    yield made
    for ui in made:
        ui.feed.stop()
        ui.runner.wait_idle(5000)
        ui.console.db.dispose()


def test_ticking_with_the_keyboard_shows_on_the_other_workstation(
        qtbot, db: Database, make_actor, workstations: list[UiContext],  # type: ignore[no-untyped-def]
        monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = workstations
    first.session.set_actor(make_actor("duty_officer", username="zhang-san", station="值班台1"))
    second.session.set_actor(make_actor("shift_leader", username="li-si", station="值班台2"))
    draft = IncidentDraft(category="fire", severity=2, source="police_110", description="桃源村出租屋起火")
    incident_id = incidents.create_incident(db, Actor.system("intake"), draft).row.id
    total = len(checklists.items_for(db, incident_id))

    panels = [ChecklistPanel(ui) for ui in workstations]
    for panel in panels:
        qtbot.addWidget(panel)
        panel.show()
    first.selection.select(incident_id)
    second.selection.select(incident_id)
    mine, theirs = panels
    qtbot.waitUntil(lambda: len(mine.model.rows) == total and len(theirs.model.rows) == total, timeout=10000)
    assert mine.model.rows[0].step_key == "verify"
    assert "left" in mine.model.index(0, DEADLINE).data()
    assert f"0/{total}" in mine.header.text()

    view = mine.view
    view.setFocus()
    assert view.currentIndex().row() == 0
    qtbot.keyClick(view, Qt.Key.Key_Space)  # tick 核实
    qtbot.waitUntil(lambda: mine.is_ready() and mine.model.rows[0].done, timeout=10000)
    qtbot.keyClick(view, Qt.Key.Key_Down)
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("已报区总值班室", True)))
    qtbot.keyClick(view, Qt.Key.Key_Space, Qt.KeyboardModifier.ShiftModifier)  # 电话首报, with a note
    qtbot.waitUntil(lambda: mine.is_ready() and mine.model.rows[1].done, timeout=10000)
    phone = mine.model.rows[1]
    assert phone.step_key == "report_phone" and phone.note == "已报区总值班室"
    assert phone.done_station == "值班台1" and "zhang-san" in mine.model.index(1, 4).data()
    assert view.currentIndex().row() == 1  # the cursor stays on the step just ticked
    assert f"2/{total}" in mine.header.text()

    # The other workstation: the queue's progress column, and its own panel through the change feed.
    row = rows_by_ids(second.console.db, [incident_id])[incident_id]
    assert (row.checklist_done, row.checklist_total) == (2, total)
    qtbot.waitUntil(lambda: [r.done for r in theirs.model.rows[:2]] == [True, True], timeout=10000)
    assert f"2/{total}" in theirs.header.text()

    # The shift leader there unticks the officer's step with Space; the first console follows.
    theirs.view.setFocus()
    theirs.view.setCurrentIndex(theirs.model.index(0, STEP))
    qtbot.keyClick(theirs.view, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not mine.model.rows[0].done, timeout=10000)
    assert rows_by_ids(first.console.db, [incident_id])[incident_id].checklist_done == 1

    for panel in panels:
        qtbot.waitUntil(panel.is_ready, timeout=5000)


def test_an_officer_may_not_untick_a_colleagues_step(
        qtbot, db: Database, make_actor, workstations: list[UiContext]) -> None:  # type: ignore[no-untyped-def]
    first, second = workstations
    owner = make_actor("duty_officer", username="wang-wu")
    first.session.set_actor(owner)
    second.session.set_actor(make_actor("duty_officer", username="zhao-liu"))
    draft = IncidentDraft(category="dispute", severity=4, source="walk_in", description="邻里纠纷")
    incident_id = incidents.create_incident(db, Actor.system("intake"), draft).row.id
    step = checklists.items_for(db, incident_id)[0]
    checklists.tick(db, owner, step.id, step.version)

    panel = ChecklistPanel(second)
    qtbot.addWidget(panel)
    panel.show()
    second.selection.select(incident_id)
    qtbot.waitUntil(lambda: bool(panel.model.rows) and panel.is_ready(), timeout=10000)
    panel.view.setFocus()
    qtbot.keyClick(panel.view, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: bool(panel.message.text()) and panel.is_ready(), timeout=10000)
    assert "untick another officer's step" in panel.message.text()
    assert panel.model.rows[0].done
