"""The demo database: created, migrated and seeded on first use (``--demo``, ``make run``)."""

from __future__ import annotations

from sqlalchemy import func, select

from db.engine import Database
from db.migrate import upgrade
from db.models import Area
from dispatch_console.kernel.actor import Actor


def prepare_demo_database(url: str, actor: Actor) -> bool:
    """Upgrade the schema and seed the demo jurisdiction if the database is empty.

    Returns True when it seeded. Safe to call on every start.
    """
    from dispatch_console.demo.seed import seed_demo

    db = Database(url)
    try:
        upgrade(db)
        with db.read() as s:
            if s.execute(select(func.count(Area.id))).scalar_one():
                return False
        seed_demo(db, actor)
        return True
    finally:
        db.dispose()
