"""Refilling a table: every row replaced at once, the selected row kept, painting back on."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem

from ui.shell.tables import refill


def _rows(n: int, tag: str) -> list[list[QTableWidgetItem]]:
    return [[QTableWidgetItem(f"{tag}-{r}"), QTableWidgetItem("较大(Ⅲ级)"), QTableWidgetItem("到场处置")]
            for r in range(n)]


def test_refill_replaces_every_row_and_keeps_the_selected_one(qtbot: Any) -> None:
    table = QTableWidget(0, 3)
    qtbot.addWidget(table)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    table.show()
    refill(table, _rows(400, "old"))
    table.selectRow(7)
    refill(table, _rows(401, "new"))  # over rows that hold items: the case that took Qt seconds
    assert table.rowCount() == 401
    assert [table.item(r, 0).text() for r in (0, 7, 400)] == ["new-0", "new-7", "new-400"]
    assert [i.row() for i in table.selectionModel().selectedRows()] == [7] and table.currentRow() == 7
    assert table.updatesEnabled()

    refill(table, _rows(3, "few"))  # the selected row is gone: nothing selected, nothing breaks
    assert table.rowCount() == 3 and table.selectionModel().selectedRows() == []
    refill(table, [])
    assert table.rowCount() == 0
