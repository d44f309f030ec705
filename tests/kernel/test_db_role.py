"""The restricted PostgreSQL role: the app works through it, but history cannot be rewritten."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from db.engine import Database
from dispatch_console.checklists import service as checklists
from dispatch_console.cli.security import grant_app_role
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.kernel import audit
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changes import record
from dispatch_console.kernel.errors import PermissionDenied, ValidationError
from dispatch_console.timers import engine as timers
from dispatch_console.users import accounts as users
from station.launcher import main as cli_main


def _admin_uri(db: Database) -> str:
    return db.url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def role_name(pg_db: Database) -> Iterator[str]:
    """A role unique to this run, dropped (with everything it owns or was granted) afterwards."""
    name = f"dc_app_{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg.connect(_admin_uri(pg_db), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
        if exists:
            conn.execute(f'REASSIGN OWNED BY "{name}" TO postgres')
            conn.execute(f'DROP OWNED BY "{name}"')
            conn.execute(f'DROP ROLE "{name}"')


@pytest.fixture
def app_db(pg_db: Database, role_name: str, system: Actor) -> Iterator[Database]:
    """The same database, reached as the restricted role (what a workstation uses)."""
    with pg_db.write() as s:
        users.create_user(s, system, username="root", password="pw", role="admin")
    admin = users.authenticate(pg_db, "root", "pw", "server")
    grant_app_role(pg_db, admin, role_name, "app-secret")
    app = Database(pg_db.url.set(username=role_name, password="app-secret"))
    try:
        yield app
    finally:
        app.dispose()


def _refused(db: Database, statement: str) -> str:
    with pytest.raises(DBAPIError) as err, db.write() as s:
        s.execute(text(statement))
    return str(err.value.orig)


def test_the_app_works_through_the_restricted_role(pg_db: Database, app_db: Database) -> None:
    with app_db.read() as s:
        assert s.execute(text("SELECT current_user")).scalar_one().startswith("dc_app_")
    admin = users.authenticate(app_db, "root", "pw", "ws-1")  # updates app_user, audits
    users.add_user(app_db, admin, username="wang", password="pass1", role="duty_officer")
    officer = users.authenticate(app_db, "wang", "pass1", "ws-1")
    with app_db.write() as s:
        record(s, officer, entity="incident", entity_id=None, op="note", after={"note": "x"})
    draft = IncidentDraft(category="fire", severity=2, source="hotline_12345", description="仓库冒烟")
    row = incidents.create_incident(app_db, officer, draft).row
    row = incidents.acknowledge(app_db, officer, row.id, row.version)
    incidents.add_note(app_db, officer, row.id, "已通知消防")
    step = checklists.items_for(app_db, row.id)[0]
    assert checklists.tick(app_db, officer, step.id, step.version).done_at is not None
    with pg_db.write() as s:  # bring every pending deadline forward (as the superuser)
        s.execute(text("UPDATE timer SET due_at = now() - interval '1 minute' WHERE fired_at IS NULL"))
    assert timers.fire_due(app_db, "ws-1")  # the claim (SELECT … FOR UPDATE SKIP LOCKED) works too
    users.disable_user(app_db, admin, "wang")
    assert audit.verify(app_db).ok


def test_history_cannot_be_changed_through_the_restricted_role(app_db: Database) -> None:
    users.authenticate(app_db, "root", "pw", "ws-1")
    for statement in ("UPDATE audit_log SET username = 'mallory'",
                      "DELETE FROM audit_log",
                      "UPDATE incident_event SET note = 'rewritten'",
                      "DELETE FROM incident_event",
                      "TRUNCATE audit_log",
                      "TRUNCATE change_log",
                      "DELETE FROM app_user",
                      "UPDATE alembic_version SET version_num = 'x'"):
        assert "permission denied" in _refused(app_db, statement), statement
    assert audit.verify(app_db).ok


def test_the_trigger_stops_even_a_role_that_was_granted_too_much(
        pg_db: Database, app_db: Database, role_name: str) -> None:
    with psycopg.connect(_admin_uri(pg_db), autocommit=True) as conn:
        conn.execute(f'GRANT UPDATE, DELETE, TRUNCATE ON audit_log, incident_event TO "{role_name}"')
    for statement in ("UPDATE audit_log SET username = 'mallory'", "DELETE FROM incident_event",
                      "TRUNCATE audit_log"):
        assert "append-only" in _refused(app_db, statement), statement
    with pg_db.write() as s:  # a superuser (the database owner's maintenance) still can
        s.execute(text("UPDATE audit_log SET station = station WHERE id = 1"))


def test_grant_is_repeatable_and_needs_an_administrator_and_a_superuser(
        pg_db: Database, app_db: Database, role_name: str) -> None:
    admin = users.authenticate(pg_db, "root", "pw", "server")
    grant_app_role(pg_db, admin, role_name, None)  # again, keeping the password
    with pytest.raises(PermissionDenied):
        leader = Actor(user_id=None, username="lead", role="shift_leader", station="ws")
        grant_app_role(pg_db, leader, role_name)
    with pytest.raises(PermissionDenied, match="superuser"):
        grant_app_role(app_db, users.authenticate(app_db, "root", "pw", "ws"), role_name)
    with pytest.raises(ValidationError):
        grant_app_role(pg_db, admin, 'x"; DROP TABLE audit_log; --')


def test_cli_grant(pg_db: Database, role_name: str, system: Actor, monkeypatch: Any,
                   capsys: pytest.CaptureFixture[str]) -> None:
    with pg_db.write() as s:
        users.create_user(s, system, username="root", password="pw", role="admin")
    monkeypatch.setattr("sys.stdin", io.StringIO("role-pass\n"))
    url = pg_db.url.render_as_string(hide_password=False)
    code = cli_main(["--db", url, "--user", "root", "--password", "pw", "db", "grant", "--role", role_name,
                     "--password-stdin"])
    assert code == 0, capsys.readouterr().err
    assert role_name in capsys.readouterr().out
    with psycopg.connect(_admin_uri(pg_db)) as conn:
        assert conn.execute("SELECT rolcanlogin, rolsuper FROM pg_roles WHERE rolname = %s",
                            (role_name,)).fetchone() == (True, False)


def test_cli_grant_on_sqlite_says_why(sqlite_db: Database, system: Actor,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    with sqlite_db.write() as s:
        users.create_user(s, system, username="root", password="pw", role="admin")
    url = sqlite_db.url.render_as_string(hide_password=False)
    assert cli_main(["--db", url, "--user", "root", "--password", "pw", "db", "grant"]) == 1
    assert "PostgreSQL only" in capsys.readouterr().err
