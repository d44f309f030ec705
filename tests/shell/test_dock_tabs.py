"""A dock layout built before the window is shown leaves no stray tab bar on screen."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QTabBar

from ui.shell.dock_tabs import hide_stale_tab_bars

LEFT, RIGHT = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea


def window_with_two_tab_groups(qtbot) -> tuple[QMainWindow, dict[str, QDockWidget]]:  # type: ignore[no-untyped-def]
    window = QMainWindow()
    qtbot.addWidget(window)
    window.setCentralWidget(QLabel("queue"))
    docks = {}
    for name in ("duty", "grids", "checklist", "notifications", "drills"):
        dock = QDockWidget(name, window)
        dock.setObjectName(name)
        dock.setWidget(QLabel(name))
        docks[name] = dock
    window.addDockWidget(LEFT, docks["duty"])
    window.tabifyDockWidget(docks["duty"], docks["grids"])
    window.addDockWidget(RIGHT, docks["checklist"])
    window.tabifyDockWidget(docks["checklist"], docks["notifications"])
    window.tabifyDockWidget(docks["checklist"], docks["drills"])
    return window, docks


def shown_bars(window: QMainWindow) -> list[list[str]]:
    return sorted([bar.tabText(i) for i in range(bar.count())]
                  for bar in window.findChildren(QTabBar) if bar.parent() is window and bar.isVisible())


def test_the_orphaned_tab_bar_is_hidden_and_the_live_one_works(qtbot) -> None:  # type: ignore[no-untyped-def]
    window, docks = window_with_two_tab_groups(qtbot)
    before = [b for b in window.findChildren(QTabBar) if b.parent() is window]
    assert len(before) == 3  # Qt's own doing: two bars for the right-hand group
    stale = hide_stale_tab_bars(window)
    assert [[b.tabText(i) for i in range(b.count())] for b in stale] == [["checklist", "notifications"]]
    window.resize(900, 600)
    window.show()
    qtbot.waitExposed(window)
    assert shown_bars(window) == [["checklist", "notifications", "drills"], ["duty", "grids"]]
    live = next(b for b in window.findChildren(QTabBar) if b.isVisible() and b.count() == 3)
    live.setCurrentIndex(2)  # the officer clicks "drills": that dock comes to the front
    qtbot.waitUntil(lambda: not docks["drills"].visibleRegion().isEmpty(), timeout=5000)


def test_a_layout_restored_before_showing_leaves_none_either(qtbot) -> None:  # type: ignore[no-untyped-def]
    window, _docks = window_with_two_tab_groups(qtbot)
    window.restoreState(window.saveState())  # as the console restores the officer's saved layout
    hide_stale_tab_bars(window)
    window.show()
    qtbot.waitExposed(window)
    assert shown_bars(window) == [["checklist", "notifications", "drills"], ["duty", "grids"]]
