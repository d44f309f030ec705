"""Stock spreadsheets: ``supplies export F.xlsx`` and ``supplies import F.xlsx``.

The export has one row per depot and item under Chinese headers (存放点 / 所属社区 / 物资名称 /
数量 / 单位 / 最低库存 / 低于最低); every text cell is written as text, so a name beginning with
``=`` ``+`` ``-`` ``@`` or a tab is never taken for a formula.

The import reads the same format and the messy copies people make of it: title rows above the
header, a header merged over two rows, full-width digits (１２０), a unit typed after the number
(120袋), aliases of item names (防汛沙袋). Each data row says what a depot holds now; the difference
from the ledger is stored as a stock count (盘点) naming the file and row, so the ledger stays the
only truth. A bad row (unknown depot or item, a negative or missing quantity) is named with its
row number and reason; the good rows are stored together in one transaction.

The reader is ``kernel/bounded_input``'s (the zip, the sheet's dimensions and merged ranges checked
before a cell is read, openpyxl read-only), and every quantity is bounded.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import openpyxl
from sqlalchemy import select

from db.engine import Database, db_now
from db.models import Depot, StockMovement
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.bounded_input import Limits, xlsx_rows
from dispatch_console.kernel.changes import record, serialise_writers
from dispatch_console.kernel.errors import DispatchError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import require
from dispatch_console.supplies.stock import MAX_QUANTITY, Catalogue, balance, normalise, stock

HEADERS = ("存放点", "所属社区", "物资名称", "数量", "单位", "最低库存", "低于最低")
_ALIASES: dict[str, set[str]] = {
    "depot": {"存放点", "储备点", "仓库", "存放地点", "物资储备点", "depot"},
    "item": {"物资名称", "物资", "名称", "品名", "item"},
    "quantity": {"数量", "库存", "库存数量", "现有数量", "quantity"},
    "unit": {"单位", "计量单位", "unit"},
}
MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 5000
MAX_COLUMNS = 40
HEADER_SCAN_ROWS = 20
_QUANTITY_RE = re.compile(r"^([+-]?\d+(?:\.0+)?)\s*(\D*)$")


class SheetError(DispatchError):
    """The file as a whole cannot be read (not a workbook, too large, no header row)."""



@dataclass(frozen=True)
class RowError:
    row: int
    reason: str

    def __str__(self) -> str:
        return _("row {row}: {reason}").format(row=self.row, reason=self.reason)


@dataclass(frozen=True)
class ImportResult:
    stored: int  # rows that changed the ledger
    unchanged: int  # rows that matched it
    rejected: tuple[RowError, ...]


# ---------------------------------------------------------------------------------------------
# Export.


def export_stock(db: Database, catalogue: Catalogue, path: str | Path) -> int:
    """Write one row per depot and catalogue item; returns the number of rows."""
    rows = stock(db, catalogue, all_items=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "应急物资库存"
    ws.append(list(HEADERS))
    for r in rows:
        ws.append([r.depot, r.community or "", r.name, r.quantity, r.unit, r.minimum, "是" if r.below_minimum else ""])
        for column in (1, 2, 3, 5, 7):
            cell = ws.cell(ws.max_row, column)
            cell.value = str(cell.value or "")
            cell.data_type = "s"  # a shared string: text even when it starts with = + - @ or a tab
    for letter, width in zip("ABCDEFG", (26, 12, 12, 8, 6, 10, 10), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    wb.save(path)
    return len(rows)


# ---------------------------------------------------------------------------------------------
# Reading a sheet, bounded.


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(unicodedata.normalize("NFKC", str(value)).split())


def _header_key(value: Any) -> str | None:
    text = normalise(_cell_text(value))
    text = re.sub(r"[()（）:：*]|\(.*?\)", "", text)
    for key, names in _ALIASES.items():
        if text in names:
            return key
    return None


def read_grid(path: str | Path) -> list[tuple[int, list[Any] | None, str | None]]:
    """The first sheet's rows as (row number, values or None, the reason a row cannot be read).

    Read through ``kernel/bounded_input`` (zip, dimensions and merged ranges checked before a cell
    is read; openpyxl read-only); a merged cell's value fills every cell it covers.
    """
    path = Path(path)
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        raise SheetError(_("Give an .xlsx file, not {file}.").format(file=path.name))
    limits = replace(Limits(), file_bytes=MAX_BYTES, xlsx_rows=MAX_ROWS, xlsx_columns=MAX_COLUMNS)
    return [(item.position.line or 0, item.value, item.error.reason if item.error else None)
            for item in xlsx_rows(path, limits, fill_merged=True)]


def find_header(grid: list[tuple[int, list[Any] | None, str | None]], file: str) -> tuple[int, dict[str, int]]:
    """The header row (the lowest of a header merged over rows) and the column of each field.

    A header cell merged over two rows is empty in the lower row when read row by row, so each
    column keeps the name found for it in the rows just above.
    """
    names: dict[int, str] = {}
    found_at: int | None = None
    columns: dict[str, int] = {}
    for number, cells, _problem in grid[:HEADER_SCAN_ROWS]:
        row_names = {i: k for i, c in enumerate(cells or []) if (k := _header_key(c)) is not None}
        if not row_names:
            if found_at is not None:
                break
            names = {}
            continue
        names.update(row_names)
        keys = {k: i for i, k in sorted(names.items(), reverse=True)}
        if {"depot", "item", "quantity"} <= keys.keys():
            found_at, columns = number, keys
        elif found_at is not None:
            break
    if found_at is None:
        raise SheetError(_("{file}: no header row with 存放点, 物资名称 and 数量 in the first {n} rows.").format(
            file=file, n=HEADER_SCAN_ROWS))
    return found_at, columns


# ---------------------------------------------------------------------------------------------
# Import.


def _quantity(value: Any, unit: str) -> int:
    if isinstance(value, bool):
        raise ValueError(_("the quantity is not a number"))
    if isinstance(value, int | float):
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(_("the quantity must be a whole number"))
        number = int(value)
    else:
        text = normalise(_cell_text(value))
        if not text:
            raise ValueError(_("the quantity is missing"))
        m = _QUANTITY_RE.match(text.replace(",", ""))
        if m is None or (m.group(2) and m.group(2) != normalise(unit)):
            raise ValueError(_("\"{text}\" is not a quantity in {unit}").format(text=_cell_text(value), unit=unit))
        number = int(float(m.group(1)))
    if number < 0:
        raise ValueError(_("the quantity may not be negative"))
    if number > MAX_QUANTITY:
        raise ValueError(_("the quantity is larger than {n}").format(n=MAX_QUANTITY))
    return number


def import_stock(db: Database, actor: Actor, catalogue: Catalogue, path: str | Path) -> ImportResult:
    """Bring the ledger to what the sheet says each depot holds (a count line per change)."""
    require(actor, "supplies.manage")
    path = Path(path)
    grid = read_grid(path)
    header_at, columns = find_header(grid, path.name)
    errors: list[RowError] = []
    wanted: list[tuple[int, str, str, int]] = []  # (row, depot name, item code, quantity)
    seen: dict[tuple[str, str], int] = {}
    with db.read() as s:
        depots = {normalise(d.name): d.name for d in s.execute(select(Depot).where(Depot.active.is_(True))).scalars()}
        depots.update({normalise(d.code): d.name for d in s.execute(select(Depot)).scalars() if d.active})
    for number, row_cells, problem in grid:
        if number <= header_at:
            continue
        if problem is not None or row_cells is None:
            errors.append(RowError(number, problem or _("the row cannot be read")))
            continue
        cells = row_cells
        if not any(_cell_text(c) for c in cells):
            continue

        def cell(key: str, cells: list[Any] = cells) -> Any:
            i = columns.get(key)
            return cells[i] if i is not None and i < len(cells) else None

        depot_text, item_text = _cell_text(cell("depot")), _cell_text(cell("item"))
        depot = depots.get(normalise(depot_text))
        item = catalogue.find(item_text)
        if not depot_text:
            errors.append(RowError(number, _("the depot (存放点) is missing")))
            continue
        if depot is None:
            errors.append(RowError(number, _("no depot \"{name}\"").format(name=depot_text[:100])))
            continue
        if item is None:
            errors.append(RowError(number, _("\"{name}\" is not in the supplies catalogue").format(
                name=item_text[:100] or "—")))
            continue
        unit_text = _cell_text(cell("unit"))
        if unit_text and normalise(unit_text) != normalise(item.unit):
            errors.append(RowError(number, _("{item} is counted in {unit}, not {given}").format(
                item=item.name, unit=item.unit, given=unit_text[:20])))
            continue
        try:
            quantity = _quantity(cell("quantity"), item.unit)
        except ValueError as exc:
            errors.append(RowError(number, str(exc)))
            continue
        key = (depot, item.code)
        if key in seen:
            errors.append(RowError(number, _("{depot} {item} is given twice (row {other} too)").format(
                depot=depot, item=item.name, other=seen[key])))
            continue
        seen[key] = number
        wanted.append((number, depot, item.code, quantity))
    stored = unchanged = 0
    if wanted:
        with db.write() as s:
            serialise_writers(s)
            now = db_now(s)
            by_name = {d.name: d for d in s.execute(select(Depot)).scalars()}
            for number, depot_name, code, quantity in wanted:
                depot_row = by_name[depot_name]
                delta = quantity - balance(s, depot_row.id, code)
                if delta == 0:
                    unchanged += 1
                    continue
                reason = _("imported from {file}, row {row}").format(file=path.name[:100], row=number)
                line = StockMovement(at=now, depot_id=depot_row.id, item=code, kind="count", quantity=delta,
                                     reason=reason, user_id=actor.user_id, username=actor.username,
                                     station=actor.station)
                s.add(line)
                s.flush()
                record(s, actor, entity="stock", entity_id=line.id, op="create", action="stock.import",
                       after={"depot": depot_row.code, "item": code, "quantity": delta, "balance": quantity,
                              "reason": reason}, at=now)
                stored += 1
    return ImportResult(stored, unchanged, tuple(errors))
