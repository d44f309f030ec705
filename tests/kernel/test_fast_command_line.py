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
from sqlalchemy import select

from db.engine import Database
from db.models import Incident
from dispatch_console.kernel.actor import Actor
from dispatch_console.users.accounts import create_user

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


def loaded_after(*argv: str, stdin: str | None = None, env: dict[str, str] | None = None) -> tuple[int, set[str]]:
    env = {**os.environ, **(env or {}), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120, input=stdin)
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


# What a one-line intake has no use for: the timer engine's scheduler and companions, the map's and
# the warning rules' geometry, spreadsheets, Qt, the migration tool. Listed by name, checked in a
# fresh interpreter (what it loaded, not how long it took: bench/cli_start.py has the seconds).
NOT_FOR_INTAKE = ("PySide6", "shiboken6", "pyqtgraph", "apscheduler", "shapely", "numpy", "openpyxl", "alembic",
                  "defusedxml", "reportlab", "dispatch_console.warnings.evaluate",
                  "dispatch_console.warnings.official", "dispatch_console.timers.upkeep",
                  "dispatch_console.handover.schedule", "jsonschema", "ui")


def test_a_one_line_intake_stores_its_line_without_the_heavy_modules(db: Database, tmp_path: Path) -> None:
    with db.write() as s:
        create_user(s, Actor.system("test"), username="hotline", password="secret-for-tests",
                    role="integration", display_name="hotline")
    line = json.dumps({"category": "dispute", "severity": 3, "source": "hotline_12345",
                       "description": "楼上漏水", "external_id": "probe-1"}, ensure_ascii=False)
    env = {"DISPATCH_DB_URL": db.url.render_as_string(hide_password=False), "DISPATCH_USER": "hotline",
           "DISPATCH_PASSWORD": "secret-for-tests", "DISPATCH_STATION": "probe"}
    code, loaded = loaded_after("intake", "-", "--json", stdin=line + "\n", env=env)
    assert code == 0
    with db.read() as s:
        assert s.execute(select(Incident.external_id)).scalars().all() == ["probe-1"]
    assert {"sqlalchemy", "db.models", "dispatch_console.incidents.service", "argon2"} <= loaded  # signed in, stored
    heavy = sorted(m for m in loaded if any(m == h or m.startswith(h + ".") for h in NOT_FOR_INTAKE))
    assert not heavy, heavy
    if not db.is_postgres:
        assert "psycopg" not in loaded


def test_an_integration_signed_in_with_its_token_does_not_load_argon2(db: Database, make_actor: object) -> None:
    """argon2's deliberate cost is for passwords people choose; an issued token is checked by its digest."""
    from dispatch_console.users import issue_token

    admin = make_actor("admin", "root")  # type: ignore[operator]
    with db.write() as s:
        create_user(s, Actor.system("test"), username="hotline", password="secret-for-tests",
                    role="integration", display_name="hotline")
    _row, token = issue_token(db, admin, "hotline")
    line = json.dumps({"category": "dispute", "severity": 3, "source": "hotline_12345",
                       "description": "楼上漏水", "external_id": "probe-token"}, ensure_ascii=False)
    env = {"DISPATCH_DB_URL": db.url.render_as_string(hide_password=False), "DISPATCH_USER": "hotline",
           "DISPATCH_PASSWORD": token, "DISPATCH_STATION": "probe"}
    code, loaded = loaded_after("intake", "-", stdin=line + "\n", env=env)
    assert code == 0
    with db.read() as s:
        assert s.execute(select(Incident.external_id)).scalars().all() == ["probe-token"]
    assert "argon2" not in loaded and "_argon2_cffi_bindings" not in loaded


GC_PROBE = """
import gc, json, sys
from dispatch_console import cli
from station import launcher

seen = {}
real_database = cli.CliContext.database

def database(self, **kwargs):
    seen.setdefault("enabled", gc.isenabled())
    seen.setdefault("frozen", gc.get_freeze_count())
    return real_database(self, **kwargs)

cli.CliContext.database = database
try:
    launcher.run(sys.argv[1:])
except SystemExit as exc:
    seen["code"] = exc.code
print(json.dumps(seen), file=sys.stderr)
"""


def test_the_programs_process_collects_garbage_while_a_command_runs(tmp_path: Path) -> None:
    """The program's process loads its modules with collection off and freezes them once the rooms
    are installed; a command (the agent runs for weeks) then runs with collection on."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", GC_PROBE, "--db", f"sqlite:///{tmp_path / 'x.sqlite3'}",
                           "db", "upgrade"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    seen = json.loads(done.stderr.strip().splitlines()[-1])
    assert seen["code"] == 0
    assert seen["enabled"] is True
    assert seen["frozen"] > 10_000  # the modules and classes loaded for the command
