"""``python -m bench [--quick] [--only FIGURE …] [--backend postgresql|sqlite]``: run the benchmarks,
print the table, write ``bench/results/latest.json``."""

from __future__ import annotations

import os
import tempfile

# Before anything imports Qt: offscreen, and settings/caches of this run kept out of the user's.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
os.environ.setdefault("QT_API", "pyside6")
OWN_HOME = "DC_BENCH_HOME" not in os.environ
if OWN_HOME:
    os.environ["DC_BENCH_HOME"] = tempfile.mkdtemp(prefix="dc_bench_home_")
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        os.environ[var] = os.path.join(os.environ["DC_BENCH_HOME"], var.lower())

import argparse  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402

from bench.runner import FIGURES, run  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the short run of the same figures")
    parser.add_argument("--only", nargs="+", choices=FIGURES, help="only these figures")
    parser.add_argument("--backend", action="append", choices=("postgresql", "sqlite"),
                        help="only this backend (repeatable)")
    parser.add_argument("--out", help="where to write the JSON (default bench/results/latest.json)")
    args = parser.parse_args(argv)
    try:
        report = run(quick=args.quick, figures=args.only, backends=args.backend, out=args.out)
    finally:
        if OWN_HOME:
            shutil.rmtree(os.environ["DC_BENCH_HOME"], ignore_errors=True)
    return 0 if not report["problems"] else 1


if __name__ == "__main__":
    sys.exit(main())
