"""The audit log's hash chain: every edit, deletion and reordering made directly in SQL is found."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from db.engine import Database
from dispatch_console.kernel import audit
from dispatch_console.kernel.errors import PermissionDenied
from dispatch_console.users import accounts as users
from station.launcher import main as cli_main


@pytest.fixture
def chain(db: Database, make_actor: Any) -> Database:
    """Eight audit rows: users created, a failed and a good sign-in, a disabled account."""
    admin = make_actor("admin", "root")
    for name in ("wang", "li", "zhao"):
        make_actor("duty_officer", name)
    with pytest.raises(Exception):  # noqa: B017  a failed sign-in is audited too
        users.authenticate(db, "wang", "wrong", "ws-2")
    users.authenticate(db, "wang", "pw", "ws-2")
    users.disable_user(db, admin, "zhao")
    users.enable_user(db, admin, "zhao")
    return db


def _sql(db: Database, *statements: str) -> None:
    with db.write() as s:
        for statement in statements:
            s.execute(text(statement))


def test_an_untouched_chain_verifies(chain: Database) -> None:
    result = audit.verify(chain)
    assert result.ok and result.first_bad_id is None and result.rows_checked == 8


def test_an_empty_log_verifies(db: Database) -> None:
    assert audit.verify(db).ok


def test_an_edited_column_is_found(chain: Database) -> None:
    _sql(chain, "UPDATE audit_log SET username = 'mallory' WHERE id = 5")
    result = audit.verify(chain)
    assert (result.ok, result.first_bad_id, result.kind, result.rows_checked) == (False, 5, "edited", 4)
    assert "5" in result.describe()


def test_an_edited_json_payload_is_found(chain: Database) -> None:
    after = "'{\"username\": \"li\", \"role\": \"admin\", \"display_name\": \"li\", \"is_demo\": false}'"
    _sql(chain, f"UPDATE audit_log SET after = {after} WHERE id = 3")
    result = audit.verify(chain)
    assert (result.first_bad_id, result.kind) == (3, "edited")


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(chain: Database) -> None:
    from dispatch_console.kernel.changes import audit_hash

    _sql(chain, "UPDATE audit_log SET station = 'elsewhere' WHERE id = 4")
    with chain.read() as s:
        row = s.execute(text("SELECT * FROM audit_log WHERE id = 4")).mappings().one()
        from db.models import AuditLog

        orm = s.get(AuditLog, 4)
        assert orm is not None
        data = {c: getattr(orm, c) for c in ("id", "at", "user_id", "username", "station", "action",
                                             "entity", "entity_id", "before", "after")}
        forged = audit_hash(row["prev_hash"], data)
    _sql(chain, f"UPDATE audit_log SET hash = '{forged}' WHERE id = 4")
    result = audit.verify(chain)
    assert (result.first_bad_id, result.kind) == (5, "reordered")


def test_a_deleted_row_is_found(chain: Database) -> None:
    _sql(chain, "DELETE FROM audit_log WHERE id = 3")
    result = audit.verify(chain)
    assert (result.first_bad_id, result.kind, result.rows_checked) == (4, "deleted", 2)
    assert "3" in (result.problem or "")


def test_a_deleted_first_row_is_found(chain: Database) -> None:
    _sql(chain, "DELETE FROM audit_log WHERE id = 1")
    result = audit.verify(chain)
    assert (result.first_bad_id, result.kind) == (2, "deleted")


def test_deleted_last_rows_are_found_against_the_change_log(chain: Database) -> None:
    _sql(chain, "DELETE FROM audit_log WHERE id >= 7")
    result = audit.verify(chain)
    assert (result.ok, result.first_bad_id, result.kind) == (False, 7, "deleted")


def test_swapped_rows_are_found(chain: Database) -> None:
    _sql(chain,
         "UPDATE audit_log SET id = 1000 WHERE id = 3",
         "UPDATE audit_log SET id = 3 WHERE id = 4",
         "UPDATE audit_log SET id = 4 WHERE id = 1000")
    result = audit.verify(chain)
    assert (result.first_bad_id, result.kind) == (3, "reordered")


def test_a_moved_row_is_found(chain: Database) -> None:
    _sql(chain, "UPDATE audit_log SET id = 9 WHERE id = 8", "UPDATE audit_log SET id = 8 WHERE id = 2",
         "UPDATE audit_log SET id = 2 WHERE id = 9")
    result = audit.verify(chain)
    assert (result.first_bad_id, result.kind) == (2, "reordered")


def test_only_an_administrator_may_verify(chain: Database, make_actor: Any) -> None:
    assert audit.verify_as(chain, make_actor("admin")).ok
    for role in ("observer", "duty_officer", "shift_leader", "director", "drill_director", "integration"):
        with pytest.raises(PermissionDenied):
            audit.verify_as(chain, make_actor(role))


def test_cli_verify_exits_0_then_1_naming_the_row(chain: Database,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    url = chain.url.render_as_string(hide_password=False)
    args = ["--db", url, "--user", "root", "--password", "pw", "audit", "verify"]
    assert cli_main(args) == 0
    assert "intact" in capsys.readouterr().out
    _sql(chain, "UPDATE audit_log SET action = 'user.create' WHERE id = 6")
    assert cli_main(args) == 1
    assert "row 6" in capsys.readouterr().err
    assert cli_main([*args, "--json"]) == 1
    assert '"first_bad_id": 6' in capsys.readouterr().out
    assert cli_main(["--db", url, "--user", "wang", "--password", "pw", "audit", "verify"]) == 1
    assert "may not verify the audit log" in capsys.readouterr().err
