"""The command line starts fast because ``--help`` and a usage error load no database layer and no
room: the parser is built from the command modules alone, and the composition root installs the
rooms only once a command is about to run. Checked by what a fresh interpreter has loaded (a fact),
not by how long it took (a figure for bench/cli_start.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("sqlalchemy", "db.models", "alembic", "shapely", "openpyxl", "PySide6", "argon2",
         "dispatch_console.incidents.service", "dispatch_console.timers.engine")

PROBE = """
import json, sys
from station import launcher
try:
    code = launcher.main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "loaded": sorted(m for m in sys.modules)}), file=sys.stderr)
"""


def loaded_after(*argv: str) -> tuple[int, set[str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return int(report["code"] or 0), set(report["loaded"])


@pytest.mark.parametrize("argv", [("--help",), ("incidents", "--help"), ("intake", "--help"),
                                  ("audit", "prune", "--help"), ("grids", "import", "--help"),
                                  ("cap", "import", "--help"), ("warnings", "list", "--help"),
                                  ("report", "assess", "--help"),
                                  ("no-such-command",)])
def test_help_and_usage_errors_load_no_database_layer_and_no_room(argv: tuple[str, ...]) -> None:
    code, loaded = loaded_after(*argv)
    assert code in (0, 2)
    assert not [m for m in HEAVY if m in loaded], sorted(m for m in HEAVY if m in loaded)


def test_a_command_that_runs_gets_the_rooms_installed(tmp_path: Path) -> None:
    code, loaded = loaded_after("--db", f"sqlite:///{tmp_path / 'x.sqlite3'}", "db", "upgrade")
    assert code == 0
    assert {"sqlalchemy", "dispatch_console.incidents.followups", "dispatch_console.timers.engine"} <= loaded


def test_a_command_on_sqlite_does_not_load_the_postgresql_driver(tmp_path: Path) -> None:
    code, loaded = loaded_after("--db", f"sqlite:///{tmp_path / 'x.sqlite3'}", "db", "upgrade")
    assert code == 0
    assert "sqlalchemy" in loaded
    assert "psycopg" not in loaded  # a SQLite database never loads the PostgreSQL driver


def test_a_command_that_runs_no_timer_engine_does_not_load_the_engines_companions(tmp_path: Path) -> None:
    """The companions (the warning rules, the CAP drop folder …) are resolved when an engine starts:
    a command that records or lists and never starts an engine does not import their rooms."""
    code, loaded = loaded_after("--db", f"sqlite:///{tmp_path / 'x.sqlite3'}", "db", "upgrade")
    assert code == 0
    assert "dispatch_console.timers.firing" in loaded
    assert not {"dispatch_console.warnings.evaluate", "dispatch_console.warnings.official",
                "dispatch_console.timers.upkeep"} & loaded
