"""One fuzz target per reader: bytes in, and any exception but the reader's own refusal is a crash.

Shared by ``tools/fuzz_readers.py`` (atheris, ``make fuzz``) and the regression test that replays
every crash it ever found (``tests/kernel/test_fuzz_regressions.py``, inputs in
``tests/kernel/fuzz_crashes/<target>/``).
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable
from pathlib import Path

from dispatch_console.kernel.errors import DispatchError

_folder = Path(tempfile.mkdtemp(prefix="dispatch-fuzz-"))


def _file(data: bytes, suffix: str) -> Path:
    path = _folder / f"input{suffix}"
    path.write_bytes(data)
    return path


def json_document(data: bytes) -> None:
    from dispatch_console.kernel import bounded_input as bi

    try:
        bi.decode_json(data, bi.Position("fuzz"))
    except bi.InputError:
        pass


def json_lines(data: bytes) -> None:
    from dispatch_console.kernel import bounded_input as bi

    for _item in bi.json_lines(bi.lines(io.BytesIO(data)), "fuzz"):
        pass


def toml(data: bytes) -> None:
    from dispatch_console.kernel import bounded_input as bi

    try:
        bi.decode_toml(bi.decode_text(data, bi.Position("fuzz")), bi.Position("fuzz"))
    except bi.InputError:
        pass


def intake_line(data: bytes) -> None:
    from dispatch_console.incidents import intake

    try:
        intake.parse_line(data)
    except DispatchError:
        pass


def geojson(data: bytes) -> None:
    from dispatch_console.jurisdiction import geojson_import as gi

    try:
        features = gi._load(_file(data, ".geojson"))
    except DispatchError:
        return
    for i, feature in enumerate(features, start=1):
        gi._check(i, feature, "name")


def roster_csv(data: bytes) -> None:
    from dispatch_console.rosters import files

    try:
        files._read(_file(data, ".csv"))
    except DispatchError:
        pass


def roster_xlsx(data: bytes) -> None:
    from dispatch_console.rosters import files

    try:
        files._read(_file(data, ".xlsx"))
    except DispatchError:
        pass


def checklist(data: bytes) -> None:
    from dispatch_console.checklists import templates

    templates._load(_file(data, ".toml"), templates.parse_template)


def scenario(data: bytes) -> None:
    from dispatch_console.drills.scenario import load_scenario

    try:
        load_scenario(_file(data, ".toml"))
    except DispatchError:
        pass


TARGETS: dict[str, Callable[[bytes], None]] = {
    "json": json_document, "json_lines": json_lines, "toml": toml, "intake": intake_line, "geojson": geojson,
    "roster_csv": roster_csv, "roster_xlsx": roster_xlsx, "checklist": checklist, "scenario": scenario,
}
