"""Tables that change under the officer's eyes: refilled at once, columns kept fitted.

:func:`refill` fills a ``QTableWidget`` with a whole new set of rows at once. Setting the items
one by one over rows that still held items made Qt measure the columns again
after every cell where a column sizes to its contents: refilling 200 rows took 5 s and 400 rows
26 s, a frozen console (the handover panel refills at every incident change). Emptied first and
filled with painting off, 5,000 rows take ~90 ms. The selected row (by position) is kept, as
replacing the items kept it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from PySide6.QtCore import QAbstractItemModel, QItemSelectionModel, Qt, QTimer
from PySide6.QtGui import QStandardItem
from PySide6.QtWidgets import QHeaderView, QTableView, QTableWidget, QTableWidgetItem, QWidget


def refill(table: QTableWidget, rows: Iterable[Sequence[QTableWidgetItem]]) -> None:
    """Replace every row of ``table`` with ``rows`` (one item per column)."""
    rows = list(rows)
    selection = table.selectionModel()
    selected = sorted({index.row() for index in selection.selectedRows()}) if selection is not None else []
    current = table.currentRow()
    updates = table.updatesEnabled()
    table.setUpdatesEnabled(False)
    try:
        table.setRowCount(0)
        table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, item in enumerate(row):
                table.setItem(r, c, item)
        if 0 <= current < len(rows):
            table.setCurrentCell(current, max(0, table.currentColumn()),
                                 QItemSelectionModel.SelectionFlag.NoUpdate)
        selection = table.selectionModel()
        if selection is not None:
            for r in selected:
                if r < len(rows):
                    table.selectRow(r)
    finally:
        table.setUpdatesEnabled(updates)


def keep_columns_fitted(view: QTableView) -> None:
    """Size the view's to-contents columns again whenever its rows change.

    A header sized to contents measures when it lays itself out — at a resize, say — not when
    rows arrive: a board filled after its last resize kept the widths of the empty table and cut
    every name to "带…". The measuring runs once per turn of the event loop, however many rows came.
    """
    header = view.horizontalHeader()
    model = view.model()
    pending = QTimer(view)
    pending.setSingleShot(True)
    pending.setInterval(0)
    pending.timeout.connect(header.resizeSections)
    for signal in (model.rowsInserted, model.rowsRemoved, model.modelReset, model.dataChanged):
        signal.connect(pending.start)


def row_table(model: QAbstractItemModel, parent: QWidget, name: str | None = None) -> QTableView:
    """A read-only list of rows for a dock: one row selected at a time, alternating colours, no row
    numbers, the columns fitted to their contents and the last one stretched."""
    view = QTableView(parent)
    if name:
        view.setObjectName(name)
    view.setModel(model)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
    view.setAlternatingRowColors(True)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    view.horizontalHeader().setStretchLastSection(True)
    keep_columns_fitted(view)
    return view


ITEM_DATA = Qt.ItemDataRole.UserRole + 1  # the id (or other key) a read-only item carries


def read_only_item(text: object, data: object = None) -> QStandardItem:
    """A cell of a dock's row table: its text (None shows nothing), not editable, with ``data`` under
    :data:`ITEM_DATA`."""
    item = QStandardItem("" if text is None else str(text))
    item.setEditable(False)
    if data is not None:
        item.setData(data, ITEM_DATA)
    return item
