"""Tick boxes stay visible on both themes: an unticked checklist step, a unit to dispatch, the
settings' check boxes. Fusion draws their frame from the Window colour darkened, which on the
night theme vanished into the dark base; the frame must reach 3:1 against the base (WCAG 1.4.11)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage, QPalette, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QApplication, QCheckBox, QDockWidget, QStyle, QStyleOptionButton, QTableView

from ui.shell import theme


@pytest.fixture
def light_again(qapp: QApplication) -> Iterator[None]:
    yield
    theme.apply(qapp, "light")


def _frame_contrast(image: QImage, rect: QRect, base: QColor) -> float:
    """The strongest contrast against ``base`` of any pixel in ``rect`` (the box's frame)."""
    best = 1.0
    for x in range(rect.left(), rect.right() + 1):
        for y in range(rect.top(), rect.bottom() + 1):
            if image.rect().contains(x, y):
                best = max(best, theme.contrast_ratio(QColor(image.pixel(x, y)), base))
    return best


@pytest.mark.parametrize("name", theme.THEMES)
def test_an_unticked_box_shows_its_frame(qtbot, qapp: QApplication, name: str, light_again: None) -> None:  # type: ignore[no-untyped-def]
    theme.apply(qapp, name)
    dock = QDockWidget("settings")  # a check box under the docks' style sheet, as in the console
    box = QCheckBox("sound", dock)
    dock.setWidget(box)
    theme.style_panels(dock)
    qtbot.addWidget(dock)
    dock.resize(200, 60)
    dock.show()
    qtbot.waitExposed(dock)
    option = QStyleOptionButton()
    option.initFrom(box)
    indicator = box.style().subElementRect(QStyle.SubElement.SE_CheckBoxIndicator, option, box)
    image = box.grab().toImage()
    base = box.palette().color(QPalette.ColorRole.Base)
    assert _frame_contrast(image, indicator, base) >= 3.0

    model = QStandardItemModel(2, 1)  # a checklist's steps: one ticked, one not
    for row, state in enumerate((Qt.CheckState.Checked, Qt.CheckState.Unchecked)):
        item = QStandardItem("step")
        item.setCheckable(True)
        item.setCheckState(state)
        model.setItem(row, 0, item)
    view = QTableView()
    view.setModel(model)
    theme.show_tick_boxes(view)
    qtbot.addWidget(view)
    view.resize(300, 120)
    view.show()
    qtbot.waitExposed(view)
    cell = view.visualRect(model.index(1, 0))
    image = view.viewport().grab().toImage()
    base = view.palette().color(QPalette.ColorRole.Base)
    box_area = QRect(cell.left(), cell.top(), min(cell.height() + 6, cell.width()), cell.height())
    assert _frame_contrast(image, box_area, base) >= 3.0


def test_the_tick_palette_changes_only_the_frame_colour(qapp: QApplication, light_again: None) -> None:
    theme.apply(qapp, "dark")
    palette = theme.palette("dark")
    ticks = theme.tick_palette(palette)
    assert ticks.color(QPalette.ColorRole.Window) != palette.color(QPalette.ColorRole.Window)
    for role in (QPalette.ColorRole.Base, QPalette.ColorRole.Text, QPalette.ColorRole.Highlight):
        assert ticks.color(role) == palette.color(role)
