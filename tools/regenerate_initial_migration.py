"""Regenerate the initial migration from db/models.py (only while nothing has been released).

Usage: python tools/regenerate_initial_migration.py
Once a release has shipped, add new migrations with alembic revision --autogenerate instead.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from alembic import command

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from db.engine import Database
from db.migrate import MIGRATIONS_DIR, alembic_config

REV = "0001"


def main() -> None:
    versions = MIGRATIONS_DIR / "versions"
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as aside:
        # Later (hand-written) migrations point at 0001: set them aside while it is rebuilt,
        # and keep the old 0001 until the new one exists, so a failure leaves the tree intact.
        later = [p for p in versions.glob("*.py") if p.name != "__init__.py" and f"_{REV}_" not in p.name]
        old = list(versions.glob(f"*_{REV}_*.py"))
        moved = [(p, Path(shutil.move(str(p), aside))) for p in [*later, *old]]
        try:
            db = Database(f"sqlite:///{tmp}/empty.sqlite3")
            cfg = alembic_config(db)
            with db.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.revision(cfg, message="initial schema", autogenerate=True, rev_id=REV)
        except BaseException:
            for original, saved in moved:
                shutil.move(str(saved), original)
            raise
        for original, saved in moved:
            if original in later:
                shutil.move(str(saved), original)
    (path,) = versions.glob(f"*_{REV}_*.py")
    print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


if __name__ == "__main__":
    main()
