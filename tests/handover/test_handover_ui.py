"""The whole handover through the dialogs: two leaders on two workstations, one PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import update
from support.handover_fixtures import incident, now_to_next
from support.qt_input import type_chinese

from db.engine import Database, db_now
from db.models import Timer
from dispatch_console.handover import service as handover
from dispatch_console.incidents import service as incidents
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.console import ConsoleContext
from ui.handover.dialogs import AcceptDialog, SignDialog
from ui.handover.panel import HandoverPanel
from ui.shell import theme
from ui.shell.background import BackgroundRunner
from ui.shell.context import IncidentSelection, Session, UiContext
from ui.shell.feed import QtChangeFeed

pytestmark = pytest.mark.gui


class Workstations:
    """Consoles on one database, each with its own connections, runner and change feed."""

    def __init__(self) -> None:
        self.opened: list[tuple[UiContext, Database]] = []

    def open(self, url: str, station: str, actor: Actor) -> UiContext:
        database = Database(url)
        console = ConsoleContext(database, station, Resources(), actor)
        ui = UiContext(console, BackgroundRunner(), QtChangeFeed(console), IncidentSelection(), Session(console))
        ui.feed.start()
        self.opened.append((ui, database))
        return ui

    def close(self) -> None:
        for ui, database in self.opened:
            ui.feed.stop()
            ui.runner.wait_idle(5000)
            database.dispose()


@pytest.fixture
def stations() -> Iterator[Workstations]:
    ws = Workstations()
    yield ws
    ws.close()


def test_two_leaders_hand_over_through_the_dialogs(qtbot, pg_db: Database, system: Actor,
                                                   stations: Workstations) -> None:
    room = now_to_next(pg_db, system)
    fire = incident(pg_db, room.zhang, 1, "厂房冒烟，有人员被困", acknowledge=True)
    flood = incident(pg_db, room.zhang, 2, "地下车库进水")
    noise = incident(pg_db, room.zhang, 4, "广场舞噪音扰民", acknowledge=True)

    outgoing = stations.open(str(pg_db.url.render_as_string(hide_password=False)), "值班台1", room.wang)
    incoming = stations.open(str(pg_db.url.render_as_string(hide_password=False)), "值班台2", room.li)
    panel1, panel2 = HandoverPanel(outgoing), HandoverPanel(incoming)
    for panel in (panel1, panel2):
        qtbot.addWidget(panel)
        panel.show()
    qtbot.waitUntil(lambda: panel1.sign_button.isEnabled(), timeout=10000)
    assert panel1.table.rowCount() == 3 and not panel2.accept_button.isEnabled()

    # The outgoing leader reviews, writes notes, ticks the keys and signs with the password.
    qtbot.mouseClick(panel1.sign_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: isinstance(panel1.dialog, SignDialog), timeout=10000)
    sign = panel1.dialog
    assert isinstance(sign, SignDialog)
    assert fire.number in sign.view.toPlainText() and noise.number in sign.view.toPlainText()
    type_chinese(sign.notes, "平山社区停电，供电局预计 9 点恢复。")
    phone, _note = sign.checks["duty_phone"]
    keys, keys_note = sign.checks["vehicle_keys"]
    phone.setFocus()
    qtbot.keyClick(phone, Qt.Key.Key_Space)
    type_chinese(keys_note, "车辆送修")
    assert phone.isChecked() and not keys.isChecked()
    qtbot.keyClicks(sign.password, "wrong")
    qtbot.keyClick(sign.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: sign.message.text() != "" and not sign.busy, timeout=10000)
    assert panel1.dialog is sign  # refused: the officer stays in the dialog
    qtbot.keyClicks(sign.password, "pw")
    qtbot.keyClick(sign.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: panel1.dialog is None, timeout=10000)

    # The incoming leader's console learns of it from the change feed.
    qtbot.waitUntil(lambda: panel2.accept_button.isEnabled(), timeout=15000)
    assert "(2 serious" in panel2.awaiting_label.text()
    qtbot.mouseClick(panel2.accept_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: isinstance(panel2.dialog, AcceptDialog), timeout=10000)
    accept = panel2.dialog
    assert isinstance(accept, AcceptDialog)
    assert not accept.accept_button.isEnabled()
    assert accept.selected_incident() == fire.id  # the first serious incident is selected
    qtbot.keyClick(accept.table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(accept.record.pending_reacknowledgements) == 1 and not accept.busy, timeout=10000)
    assert accept.selected_incident() == flood.id and not accept.accept_button.isEnabled()
    chen = accept.owner.findData(room.chen.user_id)
    assert chen >= 0
    accept.owner.setCurrentIndex(chen)  # the flood goes to the incoming officer 陈静
    qtbot.keyClick(accept.table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not accept.record.pending_reacknowledgements and not accept.busy, timeout=10000)
    assert accept.accept_button.isEnabled()
    accept.owner.setCurrentIndex(0)  # what is left goes to the accepting leader
    qtbot.keyClicks(accept.password, "pw")
    qtbot.keyClick(accept.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: panel2.dialog is None, timeout=10000)

    record = handover.preview(pg_db, room.outgoing)
    assert record.status == "accepted" and record.notes == "平山社区停电，供电局预计 9 点恢复。"
    assert record.signed is not None and record.signed.station == "值班台1"
    assert record.accepted is not None and record.accepted.station == "值班台2"
    equipment = {e.code: (e.ok, e.note) for e in record.equipment}
    assert equipment["duty_phone"] == (True, "") and equipment["vehicle_keys"] == (False, "车辆送修")
    owners = incidents.rows_by_ids(pg_db, [fire.id, flood.id, noise.id])
    assert [owners[i].owner_name for i in (fire.id, flood.id, noise.id)] == ["li", "chen", "li"]
    qtbot.waitUntil(lambda: "accepted" in panel1.status_label.text(), timeout=15000)


def test_the_panel_reloads_during_a_stream_of_changes_not_only_after_it(qtbot, pg_db: Database, system: Actor,
                                                                         stations: Workstations) -> None:
    """Changes every 100 ms (a surge) used to restart the 250 ms pause each time, so the handover
    panel showed the situation from before the surge until it ended."""
    room = now_to_next(pg_db, system)
    incident(pg_db, room.zhang, 2, "地下车库进水")
    ui = stations.open(str(pg_db.url.render_as_string(hide_password=False)), "值班台1", room.wang)
    panel = HandoverPanel(ui)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: panel.is_ready() and panel.table.rowCount() == 1, timeout=10000)
    reloads: list[int] = []
    panel._debounce.timeout.connect(lambda: reloads.append(1))

    class Change:
        entity = "incident"

    for _ in range(15):  # 1.5 s of changes, one every 100 ms
        panel._on_changes([Change()])
        qtbot.wait(100)
        if reloads:
            break
    assert reloads  # reloaded while the changes were still coming
    assert panel._debounce.interval() >= 250


def test_deadlines_already_passed_stand_out_in_the_handover_list(qtbot, pg_db: Database, system: Actor,
                                                                stations: Workstations) -> None:
    room = now_to_next(pg_db, system)
    late = incident(pg_db, room.zhang, 2, "地下车库进水")
    incident(pg_db, room.zhang, 4, "楼道堆放杂物")
    with pg_db.write() as s:  # the serious one's acknowledgement deadline passed an hour ago
        s.execute(update(Timer).where(Timer.incident_id == late.id, Timer.fired_at.is_(None))
                  .values(due_at=db_now(s) - timedelta(hours=1)))
    ui = stations.open(str(pg_db.url.render_as_string(hide_password=False)), "值班台1", room.wang)
    panel = HandoverPanel(ui)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: panel.is_ready() and panel.table.rowCount() == 2, timeout=10000)
    due = {panel.table.item(r, 0).text(): panel.table.item(r, 4) for r in range(2)}
    overdue = [item for item in due.values() if item.text().startswith("overdue since")]
    assert len(overdue) == 1
    assert overdue[0].foreground().color() == theme.deadline_colour("red")
    others = [item for item in due.values() if item is not overdue[0]]
    assert not others[0].text().startswith("overdue") and others[0].foreground().color() != theme.deadline_colour("red")
