"""Incident numbers: ``TY-20261127-0042`` (street prefix, database date in Asia/Shanghai, sequence).

The sequence lives in ``incident_counter`` (one row per prefix and day) and is unique however
many workstations and intake processes number at once:

* SQLite: the write transaction began ``IMMEDIATE``, so one writer at a time;
* PostgreSQL: ``INSERT … ON CONFLICT DO NOTHING`` makes sure the day's row exists, then
  ``UPDATE … SET last_value = last_value + 1 RETURNING`` row-locks it until commit, so a second
  transaction waits and reads the incremented value. A rolled-back transaction gives its number
  back, so numbers have no gaps.
"""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from db.engine import db_now
from db.models import Area
from dispatch_console.kernel.timefmt import local

DEFAULT_PREFIX = "TY"


def street_prefix(session: Session, grid_id: int | None) -> str:
    """The number prefix of the street that holds the grid (walking up the tree), else TY."""
    area_id = grid_id
    for _level in range(4):  # grid → community → street (→ district)
        if area_id is None:
            break
        row = session.execute(
            select(Area.level, Area.parent_id, Area.number_prefix).where(Area.id == area_id)
        ).first()
        if row is None:
            break
        if row.number_prefix:
            return str(row.number_prefix)
        if row.level == "street":
            break
        area_id = row.parent_id
    return DEFAULT_PREFIX


def next_number(session: Session, prefix: str) -> str:
    """Take the next number for today (database clock, Asia/Shanghai) inside the caller's write."""
    day = local(db_now(session)).strftime("%Y%m%d")
    session.execute(
        text("INSERT INTO incident_counter (prefix, day, last_value) VALUES (:p, :d, 0) "
             "ON CONFLICT (prefix, day) DO NOTHING"),
        {"p": prefix, "d": day},
    )
    value = session.execute(
        text("UPDATE incident_counter SET last_value = last_value + 1 "
             "WHERE prefix = :p AND day = :d RETURNING last_value"),
        {"p": prefix, "d": day},
    ).scalar_one()
    return f"{prefix}-{day}-{int(value):04d}"
