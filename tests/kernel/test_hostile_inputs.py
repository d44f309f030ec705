"""Hostile files through every reader: no traceback, no hang, bounded memory.

Each case of ``support.hostile_cases`` is read by its room's reader — intake lines, GeoJSON,
roster xlsx/csv, checklist, drill and policy TOML — and must end as the case says: refused as a
whole in one line, or read with the good items kept and each bad one refused on its own. The
heavy cases (a sheet reaching XFD1048576, a million rows, a zip bomb, a 50 MB property) run in a
child process under a 1 GB address-space limit with a generous timeout, which only guards the run
against a hang (the outcome is asserted, not the time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.hostile_cases import CASES, Case
from support.hostile_worker import READERS

from dispatch_console.kernel.errors import DispatchError

ROOT = Path(__file__).resolve().parents[2]
MEMORY_MB = 1024  # the child's address-space limit
PEAK_MB = 500  # its resident memory at the end must have stayed below this
HANG_GUARD_SECONDS = 240  # far beyond any reader; it only keeps a hang from stalling the suite


def _place(case: Case, tmp_path: Path) -> Path:
    folder = tmp_path / "policies" if case.reader == "policy" else tmp_path
    folder.mkdir(exist_ok=True)
    name = "escalation.toml" if case.reader == "policy" else case.id + case.suffix
    path = folder / name
    case.build(path)
    return path


def _in_process(case: Case, path: Path) -> dict[str, Any]:
    try:
        return READERS[case.reader](path)
    except DispatchError as exc:
        return {"good": 0, "bad": [], "refused": str(exc)}


def _in_child(case: Case, path: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
           "OPENBLAS_NUM_THREADS": "1", "DISPATCH_LANG": "en"}
    done = subprocess.run([sys.executable, "-m", "support.hostile_worker", case.reader, str(path), str(MEMORY_MB)],
                          capture_output=True, text=True, timeout=HANG_GUARD_SECONDS, env=env, cwd=ROOT)
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["peak_kb"] < PEAK_MB * 1024  # the bound: any input up to the limit stays under it
    return result


def check_outcome(case: Case, result: dict[str, Any]) -> None:
    if case.expect == "refused":
        assert result["refused"], result
        assert "\n" not in result["refused"] and "Traceback" not in result["refused"]
        assert result["good"] == 0
    else:
        good, bad = case.expect
        assert result["refused"] is None, result["refused"]
        assert (result["good"], len(result["bad"])) == (good, bad), result["bad"]
        assert all(reason and "\n" not in reason for reason in result["bad"])


def test_the_catalogue_is_at_least_fifty_hostile_files_across_every_reader() -> None:
    assert len(CASES) >= 50
    assert {c.reader for c in CASES} == set(READERS)
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", [c for c in CASES if not c.heavy], ids=lambda c: c.id)
def test_hostile_file(case: Case, tmp_path: Path) -> None:
    check_outcome(case, _in_process(case, _place(case, tmp_path)))


@pytest.mark.slow
@pytest.mark.parametrize("case", [c for c in CASES if c.heavy], ids=lambda c: c.id)
def test_heavy_hostile_file_in_a_child_under_a_memory_limit(case: Case, tmp_path: Path) -> None:
    check_outcome(case, _in_child(case, _place(case, tmp_path)))
