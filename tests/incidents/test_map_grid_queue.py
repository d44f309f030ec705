"""A grid clicked on the map: the queue shows exactly that grid's open incidents (both backends)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from db.engine import Database
from db.models import Incident
from dispatch_console import jurisdiction
from dispatch_console.demo.seed import seed_demo
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.categories import OPEN_STATUSES
from dispatch_console.kernel.console import ConsoleContext
from dispatch_console.kernel.i18n import set_language
from ui.incidents.queue_view import QueueView
from ui.map.map_panel import MapPanel
from ui.shell.background import BackgroundRunner
from ui.shell.context import IncidentSelection, Session, UiContext
from ui.shell.feed import QtChangeFeed

WAIT = 60000  # generous: two cores shared with other work


@pytest.fixture
def console(qtbot: Any, db: Database, system: Actor) -> Iterator[tuple[MapPanel, QueueView]]:
    seed_demo(db, system)
    console = ConsoleContext(db, "ws-map")
    console.actor = Actor(user_id=None, username="observer", role="observer", station="ws-map",
                          display_name="observer")
    runner = BackgroundRunner()
    feed = QtChangeFeed(console)
    ui = UiContext(console=console, runner=runner, feed=feed, selection=IncidentSelection(),
                   session=Session(console))
    panel = MapPanel(ui)
    queue = QueueView(ui)
    for widget in (panel, queue):
        qtbot.addWidget(widget)
    panel.resize(1000, 700)
    panel.show()
    queue.show()
    feed.start()
    try:
        qtbot.waitUntil(panel.is_ready, timeout=WAIT)
        qtbot.waitUntil(queue.is_ready, timeout=WAIT)
        yield panel, queue
    finally:
        feed.stop()
        runner.wait_idle(10000)
        panel.shutdown()
        queue.shutdown()
        qtbot.wait(100)


def _open_in(db: Database, grid_id: int) -> set[int]:
    """By hand: the incidents of the grid still open and not merged away (drills too, as the map counts)."""
    with db.read() as s:
        rows = s.execute(select(Incident.id, Incident.status, Incident.merged_into_id)
                         .where(Incident.grid_id == grid_id)).all()
    return {r.id for r in rows if r.status in OPEN_STATUSES and r.merged_into_id is None}


def test_a_grid_click_shows_exactly_its_open_incidents_in_the_queue(
        qtbot: Any, db: Database, console: tuple[MapPanel, QueueView]) -> None:
    panel, queue = console
    set_language("zh_CN")
    grids = [g for c in jurisdiction.tree(db) for g in c.grids]
    busy = max(grids, key=lambda g: len(_open_in(db, g.id)))
    expected = _open_in(db, busy.id)
    assert expected  # the demo street has open incidents in its busiest grid
    assert set(queue.model.ids) != expected
    assert panel.run_js(f"dc.clickGrid({busy.id})", WAIT) is True
    qtbot.waitUntil(lambda: queue.ui.exact.current is not None and queue.is_ready(), timeout=WAIT)
    assert set(queue.model.ids) == expected and queue.model.total == len(expected)
    assert panel.grid_counts.get(busy.id, 0) == len(expected)  # what the choropleth shows for it
    assert queue.exact_label.text() == f"只显示：{busy.name}的未办结事件"
    # another grid: exactly its own
    other = next(g for g in grids if g.id != busy.id)
    assert panel.run_js(f"dc.clickGrid({other.id})", WAIT) is True
    qtbot.waitUntil(lambda: queue.ui.exact.current is not None and queue.ui.exact.current.grid_id == other.id
                    and queue.is_ready(), timeout=WAIT)
    assert set(queue.model.ids) == _open_in(db, other.id)
    queue.ui.exact.clear()
    qtbot.waitUntil(queue.is_ready, timeout=WAIT)
    assert not queue.exact_bar.isVisible()
