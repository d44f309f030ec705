"""The restricted PostgreSQL role: the app works through it, but history cannot be rewritten."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from db.engine import Database
from db.migrate import alembic_config
from db.models import Unit
from dispatch_console.checklists import service as checklists
from dispatch_console.cli.security import grant_app_role
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.kernel import audit
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.errors import PermissionDenied, ValidationError
from dispatch_console.timers import engine as timers
from dispatch_console.users import accounts as users
from station.launcher import main as cli_main


def _admin_uri(db: Database) -> str:
    return db.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _drop_role(conn: psycopg.Connection[Any], name: str) -> None:
    if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
        conn.execute(f'REASSIGN OWNED BY "{name}" TO postgres')
        conn.execute(f'DROP OWNED BY "{name}"')
        conn.execute(f'DROP ROLE "{name}"')


@pytest.fixture
def role_name(pg_db: Database) -> Iterator[str]:
    """A role unique to this run, dropped (with everything it owns or was granted) afterwards,
    and its administration role with it."""
    name = f"dc_app_{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg.connect(_admin_uri(pg_db), autocommit=True) as conn:
        for role in (name, f"{name}_admin"):
            _drop_role(conn, role)


@pytest.fixture
def app_db(pg_db: Database, role_name: str, system: Actor) -> Iterator[Database]:
    """The same database, reached as the restricted workstation role."""
    with pg_db.write() as s:
        users.create_user(s, system, username="root", password="pw", role="admin")
        users.create_user(s, system, username="wang", password="pass1", role="duty_officer")
        s.add(Unit(code="pcs-ty", name="桃源派出所", kind="police_station", status="available", version=1))
    admin = users.authenticate(pg_db, "root", "pw", "server")
    grant_app_role(pg_db, admin, role_name, "app-secret", admin_password="admin-secret")
    app = Database(pg_db.url.set(username=role_name, password="app-secret"))
    try:
        yield app
    finally:
        app.dispose()


@pytest.fixture
def accounts_db(pg_db: Database, app_db: Database, role_name: str) -> Iterator[Database]:
    """The same database, reached as the account administration role."""
    admin = Database(pg_db.url.set(username=f"{role_name}_admin", password="admin-secret"))
    try:
        yield admin
    finally:
        admin.dispose()


def _refused(db: Database, statement: str) -> str:
    with pytest.raises(DBAPIError) as err, db.write() as s:
        s.execute(text(statement))
    return str(err.value.orig)


def _work_a_shift(app_db: Database, pg_db: Database) -> None:
    """What a duty officer does in a shift, all through the workstation role."""
    officer = users.authenticate(app_db, "wang", "pass1", "ws-1")  # sign-in bookkeeping on app_user
    with app_db.read() as s:
        unit = s.execute(text("SELECT id FROM unit WHERE code = 'pcs-ty'")).scalar_one()
    draft = IncidentDraft(category="fire", severity=2, source="hotline_12345", description="仓库冒烟",
                          reporter_phone="13800138000")
    row = incidents.create_incident(app_db, officer, draft).row  # record
    row = incidents.acknowledge(app_db, officer, row.id, row.version)
    row = incidents.assign(app_db, officer, row.id, row.version, unit_ids=[unit])  # dispatch
    incidents.add_note(app_db, officer, row.id, "已通知消防")
    for step in checklists.items_for(app_db, row.id):
        if step.done_at is None:
            assert checklists.tick(app_db, officer, step.id, step.version).done_at is not None
    with pg_db.write() as s:  # bring every pending deadline forward (as the superuser)
        s.execute(text("UPDATE timer SET due_at = now() - interval '1 minute' WHERE fired_at IS NULL"))
    assert timers.fire_due(app_db, "ws-1")  # the claim (SELECT … FOR UPDATE SKIP LOCKED) works too
    row = incidents.mark_on_scene(app_db, officer, row.id, row.version)
    row = incidents.resolve(app_db, officer, row.id, row.version, note="已处置")
    row = incidents.close(app_db, officer, row.id, row.version)
    assert row.status == "closed"
    users.change_own_password(app_db, officer, "pass1", "pass2")  # through the SECURITY DEFINER function
    assert users.authenticate(app_db, "wang", "pass2", "ws-1").username == "wang"


def test_the_app_works_through_the_restricted_role(pg_db: Database, app_db: Database) -> None:
    with app_db.read() as s:
        assert s.execute(text("SELECT current_user")).scalar_one().startswith("dc_app_")
    _work_a_shift(app_db, pg_db)
    assert audit.verify(app_db).ok


def test_account_administration_runs_under_the_administration_role(
        app_db: Database, accounts_db: Database) -> None:
    admin = users.authenticate(accounts_db, "root", "pw", "server")
    users.add_user(accounts_db, admin, username="li", password="pass1", role="duty_officer")
    users.change_role(accounts_db, admin, "li", "shift_leader")
    users.reset_password(accounts_db, admin, "li", "newpass")
    users.disable_user(accounts_db, admin, "li")
    # the same administrator at a workstation: PostgreSQL refuses, whatever the application allows
    at_workstation = users.authenticate(app_db, "root", "pw", "ws-1")
    for attempt in (lambda: users.add_user(app_db, at_workstation, username="zhao", password="pass1",
                                           role="duty_officer"),
                    lambda: users.change_role(app_db, at_workstation, "wang", "admin"),
                    lambda: users.reset_password(app_db, at_workstation, "wang", "taken"),
                    lambda: users.enable_user(app_db, at_workstation, "li")):
        with pytest.raises(DBAPIError, match="permission denied"):
            attempt()
    with app_db.read() as s:
        assert s.execute(text("SELECT role, disabled FROM app_user WHERE username = 'li'")).one() == (
            "shift_leader", True)
        assert not s.execute(text("SELECT 1 FROM app_user WHERE username = 'zhao'")).first()
    assert audit.verify(app_db).ok


FORBIDDEN_TO_THE_WORKSTATION = (
    # accounts: promote oneself, take another's password, add or remove an account
    "UPDATE app_user SET role = 'admin' WHERE username = 'wang'",
    "UPDATE app_user SET password_hash = 'x' WHERE username = 'root'",
    "UPDATE app_user SET disabled = false, username = 'root2' WHERE username = 'root'",
    "UPDATE app_user SET is_demo = true",
    "INSERT INTO app_user (username, display_name, role, password_hash, is_demo, disabled, "
    "failed_attempts, version) VALUES ('mallory', 'm', 'admin', 'x', false, false, 0, 1)",
    "DELETE FROM app_user",
    # the audit chain and the change feed
    "UPDATE audit_log SET username = 'mallory'",
    "DELETE FROM audit_log",
    "DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)",
    "TRUNCATE audit_log",
    "UPDATE change_log SET op = 'x'",
    "DELETE FROM change_log",
    "TRUNCATE change_log",
    "UPDATE audit_checkpoint SET signature = 'x'",
    "DELETE FROM audit_checkpoint",
    # the timeline, and incidents changed or removed without an audit row
    "UPDATE incident_event SET note = 'rewritten'",
    "DELETE FROM incident_event",
    "UPDATE incident SET severity = 4",
    "DELETE FROM incident",
    "INSERT INTO incident_event (incident_id, at, kind, username, note) "
    "SELECT id, now(), 'note', 'mallory', 'planted' FROM incident",
    # the schema's own bookkeeping and the database's settings
    "UPDATE alembic_version SET version_num = 'x'",
    "INSERT INTO site_setting (key, value) VALUES ('database_kind', 'demo')",
    "SELECT * FROM dispatch_audit_xact",
    "INSERT INTO dispatch_audit_xact VALUES (pg_current_xact_id())",
    "CREATE TABLE planted (x int)",
)


def test_every_forbidden_statement_is_refused_by_postgresql(pg_db: Database, app_db: Database) -> None:
    _work_a_shift(app_db, pg_db)
    with pg_db.read() as s:
        before = s.execute(text("SELECT (SELECT count(*) FROM audit_log), (SELECT count(*) FROM change_log), "
                                "(SELECT count(*) FROM incident_event), (SELECT string_agg(role || password_hash, "
                                "',' ORDER BY id) FROM app_user), (SELECT max(severity) FROM incident)")).one()
    for statement in FORBIDDEN_TO_THE_WORKSTATION:
        reason = _refused(app_db, statement)
        assert "permission denied" in reason or "not allowed" in reason, (statement, reason)
    with pg_db.read() as s:
        after = s.execute(text("SELECT (SELECT count(*) FROM audit_log), (SELECT count(*) FROM change_log), "
                               "(SELECT count(*) FROM incident_event), (SELECT string_agg(role || password_hash, "
                               "',' ORDER BY id) FROM app_user), (SELECT max(severity) FROM incident)")).one()
    assert after == before
    assert audit.verify(app_db).ok


def test_the_own_password_function_swaps_only_the_current_hash(pg_db: Database, app_db: Database) -> None:
    with app_db.read() as s:
        current = s.execute(text("SELECT password_hash FROM app_user WHERE username = 'root'")).scalar_one()
    new = users.hash_password("taken")
    with app_db.write() as s:  # a stale or guessed hash changes nothing
        assert s.execute(text("SELECT dispatch_set_own_password((SELECT id FROM app_user WHERE "
                              "username = 'root'), 'not-the-hash', :new)"), {"new": new}).scalar_one() is False
    assert "not a password hash" in _refused(
        app_db, f"SELECT dispatch_set_own_password(1, '{current}', 'plain text')")
    with app_db.read() as s:
        assert s.execute(text("SELECT password_hash FROM app_user WHERE username = 'root'")).scalar_one() == current


def test_the_trigger_stops_even_a_role_that_was_granted_too_much(
        pg_db: Database, app_db: Database, role_name: str) -> None:
    with psycopg.connect(_admin_uri(pg_db), autocommit=True) as conn:
        conn.execute(f'GRANT UPDATE, DELETE, TRUNCATE ON audit_log, change_log, incident_event, '
                     f'audit_checkpoint TO "{role_name}"')
    for statement in ("UPDATE audit_log SET username = 'mallory'", "DELETE FROM incident_event",
                      "TRUNCATE audit_log", "DELETE FROM change_log", "DELETE FROM audit_checkpoint"):
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


def test_the_agent_signs_checkpoints_through_the_workstation_role_but_cannot_forge_one(
        pg_db: Database, app_db: Database, tmp_path: Any) -> None:
    key = audit.create_key(tmp_path / "agent" / "audit-checkpoint.key")  # on the agent's machine only
    users.authenticate(app_db, "wang", "pass1", "ws-1")
    audit.make_checkpoint(app_db, key, "agent")
    assert audit.verify(app_db, key).ok
    with pg_db.write() as s:  # history rewritten by someone with the owner's rights …
        s.execute(text("UPDATE audit_log SET station = 'elsewhere' WHERE id = 1"))
    forger = audit.create_key(tmp_path / "forger.key")
    audit.make_checkpoint(app_db, forger, "ws-3")  # … and a workstation covering it with a checkpoint
    result = audit.verify(app_db, key)
    assert (result.ok, result.kind, result.checkpoint_id) == (False, "forged", 2)


def test_a_refusal_by_postgresql_is_one_line_on_the_command_line(
        pg_db: Database, app_db: Database, role_name: str, monkeypatch: Any,
        capsys: pytest.CaptureFixture[str]) -> None:
    url = app_db.url.render_as_string(hide_password=False)
    signed_in = ["--db", url, "--user", "root", "--password", "pw"]
    monkeypatch.setattr("sys.stdin", io.StringIO("pass1\n"))
    assert cli_main([*signed_in, "users", "add", "zhao", "--role", "admin", "--password-stdin"]) == 1
    err = capsys.readouterr().err
    assert "administration role" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert cli_main([*signed_in, "users", "set-role", "wang", "admin"]) == 1
    assert "permission denied" in capsys.readouterr().err


def test_db_upgrade_says_when_db_grant_must_run_again(pg_db: Database, app_db: Database, role_name: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    url = pg_db.url.render_as_string(hide_password=False)
    assert cli_main(["--db", url, "db", "upgrade"]) == 0  # nothing to apply: nothing to say
    assert "db grant" not in capsys.readouterr().out
    command.downgrade(alembic_config(pg_db), "0004")  # back to before 0006, as an older release left it
    assert cli_main(["--db", url, "db", "upgrade"]) == 0
    assert "run db grant again" in capsys.readouterr().out
    with pytest.raises(DBAPIError, match="permission denied"), app_db.read() as s:
        s.execute(text("SELECT count(*) FROM audit_checkpoint"))  # a new table: no rights yet
    admin = users.authenticate(pg_db, "root", "pw", "server")
    grant_app_role(pg_db, admin, role_name)  # re-run: the new tables get their rights
    _work_a_shift(app_db, pg_db)
    with app_db.read() as s:
        assert s.execute(text("SELECT count(*) FROM audit_checkpoint")).scalar_one() == 0
