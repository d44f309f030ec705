"""No secret in a log line or an error message: commands run with test passwords, logs grepped."""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from db.engine import Database
from station.launcher import main as cli_main

ADMIN_PASSWORD = "Adm1n-s3cret-Ω"
OFFICER_PASSWORD = "0fficer-s3cret-Ж"
WRONG_PASSWORD = "wr0ng-guess-ẞ"
ROLE_PASSWORD = "r0le-s3cret-Ψ"
ADMIN_ROLE_PASSWORD = "adm1n-r0le-s3cret-Ξ"
SECRETS = (ADMIN_PASSWORD, OFFICER_PASSWORD, WRONG_PASSWORD, ROLE_PASSWORD, ADMIN_ROLE_PASSWORD)


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger at DEBUG, and the commands run with -v (SQLAlchemy's statements included)."""
    caplog.set_level(logging.DEBUG)
    for name in ("sqlalchemy.pool", "alembic", "psycopg"):
        caplog.set_level(logging.DEBUG, logger=name)
    yield caplog
    logging.getLogger("sqlalchemy.engine").setLevel(logging.NOTSET)


def _run(argv: list[str], stdin: str = "", monkeypatch: Any = None) -> int:
    if monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli_main(["-v", *argv])


def _assert_no_secret(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str], db: Database,
                      *extra: str) -> None:
    captured = capsys.readouterr()
    lines = [r.getMessage() for r in caplog.records] + [str(r.args) for r in caplog.records]
    texts = "\n".join([*lines, captured.out, captured.err])
    assert any(r.name.startswith("sqlalchemy.engine") for r in caplog.records), "no statement was logged"
    caplog.set_level(logging.WARNING, logger="sqlalchemy.engine")  # this test's own query is not the app's
    for secret in (*SECRETS, *extra, *_hashes(db)):
        assert secret not in texts, f"a secret reached the logs or the output: {secret[:6]}…"


def _hashes(db: Database) -> list[str]:
    from sqlalchemy import text

    with db.read() as s:
        return [str(h) for h in s.execute(text("SELECT password_hash FROM app_user")).scalars()]


def test_account_commands_keep_passwords_out_of_logs_and_messages(
        db: Database, everything_logged: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    url = db.url.render_as_string(hide_password=False)
    assert _run(["--db", url, "users", "add", "root", "--role", "admin", "--password-stdin"],
                ADMIN_PASSWORD + "\n", monkeypatch) == 0
    admin = ["--db", url, "--user", "root", "--password", ADMIN_PASSWORD]
    assert _run([*admin, "users", "add", "wang", "--role", "duty_officer", "--password-stdin"],
                OFFICER_PASSWORD + "\n", monkeypatch) == 0
    assert _run(["--db", url, "--user", "wang", "--password", WRONG_PASSWORD, "incidents", "list"]) in (0, 1)
    assert _run(["--db", url, "--user", "wang", "--password", WRONG_PASSWORD, "audit", "verify"]) == 1
    assert _run([*admin, "users", "reset-password", "wang", "--password-stdin"],
                OFFICER_PASSWORD[::-1] + "\n", monkeypatch) == 0
    assert _run([*admin, "users", "add", "li", "--role", "duty_officer", "--password-stdin"],
                "x\n", monkeypatch) == 1  # too short: the refusal names the rule, not the password
    assert _run([*admin, "audit", "verify"]) == 0
    _assert_no_secret(everything_logged, capsys, db, OFFICER_PASSWORD[::-1])


def test_database_roles_keep_passwords_out_of_logs_and_messages(
        pg_db: Database, everything_logged: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    role = f"dc_app_{uuid.uuid4().hex[:10]}"
    url = pg_db.url.render_as_string(hide_password=False)
    try:
        assert _run(["--db", url, "users", "add", "root", "--role", "admin", "--password-stdin"],
                    ADMIN_PASSWORD + "\n", monkeypatch) == 0
        admin = ["--user", "root", "--password", ADMIN_PASSWORD]
        assert _run(["--db", url, *admin, "db", "grant", "--role", role, "--password-stdin"],
                    f"{ROLE_PASSWORD}\n{ADMIN_ROLE_PASSWORD}\n", monkeypatch) == 0
        as_role = pg_db.url.set(username=role, password=ROLE_PASSWORD).render_as_string(hide_password=False)
        assert _run(["--db", as_role, *admin, "audit", "verify"]) == 0
        # (the test server trusts local connections whatever the password: a role it does not know
        # is what it refuses here)
        wrong = pg_db.url.set(username=f"{role}_x", password=WRONG_PASSWORD).render_as_string(hide_password=False)
        monkeypatch.setattr("sys.stdin", io.StringIO(""))
        assert _run(["--db", wrong, *admin, "audit", "verify"]) == 1  # refused by the server, said without it
        as_admin_role = pg_db.url.set(username=f"{role}_admin", password=ADMIN_ROLE_PASSWORD).render_as_string(
            hide_password=False)
        assert _run(["--db", as_admin_role, *admin, "users", "add", "wang", "--role", "duty_officer",
                     "--password-stdin"], OFFICER_PASSWORD + "\n", monkeypatch) == 0
        _assert_no_secret(everything_logged, capsys, pg_db)
    finally:
        admin_uri = pg_db.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(admin_uri, autocommit=True) as conn:
            for name in (role, f"{role}_admin"):
                if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
                    conn.execute(f'REASSIGN OWNED BY "{name}" TO postgres')
                    conn.execute(f'DROP OWNED BY "{name}"')
                    conn.execute(f'DROP ROLE "{name}"')
