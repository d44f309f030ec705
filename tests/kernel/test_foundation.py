"""The foundation: schema checks, the database clock, the audit chain, the command line frame."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from db.engine import Database, redact_url
from db.migrate import schema_status, upgrade
from db.models import AuditLog, ChangeLog
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changes import GENESIS_HASH, audit_hash, record
from station.launcher import main as cli_main


def test_schema_states_and_refusal(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    db = Database(db_url)
    try:
        assert schema_status(db).state == "empty"
        assert cli_main(["--db", db_url, "db", "status"]) == 1
        # a command that needs the schema refuses with what to run
        from dispatch_console.cli import CliContext, build_parser
        from station.composition import COMMANDS

        ctx = CliContext(build_parser(COMMANDS).parse_args(["--db", db_url, "db", "status"]))
        with pytest.raises(Exception, match="db upgrade"):
            ctx.database()
        assert cli_main(["--db", db_url, "db", "upgrade"]) == 0
        assert schema_status(db).ok
        # a schema written by a newer version is refused, not touched
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = 'ffff_future'"))
        st = schema_status(db)
        assert st.state == "unknown" and not st.ok
        with pytest.raises(Exception, match="newer"):
            CliContext(build_parser(COMMANDS).parse_args(["--db", db_url, "db", "status"])).database()
    finally:
        db.dispose()


def test_database_clock_is_aware_utc_and_close_to_now(db: Database) -> None:
    now = db.now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
    assert abs(now - datetime.now(UTC)) < timedelta(minutes=5)
    with db.read() as s:
        assert db.now(s) >= now


def test_record_writes_chained_audit_and_change_rows(db: Database) -> None:
    actor = Actor(user_id=None, username="officer-a", role="system", station="值班台1")
    with db.write() as s:
        record(s, actor, entity="incident", entity_id=7, op="create", after={"description": "漏水 <b>x</b>"})
    with db.write() as s:
        record(s, actor, entity="incident", entity_id=7, op="update", before={"status": "new"},
               after={"status": "acknowledged"})
    with db.read() as s:
        rows = s.execute(select(AuditLog).order_by(AuditLog.id)).scalars().all()
        changes = s.execute(select(ChangeLog).order_by(ChangeLog.seq)).scalars().all()
    assert [r.id for r in rows] == [1, 2]
    assert rows[0].prev_hash == GENESIS_HASH
    assert rows[1].prev_hash == rows[0].hash
    for prev, row in zip([GENESIS_HASH, rows[0].hash], rows, strict=True):
        values = {c: getattr(row, c) for c in
                  ("id", "at", "user_id", "username", "station", "action", "entity", "entity_id", "before", "after")}
        assert audit_hash(prev, values) == row.hash  # the chain survives the round trip on this backend
    assert rows[0].after == {"description": "漏水 <b>x</b>"}
    assert [c.op for c in changes] == ["create", "update"]
    assert changes[0].station == "值班台1"


def test_write_rolls_back_on_error(db: Database, system: Actor) -> None:
    with pytest.raises(RuntimeError), db.write() as s:
        record(s, system, entity="incident", entity_id=1, op="create")
        raise RuntimeError("boom")
    with db.read() as s:
        assert s.execute(select(ChangeLog)).first() is None


def test_password_never_shown() -> None:
    url = "postgresql+psycopg://app:s3cret@db.local:5432/duty"
    assert "s3cret" not in redact_url(url)
    assert "***" in redact_url(url)


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    from station.launcher import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--lang", "en", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("run", "db", "screenshot"):
        assert command in out


def test_global_options_after_the_subcommand(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["db", "upgrade", "--db", sqlite_url]) == 0
    assert cli_main(["db", "status", "--db", sqlite_url]) == 0
    assert "current" in capsys.readouterr().out


def test_upgrade_is_idempotent(db: Database) -> None:
    upgrade(db)
    assert schema_status(db).ok
