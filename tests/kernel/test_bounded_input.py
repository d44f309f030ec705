"""The bounded reader: every refusal has a position and a reason, good items after a bad one still come."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest
from support.hostile_files import rows_xml, sheet_xml, write_xlsx

from dispatch_console.kernel import bounded_input as bi
from dispatch_console.kernel.bounded_input import InputError, Limits, Position

HERE = Position("test.json")


def test_json_nested_deeper_than_the_limit_is_refused_before_parsing() -> None:
    with pytest.raises(InputError) as err:
        bi.decode_json("[" * 100_000 + "]" * 100_000, HERE)
    assert "32" in err.value.reason and err.value.position.line == 1


def test_json_brackets_inside_strings_do_not_count_as_depth() -> None:
    assert bi.decode_json('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\"[[["}', HERE) == {
        "a": '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"[[['}


@pytest.mark.parametrize("text", ["1" * 400, '{"n": -' + "9" * 400 + "}", "1e400", "-1e999", "NaN", "[Infinity]"])
def test_json_numbers_out_of_any_domain_are_refused(text: str) -> None:
    with pytest.raises(InputError):
        bi.decode_json(text, HERE)


def test_json_string_over_the_field_limit_names_its_path() -> None:
    limits = replace(Limits(), field_chars=10)
    with pytest.raises(InputError) as err:
        bi.decode_json('{"features": [{"properties": {"name": "' + "x" * 11 + '"}}]}', HERE, limits)
    assert err.value.position.field == "features[0].properties.name"
    assert "features[0].properties.name" in str(err.value)


def test_json_lines_go_on_after_a_bad_line() -> None:
    stream = io.BytesIO(b'\xef\xbb\xbf{"a": 1}\n[[[[' + b"[" * 50 + b"\n\n\xff\xfe\n" + b'{"b": 2}\n'
                        + b"x" * 70_000 + b"\n" + b'{"c": 3}')
    items = list(bi.json_lines(bi.lines(stream), "in.jsonl"))
    assert [(i.position.line, i.ok) for i in items] == [(1, True), (2, False), (4, False), (5, True),
                                                         (6, False), (7, True)]
    assert [i.value for i in items if i.ok] == [{"a": 1}, {"b": 2}, {"c": 3}]
    assert all(i.error is not None and i.error.position.line == i.position.line for i in items if not i.ok)


def test_a_long_line_is_never_held_whole() -> None:
    stream = io.BytesIO(b"y" * (5 * 1024 * 1024) + b"\nnext\n")
    first = bi.read_line(stream, replace(Limits(), line_bytes=100))
    assert len(first) == 101
    assert bi.read_line(stream) == b"next\n"


def test_toml_depth_is_checked_before_tomllib_recurses(tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        bi.load_toml(path)
    assert err.value.position == Position("deep.toml", 1)


def test_toml_deep_dotted_keys_and_inline_tables_are_refused() -> None:
    with pytest.raises(InputError):
        bi.decode_toml(".".join(["k"] * 200) + " = 1\n", HERE)
    with pytest.raises(InputError):
        bi.decode_toml("x = " + "{a = " * 100 + "1" + "}" * 100 + "\n", HERE)


def test_toml_brackets_in_strings_and_comments_are_not_depth() -> None:
    many = "[" * 40
    text = (f'title = "{many}"\n# {many}\n[[steps]]\nname = \'{"{" * 40}\'\n'
            f'note = """\n{many}\n"""\n')
    assert bi.decode_toml(text, HERE)["steps"][0]["name"].startswith("{")


def test_toml_syntax_error_names_its_line() -> None:
    with pytest.raises(InputError) as err:
        bi.decode_toml("a = 1\nb = = 2\n", Position("x.toml"))
    assert err.value.position.line == 2 and str(err.value).startswith("x.toml, line 2")


def test_toml_dates_and_huge_integers_out_of_domain() -> None:
    with pytest.raises(InputError):
        bi.decode_toml("when = 9999-01-01\n", HERE)
    with pytest.raises(InputError):
        bi.decode_toml("n = 1" + "0" * 30 + "\n", HERE)


def test_file_over_its_size_limit_is_refused_without_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_bytes(b"#" * 2000)
    with pytest.raises(InputError) as err:
        bi.load_toml(path, replace(Limits(), file_bytes=1000))
    assert "1000" in err.value.reason


@pytest.mark.parametrize("raw", [b"a = 1\n\xff\n", b"a = '\x00'\n"])
def test_invalid_utf8_and_nul_are_refused_with_their_line(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(raw)
    with pytest.raises(InputError) as err:
        bi.load_toml(path)
    assert err.value.position.line in (1, 2)


def test_csv_field_over_the_limit_is_one_bad_row_and_the_rest_is_read(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("a,b\n1," + "x" * 200_000 + "\n2,ok\n\"3\",\"multi\nline\"\n4,\x00\n5,end\n", encoding="utf-8")
    items = list(bi.csv_rows(path))
    assert [(i.position.line, i.ok) for i in items] == [(1, True), (2, False), (3, True), (5, True), (6, False),
                                                         (7, True)]
    assert items[-1].value == ["5", "end"]


def test_csv_is_read_as_utf8_with_bom_or_gb18030(tmp_path: Path) -> None:
    utf = tmp_path / "u.csv"
    utf.write_bytes("\ufeff日期,姓名\n".encode())
    gbk = tmp_path / "g.csv"
    gbk.write_bytes("日期,姓名\n".encode("gb18030"))
    assert [i.value for i in bi.csv_rows(utf)] == [["日期", "姓名"]]
    assert [i.value for i in bi.csv_rows(gbk)] == [["日期", "姓名"]]
    bad = tmp_path / "b.csv"
    bad.write_bytes(b"\x81\x20\xff\xff")
    with pytest.raises(InputError):
        list(bi.csv_rows(bad, encodings=("utf-8",)))


def test_not_a_zip_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    path.write_text("日期,班次\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        list(bi.xlsx_rows(path))
    assert str(err.value) == "fake.xlsx: " + err.value.reason and "zip" in err.value.reason


def test_xlsx_merged_ranges_fill_and_rows_keep_excel_numbers(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "ok.xlsx", sheet_xml(
        rows_xml([["日期", "姓名"], ["2026-11-27", "张三"], ["", "李四"]]), "A1:B3", ("A2:A3",)))
    rows = [(i.position.line, i.value) for i in bi.xlsx_rows(path)]
    assert rows == [(1, ["日期", "姓名"]), (2, ["2026-11-27", "张三"]), (3, ["2026-11-27", "李四"])]


@pytest.mark.parametrize(("dimension", "merged", "far"), [
    ("A1:XFD1048576", (), ""),  # a lying dimension
    (None, ("A2:XFD1048576",), ""),  # one huge merged range
    (None, (), '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'),  # A1 and one far cell
])
def test_xlsx_reach_is_refused_before_any_cell_is_built(tmp_path: Path, dimension: str | None,
                                                        merged: tuple[str, ...], far: str) -> None:
    path = write_xlsx(tmp_path / "far.xlsx", sheet_xml(rows_xml([["a"]]) + far, dimension, merged))
    with pytest.raises(InputError) as err:
        list(bi.xlsx_rows(path))
    assert "far.xlsx" in str(err.value)


def test_xlsx_with_a_dtd_is_refused(tmp_path: Path) -> None:
    head = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>'
    path = write_xlsx(tmp_path / "dtd.xlsx", sheet_xml(rows_xml([["a"]]), head=head))
    with pytest.raises(InputError) as err:
        list(bi.xlsx_rows(path))
    assert "DTD" in err.value.reason


def test_numbers_and_dates_in_their_domain() -> None:
    where = Position("f", 3, "lon")
    assert bi.check_number(120.5, *bi.LONGITUDE, where) == 120.5
    for bad in (181, float("nan"), 10**400, True, "1"):
        with pytest.raises(InputError):
            bi.check_number(bad, *bi.LONGITUDE, where)
    assert bi.check_number(3.0, *bi.COUNT, where, integer=True) == 3
    with pytest.raises(InputError):
        bi.check_number(3.5, *bi.COUNT, where, integer=True)
    assert bi.check_date(date(2026, 1, 1), where) == date(2026, 1, 1)
    for year in (1, 1999, 2101, 9999):
        with pytest.raises(InputError):
            bi.check_date(date(year, 1, 1), where)
    assert bi.parse_datetime("2026-12-03T08:00:00+08:00", where).year == 2026
    for text in ("9999-12-31T23:59:59", "0001-01-01T00:00:00+08:00", "yesterday", "2026-13-01"):
        with pytest.raises(InputError):
            bi.parse_datetime(text, where)
    assert isinstance(bi.parse_datetime("2100-12-31T23:59:59-12:00", where), datetime)


def test_cell_ranges() -> None:
    assert bi.CellRange.parse("$B$2:A10") == bi.CellRange(1, 2, 2, 10)
    assert bi.CellRange.parse("XFD1048576").cells == 1
    assert str(bi.CellRange.parse("A1:XFD1048576")) == "A1:XFD1048576"
    assert bi.column_letters(bi.column_number("XFD")) == "XFD"
    with pytest.raises(ValueError):
        bi.CellRange.parse("A1:B2:C3")


def test_xlsx_cells_without_references_are_read_in_their_columns(tmp_path: Path) -> None:
    # some generators write <c> without r="…": openpyxl places them by counting, and so must the bounds
    row = "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in ("日期", "班次", "岗位", "姓名"))
    path = write_xlsx(tmp_path / "noref.xlsx", sheet_xml(f"<row>{row}</row>"))
    rows = [i.value for i in bi.xlsx_rows(path, replace(Limits(), xlsx_columns=6))]
    assert rows == [["日期", "班次", "岗位", "姓名", None, None]]
