"""Docks that fit the screens duty rooms have (1366×768, and 1920×1080 at 125 % or 150 %).

A dock's minimum size is its content's: the incident detail's row of action keys, the map's
header, the drill panel's form. Stacked in one column, the widest decided the column, and the
columns together decided the window: it could not be narrower than 1780 px (2078 px in English),
wider than a 1366 screen and than a 1920 one at 125 %. Each dock's content now sits in a
scroll area: a dock made narrow (or short) scrolls instead of pushing the window off the screen,
and is readable at its default size. The default widths follow the window's width.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDockWidget, QFrame, QMainWindow, QScrollArea, QWidget

DEFAULT_SIZE = (1600, 960)
LEFT_SHARE, LEFT_MIN, LEFT_MAX = 0.2, 270, 380      # who is on duty, the jurisdiction, the handover
RIGHT_SHARE, RIGHT_MIN, RIGHT_MAX = 0.3, 400, 640   # the map, the incident at hand, the alerts
RIGHT_HEIGHTS = (0.42, 0.30, 0.28)                   # map; incident detail; checklist, alerts, calls, drills
BOTTOM_HEIGHT = 0.28                                 # the case board under the queue


def scrollable(dock: QWidget) -> QWidget:
    """Put a dock's content in a scroll area (once); the content keeps its own layout."""
    if not isinstance(dock, QDockWidget):
        return dock
    content = dock.widget()
    if content is None or isinstance(content, QScrollArea):
        return dock
    area = QScrollArea(dock)
    area.setObjectName(f"{dock.objectName()}-scroll")
    area.setWidgetResizable(True)  # the content fills the dock, and scrolls only below its minimum
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    area.setWidget(content)
    dock.setWidget(area)
    return dock


def default_widths(window_width: int) -> tuple[int, int]:
    """The left and right dock columns' widths for a window this wide."""
    left = max(LEFT_MIN, min(LEFT_MAX, int(window_width * LEFT_SHARE)))
    right = max(RIGHT_MIN, min(RIGHT_MAX, int(window_width * RIGHT_SHARE)))
    return left, right


def size_columns(window: QMainWindow) -> None:
    """Give the window's default columns (``window.dock_columns``: the left and the right column's
    dock groups, top to bottom) their widths, and the right column's groups their heights (the
    map the most: it is what the officer looks at between calls)."""
    columns: tuple[list[QDockWidget], list[QDockWidget]] = getattr(window, "dock_columns", ([], []))
    heads = [(column[0], width) for column, width in zip(columns, default_widths(window.width()), strict=True)
             if column]
    if heads:
        window.resizeDocks([d for d, _w in heads], [w for _d, w in heads], Qt.Orientation.Horizontal)
    right = columns[1]
    if len(right) == len(RIGHT_HEIGHTS):
        window.resizeDocks(right, [int(window.height() * share) for share in RIGHT_HEIGHTS], Qt.Orientation.Vertical)
    # a dock under the queue (the case board) leaves the queue the larger part of the middle
    bottom = [d for d in window.findChildren(QDockWidget)
              if window.dockWidgetArea(d) == Qt.DockWidgetArea.BottomDockWidgetArea and not d.isHidden()
              and not d.isFloating()]
    if bottom:
        window.resizeDocks(bottom[:1], [int(window.height() * BOTTOM_HEIGHT)], Qt.Orientation.Vertical)


def initial_size(window: QMainWindow) -> None:
    """1600×960, or the screen's free area if that is smaller (a 1366×768 screen, 150 % scaling)."""
    width, height = DEFAULT_SIZE
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is not None:
        free = screen.availableGeometry()
        width, height = min(width, free.width()), min(height, free.height())
    window.resize(width, height)
