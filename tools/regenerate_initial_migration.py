"""Regenerate the initial migration from db/models.py (only while nothing has been released).

Usage: python tools/regenerate_initial_migration.py
Once a release has shipped, add new migrations with alembic revision --autogenerate instead.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from db.engine import Database  # noqa: E402
from db.migrate import MIGRATIONS_DIR, alembic_config  # noqa: E402

REV = "0001"


def main() -> None:
    versions = MIGRATIONS_DIR / "versions"
    for old in versions.glob(f"*_{REV}_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/empty.sqlite3")
        cfg = alembic_config(db)
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.revision(cfg, message="initial schema", autogenerate=True, rev_id=REV)
    (path,) = versions.glob(f"*_{REV}_*.py")
    print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


if __name__ == "__main__":
    main()
