"""The live queue: SQL-side filters, search and paging; changes from other workstations and the
command line arriving without a click, in place; the alarm for serious new incidents."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import support.world as support
from PySide6.QtCore import Qt
from support.world import make_world

from db.engine import Database
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.incidents.queue import query_incidents
from dispatch_console.kernel.changefeed import latest_seq
from station.launcher import main as cli_main
from ui.incidents import queue_view

# the shared fixtures (defined with the world in test_queue_support)
isolated_settings = support.isolated_settings
workstations = support.workstations


def choose(combo, data: object) -> None:  # type: ignore[no-untyped-def]
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)


def test_filters_search_and_paging_run_in_sql(qtbot, db: Database, workstations, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(queue_view, "PAGE_SIZE", 3)
    w = make_world(db)
    for i in range(5):
        w.record(f"噪音纠纷{i}", severity=4 - i % 2, grid="G1")
    fire = w.record("仓库冒烟 Smoke", category="fire", severity=2, grid="G2")
    closed = w.record("去年的旧案 smoke alarm", category="fire", severity=3, grid="G2")
    incidents.acknowledge(db, w.officers[0], closed.id, closed.version)
    incidents.resolve(db, w.officers[0], closed.id, closed.version + 1)
    mine = w.numbers["噪音纠纷1"]
    incidents.acknowledge(db, w.officers[0], mine.id, mine.version)
    ws = workstations(db, w.officers[0])
    view = ws.queue
    ws.settle()

    def same_as_service() -> None:
        ws.settle()
        while view.model.canFetchMore():  # scroll to the end: one page per request
            view.model.fetchMore()
            ws.settle()
        expected = query_incidents(db, view.query(limit=1000))
        assert view.model.total == expected.total
        assert view.model.rowCount() == expected.total
        assert view.model.ids == [r.id for r in expected.rows]

    # the open queue, most severe first, three rows per page
    assert view.model.rowCount() == 3 and view.model.total == 6 and view.model.canFetchMore()
    same_as_service()
    assert view.model.ids[0] == fire.id and closed.id not in view.model.ids
    choose(view.category, "fire")
    same_as_service()
    assert view.model.ids == [fire.id]
    choose(view.category, None)
    choose(view.grid, w.grid_ids["G1"])
    same_as_service()
    assert view.model.total == 5
    choose(view.severity, queue_view.SEVERITY_MAJOR)
    same_as_service()
    assert view.model.total == 0
    choose(view.severity, None)
    view.mine.setChecked(True)
    same_as_service()
    assert view.model.ids == [mine.id]
    view.mine.setChecked(False)
    choose(view.grid, None)
    choose(view.status, "acknowledged")
    same_as_service()
    assert view.model.ids == [mine.id]
    choose(view.status, queue_view.STATUS_OPEN)

    # search: typed in the box, over all history (the resolved case too), case-insensitive ASCII
    view.search.setFocus()
    qtbot.keyClicks(view.search, "SMOKE")
    qtbot.waitUntil(lambda: view.model.total == 2, timeout=5000)
    same_as_service()
    assert set(view.model.ids) == {fire.id, closed.id}
    assert view.count.text() == "2 of 2"


def test_scrolling_while_other_stations_record_loses_no_incident(qtbot, db: Database, workstations,
                                                                  monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Pages and live changes race: incidents keep arriving, of every level, while the officer
    scrolls down page by page. At the end the queue holds every open incident, once, in order.
    Each page comes back 50 ms after it was read (a slow link to the database), so incidents
    recorded meanwhile reach the view, through the change feed, before the page that was read
    without them."""
    monkeypatch.setattr(queue_view, "PAGE_SIZE", 4)
    read_page = queue_view.load_page

    def slow_page(*args: Any, **kwargs: Any) -> Any:
        load = read_page(*args, **kwargs)
        time.sleep(0.05)
        return load

    monkeypatch.setattr(queue_view, "load_page", slow_page)
    w = make_world(db)
    for i in range(12):
        w.record(f"早先的事件{i}", severity=1 + i % 4)
    ws = workstations(db, w.officers[0])
    ws.settle()
    other = Database(db.url)  # the other station: its own engine
    written: list[int] = []

    def record() -> None:
        for i in range(40):
            draft = IncidentDraft(category="dispute", severity=4 - i % 4, source="hotline_12345",
                                  description=f"接报{i}")
            written.append(incidents.create_incident(other, w.officers[1], draft).row.id)
            time.sleep(0.01)

    writer = threading.Thread(target=record)
    writer.start()
    try:
        while writer.is_alive():  # the officer scrolls to the end, again and again
            if ws.queue.model.canFetchMore():
                ws.queue.model.fetchMore()
            qtbot.wait(3)
    finally:
        writer.join()
        other.dispose()
    end = latest_seq(db)
    qtbot.waitUntil(lambda: ws.feed.last_seq >= end and ws.queue.is_ready(), timeout=15000)
    while ws.queue.model.canFetchMore():
        ws.queue.model.fetchMore()
        ws.settle()
    expected = query_incidents(db, ws.queue.query(limit=1000))
    assert len(written) == 40 and expected.total == 52
    assert ws.queue.model.ids == [r.id for r in expected.rows]
    assert ws.queue.model.total == 52


def test_changes_elsewhere_arrive_in_place_and_keep_the_selection(qtbot, db: Database, workstations,
                                                                  tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = make_world(db)
    first = w.record("一般事件", severity=4)
    watched = w.record("较大事件", severity=3)
    a = workstations(db, w.officers[0])
    a.settle()
    assert a.queue.select_id(watched.id)
    assert a.queue.current_id() == watched.id and a.ui.selection.current == watched.id

    # another workstation acknowledges it: the row changes in place, still selected
    incidents.acknowledge(Database(db.url), w.officers[1], watched.id, watched.version)
    qtbot.waitUntil(lambda: a.queue.current_row() is not None
                    and a.queue.current_row().status == "acknowledged", timeout=15000)
    assert a.queue.current_id() == watched.id
    assert a.queue.model.cached(watched.id).owner_name == "值班员2"

    # the command line records a serious one: it arrives above, the selection stays put
    lines = tmp_path / "calls.jsonl"
    lines.write_text(json.dumps({"category": "fire", "severity": 1, "source": "police_110",
                                 "description": "命令行接报：厂房起火", "grid": "G2"}, ensure_ascii=False) + "\n",
                     encoding="utf-8")
    code = cli_main(["--db", db.url.render_as_string(hide_password=False), "--user", w.officers[1].username,
                     "--password", "pw", "--station", "cli", "intake", str(lines)])
    assert code == 0
    qtbot.waitUntil(lambda: a.queue.model.rowCount() == 3, timeout=15000)
    top = a.queue.model.incident_at(0)
    assert top.description == "命令行接报：厂房起火"
    assert a.queue.model.ids == [top.id, watched.id, first.id]
    assert a.queue.current_id() == watched.id and a.ui.selection.current == watched.id

    # resolved elsewhere: it leaves the open queue
    other = Database(db.url)
    incidents.resolve(other, w.officers[1], first.id, incidents.acknowledge(other, w.officers[1], first.id,
                                                                           first.version).version)
    qtbot.waitUntil(lambda: first.id not in a.queue.model.ids, timeout=15000)
    assert a.queue.current_id() == watched.id
    other.dispose()


def test_a_serious_new_incident_flashes_until_acknowledged_elsewhere(qtbot, db: Database,
                                                                     workstations) -> None:  # type: ignore[no-untyped-def]
    w = make_world(db)
    a = workstations(db, w.officers[0])
    a.show()
    a.settle()
    view = a.queue
    assert not view.banner.isVisible() and view.alerts.sound.played == 0

    minor = w.record("井盖缺失", severity=4, by=1)
    serious = w.record("化工厂泄漏", severity=1, category="work_safety", by=1)
    qtbot.waitUntil(lambda: view.banner.isVisible(), timeout=15000)
    assert view.banner.text() == f"New major incident {serious.number}"
    assert view.alerts.flashing and view.model.alerts == {serious.id}
    assert view.alerts.sound.played >= 1  # the bundled WAV, or the system beep without audio
    qtbot.waitUntil(lambda: view.model.is_flashing(serious.id), timeout=5000)
    assert not view.model.is_flashing(minor.id)
    row = view.model.row_of(serious.id)
    assert view.model.data(view.model.index(row, 2), Qt.ItemDataRole.BackgroundRole) is not None

    # the banner takes the officer to it
    qtbot.mouseClick(view.banner, Qt.MouseButton.LeftButton)
    assert view.current_id() == serious.id

    # acknowledged at another workstation: the alarm stops here
    other = Database(db.url)
    incidents.acknowledge(other, w.officers[1], serious.id, serious.version)
    other.dispose()
    qtbot.waitUntil(lambda: not view.banner.isVisible(), timeout=15000)
    assert not view.alerts.flashing and view.model.alerts == set()
    assert not view.model.is_flashing(serious.id)


def test_rows_are_drawn_when_they_come_on_screen(qtbot, db: Database, workstations) -> None:  # type: ignore[no-untyped-def]
    """A page is loaded at once but each row gets its cells when it is first shown: scrolled to,
    made visible by a taller window, or moved up by a row leaving above it."""
    w = make_world(db)
    for i in range(60):
        w.record(f"噪音纠纷{i}", severity=4, grid="G1")
    ws = workstations(db, w.officers[0])
    view = ws.queue
    ws.settle()
    assert view.model.data(view.model.index(0, 0)) is not None  # hidden: the first screenful is ready
    ws.show()
    view.table.resize(900, 200)
    ws.settle()
    model = view.model
    number = int(queue_view.Column.NUMBER)

    def drawn(row: int) -> bool:
        return model.data(model.index(row, number)) is not None

    first, last = view._visible_rows()
    assert model.rowCount() == 60 and first == 0 and 3 < last < 20
    assert all(drawn(r) for r in range(first, last + 1))
    assert not drawn(59)  # far below the fold: nothing made for it yet
    view.table.scrollToBottom()
    ws.settle()
    assert drawn(59) and model.data(model.index(59, number)) == model.incident_at(59).number
    # the tick touches only what is on screen, and the cells it sets are right
    view.table.scrollToTop()
    ws.settle()
    model.db_offset += timedelta(hours=2)
    model.tick()
    assert model.data(model.index(0, int(queue_view.Column.AGE))).startswith("2h")
    # a taller queue draws the rows it now shows
    view.table.resize(900, 1400)
    ws.settle()
    first, last = view._visible_rows()
    assert last > 20 and all(drawn(r) for r in range(first, last + 1))
