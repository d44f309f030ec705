"""Accounts: creation, the first administrator, disable/enable, reset, roles, lock-out, the CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from db.engine import Database
from db.models import AuditLog, User
from dispatch_console.kernel.errors import AuthenticationFailed, NotFound, PermissionDenied, ValidationError
from dispatch_console.users import accounts as users
from station.launcher import main as cli_main


def _url(db: Database) -> str:
    return db.url.render_as_string(hide_password=False)


def _cli(db: Database, *args: str, stdin: str | None = None, monkeypatch: Any = None) -> int:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli_main(["--db", _url(db), "--station", "ws-cli", *args])


def test_first_administrator_is_created_without_sign_in_and_only_once(db: Database) -> None:
    actor = users.create_first_admin(db, "ws-1", username="chen", password="s3cret", display_name="陈")
    assert actor.role == "admin" and actor.station == "ws-1"
    assert users.authenticate(db, "chen", "s3cret", "ws-1").username == "chen"
    with pytest.raises(ValidationError):
        users.create_first_admin(db, "ws-2", username="intruder", password="s3cret")
    assert [u.username for u in users.list_users(db)] == ["chen"]


def test_disable_enable_and_the_disabled_account_cannot_sign_in(db: Database, make_actor: Any) -> None:
    admin = make_actor("admin", "root")
    make_actor("duty_officer", "wang")
    row = users.disable_user(db, admin, "wang")
    assert row.disabled
    with pytest.raises(AuthenticationFailed, match="disabled"):
        users.authenticate(db, "wang", "pw", "ws-1")
    users.enable_user(db, admin, "wang")
    assert users.authenticate(db, "wang", "pw", "ws-1").username == "wang"
    with pytest.raises(NotFound):
        users.disable_user(db, admin, "nobody")


def test_the_last_active_administrator_cannot_be_disabled_or_demoted(db: Database, make_actor: Any) -> None:
    admin = make_actor("admin", "root")
    with pytest.raises(ValidationError, match="last active administrator"):
        users.disable_user(db, admin, "root")
    with pytest.raises(ValidationError, match="last active administrator"):
        users.change_role(db, admin, "root", "duty_officer")
    make_actor("admin", "second")
    assert users.change_role(db, admin, "root", "shift_leader").role == "shift_leader"


def test_reset_password_lifts_the_lockout_and_audits_without_the_hash(db: Database, make_actor: Any) -> None:
    admin = make_actor("admin", "root")
    make_actor("duty_officer", "li")
    for _attempt in range(users.MAX_FAILED_ATTEMPTS):
        with pytest.raises(AuthenticationFailed):
            users.authenticate(db, "li", "wrong", "ws-1")
    with pytest.raises(AuthenticationFailed, match="locked"):
        users.authenticate(db, "li", "pw", "ws-1")
    users.reset_password(db, admin, "li", "new-pass")
    assert users.authenticate(db, "li", "new-pass", "ws-1").username == "li"
    with db.read() as s:
        rows = [(r.action, r.before, r.after) for r in
                s.execute(select(AuditLog).where(AuditLog.action.like("user.%"))).scalars()]
        hashes = {u.password_hash for u in s.execute(select(User)).scalars()}
    reset = [(before, after) for action, before, after in rows if action == "user.reset_password"]
    assert len(reset) == 1 and reset[0][0]["locked_until"] is not None
    assert reset[0][1]["locked_until"] is None and "password_hash" not in reset[0][1]
    dumped = json.dumps([[before, after] for _a, before, after in rows])
    assert not any(h in dumped for h in hashes)
    assert {"user.login_failed", "user.lockout", "user.login"} <= {action for action, _b, _a in rows}


def test_change_own_password_needs_the_current_one(db: Database, make_actor: Any) -> None:
    officer = make_actor("duty_officer", "zhao")
    with pytest.raises(AuthenticationFailed):
        users.change_own_password(db, officer, "wrong", "another")
    users.change_own_password(db, officer, "pw", "another")
    assert users.authenticate(db, "zhao", "another", "ws-1").username == "zhao"


@pytest.mark.parametrize("password", ["abc", "x" * 2000, "pass\x00word"])
def test_unusable_passwords_are_refused(db: Database, make_actor: Any, password: str) -> None:
    admin = make_actor("admin", "root")
    with pytest.raises(ValidationError) as err:
        users.add_user(db, admin, username="sun", password=password, role="duty_officer")
    assert err.value.field == "password"
    with pytest.raises(ValidationError):
        users.reset_password(db, admin, "root", password)


def test_cli_first_start_then_admin_manages_accounts(db: Database, monkeypatch: Any,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(db, "users", "add", "boss", "--role", "duty_officer", "--password-stdin",
                stdin="pw12\n", monkeypatch=monkeypatch) == 1
    assert "first one must be an administrator" in capsys.readouterr().err
    assert _cli(db, "users", "add", "boss", "--role", "admin", "--name", "主任", "--password-stdin",
                stdin="pw12\n", monkeypatch=monkeypatch) == 0
    # from now on an administrator must sign in
    assert _cli(db, "users", "add", "wu", "--role", "duty_officer", "--password-stdin",
                stdin="pw34\n", monkeypatch=monkeypatch) == 2
    signed = ["--user", "boss", "--password", "pw12"]
    assert _cli(db, *signed, "users", "add", "wu", "--role", "duty_officer", "--password-stdin",
                stdin="pw34\n", monkeypatch=monkeypatch) == 0
    assert _cli(db, *signed, "users", "disable", "wu") == 0
    capsys.readouterr()
    assert _cli(db, *signed, "users", "list", "--json") == 0
    listed = {u["username"]: u for u in json.loads(capsys.readouterr().out)}
    assert listed["boss"]["display_name"] == "主任" and listed["wu"]["disabled"] is True
    assert _cli(db, *signed, "users", "enable", "wu") == 0
    assert _cli(db, *signed, "users", "reset-password", "wu", "--password-stdin",
                stdin="fresh-pw\n", monkeypatch=monkeypatch) == 0
    assert _cli(db, *signed, "users", "set-role", "wu", "shift_leader") == 0
    assert users.authenticate(db, "wu", "fresh-pw", "ws-1").role == "shift_leader"


def test_an_integration_account_signs_in_with_its_issued_token(db: Database, make_actor: Any) -> None:
    admin = make_actor("admin", "root")
    users.add_user(db, admin, username="hotline", password="old-password", role="integration")
    make_actor("duty_officer", "wang")
    with pytest.raises(ValidationError, match="Only an integration account"):
        users.issue_token(db, admin, "wang")  # a person keeps a password
    with pytest.raises(PermissionDenied, match="may not manage"):
        users.issue_token(db, make_actor("duty_officer", "li"), "hotline")
    row, token = users.issue_token(db, admin, "hotline")
    assert token.startswith(users.TOKEN_PREFIX) and len(token) > 40 and row.signs_in_with_token
    assert users.authenticate(db, "hotline", token, "ws-12345").role == "integration"
    with pytest.raises(AuthenticationFailed, match="Wrong user name or password"):
        users.authenticate(db, "hotline", "old-password", "ws-12345")  # the token replaced it
    _row, second = users.issue_token(db, admin, "hotline")
    with pytest.raises(AuthenticationFailed):
        users.authenticate(db, "hotline", token, "ws-12345")  # a new token ends the old one
    assert users.authenticate(db, "hotline", second, "ws-12345").username == "hotline"
    with db.read() as s:
        stored = s.execute(select(User.password_hash).where(User.username == "hotline")).scalar_one()
        audited = json.dumps([[r.before, r.after] for r in s.execute(
            select(AuditLog).where(AuditLog.action == "user.issue_token")).scalars()])
    assert stored.startswith(users.TOKEN_SCHEME) and second not in stored
    assert audited != "[]" and stored not in audited and second not in audited
    # failures with a token count like a password's: five lock the account
    for _attempt in range(users.MAX_FAILED_ATTEMPTS):
        with pytest.raises(AuthenticationFailed):
            users.authenticate(db, "hotline", users.TOKEN_PREFIX + "guess", "ws-12345")
    with pytest.raises(AuthenticationFailed, match="locked"):
        users.authenticate(db, "hotline", second, "ws-12345")
    users.enable_user(db, admin, "hotline")
    # an account moved to another role no longer signs in with its token
    users.change_role(db, admin, "hotline", "duty_officer")
    with pytest.raises(AuthenticationFailed, match="Wrong user name or password"):
        users.authenticate(db, "hotline", second, "ws-1")


def test_cli_issues_a_token_that_intake_signs_in_with(db: Database, make_actor: Any, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    make_actor("admin", "root")
    make_actor("integration", "hotline")
    signed = ["--user", "root", "--password", "pw"]
    capsys.readouterr()
    assert _cli(db, *signed, "users", "issue-token", "hotline") == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert token.startswith(users.TOKEN_PREFIX) and "\n" not in token and "only now" in err
    line = json.dumps({"category": "dispute", "severity": 3, "source": "hotline_12345",
                       "description": "楼上漏水", "external_id": "token-1"}, ensure_ascii=False)
    (tmp_path / "reports.jsonl").write_text(line + "\n", encoding="utf-8")
    assert _cli(db, "--user", "hotline", "--password", token, "intake", str(tmp_path / "reports.jsonl"),
                "--json") == 0
    assert '"status": "stored"' in capsys.readouterr().out
    assert _cli(db, *signed, "users", "list", "--json") == 0
    listed = {u["username"]: u for u in json.loads(capsys.readouterr().out)}
    assert listed["hotline"]["signs_in_with"] == "token" and listed["root"]["signs_in_with"] == "password"
    assert _cli(db, *signed, "users", "issue-token", "root") == 1
    assert "Only an integration account" in capsys.readouterr().err


def test_cli_refuses_a_non_administrator(db: Database, make_actor: Any,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    make_actor("admin", "root")
    make_actor("duty_officer", "officer")
    code = _cli(db, "--user", "officer", "--password", "pw", "users", "list")
    assert code == 1
    assert "may not manage users" in capsys.readouterr().err
    assert _cli(db, "--user", "officer", "--password", "pw", "users", "disable", "root") == 1
    assert not any(u.disabled for u in users.list_users(db))


def test_cli_without_a_terminal_asks_for_password_stdin(db: Database, monkeypatch: Any,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(db, "users", "add", "boss", "--role", "admin", stdin="", monkeypatch=monkeypatch) == 2
    assert "--password-stdin" in capsys.readouterr().err
    assert users.count_users(db) == 0
