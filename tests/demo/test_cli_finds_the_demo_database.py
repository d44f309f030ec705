"""After `make run` (the console on the demo database) the first command a new user types —
``dispatch-console incidents list`` — says which file it opened and how to reach the demo one,
and ``--demo`` reaches it."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatch_console.demo.database import prepare_demo_database
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.config import default_db_url, demo_db_url
from station.launcher import main


def test_incidents_list_after_make_run_points_to_the_demo_database(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # a fresh user's data folder
    monkeypatch.delenv("DISPATCH_DB_URL", raising=False)
    prepare_demo_database(demo_db_url(), Actor.system("t"))  # what `make run` (run --demo) did

    assert main(["incidents", "list"]) != 0
    err = capsys.readouterr().err.strip()
    demo_file = demo_db_url().removeprefix("sqlite:///")
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert default_db_url().removeprefix("sqlite:///") in err and demo_file in err and "--demo" in err

    assert main(["--demo", "incidents", "list"]) == 0
    out = capsys.readouterr().out
    assert "TY-" in out  # the demo street's incidents


def test_demo_on_any_command_creates_and_seeds_the_demo_database_on_first_use(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # no `make run` before: nothing exists yet
    monkeypatch.delenv("DISPATCH_DB_URL", raising=False)
    assert not Path(demo_db_url().removeprefix("sqlite:///")).exists()

    assert main(["--demo", "incidents", "list"]) == 0  # --help: "created and seeded on first use"
    assert "TY-" in capsys.readouterr().out
    assert main(["--demo", "incidents", "list"]) == 0  # the second time it is simply opened
    assert "TY-" in capsys.readouterr().out


def test_demo_does_not_seed_a_database_named_by_db(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("DISPATCH_DB_URL", raising=False)
    url = f"sqlite:///{tmp_path / 'site.sqlite3'}"
    assert main(["--demo", "--db", url, "incidents", "list"]) != 0  # --db wins: its schema is missing
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
