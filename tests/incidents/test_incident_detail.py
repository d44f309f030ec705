"""The incident details dock and the action keys: everything shown as plain text, and two
officers acknowledging the same incident at two workstations — one wins, the other is told."""

from __future__ import annotations

from typing import Any

import support.world as support
from PySide6.QtCore import Qt
from sqlalchemy import select
from support.world import Workstation, make_world

from db.engine import Database
from db.models import AuditLog, Unit
from dispatch_console.incidents import service as incidents
from ui.incidents import actions as incident_actions
from ui.incidents.detail import IncidentDetailPanel

# the shared fixtures (defined with the world in test_queue_support)
isolated_settings = support.isolated_settings
workstations = support.workstations


def detail_of(ws: Workstation) -> IncidentDetailPanel:
    panel = ws.window.panels["incident-detail"]
    assert isinstance(panel, IncidentDetailPanel)
    return panel


def press(qtbot: Any, ws: Workstation, key: Qt.Key, widget: Any = None) -> None:
    ws.show()
    target = widget or ws.queue.table
    target.setFocus()
    qtbot.waitUntil(target.hasFocus, timeout=5000)
    qtbot.keyClick(target, key)


def test_acknowledge_from_two_workstations_one_wins(qtbot, db: Database, workstations) -> None:  # type: ignore[no-untyped-def]
    w = make_world(db)
    row = w.record("两台同时受理", severity=3)
    a = workstations(db, w.officers[0], window=True)
    b = workstations(db, w.officers[1], window=True)
    for ws in (a, b):
        ws.settle()
        assert ws.queue.select_id(row.id)
        qtbot.waitUntil(lambda ws=ws: detail_of(ws).current_row() is not None, timeout=10000)
    b.feed.stop()  # workstation B lags behind: it still shows the version before A's change

    press(qtbot, a, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: a.queue.current_row().status == "acknowledged", timeout=10000)
    assert a.queue.message.text() == f"{row.number} acknowledged"

    press(qtbot, b, Qt.Key.Key_A)  # B acts on the version it saw
    qtbot.waitUntil(lambda: "Already acknowledged by" in b.queue.message.text(), timeout=10000)
    text = b.queue.message.text()
    # the person's name and workstation, never the login (officer1-…)
    assert "值班员1@值班台1" in text and w.officers[0].username not in text and text.endswith("— refreshed")
    # B's row was read again: it now shows who owns it, without B's feed
    qtbot.waitUntil(lambda: b.queue.current_row().status == "acknowledged", timeout=10000)
    assert b.queue.current_row().owner_name == "值班员1"
    assert not b.queue.actions_.actions["acknowledge"].isEnabled()
    detail = incidents.get_incident(db, row.id)
    assert [e.kind for e in detail.events].count("acknowledged") == 1  # one winner


def test_details_show_fields_timeline_units_and_notes_as_plain_text(qtbot, db: Database, workstations,
                                                                    monkeypatch) -> None:  # type: ignore[no-untyped-def]
    w = make_world(db)
    now = db.now()
    with db.write() as s:
        s.add(Unit(code="U1", name="桃源派出所", kind="police_station", status="available", version=1,
                   updated_at=now))
    row = w.record("<b>不是粗体</b> 仓库漏水", severity=2, phone="13900000000", address="<i>留仙大道</i>")
    unit_id = incidents.list_assignable_units(db)[0].id
    dispatched = incidents.assign(db, w.officers[1], row.id, row.version, unit_ids=[unit_id])
    a = workstations(db, w.officers[0], window=True)
    a.settle()
    assert a.queue.select_id(row.id)
    panel = detail_of(a)
    qtbot.waitUntil(lambda: panel.current_row() is not None and panel.current_row().id == row.id, timeout=10000)
    assert panel.title.textFormat() == Qt.TextFormat.PlainText
    assert panel.values["description"].text() == "<b>不是粗体</b> 仓库漏水"
    assert panel.values["description"].textFormat() == Qt.TextFormat.PlainText
    assert panel.values["address"].text() == "<i>留仙大道</i>"
    assert panel.values["reporter"].text() == "139****0000"  # in full only on request, audited
    assert not panel.reveal_phone.isHidden()
    qtbot.mouseClick(panel.reveal_phone, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.values["reporter"].text() == "13900000000", timeout=10000)
    with db.read() as s:
        seen = s.execute(select(AuditLog).where(AuditLog.action == "privacy.reveal")).scalar_one()
    assert (seen.username, seen.entity_id) == (w.officers[0].username, row.id)
    assert panel.values["grid"].text() == "测试社区第1网格 (测试社区)"
    assert panel.values["status"].text() == "Dispatched"
    kinds = [panel.timeline.topLevelItem(i).text(3) for i in range(panel.timeline.topLevelItemCount())]
    assert kinds[0] == "Incident recorded" and any(k.startswith("Units dispatched — 桃源派出所") for k in kinds)
    assert panel.timeline.topLevelItem(0).text(2) == "值班台1"
    assert panel.units.topLevelItemCount() == 1 and panel.units.topLevelItem(0).text(0) == "桃源派出所"

    # N in the details panel adds a note; it shows up from the change feed
    monkeypatch.setattr(incident_actions, "ask_note", lambda *_a, **_k: "已通知<script>物业</script>")
    press(qtbot, a, Qt.Key.Key_N, panel.tabs.tabBar())
    qtbot.waitUntil(lambda: panel.notes.topLevelItemCount() == 1, timeout=10000)
    assert panel.notes.topLevelItem(0).text(2) == "已通知<script>物业</script>"

    # S: units on scene, with the version shown here
    press(qtbot, a, Qt.Key.Key_S, panel.tabs.tabBar())
    qtbot.waitUntil(lambda: panel.current_row().status == "on_scene", timeout=10000)
    assert panel.current_row().version > dispatched.version


def test_refusals_are_shown_plainly(qtbot, db: Database, workstations, make_actor,
                                    monkeypatch) -> None:  # type: ignore[no-untyped-def]
    w = make_world(db)
    row = w.record("需要拒绝的操作", severity=3)
    observer = make_actor("observer", station="值班台9")
    a = workstations(db, observer, window=True)
    a.settle()
    assert a.queue.select_id(row.id)
    panel = detail_of(a)
    qtbot.waitUntil(lambda: panel.current_row() is not None, timeout=10000)
    # an observer's buttons are greyed; the service refuses anyway if asked
    assert not panel.actions_.actions["acknowledge"].isEnabled()
    panel.actions_.acknowledge(panel.current_row())
    qtbot.waitUntil(lambda: "may not acknowledge an incident" in panel.message.text(), timeout=10000)

    officer = workstations(db, w.officers[0], window=True)
    officer.settle()
    assert officer.queue.select_id(row.id)
    # closing a new incident is an illegal transition, named as such
    monkeypatch.setattr(incident_actions, "ask_note", lambda *_a, **_k: "")
    officer.queue.actions_.close(officer.queue.current_row())
    qtbot.waitUntil(lambda: "cannot be closed" in officer.queue.message.text(), timeout=10000)
    assert officer.queue.message.text().startswith("⚠ " + row.number)
