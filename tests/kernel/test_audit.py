"""The audit log's hash chain: every edit, deletion and reordering made directly in SQL is found."""

from __future__ import annotations

import json
import os
import stat
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from db.engine import Database, db_now
from db.models import AuditCheckpoint, AuditLog
from dispatch_console.kernel import audit
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changes import GENESIS_HASH, audit_hash, record
from dispatch_console.kernel.errors import PermissionDenied, ValidationError
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


# ---------------------------------------------------------------------------------------------
# Signed checkpoints: the chain proves itself against a key the database never holds.


@pytest.fixture
def key(tmp_path: Path) -> audit.CheckpointKey:
    return audit.create_key(tmp_path / "agent" / "audit-checkpoint.key")


def _record(db: Database, actor: Actor, note: str, at: datetime | None = None) -> None:
    with db.write() as s:
        record(s, actor, entity="incident", entity_id=None, op="note", after={"note": note}, at=at)


def _recompute_from(db: Database, first_id: int) -> None:
    """What a forger with write access does after an edit: rewrite every later hash."""
    with db.write() as s:
        prev = s.execute(select(AuditLog.hash).where(AuditLog.id == first_id - 1)).scalar() or GENESIS_HASH
        for row in s.execute(select(AuditLog).where(AuditLog.id >= first_id).order_by(AuditLog.id)).scalars():
            data = {c: getattr(row, c) for c in ("id", "at", "user_id", "username", "station", "action",
                                                 "entity", "entity_id", "before", "after")}
            row.prev_hash = prev
            row.hash = prev = audit_hash(prev, data)


def test_the_key_is_private_and_never_replaced(key: audit.CheckpointKey) -> None:
    assert stat.S_IMODE(os.stat(key.path).st_mode) == 0o600
    with pytest.raises(ValidationError):
        audit.create_key(key.path)
    assert audit.load_key(key.path) == key and len(key.key_id) == 16


def test_checkpoints_agree_with_an_untouched_chain(chain: Database, key: audit.CheckpointKey,
                                                   make_actor: Any) -> None:
    first = audit.make_checkpoint(chain, key, "agent")
    assert (first.id, first.audit_rows, first.audit_head_id, first.change_rows) == (1, 8, 8, 8)
    assert audit.checkpoint_if_due(chain, key, "agent") is None  # just made: not due
    _record(chain, make_actor("duty_officer"), "later")
    second = audit.make_checkpoint(chain, key, "agent")
    assert second.prev_signature == first.signature
    result = audit.verify(chain, key)
    assert result.ok and result.checkpoints_checked == 2 and result.signatures_checked
    assert "2 signed checkpoints agree" in result.describe()


def test_an_edit_is_named_with_the_checkpoint_before_it(chain: Database, key: audit.CheckpointKey) -> None:
    audit.make_checkpoint(chain, key, "agent")
    _sql(chain, "UPDATE audit_log SET username = 'mallory' WHERE id = 5")
    result = audit.verify(chain, key)
    assert (result.ok, result.first_bad_id, result.kind) == (False, 5, "edited")
    assert "since the log began" in result.describe()


def test_a_deletion_in_the_middle_is_found(chain: Database, key: audit.CheckpointKey) -> None:
    audit.make_checkpoint(chain, key, "agent")
    _sql(chain, "DELETE FROM audit_log WHERE id = 4", "DELETE FROM change_log WHERE seq = 4")
    result = audit.verify(chain, key)
    assert (result.first_bad_id, result.kind) == (5, "deleted")


def test_the_tail_deleted_from_both_logs_together_contradicts_the_checkpoint(
        chain: Database, key: audit.CheckpointKey, capsys: pytest.CaptureFixture[str]) -> None:
    audit.make_checkpoint(chain, key, "agent")
    _sql(chain, "DELETE FROM audit_log WHERE id > 3", "DELETE FROM change_log WHERE seq > 3")
    result = audit.verify(chain, key)
    assert (result.ok, result.kind, result.checkpoint_id) == (False, "deleted", 1)
    assert "checkpoint 1" in result.describe() and "row 8" in result.describe()


def test_a_reorder_is_found(chain: Database, key: audit.CheckpointKey) -> None:
    audit.make_checkpoint(chain, key, "agent")
    _sql(chain,
         "UPDATE audit_log SET id = 1000 WHERE id = 6",
         "UPDATE audit_log SET id = 6 WHERE id = 7",
         "UPDATE audit_log SET id = 7 WHERE id = 1000")
    result = audit.verify(chain, key)
    assert (result.first_bad_id, result.kind) == (6, "reordered")


def test_a_forged_append_with_record_is_found(chain: Database, key: audit.CheckpointKey,
                                              make_actor: Any) -> None:
    checkpoint = audit.make_checkpoint(chain, key, "agent")
    # the forger plants an event "two days ago" through the project's own write path
    _record(chain, make_actor("duty_officer", "mallory"), "planted", at=checkpoint.at - timedelta(days=2))
    result = audit.verify(chain, key)
    assert (result.ok, result.kind, result.checkpoint_id) == (False, "forged", 1)
    assert result.first_bad_id == 10  # row 9 is the account made for the forger, 10 the planted row
    assert "forged" in result.describe()


def test_a_replaced_tail_made_with_record_is_found(chain: Database, key: audit.CheckpointKey,
                                                   make_actor: Any) -> None:
    audit.make_checkpoint(chain, key, "agent")
    officer = make_actor("duty_officer", "mallory")  # rows 9
    _sql(chain, "DELETE FROM audit_log WHERE id >= 7", "DELETE FROM change_log WHERE seq >= 7")
    for note in ("a", "b", "c"):  # re-appended through changes.record: a valid chain, counts as before
        _record(chain, officer, note)
    result = audit.verify(chain, key)
    assert (result.ok, result.kind, result.checkpoint_id, result.first_bad_id) == (False, "recomputed", 1, 8)


def test_a_recomputed_chain_is_found_and_dated_by_its_checkpoints(
        chain: Database, key: audit.CheckpointKey, make_actor: Any) -> None:
    audit.make_checkpoint(chain, key, "agent")  # 1: rows 1–8
    officer = make_actor("duty_officer", "sun")
    for note in ("a", "b"):
        _record(chain, officer, note)
    audit.make_checkpoint(chain, key, "agent")  # 2: rows 1–11
    _sql(chain, "UPDATE audit_log SET after = NULL WHERE id = 10")
    _recompute_from(chain, 10)
    result = audit.verify(chain, key)
    assert (result.ok, result.kind, result.checkpoint_id, result.since_checkpoint_id) == (False, "recomputed", 2, 1)
    assert "since checkpoint 1" in result.describe()
    _sql(chain, "UPDATE audit_log SET station = 'x' WHERE id = 2")  # before the first checkpoint too
    _recompute_from(chain, 2)
    result = audit.verify(chain, key)
    assert (result.kind, result.checkpoint_id, result.since_checkpoint_id) == ("recomputed", 1, None)


def test_a_checkpoint_forged_without_the_key_is_found(chain: Database, key: audit.CheckpointKey,
                                                      tmp_path: Path) -> None:
    audit.make_checkpoint(chain, key, "agent")
    _sql(chain, "UPDATE audit_log SET station = 'x' WHERE id = 2")
    _recompute_from(chain, 2)
    audit.make_checkpoint(chain, audit.create_key(tmp_path / "forger.key"), "ws-3")  # the forger's own key
    assert not audit.verify(chain).ok  # without the key the old checkpoint still contradicts the chain
    result = audit.verify(chain, key)
    assert (result.ok, result.kind, result.checkpoint_id) == (False, "forged", 2)
    _sql(chain, "DELETE FROM audit_checkpoint WHERE id = 1")
    assert (audit.verify(chain, key).kind, audit.verify(chain, key).checkpoint_id) == ("deleted", 2)


def test_pruning_keeps_180_days_is_audited_and_still_verifies(db: Database, key: audit.CheckpointKey,
                                                             make_actor: Any) -> None:
    with db.read() as s:
        now = db_now(s)
    long_gone = Actor(user_id=None, username="gone", role="admin", station="ws-1")
    for n in range(3):
        _record(db, long_gone, f"old {n}", at=now - timedelta(days=200 - n))
    admin = make_actor("admin", "root")
    audit.make_checkpoint(db, key, "agent")
    with pytest.raises(ValidationError, match="180 days"):
        audit.prune(db, admin, 30)
    with pytest.raises(PermissionDenied):
        audit.prune(db, make_actor("shift_leader"), 365)
    pruned = audit.prune(db, admin, 180)
    assert (pruned.audit_rows, pruned.change_rows) == (3, 3)
    with db.read() as s:
        last = s.execute(select(AuditLog).order_by(AuditLog.id.desc()).limit(1)).scalar_one()
        assert last.action == "audit.prune" and last.after["audit_rows"] == 3
    result = audit.verify(db, key)
    assert result.ok, result.describe()
    _sql(db, f"DELETE FROM audit_log WHERE id = {pruned.first_kept_id}")  # and a deletion after it is found
    assert audit.verify(db, key).kind == "deleted"


def test_the_agent_makes_checkpoints_only_on_the_machine_with_the_key(
        chain: Database, key: audit.CheckpointKey, monkeypatch: pytest.MonkeyPatch) -> None:
    from dispatch_console.timers import upkeep

    jobs: dict[str, Any] = {}

    class Engine:
        db = chain
        station = "agent"

        def add_job(self, func: Any, trigger: str, *, job_id: str, **kwargs: Any) -> None:
            jobs[job_id] = func

    monkeypatch.setenv("DISPATCH_AUDIT_KEY_FILE", str(key.path.parent / "absent.key"))
    upkeep._attach_checkpoints(Engine())  # type: ignore[arg-type]
    assert "upkeep-audit-checkpoint" not in jobs
    monkeypatch.setenv("DISPATCH_AUDIT_KEY_FILE", str(key.path))
    upkeep._attach_checkpoints(Engine())  # type: ignore[arg-type]
    jobs["upkeep-audit-checkpoint"]()
    jobs["upkeep-audit-checkpoint"]()  # nothing appended since: no second checkpoint
    with chain.read() as s:
        assert s.execute(select(func.count(AuditCheckpoint.id))).scalar_one() == 1
    assert audit.verify(chain, key).ok


def test_cli_checkpoint_and_verify_with_the_key(chain: Database, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    url = chain.url.render_as_string(hide_password=False)
    signed_in = ["--db", url, "--user", "root", "--password", "pw"]
    key_file = str(tmp_path / "k" / "audit-checkpoint.key")
    assert cli_main([*signed_in, "audit", "checkpoint", "--key-file", key_file]) == 1
    assert "--init-key" in capsys.readouterr().err
    assert cli_main([*signed_in, "audit", "checkpoint", "--init-key", "--key-file", key_file]) == 0
    assert "Checkpoint 1: audit row 10" in capsys.readouterr().out  # 9, 10: the two sign-ins
    assert cli_main(["--db", url, "--user", "wang", "--password", "pw", "audit", "checkpoint",
                     "--key-file", key_file]) == 1
    assert "may not verify the audit log" in capsys.readouterr().err
    assert cli_main([*signed_in, "audit", "verify", "--key-file", key_file]) == 0
    assert "1 signed checkpoints agree" in capsys.readouterr().out
    _sql(chain, "DELETE FROM audit_log WHERE id >= 7", "DELETE FROM change_log WHERE seq >= 7")
    assert cli_main([*signed_in, "audit", "verify", "--key-file", key_file, "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert (out["kind"], out["checkpoint_id"], out["signatures_checked"]) == ("deleted", 1, True)


def test_showing_a_reporter_phone_in_full_is_audited(db: Database, make_actor: Any) -> None:
    from dispatch_console.incidents import service as incidents
    from dispatch_console.incidents.draft import IncidentDraft

    officer = make_actor("duty_officer")
    draft = IncidentDraft(category="dispute", severity=3, source="hotline_12345", description="漏水",
                          reporter_phone="13800138000")
    row = incidents.create_incident(db, officer, draft).row
    assert audit.mask_phone("13800138000") == "138****8000" and audit.mask_phone("110") == "***"
    assert audit.reveal(db, officer, row.id) == "13800138000"
    with db.read() as s:
        seen = s.execute(select(AuditLog).where(AuditLog.action == "privacy.reveal")).scalar_one()
    assert (seen.username, seen.entity_id, seen.after) == (officer.username, row.id, {"field": "reporter_phone"})
    with pytest.raises(PermissionDenied):
        audit.reveal(db, make_actor("integration"), row.id)
    with pytest.raises(ValidationError):
        audit.reveal(db, officer, row.id, "password_hash")
    assert audit.verify(db).ok
