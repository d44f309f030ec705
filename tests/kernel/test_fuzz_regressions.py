"""Every input that ever crashed a reader under ``make fuzz`` is replayed here, with the hostile
catalogue as each target's standing seeds: a target may refuse an input, never raise past it."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.fuzz_targets import TARGETS
from support.hostile_cases import CASES

CRASHES = Path(__file__).resolve().parent / "fuzz_crashes"
READER_OF = {"json": "intake", "json_lines": "intake", "intake": "intake", "toml": "checklist",
             "geojson": "geojson", "roster_csv": "roster", "roster_xlsx": "roster", "checklist": "checklist",
             "scenario": "scenario"}
SUFFIX = {"roster_csv": ".csv", "roster_xlsx": ".xlsx"}


def _inputs() -> list[tuple[str, str, Path | None]]:
    found: list[tuple[str, str, Path | None]] = []
    for target in sorted(TARGETS):
        folder = CRASHES / target
        if folder.is_dir():
            found += [(target, f.name, f) for f in sorted(folder.iterdir()) if f.is_file()]
        found += [(target, c.id, None) for c in CASES
                  if not c.heavy and c.reader == READER_OF[target] and SUFFIX.get(target, c.suffix) == c.suffix]
    return found


def test_every_target_has_inputs_to_replay() -> None:
    assert {t for t, _name, _path in _inputs()} == set(TARGETS)


@pytest.mark.parametrize(("target", "name", "path"), _inputs(), ids=lambda v: v if isinstance(v, str) else "")
def test_replay(target: str, name: str, path: Path | None, tmp_path: Path) -> None:
    if path is None:
        case = next(c for c in CASES if c.id == name)
        path = tmp_path / (case.id + case.suffix)
        case.build(path)
    TARGETS[target](path.read_bytes())  # raises (and fails) on a regression
