"""A layout that lays its widgets out in a row and wraps them onto the next row when narrow.

The queue's filter bar (search, four filters, two check boxes, the count) wants ~900 px in one
row; in the middle of a 1366 px window it has ~650. Wrapping keeps every filter whole and lets
the window fit the screen (Qt's own "Flow Layout" example, with the stretch of the search box:
the first item with ``stretch`` takes what is left of its row).
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QLayoutItem, QSizePolicy, QWidget


class FlowLayout(QLayout):
    def __init__(self, parent: QWidget | None = None, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._stretch: set[int] = set()
        self.setSpacing(spacing)
        self.setContentsMargins(0, 0, 0, 0)

    def add(self, widget: QWidget, *, stretch: bool = False) -> None:
        if stretch:
            self._stretch.add(len(self._items))
        self.addWidget(widget)

    # -- QLayout -------------------------------------------------------------------------------
    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        if not 0 <= index < len(self._items):
            return None
        self._stretch = {i - (i > index) for i in self._stretch if i != index}
        return self._items.pop(index)

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation.Horizontal

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), apply=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, apply=True)

    def sizeHint(self) -> QSize:
        width = sum(i.sizeHint().width() for i in self._visible()) + self.spacing() * max(0, len(self._visible()) - 1)
        height = max((i.sizeHint().height() for i in self._visible()), default=0)
        m = self.contentsMargins()
        return QSize(width + m.left() + m.right(), height + m.top() + m.bottom())

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._visible():
            size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    # -- arranging -----------------------------------------------------------------------------
    @staticmethod
    def _hidden(item: QLayoutItem) -> bool:
        widget = item.widget()
        return widget is not None and widget.isHidden()

    def _visible(self) -> list[QLayoutItem]:
        return [i for i in self._items if not self._hidden(i)]

    def _gap(self, item: QLayoutItem) -> int:
        if self.spacing() >= 0:
            return self.spacing()
        widget = item.widget()
        style = widget.style() if widget is not None else None
        if style is None:
            return 6
        return style.layoutSpacing(QSizePolicy.ControlType.PushButton, QSizePolicy.ControlType.PushButton,
                                   Qt.Orientation.Horizontal)

    def _arrange(self, rect: QRect, *, apply: bool) -> int:
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        rows: list[list[tuple[int, QLayoutItem]]] = [[]]
        used = 0
        for index, item in enumerate(self._items):
            if self._hidden(item):
                continue
            want = item.sizeHint().width() if index not in self._stretch else item.minimumSize().width()
            gap = self._gap(item) if rows[-1] else 0
            if rows[-1] and used + gap + want > area.width():
                rows.append([])
                used, gap = 0, 0
            rows[-1].append((index, item))
            used += gap + want
        y = area.y()
        for row in rows:
            if not row:
                continue
            height = max(i.sizeHint().height() for _n, i in row)
            widths = [i.sizeHint().width() if n not in self._stretch else i.minimumSize().width() for n, i in row]
            spare = area.width() - sum(widths) - sum(self._gap(i) for _n, i in row[1:])
            stretched = [k for k, (n, _i) in enumerate(row) if n in self._stretch]
            if stretched and spare > 0:
                widths[stretched[0]] += spare
            x = area.x()
            if apply:
                for (_n, item), width in zip(row, widths, strict=True):
                    width = min(width, area.width())
                    item.setGeometry(QRect(QPoint(x, y + (height - item.sizeHint().height()) // 2),
                                           QSize(width, item.sizeHint().height())))
                    x += width + self._gap(item)
            y += height + self.spacing()
        return y - self.spacing() - rect.y() + m.bottom() if y > area.y() else 0

