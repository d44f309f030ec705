"""The map's depot and shelter layer: drawn from the demo street, below-minimum depots marked, live."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from db.engine import Database
from dispatch_console.demo.seed import seed_demo
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.console import ConsoleContext
from dispatch_console.supplies import map_layers
from dispatch_console.supplies.shelters import set_status
from dispatch_console.supplies.stock import load_catalogue, move
from ui.map.map_panel import MapPanel
from ui.shell.background import BackgroundRunner
from ui.shell.context import IncidentSelection, Session, UiContext
from ui.shell.feed import QtChangeFeed

WAIT = 60000


def test_places_of_the_demo_street(db: Database, system: Actor) -> None:
    seed_demo(db, system)
    places = map_layers.places(db, load_catalogue(Resources())[0])
    assert len(places.depots) == 11 and len(places.shelters) == 3
    low = {d.name: d.low for d in places.depots if d.low}
    assert low["平山社区应急物资储备点"] == ("沙袋 120/200 袋",)
    assert {s.name: (s.status, s.occupancy) for s in places.shelters}["平山公园应急避难场所"] == ("open", 36)


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


def test_depots_and_shelters_are_their_own_map_layer_and_follow_changes(
        qtbot, map_panel: MapPanel, db: Database, system: Actor) -> None:  # type: ignore[no-untyped-def]
    def places() -> dict[str, int]:
        return map_panel.run_js("dc.places()", WAIT)  # type: ignore[no-any-return]

    qtbot.waitUntil(lambda: places()["depots"] == 11, timeout=WAIT)
    assert places() == {"depots": 11, "shelters": 3, "low": 3}
    assert map_panel.run_js("dc.errors()", WAIT) == []
    catalogue = load_catalogue(Resources())[0]
    move(db, system, catalogue, kind="issue", depot="WZ-TY", item="抽水泵", quantity=1)  # 2 → 1: below minimum
    set_status(db, system, "SH-TY", "open")
    qtbot.waitUntil(lambda: places()["low"] == 4, timeout=WAIT)
