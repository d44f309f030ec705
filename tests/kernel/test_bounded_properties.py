"""Property tests (hypothesis) for each reader: whatever the input, a value or one refusal — never
another exception — and what is valid comes back as it went in."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch_console.checklists import templates
from dispatch_console.incidents import intake
from dispatch_console.jurisdiction import geojson_import as gi
from dispatch_console.kernel import bounded_input as bi
from dispatch_console.kernel import export_cells
from dispatch_console.kernel.errors import ValidationError
from dispatch_console.rosters import files as roster_io

WHERE = bi.Position("prop")
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FILE_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**17), 10**17) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=50),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30)
# text that looks like the files we read: brackets, quotes, digits, keys, newlines, odd bytes
json_ish = st.text(alphabet=st.sampled_from(list('[]{}",:0123456789.eE+-truefalsn \n\\u\x00\ud800好')), max_size=200)
toml_ish = st.text(alphabet=st.sampled_from(list("[]{}\"'=.#,abc0123456789-:TZ \n\t\\\x00好")), max_size=200)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


@SETTINGS
@given(st.binary(max_size=300) | json_ish.map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_json_any_bytes_give_a_value_or_one_input_error(raw: bytes) -> None:
    try:
        bi.decode_json(raw, WHERE)
    except bi.InputError as exc:
        assert exc.reason and "\n" not in exc.reason


@SETTINGS
@given(json_values)
def test_json_within_the_limits_reads_back_as_written(value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False)
    if _depth(value) <= bi.Limits().depth:
        assert bi.decode_json(text, WHERE) == value


@SETTINGS
@given(st.lists(st.binary(max_size=80) | json_values.map(lambda v: json.dumps(v).encode()), max_size=12))
def test_json_lines_one_item_per_line_that_is_not_blank(raw_lines: list[bytes]) -> None:
    data = b"\n".join(line.replace(b"\n", b" ").replace(b"\r", b" ") for line in raw_lines)
    items = list(bi.json_lines(bi.lines(io.BytesIO(data)), "p.jsonl"))
    physical = data.split(b"\n")
    if physical[0].startswith(b"\xef\xbb\xbf"):
        physical[0] = physical[0][3:]
    expected = [n for n, line in enumerate(physical, start=1) if line.strip()]
    assert [i.position.line for i in items] == expected
    assert all(i.ok or (i.error is not None and i.error.position.line == i.position.line) for i in items)


@SETTINGS
@given(toml_ish)
def test_toml_any_text_gives_a_table_or_one_input_error(text: str) -> None:
    try:
        assert isinstance(bi.decode_toml(text, WHERE), dict)
    except bi.InputError as exc:
        assert exc.reason


@SETTINGS
@given(st.binary(max_size=300) | json_ish.map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_intake_line_is_a_draft_or_a_validation_error(raw: bytes) -> None:
    try:
        intake.parse_line(raw)
    except ValidationError as exc:
        assert str(exc)


@SETTINGS
@given(st.dictionaries(st.sampled_from(list(intake.FIELDS)), json_values, max_size=8))
def test_intake_any_field_values_are_a_draft_or_a_validation_error(values: dict[str, Any]) -> None:
    try:
        intake.parse_line(json.dumps(values).encode())
    except ValidationError as exc:
        assert str(exc)


positions = st.lists(st.one_of(st.integers(-(10**20), 10**20), st.floats(), st.text(max_size=3), st.none()),
                     max_size=4)


@SETTINGS
@given(st.lists(positions, min_size=0, max_size=6), json_values, st.sampled_from(["Polygon", "MultiPolygon"]))
def test_geojson_any_feature_is_good_or_a_feature_error(ring: list[Any], name: Any, kind: str) -> None:
    coords: Any = [ring] if kind == "Polygon" else [[ring]]
    feature = {"type": "Feature", "properties": {"name": name}, "geometry": {"type": kind, "coordinates": coords}}
    checked = gi._check(1, feature, "name")
    assert isinstance(checked, gi._Good | gi.FeatureError)


@SETTINGS
@given(st.one_of(st.text(max_size=20), st.integers(-(10**30), 10**30), st.floats(), st.dates(), st.none()))
def test_roster_day_is_a_date_within_2000_2100_or_value_error(value: Any) -> None:
    try:
        day = roster_io.parse_day(value)
    except ValueError:
        return
    assert isinstance(day, date) and 2000 <= day.year <= 2100


@FILE_SETTINGS
@given(st.lists(st.lists(st.text(max_size=20), max_size=5), max_size=8), st.sampled_from(["utf-8", "gb18030"]))
def test_csv_records_come_back_as_written(rows: list[list[str]], encoding: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.csv"
        try:
            with path.open("w", encoding=encoding, newline="") as fh:
                csv.writer(fh).writerows(rows)
        except UnicodeEncodeError:
            return
        try:
            items = list(bi.csv_rows(path))
        except bi.InputError:
            return  # e.g. the UTF-8 of lone surrogates: refused whole, in one line
        clean = [r for r in rows if not any("\x00" in c for c in r)]
        assert [i.value for i in items if i.ok] == clean
        assert sum(not i.ok for i in items) == len(rows) - len(clean)


@FILE_SETTINGS
@given(st.binary(max_size=400))
def test_xlsx_any_bytes_are_refused_in_one_line(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.xlsx"
        path.write_bytes(raw)
        try:
            list(bi.xlsx_rows(path))
        except bi.InputError as exc:
            assert "\n" not in exc.reason


cell_values = st.one_of(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=20),
                        st.integers(-(10**9), 10**9))


@FILE_SETTINGS
@given(st.lists(st.lists(cell_values, min_size=1, max_size=4), min_size=1, max_size=6))
def test_xlsx_written_by_openpyxl_reads_back_through_the_bounded_reader(rows: list[list[Any]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.xlsx"
        wb = openpyxl.Workbook()
        ws = wb.active
        assert ws is not None
        for row in rows:
            export_cells.xlsx_append(ws, row)
        wb.save(path)
        width = max(len(r) for r in rows)
        got = [i.value for i in bi.xlsx_rows(path)]
        want = [[(None if v == "" else v) for v in r] + [None] * (width - len(r)) for r in rows]
        assert got == want


@SETTINGS
@given(st.text(max_size=30))
def test_safe_cell_is_never_a_formula_and_restores_exactly(text: str) -> None:
    safe = export_cells.safe_text(text)
    assert not export_cells.is_formula_like(safe)
    assert export_cells.restore_text(safe) == text


@FILE_SETTINGS
@given(toml_ish)
def test_checklist_file_is_a_template_or_its_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.toml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        template, error = templates._load(path, templates.parse_template)
        assert (template is None) != (error is None)
