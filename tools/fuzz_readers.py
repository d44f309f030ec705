"""``make fuzz``: a short coverage-guided run (atheris) of every reader.

    python tools/fuzz_readers.py [TARGET ...] [--seconds N]

Each target (``tests/support/fuzz_targets.py``) runs in its own child process for N seconds
(default 20), seeded with the shipped files and the hostile-input catalogue. A crash — any
exception but the reader's own refusal, or a hang past libFuzzer's timeout — stops the run with
the input written to ``tests/kernel/fuzz_crashes/<target>/``, where the regression test replays it
for ever after.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CRASHES = ROOT / "tests" / "kernel" / "fuzz_crashes"
SEEDS = {
    "json": ["resources/geo/*.geojson"], "json_lines": [], "toml": ["resources/policies/*.toml"],
    "intake": [], "geojson": ["resources/geo/*.geojson"], "roster_csv": [], "roster_xlsx": [],
    "checklist": ["resources/checklists/*.toml"], "scenario": ["resources/drills/*.toml"],
}
READER_OF = {"json": "intake", "json_lines": "intake", "intake": "intake", "toml": "checklist",
             "geojson": "geojson", "roster_csv": "roster", "roster_xlsx": "roster", "checklist": "checklist",
             "scenario": "scenario"}
SUFFIX = {"roster_csv": ".csv", "roster_xlsx": ".xlsx"}


def _seed(target: str, corpus: Path) -> None:
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    from support.hostile_cases import CASES

    for pattern in SEEDS[target]:
        for path in ROOT.glob(pattern):
            if path.stat().st_size < 100_000:
                shutil.copy(path, corpus / path.name)
    for case in CASES:
        if case.heavy or case.reader != READER_OF[target] or (target in SUFFIX and case.suffix != SUFFIX[target]):
            continue
        path = corpus / (case.id + case.suffix)
        case.build(path)
        if path.stat().st_size > 200_000:
            path.unlink()


def _child(target: str, argv: list[str]) -> None:
    import atheris

    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    with atheris.instrument_imports(include=["dispatch_console"]):
        # the readers themselves, so that the fuzzer sees their branches (the targets import lazily)
        from support.fuzz_targets import TARGETS

        from dispatch_console.checklists import templates
        from dispatch_console.drills import scenario
        from dispatch_console.incidents import intake
        from dispatch_console.jurisdiction import geojson_import
        from dispatch_console.kernel import bounded_input
        from dispatch_console.rosters import files
    print("instrumented:", ", ".join(m.__name__ for m in (templates, scenario, intake, geojson_import,
                                                          bounded_input, files)), flush=True)
    atheris.Setup([sys.argv[0], *argv], TARGETS[target])
    atheris.Fuzz()


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", default=list(SEEDS))
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("FUZZ_SECONDS", "20")))
    args = parser.parse_args()
    failed = []
    for target in args.targets:
        crashes = CRASHES / target
        crashes.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f"fuzz-{target}-") as corpus:
            _seed(target, Path(corpus))
            cmd = [sys.executable, __file__, "--child", target, f"-max_total_time={args.seconds}",
                   "-rss_limit_mb=1024", "-timeout=30", "-max_len=65536", f"-artifact_prefix={crashes}/", corpus]
            print(f"fuzz {target}: {args.seconds} s", flush=True)
            if subprocess.run(cmd, cwd=ROOT).returncode != 0:
                failed.append(target)
    if failed:
        print("crashes in: " + ", ".join(failed) + f" (inputs in {CRASHES}; add them to the regression test)")
        return 1
    print("no crash in " + ", ".join(args.targets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
