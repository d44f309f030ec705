"""Schema migrations: apply them, and tell whether a database's schema is the one we know."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from db.engine import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(db: Database | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    if db is not None:
        # %-escaped: a URL may hold %-encoded characters (a password, a multi-host list's "host:port")
        cfg.set_main_option("sqlalchemy.url", db.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


@dataclass(frozen=True)
class SchemaStatus:
    state: str  # "current" | "empty" | "behind" | "unknown"
    current: str | None
    head: str | None

    @property
    def ok(self) -> bool:
        return self.state == "current"


def schema_status(db: Database) -> SchemaStatus:
    head = head_revision()
    script = ScriptDirectory.from_config(alembic_config())
    with db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current is None:
        return SchemaStatus("empty", None, head)
    if current == head:
        return SchemaStatus("current", current, head)
    try:
        script.get_revision(current)
    except Exception:
        return SchemaStatus("unknown", current, head)  # written by a newer version of the app
    return SchemaStatus("behind", current, head)


def upgrade(db: Database, revision: str = "head") -> None:
    cfg = alembic_config(db)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    db.refresh_statistics()
