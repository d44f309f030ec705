"""A bar chart whose bars can be chosen: clicked, or reached with the arrow keys and chosen with Enter.

Bars stand in columns (a day, an age) and, stacked in a column, in layers (a category); or,
``grouped``, the layers stand side by side in their column (a target beside the time measured
against it). The chart keeps what it draws as plain numbers, so a click is mapped back to its column and layer
by arithmetic on the view's coordinates, and the keyboard cursor moves over the same numbers:
Left/Right (Home/End) a column, Up/Down a layer of the column that has reports, Enter or Space
chooses the bar under the cursor. The cursor is drawn as an outline over its bar and said in a
line of text (``cursor_moved``; ``describe`` words it, a view may give its own) for those who
do not see the chart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QWidget

from ui.shell import theme

BAR_WIDTH = 0.8
CURSOR_COLOUR = "#ffb300"  # amber: seen on the light and the dark background, beside every palette colour


@dataclass(frozen=True)
class Layer:
    """One series of bars: its name (legend), its colour and a value per column."""

    name: str
    colour: str
    values: tuple[float, ...]


class BarChart(pg.PlotWidget):  # type: ignore[misc]  # pyqtgraph has no type hints
    chosen = Signal(int, int)  # column, layer: a bar clicked, or Enter on the cursor's bar
    cursor_moved = Signal(str)  # what the cursor is on, in words

    def __init__(self, parent: QWidget | None = None, *, legend: bool = False) -> None:
        super().__init__(parent, background="#1e2227" if theme.current() == "dark" else "w")
        self.showGrid(x=False, y=True, alpha=0.3)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseEnabled(x=False, y=False)  # a click chooses a bar; the chart does not pan
        self.legend = self.addLegend() if legend else None
        self.columns: tuple[str, ...] = ()  # a label per column
        self.layers: tuple[Layer, ...] = ()
        self.grouped = False  # the layers side by side in a column, not stacked
        # a view's own words for a bar (column, layer) in the cursor line; None: "column · layer: value"
        self.describer: Callable[[int, int], str] | None = None
        self.cursor: tuple[int, int] | None = None
        self._outline: pg.BarGraphItem | None = None
        self.scene().sigMouseClicked.connect(self._clicked)

    # -- drawing ------------------------------------------------------------------------------
    def set_bars(self, columns: list[str], layers: list[Layer], *, tick_every: int = 1,
                 grouped: bool = False) -> None:
        """Draw ``layers`` stacked over ``columns`` — or side by side in each column, ``grouped``
        (labels on the axis every ``tick_every``)."""
        self.clear()
        if self.legend is not None:
            self.legend.clear()
        self.columns, self.layers, self.grouped = tuple(columns), tuple(layers), grouped
        for n, layer in enumerate(layers):
            self.addItem(pg.BarGraphItem(
                x=[self._x(c, n) for c in range(len(columns))], height=list(layer.values),
                y0=[self._bottom(c, n) for c in range(len(columns))], width=self._width(),
                brush=layer.colour, pen=pg.mkPen(layer.colour), name=layer.name))
        step = max(tick_every, 1)
        self.getAxis("bottom").setTicks([[(i, label) for i, label in enumerate(columns) if i % step == 0]])
        if any(v > 0 for layer in layers for v in layer.values):
            self.enableAutoRange(axis="y")
        else:  # nothing to count: a scale from 0 up, not a band of negative counts around the zero line
            self.setYRange(0, 1, padding=0)
        self._outline = None
        if self.cursor is not None:
            self._move_to(*self.cursor) if self._valid(*self.cursor) else self._move_to(*self._first())

    def value(self, column: int, layer: int) -> float:
        return self.layers[layer].values[column]

    def _bottom(self, column: int, layer: int) -> float:
        if self.grouped:
            return 0.0
        return sum(self.layers[n].values[column] for n in range(layer))

    def _width(self) -> float:
        """A bar's width: the column's, or its share of the column when the layers stand side by side."""
        return BAR_WIDTH / len(self.layers) if self.grouped and self.layers else BAR_WIDTH

    def _x(self, column: int, layer: int) -> float:
        """The middle of a bar across: its column, or its place in the column when grouped."""
        if not self.grouped:
            return float(column)
        return column - BAR_WIDTH / 2 + self._width() * (layer + 0.5)

    def bar_centre(self, column: int, layer: int) -> QPointF:
        """The middle of a bar in the view's coordinates (tests click there)."""
        return QPointF(self._x(column, layer), self._bottom(column, layer) + self.value(column, layer) / 2)

    # -- the mouse ----------------------------------------------------------------------------
    def bar_at(self, x: float, y: float) -> tuple[int, int] | None:
        """The (column, layer) of the bar at a point of the view, None between bars."""
        column = round(x)
        if not 0 <= column < len(self.columns) or abs(x - column) > BAR_WIDTH / 2 or not self.layers:
            return None
        if self.grouped:
            n = min(int((x - (column - BAR_WIDTH / 2)) / self._width()), len(self.layers) - 1)
            value = self.layers[n].values[column]
            return (column, n) if value > 0 and 0 <= y < value else None
        bottom = 0.0
        for n, layer in enumerate(self.layers):
            top = bottom + layer.values[column]
            if layer.values[column] > 0 and bottom <= y < top:
                return column, n
            bottom = top
        return None

    def _clicked(self, event: Any) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        box = self.getPlotItem().vb
        if not box.sceneBoundingRect().contains(event.scenePos()):
            return
        point = box.mapSceneToView(event.scenePos())
        found = self.bar_at(point.x(), point.y())
        if found is not None:
            self.setFocus()
            self._move_to(*found)
            self.chosen.emit(*found)

    # -- the keyboard -------------------------------------------------------------------------
    def _valid(self, column: int, layer: int) -> bool:
        return 0 <= column < len(self.columns) and 0 <= layer < len(self.layers)

    def _layers_in(self, column: int) -> list[int]:
        """The layers with a bar in this column (the cursor skips the empty ones)."""
        return [n for n, layer in enumerate(self.layers) if layer.values[column] > 0]

    def _first(self) -> tuple[int, int]:
        for column in range(len(self.columns) - 1, -1, -1):  # the newest column with a bar
            present = self._layers_in(column)
            if present:
                return column, present[0]
        return max(len(self.columns) - 1, 0), 0

    def _move_to(self, column: int, layer: int) -> None:
        self.cursor = (column, layer)
        if self._outline is not None:
            self.removeItem(self._outline)
            self._outline = None
        if not self._valid(column, layer):
            self.cursor_moved.emit("")
            return
        value = self.value(column, layer)
        self._outline = pg.BarGraphItem(x=[self._x(column, layer)], height=[max(value, 0.0)],
                                        y0=[self._bottom(column, layer)],
                                        width=self._width() + (0.05 if self.grouped else 0.1), brush=None,
                                        pen=pg.mkPen(CURSOR_COLOUR, width=3))
        self._outline.setZValue(10)
        self.addItem(self._outline)
        self.cursor_moved.emit(self.describe(column, layer))

    def describe(self, column: int, layer: int) -> str:
        """The cursor line for a bar: the view's own words (``describer``), or "column · layer: value"."""
        if self.describer is not None:
            return self.describer(column, layer)
        value = self.value(column, layer)
        name = self.layers[layer].name
        count = int(value) if float(value).is_integer() else value
        return f"{self.columns[column]} · {name}: {count}" if name else f"{self.columns[column]}: {count}"

    def _column_step(self, column: int, step: int, layer: int) -> tuple[int, int]:
        """The next column that has a bar, keeping the layer when it has one there."""
        n = column + step
        while 0 <= n < len(self.columns):
            present = self._layers_in(n)
            if present:
                return n, layer if layer in present else present[0]
            n += step
        return column, layer

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if not self.columns or not self.layers:
            super().keyPressEvent(event)
            return
        column, layer = self.cursor if self.cursor is not None and self._valid(*self.cursor) else self._first()
        present = self._layers_in(column)
        if key == Qt.Key.Key_Left:
            self._move_to(*self._column_step(column, -1, layer))
        elif key == Qt.Key.Key_Right:
            self._move_to(*self._column_step(column, 1, layer))
        elif key == Qt.Key.Key_Home:
            self._move_to(*self._column_step(-1, 1, layer))
        elif key == Qt.Key.Key_End:
            self._move_to(*self._column_step(len(self.columns), -1, layer))
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Down) and present:
            place = present.index(layer) if layer in present else 0
            place = min(place + 1, len(present) - 1) if key == Qt.Key.Key_Up else max(place - 1, 0)
            self._move_to(column, present[place])
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            if self.cursor is None:
                self._move_to(column, layer)
            elif present and self.cursor[1] in present:
                self.chosen.emit(*self.cursor)
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def focusInEvent(self, event: Any) -> None:
        super().focusInEvent(event)
        if self.cursor is None and self.columns and self.layers:
            self._move_to(*self._first())
