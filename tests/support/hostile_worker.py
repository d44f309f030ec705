"""Run one reader on one file in a child process under a memory limit, and say what became of it.

``python -m support.hostile_worker READER PATH [MEMORY_MB]`` prints one JSON object:
``{"good": n, "bad": [reasons], "refused": reason-or-null}``. Any exception that escapes the
reader is a traceback on standard error and a non-zero exit: what the hostile-input suite
forbids. The memory limit (RLIMIT_AS) is set before any project module is imported.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from pathlib import Path
from typing import Any


def _intake(path: Path) -> dict[str, Any]:
    from dispatch_console.incidents import intake
    from dispatch_console.kernel import bounded_input
    from dispatch_console.kernel.errors import ValidationError

    good, bad = 0, []
    with path.open("rb") as fh:
        for _number, line in intake.lines_of(bounded_input.lines(fh, intake.INTAKE_LIMITS)):
            try:
                intake.parse_line(line)
                good += 1
            except ValidationError as exc:
                bad.append(str(exc))
    return {"good": good, "bad": bad, "refused": None}


def _geojson(path: Path) -> dict[str, Any]:
    from dispatch_console.jurisdiction import geojson_import as gi

    features = gi._load(path)
    checked = [gi._check(i, f, "name") for i, f in enumerate(features, start=1)]
    return {"good": sum(isinstance(c, gi._Good) for c in checked),
            "bad": [c.reason for c in checked if isinstance(c, gi.FeatureError)], "refused": None}


def _roster(path: Path) -> dict[str, Any]:
    from dispatch_console.rosters import files

    rows, refused = files._read(path)
    return {"good": len(rows), "bad": [e.reason for e in refused], "refused": None}


def _checklist(path: Path) -> dict[str, Any]:
    from dispatch_console.checklists import templates

    template, error = templates._load(path, templates.parse_template)
    return {"good": int(template is not None), "bad": [str(error)] if error else [], "refused": None}


def _scenario(path: Path) -> dict[str, Any]:
    from dispatch_console.drills.scenario import load_scenario

    load_scenario(path)
    return {"good": 1, "bad": [], "refused": None}


def _policy(path: Path) -> dict[str, Any]:
    """``path`` is a site's policies/escalation.toml: a broken one falls back to the shipped file."""
    from dispatch_console.kernel.config import Resources

    res = Resources(path.parent.parent)
    res.toml("policies/" + path.name)
    return {"good": 1, "bad": [str(p) for p in res.problems], "refused": None}


def _high_water_kb() -> int:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from the parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


READERS = {"intake": _intake, "geojson": _geojson, "roster": _roster, "checklist": _checklist,
           "scenario": _scenario, "policy": _policy}


def main(argv: list[str]) -> int:
    reader, path = argv[0], Path(argv[1])
    limit = int(argv[2]) if len(argv) > 2 else 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit * 1024 * 1024, limit * 1024 * 1024))
    from dispatch_console.kernel.errors import DispatchError

    try:
        result = READERS[reader](path)
    except DispatchError as exc:  # refused as a whole, with one line
        result = {"good": 0, "bad": [], "refused": str(exc)}
    result["peak_kb"] = _high_water_kb()
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.exit(main(sys.argv[1:]))
