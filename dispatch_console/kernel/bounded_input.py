"""One bounded reader for every file and stream a partner system or a site sends us.

Every importer (intake JSON Lines, GeoJSON, roster xlsx/csv, drill, checklist and policy TOML,
and the CAP, cases and supplies imports) reads through here, so that one discipline holds:

- **size**: a file, a line and a field (one string value, one CSV field, one xlsx cell) each have
  a limit (:class:`Limits`); a file over its limit is refused before it is read, a line over its
  limit is refused without being held in memory;
- **depth**: JSON and TOML nesting is measured by a scan of the text *before* the parser recurses
  (no ``RecursionError``), and again on the parsed value;
- **numbers**: integers longer than ``int_digits`` digits and non-finite floats are refused by the
  parser hooks (no 400-digit ints, no ``OverflowError``); :func:`check_number` puts a value in its
  domain (coordinates, counts, durations), :func:`check_date` keeps dates within 2000–2100;
- **xlsx**: the zip is checked first (not a zip → one line; member count, sizes, compression
  ratio; no DTDs), then the sheet's ``<dimension>``, ``<mergeCell>`` ranges and the cells' reach are
  scanned from the raw XML *before* openpyxl materialises any cell, then openpyxl reads it in
  read-only mode within the bounds the scan found;
- **CSV** is streamed through the csv module; a field over the limit is one bad row.

Each bad item becomes one :class:`InputError` with its :class:`Position` (file, line or row,
field) and reason; the readers that yield items (:func:`json_lines`, :func:`csv_rows`,
:func:`xlsx_rows`) yield an :class:`Item` carrying either the value or the error, and go on with
the good items after it. Whatever cannot be read at all (the file too big, not a zip, a sheet of a
million rows) raises :class:`InputError` for the whole file, so that the caller stores nothing.

Typical use::

    limits = Limits()                               # or dataclasses.replace(Limits(), file_bytes=…)
    data = load_toml(path, limits)                  # InputError names file, line and reason
    for item in csv_rows(path, limits):
        if item.error:
            report(item.error)                      # "roster.csv, line 7, field 3: …"
            continue
        use(item.position, item.value)
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import lzma
import math
import re
import tomllib
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from dispatch_console.kernel.errors import ValidationError
from dispatch_console.kernel.i18n import _

T = TypeVar("T")

KIB = 1024
MIB = 1024 * KIB

YEAR_MIN = 2000
YEAR_MAX = 2100

# Domains for numbers that come from outside (inclusive bounds).
LONGITUDE = (-180.0, 180.0)
LATITUDE = (-90.0, 90.0)
COUNT = (0, 1_000_000)
DURATION_SECONDS = (0, 366 * 86400)


@dataclass(frozen=True)
class Limits:
    """How much of anything one input may hold. The defaults fit every file the console reads;
    an importer narrows (or, for a known big file, widens) them with ``dataclasses.replace``."""

    file_bytes: int = 16 * MIB  # one file on disk
    line_bytes: int = 64 * KIB  # one line of JSON Lines (and one physical text line)
    field_chars: int = 64 * KIB  # one string value, JSON key, CSV field or xlsx cell
    depth: int = 32  # nesting of JSON / TOML arrays and tables
    int_digits: int = 18  # digits of an integer (anything wider is no count, no id, no coordinate)
    items: int = 200_000  # lines, rows or features in one file
    # xlsx
    xlsx_rows: int = 100_000
    xlsx_columns: int = 256
    xlsx_merged_cells: int = 200_000  # cells covered by merged ranges, all ranges together
    zip_members: int = 500
    zip_member_bytes: int = 32 * MIB  # one member, uncompressed
    zip_total_bytes: int = 64 * MIB  # all members, uncompressed
    zip_ratio: int = 200  # uncompressed / compressed, for members over 1 MiB


@dataclass(frozen=True)
class Position:
    """Where an item sits: the file (or stream) name, the line or row, and the field."""

    file: str
    line: int | None = None  # text line, CSV line, xlsx row, JSON Lines line, GeoJSON feature
    field: str | None = None  # JSON path, column, key

    def at(self, line: int | None = None, field: str | None = None) -> Position:
        return Position(self.file, self.line if line is None else line, self.field if field is None else field)

    def __str__(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(_("line {line}").format(line=self.line))
        if self.field:
            parts.append(_("field {field}").format(field=self.field))
        return ", ".join(parts)


class InputError(ValidationError):
    """One bad item (or a whole file that cannot be read): its position and the reason.

    ``str()`` is the one line to show ("roster.csv, line 7, field 姓名: …"); ``reason`` is the
    reason alone, for callers that print the position their own way.
    """

    def __init__(self, position: Position, reason: str) -> None:
        super().__init__(_("{position}: {reason}").format(position=position, reason=reason), position.field)
        self.position = position
        self.reason = reason


@dataclass(frozen=True)
class Item(Generic[T]):
    """One line, row or record: its value, or the error that refused it."""

    position: Position
    value: T | None = None
    error: InputError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _within(where: Position, line: int) -> Position:
    """``where`` at ``line`` of its text — unless ``where`` is one line of a bigger file already."""
    return where if where.line is not None else where.at(line=line)


def _name(source: str | Path) -> str:
    return source.name if isinstance(source, Path) else str(source)


# ---------------------------------------------------------------------------------------------
# Files and text.


def read_bytes(path: str | Path, limits: Limits = Limits()) -> bytes:
    """The file's bytes, or InputError when it is missing, not a file or over ``file_bytes``."""
    path = Path(path)
    where = Position(path.name)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise InputError(where, _("not a file"))
        if size > limits.file_bytes:
            raise InputError(where, _("the file is {size} bytes, more than the limit of {limit}").format(
                size=size, limit=limits.file_bytes))
        with path.open("rb") as fh:
            data = fh.read(limits.file_bytes + 1)
    except OSError as exc:
        raise InputError(where, _("cannot be read: {reason}").format(reason=exc.strerror or exc)) from None
    if len(data) > limits.file_bytes:  # grew while we looked
        raise InputError(where, _("the file is more than the limit of {limit} bytes").format(limit=limits.file_bytes))
    return data


def decode_text(raw: bytes, where: Position, encodings: Sequence[str] = ("utf-8",)) -> str:
    """``raw`` as text in the first of ``encodings`` that fits, a leading byte-order mark dropped.

    NUL characters are refused: no text file we read has one, and they cut strings short in
    other programs."""
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    first_error: UnicodeDecodeError | None = None
    for encoding in encodings:
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError as exc:
            first_error = first_error or exc
    else:
        assert first_error is not None
        line = raw.count(b"\n", 0, first_error.start) + 1
        raise InputError(_within(where, line), _("not valid {encoding} text (byte {pos})").format(
            encoding=" / ".join(e.upper() for e in encodings), pos=first_error.start + 1))
    nul = text.find("\x00")
    if nul >= 0:
        raise InputError(_within(where, text.count("\n", 0, nul) + 1), _("contains a NUL character"))
    return text


def read_text(path: str | Path, limits: Limits = Limits(),
              encodings: Sequence[str] = ("utf-8",)) -> str:
    """A whole text file within ``file_bytes``, decoded (see :func:`decode_text`)."""
    return decode_text(read_bytes(path, limits), Position(Path(path).name), encodings)


def read_line(stream: IO[bytes], limits: Limits = Limits()) -> bytes:
    """The next line of ``stream`` (b"" at the end), never holding more than ``line_bytes + 1``
    bytes of it: a longer line comes back cut to ``line_bytes + 1`` bytes (so the caller sees it
    is too long) and the rest of it is read past."""
    raw = stream.readline(limits.line_bytes + 1)
    if len(raw) > limits.line_bytes and not raw.endswith(b"\n"):
        while True:  # skip to the end of this line, a bounded piece at a time
            rest = stream.readline(64 * KIB)
            if not rest or rest.endswith(b"\n"):
                break
    return raw


def lines(stream: IO[bytes], limits: Limits = Limits()) -> Iterator[bytes]:
    """Every line of ``stream`` through :func:`read_line`."""
    while raw := read_line(stream, limits):
        yield raw


# ---------------------------------------------------------------------------------------------
# Numbers and dates in their domain.


def check_number(value: Any, low: float, high: float, where: Position, *, integer: bool = False,
                 what: str | None = None) -> int | float:
    """``value`` if it is a (whole, with ``integer``) number within ``low``…``high``, else InputError."""
    label = what or where.field or _("the value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(where, _("{what} must be a number, not {value}").format(what=label, value=_short(value)))
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(where, _("{what} must be a finite number").format(what=label))
    if integer and not (isinstance(value, int) or value.is_integer()):
        raise InputError(where, _("{what} must be a whole number, not {value}").format(what=label, value=value))
    if isinstance(value, int) and len(str(abs(value))) > 30:  # compare without float(), which overflows
        raise InputError(where, _("{what} must be between {low} and {high}").format(what=label, low=low, high=high))
    if not low <= value <= high:
        raise InputError(where, _("{what} must be between {low} and {high}, not {value}").format(
            what=label, low=low, high=high, value=value))
    return int(value) if integer else value


def check_date(value: date, where: Position, what: str | None = None) -> date:
    """A date (or datetime) from outside, refused unless its year is within 2000–2100."""
    if not YEAR_MIN <= value.year <= YEAR_MAX:
        raise InputError(where, _("{what}: the year {year} is not between {low} and {high}").format(
            what=what or where.field or _("date"), year=value.year, low=YEAR_MIN, high=YEAR_MAX))
    return value


def parse_datetime(value: Any, where: Position, default_tz: tzinfo = UTC) -> datetime:
    """An ISO 8601 date and time within 2000–2100; with no zone it is taken in ``default_tz``."""
    if not isinstance(value, str) or len(value) > 64:
        raise InputError(where, _("must be an ISO 8601 date and time"))
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(where, _("{value} is not an ISO 8601 date and time").format(value=_short(value))) from None
    check_date(parsed, where)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=default_tz)
    try:
        parsed.astimezone(UTC)  # the year 2100 edge must still convert
    except (OverflowError, ValueError):
        raise InputError(where, _("{value} is out of range").format(value=_short(value))) from None
    return parsed


def check_duration(value: timedelta, where: Position) -> timedelta:
    """A duration within 0 … 366 days."""
    seconds = value.total_seconds()
    if not DURATION_SECONDS[0] <= seconds <= DURATION_SECONDS[1]:
        raise InputError(where, _("the duration must be between 0 and 366 days"))
    return value


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------
# Nesting and the parsed value.

# Strings (skipped) or a bracket, for the JSON depth scan; the string pattern is the unrolled loop,
# linear on long strings.
_JSON_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_TOML_TOKENS = re.compile(
    r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"[^"\\\n]*(?:\\.[^"\\\n]*)*"|\'[^\'\n]*\'|#[^\n]*|[\[\]{}]')
_OPEN = frozenset("[{")


def _scan_depth(text: str, tokens: re.Pattern[str], limit: int, where: Position) -> None:
    depth = 0
    for match in tokens.finditer(text):
        token = match.group()
        if len(token) != 1:
            continue
        if token in _OPEN:
            depth += 1
            if depth > limit:
                line = text.count("\n", 0, match.start()) + 1
                raise InputError(_within(where, line), _("nested more than {limit} levels deep").format(limit=limit))
        else:
            depth = max(depth - 1, 0)


def check_value(value: Any, where: Position, limits: Limits = Limits()) -> Any:
    """Walk a parsed value (without recursion): depth, string and key sizes, integer width,
    finite floats and dates within 2000–2100. Returns ``value``; InputError names the path."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        node, path, depth = stack.pop()
        if depth > limits.depth:
            raise InputError(where.at(field=path or None),
                             _("nested more than {limit} levels deep").format(limit=limits.depth))
        if isinstance(node, dict):
            for key, child in node.items():
                if not isinstance(key, str) or len(key) > limits.field_chars:
                    raise InputError(where.at(field=path or None), _("a key is longer than {limit} characters")
                                     .format(limit=limits.field_chars))
                stack.append((child, f"{path}.{key}" if path else key, depth + 1))
        elif isinstance(node, list):
            if len(node) > limits.items:
                raise InputError(where.at(field=path or None), _("more than {limit} entries").format(
                    limit=limits.items))
            stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(node))
        elif isinstance(node, str):
            if len(node) > limits.field_chars:
                raise InputError(where.at(field=path or None), _("the text is {n} characters, more than the "
                                 "limit of {limit}").format(n=len(node), limit=limits.field_chars))
        elif isinstance(node, bool) or node is None:
            pass
        elif isinstance(node, int):
            if len(str(abs(node))) > limits.int_digits:
                raise InputError(where.at(field=path or None), _("a number with more than {limit} digits").format(
                    limit=limits.int_digits))
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise InputError(where.at(field=path or None), _("a number that is not finite"))
        elif isinstance(node, date):  # TOML dates and datetimes
            check_date(node, where.at(field=path or None))
    return value


# ---------------------------------------------------------------------------------------------
# JSON, JSON Lines, GeoJSON.


def _json_decoder(limits: Limits) -> json.JSONDecoder:
    def parse_int(text: str) -> int:
        if len(text.lstrip("-")) > limits.int_digits:
            raise ValueError(_("a number with more than {limit} digits").format(limit=limits.int_digits))
        return int(text)

    def parse_float(text: str) -> float:
        number = float(text)
        if not math.isfinite(number) or len(text) > 64:
            raise ValueError(_("the number {value} is out of range").format(value=_short(text, 24)))
        return number

    def parse_constant(name: str) -> Any:
        raise ValueError(_("{name} is not a number JSON allows").format(name=name))

    return json.JSONDecoder(parse_int=parse_int, parse_float=parse_float, parse_constant=parse_constant)


def decode_json(raw: bytes | str, where: Position, limits: Limits = Limits()) -> Any:
    """One JSON document (a file's text or one JSON Lines line), checked before and after parsing."""
    text = decode_text(raw, where) if isinstance(raw, bytes) else raw
    _scan_depth(text, _JSON_TOKENS, limits.depth, where)
    try:
        data = _json_decoder(limits).decode(text)
    except json.JSONDecodeError as exc:
        raise InputError(_within(where, exc.lineno), _("not valid JSON: {error} (column {column})").format(
            error=exc.msg, column=exc.colno)) from None
    except (ValueError, RecursionError) as exc:
        raise InputError(where, _("not valid JSON: {error}").format(error=exc)) from None
    return check_value(data, where, limits)


def load_json(path: str | Path, limits: Limits = Limits()) -> Any:
    """A JSON (or GeoJSON) file within the limits; InputError otherwise."""
    return decode_json(read_text(path, limits), Position(Path(path).name), limits)


def json_lines(raw_lines: Iterable[bytes], source: str | Path,
               limits: Limits = Limits()) -> Iterator[Item[Any]]:
    """One item per line that is not blank: its parsed JSON value or the error. Lines are numbered
    from 1; a byte-order mark on the first line is dropped; a bad line does not stop the rest.
    Give the lines through :func:`lines` (or :func:`read_line`) so that none is held whole."""
    where = Position(_name(source))
    for number, raw in enumerate(raw_lines, start=1):
        at = where.at(line=number)
        if len(raw) > limits.line_bytes:
            yield Item(at, error=InputError(at, _("the line is longer than {limit} bytes").format(
                limit=limits.line_bytes)))
            continue
        line = raw.rstrip(b"\r\n")
        if number == 1 and line.startswith(codecs.BOM_UTF8):
            line = line[len(codecs.BOM_UTF8):]
        if not line.strip():
            continue
        try:
            yield Item(at, decode_json(line, at, limits))
        except InputError as exc:
            yield Item(at, error=exc)


# ---------------------------------------------------------------------------------------------
# TOML.

_TOML_LINE = re.compile(r"line (\d+)")

# A site file (policy, checklist, scenario, categories, secrets) is a few KB written by a person.
SITE_FILE_LIMITS = Limits(file_bytes=1 * MIB, items=10_000)


def check_toml_depth(text: str, where: Position, limits: Limits = Limits()) -> None:
    """InputError (with the line) when the TOML text nests arrays or inline tables deeper than
    ``limits.depth`` — checked before tomllib, which recurses, sees it. For callers that parse
    themselves to keep tomllib's own syntax messages; :func:`decode_toml` does this and more."""
    _scan_depth(text, _TOML_TOKENS, limits.depth, where)


def decode_toml(text: str, where: Position, limits: Limits = Limits()) -> dict[str, Any]:
    """A TOML document as a dict, checked for depth before parsing and for values after."""
    _scan_depth(text, _TOML_TOKENS, limits.depth, where)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_LINE.search(str(exc))
        raise InputError(_within(where, int(match.group(1))) if match else where,
                         _("not valid TOML: {error}").format(error=exc)) from None
    except (RecursionError, ValueError, OverflowError) as exc:
        raise InputError(where, _("not valid TOML: {error}").format(error=exc)) from None
    return check_value(data, where, limits)  # type: ignore[no-any-return]


def load_toml(path: str | Path, limits: Limits = Limits()) -> dict[str, Any]:
    """A TOML file within the limits (a site file or a scenario); InputError names file, line, reason."""
    return decode_toml(read_text(path, limits), Position(Path(path).name), limits)


# ---------------------------------------------------------------------------------------------
# CSV.


def _encoding_of(path: Path, encodings: Sequence[str], where: Position) -> str:
    """The first encoding the whole file decodes in, checked a chunk at a time."""
    first_error: tuple[str, int] | None = None
    for encoding in encodings:
        decoder = codecs.getincrementaldecoder(encoding)()
        offset = 0
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(MIB):
                    decoder.decode(chunk)
                    offset += len(chunk)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError as exc:
            first_error = first_error or (encoding, offset + exc.start)
        except OSError as exc:
            raise InputError(where, _("cannot be read: {reason}").format(reason=exc.strerror or exc)) from None
    assert first_error is not None
    raise InputError(where, _("not valid {encoding} text (byte {pos})").format(
        encoding=" / ".join(e.upper() for e in encodings), pos=first_error[1] + 1))


def csv_rows(path: str | Path, limits: Limits = Limits(),
             encodings: Sequence[str] = ("utf-8-sig", "gb18030")) -> Iterator[Item[list[str]]]:
    """The CSV file's records, streamed: one item per record with the line it ends on.

    The file is refused whole (InputError) when it is over ``file_bytes``, in none of
    ``encodings`` or has more than ``items`` records; a record with a field over ``field_chars``
    or a NUL is one bad item."""
    path = Path(path)
    where = Position(path.name)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(where, _("cannot be read: {reason}").format(reason=exc.strerror or exc)) from None
    if size > limits.file_bytes:
        raise InputError(where, _("the file is {size} bytes, more than the limit of {limit}").format(
            size=size, limit=limits.file_bytes))
    encoding = _encoding_of(path, encodings, where)
    previous = csv.field_size_limit()
    with path.open("r", encoding=encoding, newline="") as fh:
        reader = csv.reader(fh)
        count = 0
        while True:
            start = reader.line_num + 1
            try:
                csv.field_size_limit(limits.field_chars)
                try:
                    record = next(reader)
                finally:
                    csv.field_size_limit(previous)
            except StopIteration:
                return
            except csv.Error as exc:
                at = where.at(line=start)
                yield Item(at, error=InputError(at, _("not valid CSV: {error}").format(error=exc)))
                continue
            count += 1
            if count > limits.items:
                raise InputError(where.at(line=reader.line_num), _("more than {limit} rows").format(
                    limit=limits.items))
            at = where.at(line=reader.line_num)
            problem = _cells_problem(record, at, limits)
            yield Item(at, error=problem) if problem else Item(at, record)


def _cells_problem(cells: Sequence[Any], at: Position, limits: Limits) -> InputError | None:
    for column, cell in enumerate(cells, start=1):
        if isinstance(cell, str):
            if len(cell) > limits.field_chars:
                return InputError(at.at(field=str(column)), _("the text is {n} characters, more than the limit "
                                  "of {limit}").format(n=len(cell), limit=limits.field_chars))
            if "\x00" in cell:
                return InputError(at.at(field=str(column)), _("contains a NUL character"))
    return None


# ---------------------------------------------------------------------------------------------
# xlsx.

_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d{1,7})$")
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")
_ROW_NUMBER = re.compile(rb"<(?:\w+:)?row\b[^>]*?\sr=\"(\d{1,10})\"")
_CELL_TAG = re.compile(rb"<(?:\w+:)?c[\s>/]")
_CELL_REF = re.compile(rb"<(?:\w+:)?c\b[^>]*?\sr=\"([A-Za-z]{1,5})(\d{1,10})\"")
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\b[^>]*?\sref=\"([^\"]{1,64})\"")
_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\b[^>]*?\sref=\"([^\"]{1,64})\"")
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_MAX_COLUMN_EXCEL = 16384
_MAX_ROW_EXCEL = 1048576


def column_number(letters: str) -> int:
    """``A`` → 1, ``XFD`` → 16384."""
    number = 0
    for ch in letters.upper():
        number = number * 26 + ord(ch) - 64
    return number


def column_letters(number: int) -> str:
    """1 → ``A``, 16384 → ``XFD``."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass(frozen=True)
class CellRange:
    """A rectangle of cells, 1-based and inclusive (``A1:C3`` → 1, 1, 3, 3)."""

    min_col: int
    min_row: int
    max_col: int
    max_row: int

    @classmethod
    def parse(cls, ref: str) -> CellRange:
        """``B2:D9`` or ``A1``; ValueError when it is not a range of cells."""
        ends = ref.split(":")
        if len(ends) > 2:
            raise ValueError(ref)
        corners = []
        for end in ends:
            m = _REF.match(end.strip())
            if not m:
                raise ValueError(ref)
            corners.append((column_number(m.group(1)), int(m.group(2))))
        (c1, r1), (c2, r2) = corners[0], corners[-1]
        return cls(min(c1, c2), min(r1, r2), max(c1, c2), max(r1, r2))

    @property
    def cells(self) -> int:
        return (self.max_col - self.min_col + 1) * (self.max_row - self.min_row + 1)

    def __str__(self) -> str:
        return f"{column_letters(self.min_col)}{self.min_row}:{column_letters(self.max_col)}{self.max_row}"


@dataclass
class SheetScan:
    """What the raw XML of one worksheet claims and holds, found without building any cell."""

    member: str
    dimension: CellRange | None = None
    merged: list[CellRange] = field(default_factory=list)
    rows: int = 0  # <row> elements
    max_row: int = 0  # the furthest row any <row r> or <c r> names
    max_col: int = 0
    unreferenced_cells: bool = False  # some <c> have no r="…": openpyxl places them by counting

    @property
    def extent_rows(self) -> int:
        return max(self.rows, self.max_row)


def _scan_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: Position, limits: Limits,
                 sheet: bool) -> SheetScan | None:
    scan = SheetScan(info.filename) if sheet else None
    read = 0
    carry = b""
    with archive.open(info) as fh:
        while True:
            chunk = fh.read(MIB)
            read += len(chunk)
            if read > limits.zip_member_bytes:
                raise InputError(where, _("{member} unpacks to more than {limit} bytes").format(
                    member=info.filename, limit=limits.zip_member_bytes))
            data = carry + chunk
            if chunk:
                cut = data.rfind(b">") + 1  # whole tags only; the rest waits for the next chunk
                if cut == 0 and len(data) > 2 * MIB:
                    raise InputError(where, _("{member} is not well-formed XML").format(member=info.filename))
                data, carry = data[:cut], data[cut:]
            if _DTD.search(data):
                raise InputError(where, _("{member} declares a DTD or entities, which a workbook never needs")
                                 .format(member=info.filename))
            if scan is not None:
                _scan_sheet_bytes(scan, data, where, limits)
            if not chunk:
                return scan


def _scan_sheet_bytes(scan: SheetScan, data: bytes, where: Position, limits: Limits) -> None:
    scan.rows += len(_ROW_TAG.findall(data))
    for m in _ROW_NUMBER.finditer(data):
        scan.max_row = max(scan.max_row, int(m.group(1)))
    referenced = 0
    for m in _CELL_REF.finditer(data):
        referenced += 1
        scan.max_col = max(scan.max_col, column_number(m.group(1).decode("ascii")))
        scan.max_row = max(scan.max_row, int(m.group(2)))
    if not scan.unreferenced_cells and len(_CELL_TAG.findall(data)) > referenced:
        scan.unreferenced_cells = True
    if scan.dimension is None:
        dim = _DIMENSION.search(data)
        if dim:
            try:
                scan.dimension = CellRange.parse(dim.group(1).decode("ascii", "replace"))
            except ValueError:
                pass  # a broken <dimension> is ignored by openpyxl too; the cells' reach decides
    for m in _MERGE.finditer(data):
        ref = m.group(1).decode("ascii", "replace")
        try:
            scan.merged.append(CellRange.parse(ref))
        except ValueError:
            raise InputError(where, _("the merged range {ref} is not a range of cells").format(ref=ref)) from None
    # Fail early: a million-row sheet is refused at the first chunk past the limit.
    if scan.extent_rows > limits.xlsx_rows or scan.max_col > limits.xlsx_columns:
        raise InputError(where, _("the sheet reaches {cell}, beyond the limit of {rows} rows and {cols} columns")
                         .format(cell=f"{column_letters(max(scan.max_col, 1))}{max(scan.extent_rows, 1)}",
                                 rows=limits.xlsx_rows, cols=limits.xlsx_columns))


def check_xlsx(path: str | Path, limits: Limits = Limits()) -> dict[str, SheetScan]:
    """Check an .xlsx file before openpyxl opens it; the scan of each worksheet by zip member.

    Refused (InputError): not a zip; more than ``zip_members`` members; a member or all of them
    unpacking beyond the limits or with a suspicious compression ratio; any DTD; a worksheet whose
    ``<dimension>``, merged ranges or cells reach beyond ``xlsx_rows`` × ``xlsx_columns``, or whose
    merged ranges cover more than ``xlsx_merged_cells`` cells."""
    path = Path(path)
    where = Position(path.name)
    _checked_size(path, limits, where)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise InputError(where, _("not an Excel .xlsx file (it is not a zip archive)")) from None
    except (NotImplementedError, RuntimeError) as exc:  # found by make fuzz: "zip file version 23.0"
        raise InputError(where, _("the archive is damaged: {reason}").format(reason=exc)) from None
    scans: dict[str, SheetScan] = {}
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.zip_members:
            raise InputError(where, _("the archive has {n} members, more than the limit of {limit}").format(
                n=len(infos), limit=limits.zip_members))
        total = 0
        for info in infos:
            total += info.file_size
            if info.file_size > limits.zip_member_bytes or total > limits.zip_total_bytes:
                raise InputError(where, _("{member} unpacks to more than {limit} bytes").format(
                    member=info.filename, limit=min(limits.zip_member_bytes, limits.zip_total_bytes)))
            if info.file_size > MIB and info.file_size > limits.zip_ratio * max(info.compress_size, 1):
                raise InputError(where, _("{member} is compressed {ratio} to 1, more than a workbook ever is")
                                 .format(member=info.filename, ratio=info.file_size // max(info.compress_size, 1)))
        try:
            for info in infos:
                name = info.filename
                if not name.endswith((".xml", ".rels", ".vml")) or info.is_dir():
                    continue
                sheet = name.startswith("xl/worksheets/") and name.count("/") == 2
                scan = _scan_member(archive, info, where, limits, sheet)
                if scan is not None:
                    _check_sheet_claims(scan, where, limits)
                    scans[name] = scan
        except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, OSError, ValueError, EOFError, RuntimeError,
                NotImplementedError) as exc:  # a damaged member (found by make fuzz: "invalid distance")
            raise InputError(where, _("the archive is damaged: {reason}").format(reason=exc)) from None
    return scans


def _checked_size(path: Path, limits: Limits, where: Position) -> int:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(where, _("cannot be read: {reason}").format(reason=exc.strerror or exc)) from None
    if size > limits.file_bytes:
        raise InputError(where, _("the file is {size} bytes, more than the limit of {limit}").format(
            size=size, limit=limits.file_bytes))
    return size


def _check_sheet_claims(scan: SheetScan, where: Position, limits: Limits) -> None:
    dim = scan.dimension
    if dim is not None and (dim.max_row > limits.xlsx_rows or dim.max_col > limits.xlsx_columns):
        raise InputError(where, _("the sheet claims the range {ref}, beyond the limit of {rows} rows and {cols} "
                         "columns").format(ref=dim, rows=limits.xlsx_rows, cols=limits.xlsx_columns))
    covered = 0
    for merged in scan.merged:
        covered += merged.cells
        if merged.max_row > limits.xlsx_rows or merged.max_col > limits.xlsx_columns:
            raise InputError(where, _("the merged range {ref} reaches beyond the limit of {rows} rows and {cols} "
                             "columns").format(ref=merged, rows=limits.xlsx_rows, cols=limits.xlsx_columns))
        if covered > limits.xlsx_merged_cells:
            raise InputError(where, _("merged ranges cover more than {limit} cells").format(
                limit=limits.xlsx_merged_cells))


def xlsx_rows(path: str | Path, limits: Limits = Limits(),
              fill_merged: bool = True) -> Iterator[Item[list[Any]]]:
    """The active sheet's rows as value lists (row numbers as Excel shows them), after
    :func:`check_xlsx`, read with openpyxl in read-only mode within the bounds the scan found.

    With ``fill_merged`` every cell of a merged range gets the value of its top-left cell (a date
    merged down over several rows counts for each). A row with an over-long cell is one bad item;
    a sheet that breaks openpyxl part-way raises InputError for the whole file."""
    import openpyxl  # here, not at the top: the command line's --help stays fast

    path = Path(path)
    where = Position(path.name)
    scans = check_xlsx(path, limits)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises anything from KeyError to TypeError on a broken workbook
        raise InputError(where, _("not a readable Excel workbook: {reason}").format(reason=_short(str(exc), 120))
                         ) from None
    try:
        ws = wb.active
        member = str(getattr(ws, "_worksheet_path", "")).lstrip("/")
        scan = scans.get(member)
        if ws is None or scan is None:
            raise InputError(where, _("the workbook has no worksheet to read"))
        max_row = min(scan.extent_rows, limits.xlsx_rows)
        max_col = min(max([scan.max_col] + [m.max_col for m in scan.merged] + [1]), limits.xlsx_columns)
        if scan.unreferenced_cells:  # their columns are not in the XML: read up to the limit
            max_col = limits.xlsx_columns
        if max_row == 0:
            return
        tops: dict[tuple[int, int], Any] = {}
        number = 0
        try:
            for number, values in enumerate(ws.iter_rows(min_row=1, max_row=max_row, max_col=max_col,
                                                         values_only=True), start=1):
                cells = list(values)
                if fill_merged and scan.merged:
                    _fill(cells, number, scan.merged, tops)
                at = where.at(line=number)
                problem = _cells_problem(cells, at, limits)
                yield Item(at, error=problem) if problem else Item(at, cells)
        except InputError:
            raise
        except Exception as exc:  # a cell openpyxl cannot convert (a date serial out of range …)
            raise InputError(where.at(line=number + 1), _("the sheet cannot be read from here on: {reason}")
                             .format(reason=_short(str(exc) or type(exc).__name__, 120))) from None
    finally:
        wb.close()


def _fill(cells: list[Any], row: int, merged: list[CellRange], tops: dict[tuple[int, int], Any]) -> None:
    for m in merged:
        if not m.min_row <= row <= m.max_row:
            continue
        if row == m.min_row:
            tops[(m.min_row, m.min_col)] = cells[m.min_col - 1] if m.min_col <= len(cells) else None
        value = tops.get((m.min_row, m.min_col))
        if len(cells) < m.max_col:
            cells.extend([None] * (m.max_col - len(cells)))
        for c in range(m.min_col, m.max_col + 1):
            cells[c - 1] = value


def stream_name(stream: IO[bytes] | io.BufferedIOBase | Any, default: str = "-") -> str:
    """A readable name for a stream in positions: its file name, or ``default`` (standard input)."""
    name = getattr(stream, "name", None)
    return Path(name).name if isinstance(name, str) and name not in ("<stdin>", "") else default
