"""Schema migrations: apply them, and tell whether a database's schema is the one we know.

Telling reads the ``alembic_version`` row and compares it with the revisions in
:mod:`db.revisions`, without Alembic: a command that only opens the database (a one-line
``intake``) does not pay for importing it. Upgrading loads Alembic.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text

from db import revisions
from db.engine import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(db: Database | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    if db is not None:
        # %-escaped: a URL may hold %-encoded characters (a password, a multi-host list's "host:port")
        cfg.set_main_option("sqlalchemy.url", db.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def head_revision() -> str | None:
    """The head as the migration scripts say (Alembic); :data:`db.revisions.HEAD` is checked against it."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def known_revisions() -> set[str]:
    """Every revision of the migration scripts (Alembic)."""
    from alembic.script import ScriptDirectory

    return {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def current_revision(db: Database) -> str | None:
    """The database's ``alembic_version`` (None: no schema yet). More than one row is not ours."""
    with db.engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        found = list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    if not found:
        return None
    return found[0] if len(found) == 1 else ",".join(sorted(found))


@dataclass(frozen=True)
class SchemaStatus:
    state: str  # "current" | "empty" | "behind" | "unknown"
    current: str | None
    head: str | None

    @property
    def ok(self) -> bool:
        return self.state == "current"


def schema_status(db: Database) -> SchemaStatus:
    head = revisions.HEAD
    current = current_revision(db)
    if current is None:
        return SchemaStatus("empty", None, head)
    if current == head:
        return SchemaStatus("current", current, head)
    if current not in revisions.KNOWN:
        return SchemaStatus("unknown", current, head)  # written by a newer version of the app
    return SchemaStatus("behind", current, head)


def upgrade(db: Database, revision: str = "head") -> None:
    from alembic import command

    cfg = alembic_config(db)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    db.refresh_statistics()
