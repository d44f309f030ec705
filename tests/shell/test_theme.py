"""Themes: the queue table is drawn by the plain Fusion style (no style sheet anywhere above it,
which made every paint ~30% slower); docks and the status bar carry the theme's style sheet; tables
take their selection, header and grid colours from palettes; switching theme restyles what exists."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import support.world as support
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QDockWidget, QHeaderView, QStatusBar, QWidget

from db.engine import Database
from ui.shell import theme

isolated_settings = support.isolated_settings
workstations = support.workstations

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _under_style_sheet(widget: QWidget) -> bool:
    return widget.style().metaObject().className() == "QStyleSheetStyle"


@pytest.fixture
def light_again(qapp: QApplication) -> Iterator[None]:
    theme.apply(qapp, "light")  # as the console's application() does
    yield
    theme.apply(qapp, "light")


def test_the_queue_is_drawn_without_a_style_sheet_and_the_panels_with_one(
        qtbot, db: Database, workstations, light_again: None) -> None:  # type: ignore[no-untyped-def]
    w = support.make_world(db)
    ws = workstations(db, w.officers[0], window=True)
    ws.show()
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    table = ws.queue.table
    assert app.styleSheet() == "" and ws.window.styleSheet() == ""
    for widget in (table, table.viewport(), ws.queue):
        assert not _under_style_sheet(widget), widget
    docks = ws.window.findChildren(QDockWidget)
    status = ws.window.findChild(QStatusBar)
    assert docks and status is not None
    light = theme.style_sheet("light")
    assert "QDockWidget::title" in light
    assert all(d.styleSheet() == light for d in docks) and status.styleSheet() == light
    assert _under_style_sheet(docks[0].widget())  # what a dock holds is styled with it
    # the queue's own inputs keep the theme's padding, each on itself
    assert ws.queue.search.styleSheet() == theme.INPUT_PADDING

    # tables: selection, header and grid colours from palettes, header text bold
    header = table.horizontalHeader()
    assert isinstance(header, QHeaderView)
    assert table.palette().color(QPalette.ColorRole.Highlight).name() == "#2f6fd6"
    assert header.palette().color(QPalette.ColorRole.Button).name() == "#f3f5f8"
    assert table.palette().color(QPalette.ColorRole.Mid).name() == "#d0d7de"
    assert header.font().bold()

    # the night theme restyles the docks, the status bar and the palettes of what already exists
    ws.window.set_theme("dark")
    dark = theme.style_sheet("dark")
    assert dark != light
    assert all(d.styleSheet() == dark for d in docks) and status.styleSheet() == dark
    qtbot.waitUntil(lambda: header.palette().color(QPalette.ColorRole.Button).name() == "#2a3038", timeout=5000)
    assert table.palette().color(QPalette.ColorRole.Highlight).name() == "#2d66c3"
    assert not _under_style_sheet(table.viewport())
