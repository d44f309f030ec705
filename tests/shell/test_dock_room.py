"""A dock the View menu opens (hidden by default) has room the first time it shows: the roster
calendar used to open one row high in the bottom area; at 1366×768 it now opens about a third of
the window high (the docks scroll instead of holding each other to their minimum), the queue still
above it."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from db.engine import Database
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.console import ConsoleContext
from station import composition
from ui.shell.main_window import MainWindow

pytestmark = pytest.mark.gui


def test_the_roster_calendar_opens_with_room_to_read(qtbot: QtBot, sqlite_db: Database) -> None:
    window = MainWindow(ConsoleContext(sqlite_db, "t", Resources()), panels=composition.panels(),
                        start_feed=False, restore_layout=False)
    qtbot.addWidget(window)
    try:
        window.resize(1366, 768)
        window.show()
        calendar = window.panels["roster_calendar"]
        assert calendar.isHidden()
        calendar.toggleViewAction().trigger()  # View → Roster calendar
        qtbot.waitUntil(calendar.isVisible, timeout=10000)
        qtbot.waitUntil(lambda: calendar.height() >= 200, timeout=10000)
        assert window.centralWidget().height() >= 200  # the queue keeps its place above it
    finally:
        window.shutdown()


def test_every_room_s_dock_joins_a_group_and_the_queue_and_map_keep_their_room(qtbot: QtBot,
                                                                              sqlite_db: Database) -> None:
    """A dock a room adds takes a tab in a group of the default layout (or sits under the queue, or
    is opened from the View menu): on its own in a side column it squeezed the map to a strip."""
    from PySide6.QtCore import Qt

    from ui.shell.main_window import DEFAULT_LAYOUT

    window = MainWindow(ConsoleContext(sqlite_db, "t", Resources()), panels=composition.panels(),
                        start_feed=False, restore_layout=False)
    qtbot.addWidget(window)
    try:
        window.resize(1366, 768)
        window.show()
        grouped = {name for groups in DEFAULT_LAYOUT.values() for group in groups for name in group}
        for name, dock in window.panels.items():
            bottom = window.dockWidgetArea(dock) == Qt.DockWidgetArea.BottomDockWidgetArea  # type: ignore[arg-type]
            assert name in grouped or bottom or not getattr(dock, "default_visible", True), name
        qtbot.waitUntil(lambda: window.panels["map"].height() >= 250, timeout=10000)
        qtbot.waitUntil(lambda: window.centralWidget().height() >= 768 // 2, timeout=10000)
    finally:
        window.shutdown()
