"""The command line's start: ``dispatch-console --help``, and a one-line ``intake`` on each backend.

An integrator's hotline or 110 system may call ``dispatch-console intake`` once per report, so the
time from ``exec`` to exit is what it waits. Each command runs as a fresh process, as the
integrator's does, several times; the figure is the median. Baseline: ``python -c pass`` in the
same run (the interpreter's own start on this machine). Beside each wall time the details keep
the child's CPU time (user + system): on a loaded machine the wall time mostly measures the wait
for a core, the CPU time what the start itself costs.

The children keep their compiled bytecode in a folder of this run (``PYTHONPYCACHEPREFIX``), and
one untimed start fills it: an installed dispatch-console has its ``.pyc`` files, and a caller's
``PYTHONDONTWRITEBYTECODE`` would otherwise make every timed start compile the project's modules
again (about 0.4 s that no integrator pays). ``--help`` does not depend on the database: it is
measured in the SQLite run.

The integration signs in as README tells an integrator to: with a token issued for its account
(``users issue-token``), which is checked by its digest. The same intake signed in with a password
(argon2, the deliberate cost of a password people choose) is in the details beside it.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

from bench import databases
from bench.common import Figure, Sizes, percentile
from dispatch_console.kernel.actor import Actor
from dispatch_console.users.accounts import actor_for, create_user, issue_token

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


def _line(i: int, backend: str) -> str:
    return json.dumps({"category": "dispute", "severity": 3, "source": "hotline_12345",
                       "description": f"楼上漏水引发邻里纠纷 {i}", "external_id": f"bench-cli-{backend}-{i}"},
                      ensure_ascii=False) + "\n"


def run(backend: str, sizes: Sizes, _pool: object = None) -> list[Figure]:
    python = sys.executable
    runs = RUNS if sizes.name != "tiny" else 2
    CPU.clear()
    pycache = tempfile.mkdtemp(prefix="dc_bench_pycache_")
    base_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    base_env["PYTHONPYCACHEPREFIX"] = pycache
    figures: list[Figure] = []
    try:
        bare = [_timed([python, "-c", "pass"], env=base_env, what="python_c_pass") for _i in range(runs)]
        base = round(percentile(bare, 50) or 0.0, 3)
        details: dict[str, object] = {"runs": runs, "python_c_pass_s": bare}
        if backend == "sqlite":
            _timed([python, "-m", "station.launcher", "--help"], env=base_env, what="warm-up")
            helps = [_timed([python, "-m", "station.launcher", "--help"], env=base_env, what="help")
                     for _i in range(runs)]
            figures.append(Figure("command line --help", "sqlite", round(percentile(helps, 50) or 0.0, 3), "s",
                                  HELP_TARGET_S, "<=", base, "python -c pass",
                                  {**details, "help_s": helps, "help_cpu_s": list(CPU["help"])}))
        intakes: list[float] = []
        with databases.fresh(backend, tag="cli") as db:
            system = Actor.system("bench")
            with db.write() as s:
                create_user(s, system, username="bench-intake", password="secret-for-bench",
                            role="integration", display_name="bench intake")
                admin = actor_for(create_user(s, system, username="bench-admin", password="secret-for-bench",
                                              role="admin", display_name="bench admin"), "bench")
                create_user(s, system, username="bench-token", password="secret-for-bench",
                            role="integration", display_name="bench token")
            _row, token = issue_token(db, admin, "bench-token")
            env = {**base_env, "DISPATCH_DB_URL": databases.url_of(db), "DISPATCH_USER": "bench-token",
                   "DISPATCH_PASSWORD": token, "DISPATCH_STATION": "bench-cli"}
            by_password = {**env, "DISPATCH_USER": "bench-intake", "DISPATCH_PASSWORD": "secret-for-bench"}
            _timed([python, "-m", "station.launcher", "intake", "-"], stdin=_line(runs, backend), env=env,
                   what="warm-up")
            passwords: list[float] = []
            for i in range(runs):  # alternating, so the load falls alike on both
                intakes.append(_timed([python, "-m", "station.launcher", "intake", "-"], stdin=_line(i, backend),
                                      env=env, what="intake"))
                passwords.append(_timed([python, "-m", "station.launcher", "intake", "-"],
                                        stdin=_line(100 + i, backend), env=by_password, what="intake_password"))
        details["intake_s"] = intakes
        details["intake_signed_in_with_a_password_s"] = passwords
        details["intake_signed_in_with_a_password_median_s"] = round(percentile(passwords, 50) or 0.0, 3)
        details.update({f"{what}_cpu_s": list(times) for what, times in CPU.items()})
        figures.append(Figure("one-line intake", backend, round(percentile(intakes, 50) or 0.0, 3), "s",
                              INTAKE_TARGET_S, "<=", base, "python -c pass", details))
    finally:
        shutil.rmtree(pycache, ignore_errors=True)
    return figures
