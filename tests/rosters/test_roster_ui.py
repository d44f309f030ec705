"""The roster calendar and the on-duty board, driven as an officer would (pytest-qt, offscreen)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from PySide6.QtCore import Qt
from support.qt_input import type_chinese
from support.roster_fixtures import DAY, duty_room, staff_shift

from db.engine import Database
from dispatch_console import rosters as roster
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.console import ConsoleContext
from dispatch_console.kernel.timefmt import local
from dispatch_console.users.accounts import actor_for, create_user
from ui.rosters.calendar import RosterCalendarPanel
from ui.rosters.duty_board import DutyBoardPanel
from ui.shell.background import BackgroundRunner
from ui.shell.context import IncidentSelection, Session, UiContext
from ui.shell.feed import QtChangeFeed

pytestmark = pytest.mark.gui


def user(db: Database, system: Actor, name: str, role: str, station: str) -> Actor:
    with db.write() as s:
        return actor_for(create_user(s, system, username=name, password="pw", role=role), station)


class Workstations:
    """Consoles on one database, each with its own engine, runner and change feed."""

    def __init__(self) -> None:
        self.opened: list[tuple[UiContext, Database | None]] = []

    def open(self, db: Database, station: str, actor: Actor, *, own_engine: bool) -> UiContext:
        database = Database(db.url) if own_engine else db
        console = ConsoleContext(database, station, Resources(), actor)
        ui = UiContext(console, BackgroundRunner(), QtChangeFeed(console), IncidentSelection(), Session(console))
        ui.feed.start()
        self.opened.append((ui, database if own_engine else None))
        return ui

    def close(self) -> None:
        for ui, own in self.opened:
            ui.feed.stop()
            ui.runner.wait_idle(5000)
            if own is not None:
                own.dispose()


@pytest.fixture
def stations() -> Iterator[Workstations]:
    ws = Workstations()
    yield ws
    ws.close()


def cell_names(panel: DutyBoardPanel) -> list[str]:
    m = panel.current_model
    return [m.item(r, 1).text() for r in range(m.rowCount())]


def test_swap_by_keyboard_in_the_calendar_updates_the_board_of_another_workstation(
        qtbot, pg_db: Database, system: Actor, stations: Workstations) -> None:
    room = duty_room(pg_db, system)
    today = local(pg_db.now()).date()
    roster.ensure_shifts(pg_db, system, today - timedelta(days=1), today + timedelta(days=1))
    current = roster.shift_at(pg_db)
    assert current is not None
    day = date.fromisoformat(current.day)
    staff_shift(pg_db, system, day, current.code, room["王强"], room["张伟"], room["刘洋"])
    leader = user(pg_db, system, "leader-wang", "shift_leader", "ws-1")
    officer = user(pg_db, system, "officer-li", "duty_officer", "ws-2")

    ws1 = stations.open(pg_db, "ws-1", leader, own_engine=False)
    ws2 = stations.open(pg_db, "ws-2", officer, own_engine=True)  # a second console: its own connections
    calendar = RosterCalendarPanel(ws1)
    board = DutyBoardPanel(ws2)
    qtbot.addWidget(calendar)
    qtbot.addWidget(board)
    calendar.show()
    board.show()
    calendar.go_to(day)
    qtbot.waitUntil(lambda: calendar.is_ready() and calendar.model.rowCount() == 7, timeout=10000)
    qtbot.waitUntil(lambda: "张伟" in cell_names(board), timeout=10000)
    assert board.duty is not None and board.duty.current is not None
    assert board.duty.current.shift.id == current.id

    index = calendar.model.index_for(day, current.code, "duty_officer")
    assert index.data() == "张伟、刘洋"
    calendar.view.setCurrentIndex(index)
    calendar.view.setFocus()
    qtbot.keyClick(calendar.view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: calendar.dialog is not None, timeout=5000)
    dialog = calendar.dialog
    assert dialog.target.currentText() == "Replace 张伟"  # the post is full: replace its first person
    qtbot.keyClicks(dialog.filter, "139")  # by phone: the two 周敏
    assert dialog.proxy.rowCount() == 2 and dialog.person_id() == room.by_phone["13900000007"]
    qtbot.keyClick(dialog.filter, Qt.Key.Key_Down)
    assert dialog.person_id() == room.by_phone["13900000008"]
    dialog.filter.clear()
    type_chinese(dialog.filter, "陈")  # or by name, typed through the input method

    assert dialog.proxy.rowCount() == 1 and dialog.person_id() == room["陈静"]
    qtbot.keyClick(dialog.filter, Qt.Key.Key_Tab)
    assert dialog.focusWidget() is dialog.reason
    type_chinese(dialog.reason, "张伟发烧")
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: calendar.dialog is None, timeout=5000)

    qtbot.waitUntil(lambda: "陈静" in cell_names(board) and "张伟" not in cell_names(board), timeout=15000)
    assert cell_names(board) == ["王强", "刘洋", "陈静"]
    qtbot.waitUntil(lambda: calendar.model.index_for(day, current.code, "duty_officer").data() == "刘洋、陈静",
                    timeout=10000)
    kept = [e for e in roster.roster(pg_db, day, day, include_superseded=True) if e.person_name == "张伟"]
    assert len(kept) == 1 and not kept[0].active and kept[0].superseded_by_id is not None
    swapped = roster.entry(pg_db, kept[0].superseded_by_id)
    assert swapped.reason == "张伟发烧" and swapped.created_by_name == "leader-wang"


def test_calendar_marks_conflicts_and_publishes_with_an_override_reason(
        qtbot, sqlite_db: Database, system: Actor, stations: Workstations) -> None:
    room = duty_room(sqlite_db, system)
    leader = user(sqlite_db, system, "leader-wang", "shift_leader", "ws-1")
    ws = stations.open(sqlite_db, "ws-1", leader, own_engine=False)
    calendar = RosterCalendarPanel(ws)
    qtbot.addWidget(calendar)
    calendar.go_to(DAY)
    qtbot.waitUntil(lambda: calendar.is_ready() and calendar.model.rowCount() == 7, timeout=10000)
    assert len(roster.shifts(sqlite_db, DAY, DAY)) == 2  # the leader's calendar made the week's shifts
    staff_shift(sqlite_db, leader, DAY, "day", room["王强"], room["张伟"])
    qtbot.waitUntil(lambda: calendar.model.index_for(DAY, "day", "duty_officer").data() == "⚠ 张伟",
                    timeout=10000)
    officers = calendar.model.index_for(DAY, "day", "duty_officer")
    assert "needs 2" in officers.data(Qt.ItemDataRole.ToolTipRole)
    assert officers.data(Qt.ItemDataRole.BackgroundRole) is not None
    assert calendar.model.index_for(DAY, "day", "shift_leader").data() == "王强"
    assert calendar.model.index_for(DAY, "day", "shift_leader").data(Qt.ItemDataRole.BackgroundRole) is None

    calendar.set_mode("month")
    qtbot.waitUntil(lambda: calendar.is_ready() and calendar.model.rowCount() == 30, timeout=10000)
    calendar.publish_button.click()
    dialog = calendar.dialog
    assert dialog is not None and dialog.list.count() == len(calendar.period.conflicts) > 1
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    assert not ok.isEnabled()
    type_chinese(dialog.reason, "人手不足，已报街道")
    assert ok.isEnabled()
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: all(sh.published_at is not None for sh in roster.shifts(sqlite_db, DAY, DAY)),
                    timeout=10000)
    assert {sh.override_reason for sh in roster.shifts(sqlite_db, DAY.replace(day=1), DAY)} == {"人手不足，已报街道"}


def test_board_shows_units_and_searches_grid_staff(qtbot, sqlite_db: Database, system: Actor,
                                                   stations: Workstations) -> None:
    from db.models import Area, GridStaff, Person, Unit

    with sqlite_db.write() as s:
        s.add(Unit(code="PCS", name="桃源派出所", kind="police_station", contact_name="黄所长",
                   phone="0755-26600000", status="available"))
        grid = Area(level="grid", code="TY-01", name="第一网格")
        p = Person(name="孙丽", phone="13700000001")
        s.add_all([grid, p])
        s.flush()
        s.add(GridStaff(grid_id=grid.id, person_id=p.id, role="grid_manager"))
    officer = user(sqlite_db, system, "officer-li", "duty_officer", "ws-1")
    ws = stations.open(sqlite_db, "ws-1", officer, own_engine=False)
    board = DutyBoardPanel(ws)
    qtbot.addWidget(board)
    qtbot.waitUntil(lambda: board.is_ready() and board.units_model.rowCount() == 1, timeout=10000)
    assert board.units_model.item(0, 0).text() == "桃源派出所"
    assert board.units_model.item(0, 3).text() == "0755-26600000"
    assert board.staff_model.rowCount() == 1
    assert "no shift on the roster" in board.current_title.text()
    type_chinese(board.search, "无此人")
    qtbot.waitUntil(lambda: board.is_ready() and board.staff_model.rowCount() == 0, timeout=10000)
    board.search.clear()
    qtbot.keyClicks(board.search, "1370000")
    qtbot.waitUntil(lambda: board.is_ready() and board.staff_model.rowCount() == 1, timeout=10000)
    assert board.staff_model.item(0, 3).text() == "孙丽"
    board.units_view.setCurrentIndex(board.units_model.index(0, 0))
    board.status_buttons["off_duty"].click()
    qtbot.waitUntil(lambda: board.units_model.rowCount() == 1 and board.units_model.item(0, 1).text() != "Available",
                    timeout=10000)
    board.shutdown()


def test_the_calendar_opens_on_today_and_marks_it(qtbot, sqlite_db: Database, system: Actor,
                                                  stations: Workstations) -> None:
    duty_room(sqlite_db, system)
    leader = user(sqlite_db, system, "leader-wang", "shift_leader", "ws-1")
    calendar = RosterCalendarPanel(stations.open(sqlite_db, "ws-1", leader, own_engine=False))
    qtbot.addWidget(calendar)
    calendar.show()
    qtbot.waitUntil(lambda: calendar.is_ready() and calendar.model.rowCount() == 7, timeout=10000)
    today = local(sqlite_db.now()).date()
    row = calendar.model.days.index(today)
    assert calendar.view.currentIndex().row() == row  # the cursor starts on today, not on Monday
    header = calendar.model.headerData(row, Qt.Orientation.Vertical)
    assert header.endswith("Today") and calendar.model.headerData(
        row, Qt.Orientation.Vertical, Qt.ItemDataRole.FontRole).bold()
    others = [calendar.model.headerData(r, Qt.Orientation.Vertical) for r in range(7) if r != row]
    assert not any("Today" in h for h in others)
    calendar.step(1)  # next week: no day of it is today, the cursor keeps its row
    qtbot.waitUntil(lambda: calendar.is_ready() and today not in calendar.model.days, timeout=10000)
    assert calendar.view.currentIndex().row() == row


def test_the_board_shows_roles_and_names_whole(qtbot, pg_db: Database, system: Actor,
                                               stations: Workstations) -> None:
    room = duty_room(pg_db, system)
    today = local(pg_db.now()).date()
    roster.ensure_shifts(pg_db, system, today - timedelta(days=1), today + timedelta(days=1))
    current = roster.shift_at(pg_db)
    assert current is not None
    staff_shift(pg_db, system, date.fromisoformat(current.day), current.code, room["王强"], room["张伟"], room["刘洋"])
    board = DutyBoardPanel(stations.open(pg_db, "ws-1", user(pg_db, system, "officer-li", "duty_officer", "ws-1"),
                                         own_engine=False))
    qtbot.addWidget(board)
    board.resize(900, 600)  # as floated beside the queue
    board.show()
    qtbot.waitUntil(lambda: "张伟" in cell_names(board), timeout=10000)
    view = board.current_view
    header = view.horizontalHeader()
    qtbot.waitUntil(lambda: all(header.sectionSize(c) >= view.sizeHintForColumn(c) for c in (0, 1)), timeout=2000)
