"""Official warnings in force on the map: their CAP areas as polygons and circles in their colour (both backends)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from support.street import OVER_BEIJING, Street, cap_message, make_street, reference

from db.engine import Database, db_now
from db.models import ChangeLog
from dispatch_console import warnings
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.console import ConsoleContext
from dispatch_console.warnings.map_layers import warning_areas
from ui.map.map_panel import MapPanel
from ui.shell.background import BackgroundRunner
from ui.shell.context import IncidentSelection, Session, UiContext
from ui.shell.feed import QtChangeFeed

WAIT = 60000


def _import(street: Street, tmp_path: Path, name: str, data: bytes) -> None:
    (tmp_path / name).write_bytes(data)
    report = warnings.import_paths(street.db, street.leader, [tmp_path / name])
    assert not report.refused, report


def test_only_warnings_in_force_are_drawn_in_their_colour(db: Database, tmp_path: Path) -> None:
    street = make_street(db)
    _import(street, tmp_path, "a.xml", cap_message(severity="Severe", headline="深圳市气象台发布台风橙色预警信号"))
    _import(street, tmp_path, "b.xml", cap_message("BJ-1", polygon=OVER_BEIJING, circle="39.9,116.4 5",
                                                  headline="北京市气象台发布大风蓝色预警"))
    _import(street, tmp_path, "c.xml", cap_message("EX-1", status="Exercise", headline="演习：暴雨红色预警"))
    _import(street, tmp_path, "d.xml", cap_message("OLD-1", expires="2001-01-01T00:00:00+08:00",
                                                  sent="2000-12-31T08:00:00+08:00", headline="过期的黄色预警"))
    by_id = {a.identifier: a for a in warning_areas(db).areas}
    assert set(by_id) == {"GD-SZ-2026-0001", "BJ-1"}  # an exercise and an expired one are not drawn
    typhoon, wind = by_id["GD-SZ-2026-0001"], by_id["BJ-1"]
    assert (typhoon.colour, typhoon.covers_street, wind.colour, wind.covers_street) == ("orange", True, "blue", False)
    lat, lon = typhoon.polygons[0][0]
    assert 22 < lat < 23 and 113 < lon < 115  # Leaflet's (lat, lon), not CAP's (lon, lat) order
    assert wind.circles == ((39.9, 116.4, 5000.0),)
    # cancelled: gone from the map
    _import(street, tmp_path, "e.xml", cap_message("GD-SZ-2026-0002", msg_type="Cancel", references=reference(),
                                                  sent="2026-12-03T12:00:00+08:00"))
    assert {a.identifier for a in warning_areas(db).areas} == {"BJ-1"}


@pytest.fixture
def map_panel(qtbot: Any, db: Database) -> Iterator[tuple[MapPanel, Street]]:
    street = make_street(db)
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
        yield panel, street
    finally:
        feed.stop()
        runner.wait_idle(10000)
        panel.shutdown()
        qtbot.wait(100)


def test_the_map_draws_a_new_official_warning_and_lists_the_colours_in_the_legend(
        qtbot: Any, map_panel: tuple[MapPanel, Street], tmp_path: Path) -> None:
    panel, street = map_panel

    def drawn() -> dict[str, Any]:
        return panel.run_js("dc.warningAreas()", WAIT)  # type: ignore[no-any-return]

    qtbot.waitUntil(lambda: panel.warning_areas.sent > 0, timeout=WAIT)
    assert drawn()["warnings"] == 0
    _import(street, tmp_path, "a.xml", cap_message(severity="Severe", headline="深圳市气象台发布台风橙色预警信号"))
    qtbot.waitUntil(lambda: drawn()["warnings"] == 1, timeout=WAIT)  # followed from the change feed
    assert drawn() == {"warnings": 1, "shapes": 1, "colours": ["orange"]}
    legend = panel.run_js("document.querySelector('.dc-legend').textContent", WAIT)
    assert "Official warning in force" in legend or "生效中的官方预警" in legend
    assert panel.run_js("dc.errors()", WAIT) == []


def test_the_read_says_when_the_first_warning_drawn_expires(db: Database, tmp_path: Path) -> None:
    street = make_street(db)
    with db.read() as s:
        now = db_now(s)
    assert warning_areas(db).refresh_in is None  # nothing drawn, nothing to expire
    _import(street, tmp_path, "a.xml", cap_message(headline="一小时后到期", sent=now - timedelta(minutes=5),
                                                  expires=(now + timedelta(hours=1)).isoformat(timespec="seconds")))
    _import(street, tmp_path, "b.xml", cap_message("BJ-1", sent=now - timedelta(minutes=5), headline="两小时后到期",
                                                  expires=(now + timedelta(hours=2)).isoformat(timespec="seconds")))
    refresh_in = warning_areas(db).refresh_in
    assert refresh_in is not None and 3000 < refresh_in <= 3600  # the earlier of the two


def test_an_official_warning_that_expires_leaves_the_map_with_no_other_change(
        qtbot: Any, map_panel: tuple[MapPanel, Street], tmp_path: Path) -> None:
    panel, street = map_panel
    layer = panel.warning_areas

    def drawn() -> int:
        return int(panel.run_js("dc.warningAreas()", WAIT)["warnings"])

    qtbot.waitUntil(lambda: layer.sent > 0, timeout=WAIT)
    with street.db.read() as s:
        now = db_now(s)
    expires = (now + timedelta(seconds=12)).replace(microsecond=0)  # CAP times are to the second
    _import(street, tmp_path, "a.xml", cap_message(headline="即将到期的台风黄色预警", sent=now - timedelta(minutes=5),
                                                  expires=expires.isoformat(timespec="seconds")))
    qtbot.waitUntil(lambda: drawn() == 1, timeout=WAIT)  # the import's change drew it
    assert layer.refresh_timer.isActive()  # armed for its expires
    with street.db.read() as s:
        last_change = s.execute(select(func.max(ChangeLog.seq))).scalar_one()
    timed = layer.timed_reads
    qtbot.waitUntil(lambda: drawn() == 0, timeout=WAIT)  # gone when it expired ...
    assert layer.timed_reads > timed  # ... read again by the refresh timer,
    with street.db.read() as s:  # ... with no change in between to ask for it
        assert s.execute(select(func.max(ChangeLog.seq))).scalar_one() == last_change
        assert db_now(s) >= expires
    assert not layer.refresh_timer.isActive()  # nothing else in force expires
    assert panel.run_js("dc.errors()", WAIT) == []
