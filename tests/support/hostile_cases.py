"""The hostile-input catalogue: each case writes one file and says what its reader must make of it.

``expect`` is ``"refused"`` (the whole file refused in one line, nothing read) or a pair
``(good, bad)``: how many items are read and how many are refused one by one. The builders are
shared by the suite (in and out of a child process) and the property tests.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from support.hostile_files import million_row_sheet, rows_xml, sheet_xml, write_xlsx

Expect = str | tuple[int, int]


@dataclass(frozen=True)
class Case:
    id: str
    reader: str  # a key of support.hostile_worker.READERS
    suffix: str
    build: Callable[[Path], None]
    expect: Expect
    heavy: bool = False  # run in a child process under RLIMIT_AS


def incident(**kw: object) -> dict[str, object]:
    return {"category": "fire", "severity": 2, "source": "hotline_12345", "description": "好", **kw}


def _lines(*middle: bytes) -> Callable[[Path], None]:
    good = json.dumps(incident(), ensure_ascii=False).encode()
    return lambda p: p.write_bytes(b"\n".join([good, *middle, good]) + b"\n")


def _line(**kw: object) -> Callable[[Path], None]:
    return _lines(json.dumps(incident(**kw), ensure_ascii=False).encode())


def _text(text: str | bytes) -> Callable[[Path], None]:
    def build(p: Path) -> None:
        p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return build


def _feature(name: str, coords: object, **props: object) -> dict[str, object]:
    return {"type": "Feature", "properties": {"name": name, **props},
            "geometry": {"type": "Polygon", "coordinates": coords}}


SQUARE = [[[114.0, 22.5], [114.1, 22.5], [114.1, 22.6], [114.0, 22.6], [114.0, 22.5]]]


def _features(*middle: object, raw: bytes | None = None) -> Callable[[Path], None]:
    def build(p: Path) -> None:
        feats = [_feature("甲", SQUARE, code="A"), *middle, _feature("乙", [[[x + 1, y] for x, y in SQUARE[0]]],
                                                                     code="B")]
        text = json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False).encode()
        p.write_bytes(raw if raw is not None else text)
    return build


ROSTER_HEAD = ["日期", "班次", "岗位", "姓名", "电话"]
ROSTER_ROW = ["2026-11-27", "白班", "值班员", "张伟", "13800000003"]


def _csv(*middle: str, encoding: str = "utf-8") -> Callable[[Path], None]:
    def build(p: Path) -> None:
        lines = [",".join(ROSTER_HEAD), ",".join(ROSTER_ROW), *middle, ",".join(ROSTER_ROW)]
        p.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return build


def _xlsx(data: str = "", dimension: str | None = None, merged: tuple[str, ...] = (), head: str = "",
          extra: dict[str, bytes] | None = None) -> Callable[[Path], None]:
    def build(p: Path) -> None:
        body = rows_xml([list(ROSTER_HEAD), list(ROSTER_ROW)]) + data
        write_xlsx(p, sheet_xml(body, dimension, merged, head), extra)
    return build


def _truncated_xlsx(p: Path) -> None:
    _xlsx()(p)
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _zip_bomb(p: Path) -> None:
    _xlsx(extra={"xl/media/image1.xml": b"\x00" * (30 * 1024 * 1024)})(p)


def _million_rows(p: Path) -> None:
    write_xlsx(p, million_row_sheet())


def _many_csv_rows(p: Path) -> None:
    p.write_text(",".join(ROSTER_HEAD) + "\n" + (",".join(ROSTER_ROW) + "\n") * 150_000, encoding="utf-8")


def _big_property(p: Path) -> None:
    with p.open("w", encoding="utf-8") as fh:
        fh.write('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "甲", '
                 '"note": "')
        chunk = "x" * (1024 * 1024)
        for _ in range(50):
            fh.write(chunk)
        fh.write('"}, "geometry": ' + json.dumps({"type": "Polygon", "coordinates": SQUARE}) + "}]}")


DEEP = "[" * 100_000 + "]" * 100_000
CHECKLIST = (Path(__file__).resolve().parents[2] / "resources" / "checklists" / "fire.toml").read_text("utf-8")
SCENARIO = (Path(__file__).resolve().parents[2] / "resources" / "drills" / "factory_fire.toml").read_text("utf-8")

CASES: tuple[Case, ...] = (
    # intake JSON Lines: the hostile line is refused, the good lines around it are read
    Case("intake-deep-array", "intake", ".jsonl", _lines(DEEP.encode()[:60_000]), (2, 1)),
    Case("intake-deep-object", "intake", ".jsonl", _lines(b'{"a":' * 5000 + b"1" + b"}" * 5000), (2, 1)),
    Case("intake-400-digit-severity", "intake", ".jsonl", _lines(
        b'{"category":"fire","source":"walk_in","description":"x","severity":' + b"9" * 400 + b"}"), (2, 1)),
    Case("intake-400-digit-lon", "intake", ".jsonl", _lines(
        b'{"category":"fire","severity":2,"source":"walk_in","description":"x","lat":22.5,"lon":' + b"1" * 400
        + b"}"), (2, 1)),
    Case("intake-1e400", "intake", ".jsonl", _lines(
        b'{"category":"fire","severity":2,"source":"walk_in","description":"x","lat":1e400,"lon":114}'), (2, 1)),
    Case("intake-year-9999", "intake", ".jsonl", _line(reported_at="9999-12-31T23:59:59+08:00"), (2, 1)),
    Case("intake-year-1", "intake", ".jsonl", _line(reported_at="0001-01-01T00:00:00+08:00"), (2, 1)),
    Case("intake-year-1-no-zone", "intake", ".jsonl", _line(reported_at="0001-01-01T00:00:00"), (2, 1)),
    Case("intake-year-2101", "intake", ".jsonl", _line(reported_at="2101-01-01T00:00:00Z"), (2, 1)),
    Case("intake-nul-byte", "intake", ".jsonl", _lines(b'{"category":"fire\x00","severity":2}'), (2, 1)),
    Case("intake-escaped-nul", "intake", ".jsonl", _line(description="a\x00b"), (2, 1)),
    Case("intake-invalid-utf8", "intake", ".jsonl", _lines(b'{"description":"\xff\xfe"}'), (2, 1)),
    Case("intake-lone-surrogate", "intake", ".jsonl", _lines(
        b'{"category":"fire","severity":2,"source":"walk_in","description":"\\ud800"}'), (2, 1)),
    Case("intake-1mb-line", "intake", ".jsonl", _line(description="x" * 1_000_000), (2, 1)),
    Case("intake-5mb-no-newline", "intake", ".jsonl", _text(b"{" + b"x" * 5_000_000), (0, 1)),
    Case("intake-nan", "intake", ".jsonl", _lines(b'{"severity": NaN}'), (2, 1)),
    Case("intake-huge-people", "intake", ".jsonl", _line(people_count=10**17), (2, 1)),
    Case("intake-top-level-array", "intake", ".jsonl", _lines(b"[1, 2, 3]"), (2, 1)),
    Case("intake-bom", "intake", ".jsonl", lambda p: _line()(p) or p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes()),
         (3, 0)),
    Case("intake-binary-garbage", "intake", ".jsonl", _lines(bytes(range(11, 256))), (2, 1)),
    # GeoJSON
    Case("geojson-deep-nesting", "geojson", ".geojson", _features(raw=('{"type":"FeatureCollection","features":'
                                                                     + DEEP + "}").encode()), "refused"),
    Case("geojson-3d-positions", "geojson", ".geojson", _features(
        _feature("丙", [[[x, y, 12.5] for x, y in SQUARE[0]]], code="C")), (3, 0)),
    Case("geojson-mixed-2d-3d", "geojson", ".geojson", _features(
        _feature("丁", [[[x, y, 5.0] if i % 2 else [x, y] for i, (x, y) in enumerate(SQUARE[0])]], code="D")), (3, 0)),
    Case("geojson-4d-positions", "geojson", ".geojson", _features(
        _feature("戊", [[[x, y, 1.0, 2.0] for x, y in SQUARE[0]]], code="E")), (3, 0)),
    Case("geojson-400-digit-coordinate", "geojson", ".geojson", _features(
        raw=json.dumps({"type": "FeatureCollection", "features": [_feature("甲", [[[1, 2]]])]}).replace(
            "[1, 2]", "[" + "1" * 400 + ", 2]").encode()), "refused"),
    Case("geojson-1e400", "geojson", ".geojson", _features(
        raw=b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"a"},'
            b'"geometry":{"type":"Polygon","coordinates":[[[1e400,1],[2,2],[3,1],[1e400,1]]]}}]}'), "refused"),
    Case("geojson-1mb-property", "geojson", ".geojson", _features(
        _feature("己", SQUARE, code="F", note="x" * 1_000_000)), (2, 1)),
    Case("geojson-many-properties", "geojson", ".geojson", _features(
        _feature("庚", SQUARE, code="G", **{f"k{i}": "v" * 10 for i in range(5000)})), (2, 1)),
    Case("geojson-50mb-property", "geojson", ".geojson", _big_property, "refused", heavy=True),
    Case("geojson-invalid-utf8", "geojson", ".geojson", _features(raw=b'{"type": "\xff"}'), "refused"),
    Case("geojson-bom", "geojson", ".geojson", lambda p: _features()(p) or p.write_bytes(
        b"\xef\xbb\xbf" + p.read_bytes()), (2, 0)),
    Case("geojson-not-json", "geojson", ".geojson", _text("PK\x03\x04 not json"), "refused"),
    Case("geojson-empty", "geojson", ".geojson", _text(""), "refused"),
    Case("geojson-point", "geojson", ".geojson", _features(
        {"type": "Feature", "properties": {"name": "点"}, "geometry": {"type": "Point", "coordinates": [1, 2]}}),
        (2, 1)),
    Case("geojson-name-is-object", "geojson", ".geojson", _features(
        _feature({"deep": [[[[1]]]]}, SQUARE, code="H")), (3, 0)),  # type: ignore[arg-type]
    # roster xlsx
    Case("xlsx-not-a-zip", "roster", ".xlsx", _text("日期,班次,岗位,姓名\n"), "refused"),
    Case("xlsx-empty-file", "roster", ".xlsx", _text(b""), "refused"),
    Case("xlsx-truncated-zip", "roster", ".xlsx", _truncated_xlsx, "refused"),
    Case("xlsx-huge-merged-range", "roster", ".xlsx", _xlsx(merged=("A3:XFD1048576",)), "refused", heavy=True),
    Case("xlsx-far-cell", "roster", ".xlsx", _xlsx('<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'),
         "refused", heavy=True),
    Case("xlsx-far-row-only", "roster", ".xlsx", _xlsx('<row r="1048576"/>'), "refused", heavy=True),
    Case("xlsx-lying-dimension", "roster", ".xlsx", _xlsx(dimension="A1:XFD1048576"), "refused", heavy=True),
    Case("xlsx-many-merged-ranges", "roster", ".xlsx", _xlsx(merged=tuple(f"A{r}:BL{r + 99}" for r in
                                                                         range(3, 60_000, 100))), "refused"),
    Case("xlsx-million-rows", "roster", ".xlsx", _million_rows, "refused", heavy=True),
    # small enough to unpack, too many rows: refused by the scan, before openpyxl builds a row
    Case("xlsx-150k-rows", "roster", ".xlsx", lambda p: write_xlsx(p, million_row_sheet(150_000)) and None,
         "refused", heavy=True),
    Case("xlsx-entity-bomb", "roster", ".xlsx", _xlsx(head='<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol '
                                                      '"lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'), "refused"),
    Case("xlsx-zip-bomb-member", "roster", ".xlsx", _zip_bomb, "refused", heavy=True),
    Case("xlsx-40k-cell", "roster", ".xlsx", _xlsx('<row r="3"><c r="A3" t="inlineStr"><is><t>' + "长" * 40_000
                                                   + "</t></is></c></row>"), (1, 1)),
    Case("xlsx-bad-merge-ref", "roster", ".xlsx", _xlsx(merged=("A1:ZZZZ9",)), "refused"),
    Case("xlsx-no-sheets", "roster", ".xlsx", lambda p: zipfile.ZipFile(p, "w").writestr("a.txt", "x"), "refused"),
    # roster CSV
    Case("csv-field-over-128k", "roster", ".csv", _csv("2026-11-27,白班,值班员," + "张" * 200_000 + ",1"), (2, 1)),
    Case("csv-nul", "roster", ".csv", _csv("2026-11-27,白班,值班员,张\x00伟,1"), (2, 1)),
    Case("csv-neither-utf8-nor-gb18030", "roster", ".csv", _text(b"\xff\xff\xff\xff\n"), "refused"),
    Case("csv-gb18030", "roster", ".csv", _csv(encoding="gb18030"), (2, 0)),
    Case("csv-bom", "roster", ".csv", lambda p: _csv()(p) or p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes()),
         (2, 0)),
    Case("csv-150k-rows", "roster", ".csv", _many_csv_rows, "refused"),
    # the quote runs to the end and swallows the last row: one row whose date is a paragraph (the
    # import refuses it as a bad date), no crash
    Case("csv-unclosed-quote", "roster", ".csv", _csv('"2026-11-27,白班,值班员,张伟,1'), (2, 0)),
    # checklist TOML (a broken file is that file's error)
    Case("checklist-deep-arrays", "checklist", ".toml", _text(CHECKLIST + "\nx = " + DEEP[:20_000] + "\n"), (0, 1)),
    Case("checklist-deep-inline-tables", "checklist", ".toml",
         _text(CHECKLIST + "\nx = " + "{a = " * 3000 + "1" + "}" * 3000 + "\n"), (0, 1)),
    Case("checklist-deep-dotted-keys", "checklist", ".toml", _text(CHECKLIST + "\n" + ".".join(["k"] * 500)
                                                                   + " = 1\n"), (0, 1)),
    Case("checklist-invalid-utf8", "checklist", ".toml", _text(CHECKLIST.encode() + b"\n# \xff\n"), (0, 1)),
    Case("checklist-nul", "checklist", ".toml", _text(CHECKLIST + "\n# \x00\n"), (0, 1)),
    Case("checklist-2mb", "checklist", ".toml", _text(CHECKLIST + "\n#" + "x" * 2_000_000 + "\n"), (0, 1)),
    Case("checklist-400-digit-int", "checklist", ".toml", _text(CHECKLIST + "\nn = " + "9" * 400 + "\n"), (0, 1)),
    Case("checklist-year-9999", "checklist", ".toml", _text(CHECKLIST + "\nwhen = 9999-12-31\n"), (0, 1)),
    Case("checklist-bom", "checklist", ".toml", _text(b"\xef\xbb\xbf" + CHECKLIST.encode()), (1, 0)),
    # drill scenario TOML
    Case("scenario-deep-arrays", "scenario", ".toml", _text(SCENARIO + "\nx = " + DEEP[:20_000] + "\n"), "refused"),
    Case("scenario-400-digit-int", "scenario", ".toml", _text(SCENARIO + "\nn = " + "9" * 400 + "\n"), "refused"),
    Case("scenario-invalid-utf8", "scenario", ".toml", _text(SCENARIO.encode() + b"\n# \xfe\n"), "refused"),
    Case("scenario-year-1", "scenario", ".toml", _text(SCENARIO + "\nwhen = 0001-01-01T00:00:00\n"), "refused"),
    # a site policy file: disabled (the shipped one is used), never fatal
    Case("policy-deep-arrays", "policy", ".toml", _text("x = " + DEEP[:20_000] + "\n"), (1, 1)),
    Case("policy-syntax-error", "policy", ".toml", _text("[ack\n"), (1, 1)),
    Case("policy-invalid-utf8", "policy", ".toml", _text(b"a = '\xff'\n"), (1, 1)),
)
