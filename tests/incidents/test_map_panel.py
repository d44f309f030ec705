"""The grid map dock in QtWebEngine (offscreen), on both backends.

Clicks select incidents (through the bridge slot and through the page), the queue's selection
pans the map, a grid click shows its card, incidents committed by another connection appear
without reloading the page, and text from the database reaches the page only as text.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from db.engine import Database
from db.models import Unit
from dispatch_console import jurisdiction
from dispatch_console.demo.seed import seed_demo
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.service import IncidentDraft
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changes import record, row_dict
from dispatch_console.kernel.console import ConsoleContext
from ui.map.map_panel import MapPanel
from ui.shell.background import BackgroundRunner
from ui.shell.context import IncidentSelection, Session, UiContext
from ui.shell.feed import QtChangeFeed

WAIT = 60000  # generous: two cores shared with other work
HOSTILE = '"</script><img src=x onerror=alert(1)>'


def grid_centre(db: Database, index: int = 0) -> tuple[int, float, float]:
    """A grid and a point inside it."""
    import shapely.geometry

    feature = jurisdiction.areas_geojson(db, "grid")["features"][index]
    point = shapely.geometry.shape(feature["geometry"]).representative_point()
    return int(feature["id"]), float(point.x), float(point.y)


@pytest.fixture
def map_panel(qtbot, db: Database, system: Actor) -> Iterator[MapPanel]:  # type: ignore[no-untyped-def]
    seed_demo(db, system)
    console = ConsoleContext(db, "ws-map")
    console.actor = Actor(user_id=None, username="observer", role="observer", station="ws-map",
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
        yield panel
    finally:
        feed.stop()
        runner.wait_idle(10000)
        panel.shutdown()
        qtbot.wait(100)


def js(panel: MapPanel, script: str):  # type: ignore[no-untyped-def]
    return panel.run_js(script, WAIT)


def test_clicks_select_and_selection_pans(qtbot, map_panel: MapPanel, db: Database) -> None:  # type: ignore[no-untyped-def]
    from ui.incidents.queue_view import QueueView

    ui = map_panel.ui
    queue = QueueView(ui)
    qtbot.addWidget(queue)
    qtbot.waitUntil(lambda: queue.model.rowCount() > 0 and queue.current_id() is not None, timeout=WAIT)
    ids = js(map_panel, "dc.markerIds()")
    assert sorted(ids) == sorted(map_panel.marker_ids) and len(ids) >= 3
    first, second = [i for i in ids if i != queue.current_id()][:2]
    assert js(map_panel, "dc.errors()") == []

    # the slot the page calls on a click: the selection and the queue follow
    map_panel.bridge.markerClicked(first)
    assert ui.selection.current == first
    qtbot.waitUntil(lambda: queue.current_id() == first, timeout=WAIT)
    qtbot.waitUntil(lambda: js(map_panel, "dc.selected()") == first, timeout=WAIT)

    # a real click fired inside the page travels through the channel
    assert js(map_panel, f"dc.clickMarker({second})") is True
    qtbot.waitUntil(lambda: ui.selection.current == second, timeout=WAIT)
    qtbot.waitUntil(lambda: queue.current_id() == second, timeout=WAIT)

    # the officer picks a row in the queue: the map brings that incident into view, highlighted
    target = js(map_panel, f"dc.marker({first})")
    far = (target["lon"] + 0.05, target["lat"] + 0.05)
    assert js(map_panel, f"dc.setView({far[0]}, {far[1]}, 16)") is True
    assert js(map_panel, f"dc.inView({first})") is False
    assert queue.select_id(first)
    qtbot.waitUntil(lambda: js(map_panel, "dc.selected()") == first and js(map_panel, f"dc.inView({first})"),
                    timeout=WAIT)
    lon, lat = js(map_panel, "dc.centre()")
    assert abs(lon - target["lon"]) < 1e-4 and abs(lat - target["lat"]) < 1e-4  # centred on it

    # a grid click shows the grid card: 一格三员 with phones, open incidents, last 30 days
    grid_id = grid_centre(db)[0]
    assert js(map_panel, f"dc.clickGrid({grid_id})") is True
    qtbot.waitUntil(lambda: map_panel.card.isVisible(), timeout=WAIT)
    card = jurisdiction.grid_card(db, grid_id)
    text = map_panel.card_text.text()
    assert card.grid.name in map_panel.card_title.text()
    assert len(card.staff) == 3
    for staff in card.staff:
        assert staff.name in text and staff.phone and staff.phone in text
    assert f"{card.open_incidents}" in text and f"{card.last_30_days}" in text
    assert map_panel.card_list.count() == card.open_incidents


def test_new_incident_from_another_connection_appears_without_reload(  # type: ignore[no-untyped-def]
        qtbot, map_panel: MapPanel, db: Database, make_actor, system: Actor) -> None:
    officer = make_actor("duty_officer")
    other = Database(db.url.render_as_string(hide_password=False))  # another workstation
    try:
        grid_id, lon, lat = grid_centre(db, 3)
        count_before = js(map_panel, f"dc.gridCount({grid_id})")
        row = incidents.create_incident(other, officer, IncidentDraft(
            category="public_order", severity=2, source="hotline_12345", description=HOSTILE,
            lon=lon, lat=lat)).row
        qtbot.waitUntil(lambda: row.id in js(map_panel, "dc.markerIds()"), timeout=WAIT)
        assert js(map_panel, f"dc.gridCount({grid_id})") == count_before + 1
        # the page was not reloaded: one load on the page side, one pageReady on ours
        assert js(map_panel, "dc.loads()") == 1
        assert map_panel.bridge.page_loads == 1

        # the description is text: the popup shows it verbatim and no element was created from it
        assert js(map_panel, f"dc.clickMarker({row.id})") is True
        qtbot.waitUntil(lambda: js(map_panel, "dc.popupText()") is not None, timeout=WAIT)
        assert HOSTILE in js(map_panel, "dc.popupText()")
        assert js(map_panel, "document.querySelectorAll('img').length") == 0
        assert js(map_panel, "document.querySelectorAll('.leaflet-popup-content script').length") == 0
        tip = js(map_panel, f"(() => {{ const m = dc.marker({row.id}); return m.excerpt; }})()")
        assert tip == HOSTILE

        # closing it elsewhere takes the marker off and restores the grid's colour
        ack = incidents.acknowledge(other, officer, row.id, row.version)
        incidents.resolve(other, officer, row.id, ack.version, note="处置完毕")
        qtbot.waitUntil(lambda: row.id not in js(map_panel, "dc.markerIds()"), timeout=WAIT)
        qtbot.waitUntil(lambda: js(map_panel, f"dc.gridCount({grid_id})") == count_before, timeout=WAIT)
        assert js(map_panel, "dc.loads()") == 1 and map_panel.bridge.page_loads == 1

        # a unit reports a new position: only that marker moves
        unit_id = js(map_panel, "dc.unitIds()")[0]
        with other.write() as s:
            unit = s.get(Unit, unit_id)
            before = row_dict(unit)
            unit.lon, unit.lat = lon, lat
            record(s, system, entity="unit", entity_id=unit_id, op="update", action="unit.move",
                   before=before, after=row_dict(unit))
        qtbot.waitUntil(lambda: js(map_panel, f"dc.unit({unit_id})")["lon"] == lon, timeout=WAIT)

        # a new grid boundary is imported elsewhere: the areas are redrawn, the page is not reloaded
        square = [[113.80, 22.40], [113.81, 22.40], [113.81, 22.41], [113.80, 22.41], [113.80, 22.40]]
        report = jurisdiction.import_geojson(other, system, {"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"name": "测试网格", "code": "MAP-TEST-1"},
             "geometry": {"type": "Polygon", "coordinates": [square]}}]}, "grid")
        assert not report.errors
        new_grid = next(f["id"] for f in jurisdiction.areas_geojson(db, "grid")["features"]
                        if f["properties"]["code"] == "MAP-TEST-1")
        qtbot.waitUntil(lambda: js(map_panel, f"dc.gridCount({new_grid})") == 0, timeout=WAIT)
        assert row.id not in js(map_panel, "dc.markerIds()")
        assert js(map_panel, "dc.loads()") == 1 and map_panel.bridge.page_loads == 1
        assert js(map_panel, "dc.errors()") == []
    finally:
        other.dispose()


def test_unit_click_shows_a_unit_card_that_follows_the_unit_and_its_incident(  # type: ignore[no-untyped-def]
        qtbot, map_panel: MapPanel, db: Database, make_actor, system: Actor) -> None:
    from PySide6.QtCore import Qt

    from dispatch_console.incidents import map_data
    from dispatch_console.incidents import queue as incident_queue
    from dispatch_console.incidents import units as incident_units

    ui = map_panel.ui
    officer = make_actor("duty_officer")
    on_map = set(js(map_panel, "dc.unitIds()"))
    free = next(u for u in incident_queue.list_units(db)
                if u.status == "available" and u.incident_number is None and u.id in on_map)
    card = map_data.unit_card(db, free.id)
    assert card.grid is not None and free.contact_name and free.phone

    # the slot the page calls on a click: the card names the unit, its kind, status, contact, place
    map_panel.bridge.unitClicked(free.id)
    qtbot.waitUntil(lambda: map_panel.card.isVisible() and map_panel.card_kind == "unit", timeout=WAIT)
    assert map_panel.card_title.text() == f"{free.name} ({free.code})"
    text = map_panel.card_text.text()
    for expected in (card.kind_label, "Available", free.contact_name, free.phone, card.grid.name,
                     "Not assigned to an incident."):
        assert expected in text
    assert not map_panel.incident_button.isVisible()
    assert not map_panel.show_incident_action.isEnabled()
    qtbot.waitUntil(lambda: js(map_panel, "dc.selectedUnit()") == free.id, timeout=WAIT)

    other = Database(db.url.render_as_string(hide_password=False))  # a second station
    try:
        # its status is changed at the other station: the open card follows
        row = incident_units.set_unit_status(other, officer, free.id, free.version, "off_duty")
        qtbot.waitUntil(lambda: "Off duty" in map_panel.card_text.text(), timeout=WAIT)
        incident_units.set_unit_status(other, officer, free.id, row.version, "available")
        qtbot.waitUntil(lambda: "Available" in map_panel.card_text.text(), timeout=WAIT)

        # sent to an incident there: the card names it and offers to select it
        _grid, lon, lat = grid_centre(db, 5)
        created = incidents.create_incident(other, officer, IncidentDraft(
            category="fire", severity=2, source="hotline_12345", description="仓库冒烟", lon=lon, lat=lat)).row
        assigned = incident_units.assign(other, officer, created.id, created.version, unit_ids=[free.id])
        qtbot.waitUntil(lambda: created.number in map_panel.card_text.text(), timeout=WAIT)
        text = map_panel.card_text.text()
        assert "Dispatched" in text and "Fire" in text and " ago" in text
        assert map_panel.incident_button.isVisible() and created.number in map_panel.incident_button.text()
        assert map_panel.show_incident_action.isEnabled()

        # by keyboard: Tab from the card's close button to its button, Space selects the incident
        assert ui.selection.current != created.id
        map_panel.activateWindow()
        map_panel.card_close.setFocus()
        qtbot.waitUntil(map_panel.card_close.hasFocus, timeout=WAIT)
        qtbot.keyClick(map_panel.card_close, Qt.Key.Key_Tab)
        assert map_panel.incident_button.hasFocus()
        qtbot.keyClick(map_panel.incident_button, Qt.Key.Key_Space)
        assert ui.selection.current == created.id
        # or its shortcut anywhere in the map dock
        ui.selection.select(0)
        qtbot.keyClick(map_panel.card_close, Qt.Key.Key_I,
                       Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        assert ui.selection.current == created.id
        qtbot.waitUntil(lambda: js(map_panel, "dc.selected()") == created.id, timeout=WAIT)

        # the incident moves on at the other station: the card shows it
        incidents_row = incident_units.mark_on_scene(other, officer, created.id, assigned.version)
        qtbot.waitUntil(lambda: map_panel.card_text.text().count("On scene") == 2, timeout=WAIT)  # unit, incident
        assert incidents_row.status == "on_scene"

        # released: no incident on the card, nothing to select
        detail = incidents.get_incident(other, created.id)
        (assignment,) = [a for a in detail.assignments if a.unit_id == free.id]
        incident_units.release(other, officer, assignment.id)
        qtbot.waitUntil(lambda: "Not assigned to an incident." in map_panel.card_text.text(), timeout=WAIT)
        assert "Returning" in map_panel.card_text.text()
        qtbot.waitUntil(lambda: not map_panel.incident_button.isVisible(), timeout=WAIT)
        assert not map_panel.show_incident_action.isEnabled()

        # the officer closes the card: the unit's highlight goes with it
        qtbot.mouseClick(map_panel.card_close, Qt.MouseButton.LeftButton)
        assert not map_panel.card.isVisible()
        qtbot.waitUntil(lambda: js(map_panel, "dc.selectedUnit()") == 0, timeout=WAIT)
    finally:
        other.dispose()


def test_unit_card_shows_hostile_names_as_text_and_says_when_the_unit_is_gone(  # type: ignore[no-untyped-def]
        qtbot, map_panel: MapPanel, db: Database, system: Actor) -> None:
    from PySide6.QtCore import Qt

    _grid, lon, lat = grid_centre(db, 1)
    other = Database(db.url.render_as_string(hide_password=False))
    try:
        with other.write() as s:
            unit = Unit(code="U-HOSTILE", name=HOSTILE, kind="volunteer", status="available",
                        contact_name=HOSTILE, phone="<b>110</b>", lon=lon, lat=lat, version=1)
            s.add(unit)
            s.flush()
            unit_id = unit.id
            record(s, system, entity="unit", entity_id=unit_id, op="insert", action="unit.create",
                   after=row_dict(unit))
        qtbot.waitUntil(lambda: unit_id in js(map_panel, "dc.unitIds()"), timeout=WAIT)

        # a real click inside the page travels through the channel to the card
        assert js(map_panel, f"dc.clickUnit({unit_id})") is True
        qtbot.waitUntil(lambda: map_panel.card_kind == "unit" and map_panel.card_unit_id == unit_id, timeout=WAIT)
        assert map_panel.card_title.textFormat() == Qt.TextFormat.PlainText
        assert map_panel.card_text.textFormat() == Qt.TextFormat.PlainText
        assert map_panel.card_title.text() == f"{HOSTILE} (U-HOSTILE)"
        assert f"{HOSTILE} <b>110</b>" in map_panel.card_text.text()
        assert js(map_panel, "document.querySelectorAll('img').length") == 0
        assert js(map_panel, "dc.selectedUnit()") == unit_id

        # the unit is removed at the other station: its marker goes, the card says so
        with other.write() as s:
            gone = s.get(Unit, unit_id)
            before = row_dict(gone)
            s.delete(gone)
            record(s, system, entity="unit", entity_id=unit_id, op="delete", action="unit.delete", before=before)
        qtbot.waitUntil(lambda: unit_id not in js(map_panel, "dc.unitIds()"), timeout=WAIT)
        qtbot.waitUntil(lambda: "no longer in the database" in map_panel.card_text.text(), timeout=WAIT)
        assert HOSTILE in map_panel.card_title.text()  # which unit went away
        assert map_panel.card_unit_id == 0 and not map_panel.incident_button.isVisible()
        assert js(map_panel, "dc.errors()") == []
    finally:
        other.dispose()
