"""Roster import and export: Excel (.xlsx) and CSV files in one format.

Roster file format
------------------
One row per person on a shift, under a header row with these columns (in any order; the header
may be in Chinese or English, and may sit below title rows or in merged cells):

=========  ==========  ===============================================================
column     also        content
=========  ==========  ===============================================================
日期        date        the local day the shift starts: 2026-11-27, 2026/11/27,
                       2026年11月27日, 20261127, an Excel date cell or date serial
班次        shift       shift type code or name: ``day`` / 白班, ``night`` / 夜班
岗位        role        ``shift_leader`` / 带班领导, ``duty_officer`` / 值班员
姓名        name        the person's name as in the personnel list
电话        phone       optional; tells apart two people of the same name
=========  ==========  ===============================================================

Blank rows are skipped; a date merged down over several rows counts for each of them;
full-width characters (２０２６－１１－２７, 全角 spaces) are read as their normal forms.
A night shift belongs to the day it starts on (夜班 of 11-27 runs 11-27 20:00 to 11-28 08:00).

Every row is checked before anything is stored. A bad row — unknown person or shift, bad date,
a role the shift does not have or the person may not serve in, a duplicate, a person already on
that shift — is reported with its row number (as Excel shows it; the CSV line number) and the
reason; the good rows are stored. Export writes the same format, so an exported file imports
back to the same roster. CSV is written as UTF-8 with a byte-order mark (Excel opens it right)
and read as UTF-8 or GB18030. A cell that a spreadsheet would run as a formula (it begins with
= + - @, a tab or a carriage return) is exported as text (``kernel/export_cells.py``) and reads
back unchanged. Files are read through the bounded reader (``kernel/bounded_input.py``): a file
too big, not a real .xlsx, or with a sheet reaching too far is refused whole; a row with an
over-long cell is one bad row.
"""

from __future__ import annotations

import csv
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import Person, Shift, ShiftType
from dispatch_console.kernel import bounded_input, changes
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.bounded_input import InputError, Item
from dispatch_console.kernel.errors import DispatchError, ValidationError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import require
from dispatch_console.kernel.roles import role_label
from dispatch_console.rosters.entries import add_entry, roster
from dispatch_console.rosters.shift_types import _ensure_in
from dispatch_console.rosters.shift_types import shifts as shifts_of

log = logging.getLogger(__name__)

COLUMNS = ("date", "shift", "role", "name", "phone")
HEADERS = {"date": "日期", "shift": "班次", "role": "岗位", "name": "姓名", "phone": "电话"}
_HEADER_ALIASES: dict[str, set[str]] = {
    "date": {"日期", "date", "值班日期", "排班日期"},
    "shift": {"班次", "shift", "班别", "班"},
    "role": {"岗位", "role", "职务", "角色"},
    "name": {"姓名", "name", "值班人员", "人员"},
    "phone": {"电话", "phone", "联系电话", "手机", "手机号", "mobile"},
}
ROLE_NAMES: dict[str, set[str]] = {
    "shift_leader": {"shift_leader", "shift leader", "带班领导", "带班", "leader"},
    "duty_officer": {"duty_officer", "duty officer", "值班员", "值班", "officer"},
}
EXPORT_ROLE = {"shift_leader": "带班领导", "duty_officer": "值班员"}
_HEADER_SCAN_ROWS = 30
# A year's roster is a few thousand rows of short cells.
ROSTER_LIMITS = bounded_input.Limits(file_bytes=8 * bounded_input.MIB, field_chars=1024, items=100_000,
                                     xlsx_rows=100_000, xlsx_columns=64, zip_member_bytes=16 * bounded_input.MIB,
                                     zip_total_bytes=32 * bounded_input.MIB)
_EXCEL_EPOCH = date(1899, 12, 30)
_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s.*)?$")


@dataclass(frozen=True)
class RowError:
    row: int
    reason: str


@dataclass(frozen=True)
class ImportResult:
    stored: int
    rejected: tuple[RowError, ...]

    @property
    def ok(self) -> bool:
        return not self.rejected


class RosterFileError(DispatchError):
    """The file as a whole cannot be read (no header row, unknown file type …)."""


def normalise(value: Any) -> str:
    """Cell text in its normal form: NFKC (全角 → 半角), trimmed, inner space runs collapsed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value))
    return " ".join(text.split())


def _header_key(cell: Any) -> str | None:
    text = normalise(cell).lower()
    if not text:
        return None
    for column, aliases in _HEADER_ALIASES.items():
        if text.replace(" ", "") in aliases:
            return column
        # "日期 date", "日期(date)", "姓名/name"
        tokens = [t for t in re.split(r"[\s()（）/、|:：]+", text) if t]
        if tokens and any(t in aliases for t in tokens):
            return column
    return None


def parse_day(value: Any) -> date:
    """A date cell, an Excel serial, or text in one of the accepted spellings, in 2000–2100."""
    day = _parse_day(value)
    if not bounded_input.YEAR_MIN <= day.year <= bounded_input.YEAR_MAX:
        raise ValueError(str(day))
    return day


def _parse_day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 36526 <= value <= 73415:  # Excel serial: 2000-01-01 … 2100-12-31
            return _EXCEL_EPOCH + timedelta(days=int(value))
        raise ValueError(str(value))
    text = normalise(value)
    if re.fullmatch(r"\d{5}(\.0+)?", text):
        return _parse_day(float(text))
    if re.fullmatch(r"\d{8}", text):
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    m = _DATE_RE.match(text)
    if not m:
        raise ValueError(text)
    return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))


def _phone(value: Any) -> str:
    text = normalise(value)
    return re.sub(r"[\s-]", "", text)


def _name_key(value: Any) -> str:
    return "".join(normalise(value).split()).casefold()


# ---------------------------------------------------------------------------------------------
# Reading the file into numbered rows.


def _grid(path: Path) -> list[Item[list[Any]]]:
    """The file's rows through the bounded reader (xlsx read-only within its checked reach, CSV
    streamed); a file that cannot be read at all is a RosterFileError, nothing stored."""
    from dispatch_console.kernel.export_cells import restore_text  # (it loads openpyxl)

    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            return list(bounded_input.xlsx_rows(path, ROSTER_LIMITS))
        if suffix in (".csv", ".txt"):
            return [Item(i.position, [restore_text(v) for v in i.value]) if i.value is not None else i
                    for i in bounded_input.csv_rows(path, ROSTER_LIMITS)]
    except InputError as exc:
        raise RosterFileError(str(exc)) from None
    raise RosterFileError(_("Give an .xlsx or .csv file, not {file}.").format(file=path.name))


def _read(path: str | Path) -> tuple[list[tuple[int, dict[str, Any]]], list[RowError]]:
    """The data rows below the detected header row, and the rows the reader refused."""
    path = Path(path)
    grid = _grid(path)
    header_at, columns = None, {}
    for item in grid[:_HEADER_SCAN_ROWS]:
        if item.value is None:
            continue
        number, cells = item.position.line or 0, item.value
        found: dict[str, int] = {}
        for i, cell in enumerate(cells):
            key = _header_key(cell)
            if key and key not in found:
                found[key] = i
        if {"date", "shift", "role", "name"} <= found.keys():
            header_at, columns = number, found  # a header merged over two rows: take the lower one
        elif header_at is not None:
            break
    if header_at is None:
        raise RosterFileError(_("{file}: no header row with 日期, 班次, 岗位 and 姓名 (date, shift, role, "
                                "name) in the first {n} rows.").format(file=path.name, n=_HEADER_SCAN_ROWS))
    rows: list[tuple[int, dict[str, Any]]] = []
    refused: list[RowError] = []
    for item in grid:
        number = item.position.line or 0
        if number <= header_at:
            continue
        if item.error is not None:
            refused.append(RowError(number, item.error.reason))
            continue
        cells = item.value or []
        if not any(normalise(c) for c in cells):
            continue
        rows.append((number, {k: cells[i] if i < len(cells) else None for k, i in columns.items()}))
    return rows, refused


def read_rows(path: str | Path) -> list[tuple[int, dict[str, Any]]]:
    """The data rows as ``(row number, {column: value})`` below the detected header row."""
    return _read(path)[0]


# ---------------------------------------------------------------------------------------------
# Import.


@dataclass
class _Lookup:
    types: dict[str, ShiftType]
    people: dict[str, list[Person]]

    @classmethod
    def load(cls, s: Session) -> _Lookup:
        types: dict[str, ShiftType] = {}
        for t in s.execute(select(ShiftType).where(ShiftType.active.is_(True))).scalars():
            types[t.code.casefold()] = t
            types[normalise(t.name).casefold()] = t
        people: dict[str, list[Person]] = {}
        for p in s.execute(select(Person).where(Person.active.is_(True))).scalars():
            people.setdefault(_name_key(p.name), []).append(p)
        return cls(types, people)

    def person(self, name: Any, phone: Any) -> Person:
        candidates = self.people.get(_name_key(name), [])
        wanted = _phone(phone)
        if wanted:
            candidates = [p for p in candidates if _phone(p.phone) == wanted]
        if not candidates:
            if wanted and self.people.get(_name_key(name)):
                raise ValueError(_("no {name} with phone {phone}").format(name=normalise(name), phone=wanted))
            raise ValueError(_("unknown person {name}").format(name=normalise(name)))
        if len(candidates) > 1:
            raise ValueError(_("{n} people are called {name}: add the phone number").format(
                n=len(candidates), name=normalise(name)))
        return candidates[0]


def _role(value: Any) -> str:
    text = normalise(value).casefold()
    for code, names in ROLE_NAMES.items():
        if text in names:
            return code
    raise ValueError(_("unknown role {role}").format(role=normalise(value) or "-"))


def _check_row(look: _Lookup, cells: dict[str, Any]) -> tuple[date, ShiftType, str, Person]:
    """The row's day, shift type, role and person, or ValueError with the reason."""
    try:
        day = parse_day(cells["date"])
    except ValueError:
        raise ValueError(_("bad date {value}").format(value=normalise(cells["date"]) or "-")) from None
    stype = look.types.get(normalise(cells["shift"]).casefold())
    if stype is None:
        raise ValueError(_("unknown shift {shift}").format(shift=normalise(cells["shift"]) or "-"))
    role = _role(cells["role"])
    if role not in (stype.required_roles or {}):
        raise ValueError(_("the {shift} has no role {role}").format(shift=stype.name,
                                                                   role=role_label(role)))
    return day, stype, role, look.person(cells["name"], cells.get("phone"))


def import_roster(db: Database, actor: Actor, path: str | Path) -> ImportResult:
    """Check every row of the file, store the good ones in one transaction, report the bad ones."""
    require(actor, "roster.import")
    rows, rejected = _read(path)
    reason = _("imported from {file}").format(file=Path(path).name)
    stored = 0
    with db.write() as s:
        changes.serialise_writers(s)
        look = _Lookup.load(s)
        now = db_now(s)
        seen: dict[tuple[int, str, int], int] = {}
        shifts: dict[tuple[int, date], Shift] = {}
        for number, cells in rows:
            try:
                day, stype, role, person = _check_row(look, cells)
                key = (stype.id, day.isoformat(), person.id)
                if key in seen:
                    raise ValueError(_("duplicate of row {row}").format(row=seen[key]))
                seen[key] = number
                # add_entry checks everything before it writes: a refused row leaves nothing behind.
                if (stype.id, day) not in shifts:
                    shifts[(stype.id, day)] = _shift_for(s, actor, stype, day)
                add_entry(s, actor, shifts[(stype.id, day)], person.id, role, reason=reason, now=now)
                stored += 1
            except (ValueError, ValidationError) as exc:
                rejected.append(RowError(number, str(exc)))
    return ImportResult(stored, tuple(sorted(rejected, key=lambda e: e.row)))


def _shift_for(s: Session, actor: Actor, stype: ShiftType, day: date) -> Shift:
    shift = s.execute(select(Shift).where(Shift.shift_type_id == stype.id, Shift.day == day.isoformat())
                      ).scalar_one_or_none()
    if shift is None:
        _ensure_in(s, actor, day, day)
        shift = s.execute(select(Shift).where(Shift.shift_type_id == stype.id,
                                              Shift.day == day.isoformat())).scalar_one()
    return shift


# ---------------------------------------------------------------------------------------------
# Export.


def export_rows(db: Database, start_day: date, end_day: date) -> list[tuple[date, str, str, str, str]]:
    entries = roster(db, start_day, end_day)
    shifts = {sh.id: sh for sh in shifts_of(db, start_day, end_day)}
    order = {"shift_leader": 0, "duty_officer": 1}
    entries.sort(key=lambda e: (shifts[e.shift_id].starts_at, order.get(e.role, 9), e.person_name, e.id))
    return [(date.fromisoformat(shifts[e.shift_id].day), shifts[e.shift_id].name,
             EXPORT_ROLE.get(e.role, e.role), e.person_name, e.phone or "") for e in entries]


def export_roster(db: Database, path: str | Path, start_day: date, end_day: date) -> int:
    """Write the active roster of these days to ``path`` (.xlsx or .csv); returns the row count."""
    # openpyxl (also behind export_cells) loads here: the rooms that only read the rosters, as the
    # handover follow-up of every incident change does, need not load it
    import openpyxl

    from dispatch_console.kernel.export_cells import csv_row, xlsx_append

    path = Path(path)
    rows = export_rows(db, start_day, end_day)
    header = [HEADERS[c] for c in COLUMNS]
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        wb = openpyxl.Workbook()
        ws = wb.active
        assert ws is not None
        ws.title = "排班表"
        ws.append(header)
        for day, *rest in rows:
            row = xlsx_append(ws, [day, *rest])  # a shift named =HYPERLINK(…) stays text
            ws.cell(row, 1).number_format = "yyyy-mm-dd"
            ws.cell(row, 5).number_format = "@"
        for col, width in zip("ABCDE", (12, 8, 10, 10, 14), strict=True):
            ws.column_dimensions[col].width = width
        wb.save(path)
    elif suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            for day, *rest in rows:
                writer.writerow(csv_row([day.isoformat(), *rest]))
    else:
        raise RosterFileError(_("Give an .xlsx or .csv file, not {file}.").format(file=path.name))
    return len(rows)
