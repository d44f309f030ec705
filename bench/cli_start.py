"""The command line's start: ``dispatch-console --help`` and a one-line ``intake`` on SQLite.

An integrator's hotline or 110 system may call ``dispatch-console intake`` once per report, so the
time from ``exec`` to exit is what it waits. Each command runs as a fresh process, as the
integrator's does, several times; the figure is the median. Baseline: ``python -c pass`` in the
same run (the interpreter's own start on this machine). Beside each wall time the details keep
the child's CPU time (user + system): on a loaded machine the wall time mostly measures the wait
for a core, the CPU time what the start itself costs.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

from bench import databases
from bench.common import Figure, Sizes, percentile
from dispatch_console.kernel.actor import Actor
from dispatch_console.users.accounts import create_user

PER_BACKEND = False  # the start itself; the one-line intake is measured on SQLite
HELP_TARGET_S = 0.3
INTAKE_TARGET_S = 1.0
RUNS = 7


CPU: dict[str, list[float]] = {}  # the children's CPU seconds of the last run, by what was started


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(args: list[str], *, stdin: str | None = None, env: dict[str, str] | None = None,
           what: str = "") -> float:
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    done = subprocess.run(args, input=stdin, capture_output=True, text=True, env=env, timeout=120)
    elapsed = time.perf_counter() - t0
    CPU.setdefault(what, []).append(round(_children_cpu() - cpu0, 3))
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:4])} … exited {done.returncode}: {done.stderr.strip()[-300:]}")
    return elapsed


def run(backend: str, sizes: Sizes, _pool: object = None) -> list[Figure]:
    python = sys.executable
    runs = RUNS if sizes.name != "tiny" else 2
    CPU.clear()
    bare = [_timed([python, "-c", "pass"], what="python_c_pass") for _i in range(runs)]
    helps = [_timed([python, "-m", "station.launcher", "--help"], what="help") for _i in range(runs)]
    intakes: list[float] = []
    with databases.fresh("sqlite", tag="cli") as db:
        with db.write() as s:
            create_user(s, Actor.system("bench"), username="bench-intake", password="secret-for-bench",
                        role="integration", display_name="bench intake")
        env = {**os.environ, "DISPATCH_DB_URL": databases.url_of(db), "DISPATCH_USER": "bench-intake",
               "DISPATCH_PASSWORD": "secret-for-bench", "DISPATCH_STATION": "bench-cli"}
        for i in range(runs):
            line = json.dumps({"category": "dispute", "severity": 3, "source": "hotline_12345",
                               "description": f"楼上漏水引发邻里纠纷 {i}", "external_id": f"bench-cli-{i}"},
                              ensure_ascii=False)
            intakes.append(_timed([python, "-m", "station.launcher", "intake", "-"], stdin=line + "\n", env=env,
                                  what="intake"))
    base = percentile(bare, 50) or 0.0
    details = {"runs": runs, "python_c_pass_s": bare, "help_s": helps, "intake_s": intakes,
               **{f"{what}_cpu_s": list(times) for what, times in CPU.items()}}
    return [
        Figure("command line --help", "sqlite", round(percentile(helps, 50) or 0.0, 3), "s", HELP_TARGET_S, "<=",
               round(base, 3), "python -c pass", details),
        Figure("one-line intake", "sqlite", round(percentile(intakes, 50) or 0.0, 3), "s", INTAKE_TARGET_S, "<=",
               round(base, 3), "python -c pass", details),
    ]
