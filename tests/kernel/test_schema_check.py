"""The schema check that opens every command's database reads ``alembic_version`` against
``db.revisions`` without Alembic; it must say what the Alembic-based check said: the revisions are
the migration scripts', and an old, an empty and a newer schema are refused as before."""

from __future__ import annotations

import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from db import revisions
from db.engine import Database
from db.migrate import alembic_config, current_revision, head_revision, known_revisions, schema_status, upgrade
from dispatch_console.cli import CliContext, build_parser, ensure_schema
from dispatch_console.kernel.errors import SchemaMismatch
from station.composition import COMMANDS


def test_the_known_revisions_are_the_migration_scripts() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    chain = [rev.revision for rev in script.walk_revisions()][::-1]  # walk_revisions goes head first
    assert head_revision() == revisions.HEAD, f"db/revisions.py: HEAD should be {head_revision()!r}"
    assert tuple(chain) == revisions.KNOWN, f"db/revisions.py: KNOWN should be {tuple(chain)!r}"
    assert set(revisions.KNOWN) == known_revisions()


def _alembic_says(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_an_old_schema_is_refused_with_what_to_run(db_url: str) -> None:
    db = Database(db_url)
    try:
        assert current_revision(db) is None and _alembic_says(db) is None
        with pytest.raises(SchemaMismatch, match="no schema yet"):
            ensure_schema(db)
        older = revisions.KNOWN[-2]
        upgrade(db, older)
        assert current_revision(db) == _alembic_says(db) == older
        st = schema_status(db)
        assert (st.state, st.current, st.head, st.ok) == ("behind", older, revisions.HEAD, False)
        with pytest.raises(SchemaMismatch) as refused:
            ensure_schema(db)
        assert f"schema {older}" in str(refused.value) and revisions.HEAD in str(refused.value)
        assert "db upgrade" in str(refused.value)
        ctx = CliContext(build_parser(COMMANDS).parse_args(["--db", db_url, "incidents", "list"]))
        with pytest.raises(SchemaMismatch, match=older):
            ctx.database()
        upgrade(db)
        assert current_revision(db) == _alembic_says(db) == revisions.HEAD
        assert schema_status(db).ok
        ensure_schema(db)  # the current schema passes
        with db.engine.begin() as conn:  # two rows: branches this version never wrote
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('0001')"))
        assert schema_status(db).state == "unknown"
    finally:
        db.dispose()
