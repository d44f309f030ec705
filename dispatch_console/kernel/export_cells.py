"""Cells for CSV and xlsx exports that a spreadsheet never runs as a formula (the OWASP rule).

A text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula (or
becomes one when a user presses Enter on it) in Excel, WPS and LibreOffice: a shift type named
``=HYPERLINK("http://…","点此")`` would be a live link in the exported roster. So:

- in CSV such a cell is written with a leading apostrophe (``'=HYPERLINK(…)``), which the
  spreadsheet shows as the text; :func:`restore_text` takes it off again on import, so an exported
  file imports back unchanged (an apostrophe already in front of such a text is doubled, so even
  ``'=x`` survives the round trip);
- in xlsx it is written as a string cell with the Text number format (``@``), never a formula
  cell, so it needs no apostrophe and reads back as the same string.

Every CSV and xlsx export (rosters now; cases, assessment and supplies as they come) writes
through :func:`csv_row` and :func:`xlsx_append`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl.worksheet.worksheet import Worksheet

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED = re.compile(r"^'+[=+\-@\t\r]")


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet would take ``text`` (as typed in a cell) for a formula."""
    return text.startswith(TRIGGERS)


def safe_text(value: Any) -> Any:
    """A CSV cell: text that a spreadsheet would run gets a leading apostrophe; anything else as it is."""
    if isinstance(value, str) and (is_formula_like(value) or _ESCAPED.match(value)):
        return "'" + value
    return value


def restore_text(value: Any) -> Any:
    """The inverse of :func:`safe_text` for a cell read back from a CSV file."""
    if isinstance(value, str) and _ESCAPED.match(value):
        return value[1:]
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    """A row for ``csv.writer.writerow`` with every cell made safe."""
    return [safe_text(v) for v in values]


def xlsx_append(ws: Worksheet, values: Sequence[Any]) -> int:
    """Append a row to an openpyxl worksheet with every text cell a string cell, never a formula.

    openpyxl turns a string that starts with ``=`` into a formula cell; here it is set back to a
    string cell and given the Text number format, so that editing it in Excel keeps it text too.
    Returns the row number."""
    ws.append(list(values))
    row = ws.max_row
    for column, value in enumerate(values, start=1):
        if isinstance(value, str) and (is_formula_like(value) or value.startswith("'")):
            cell = ws.cell(row, column)
            cell.value = value
            cell.data_type = "s"
            cell.number_format = "@"
    return row
