"""Incident numbers: ``TY-20261127-0042`` (street prefix, database date in Asia/Shanghai, sequence).

The sequence lives in ``incident_counter`` (one row per prefix and day) and is unique however
many workstations and intake processes number at once:

* SQLite: the write transaction began ``IMMEDIATE``, so one writer at a time;
* PostgreSQL: ``INSERT … ON CONFLICT DO UPDATE SET last_value = last_value + 1 RETURNING``
  creates the day's row or row-locks and increments it until commit, so a second transaction
  waits and reads the incremented value. A rolled-back transaction gives its number
  back, so numbers have no gaps. A new incident recorded in a transaction of its own takes
  its number so in the writers' short step at the end (``changes.number_at_the_end``: the same
  upsert and format, in ``dc_write_step``).
"""

from __future__ import annotations

from datetime import datetime

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


def next_number(session: Session, prefix: str, at: datetime | None = None) -> str:
    """Take the next number for the day of ``at`` (default: now by the database clock; the day in
    Asia/Shanghai) inside the caller's write: one statement, that creates the day's row or
    increments it (and row-locks it until the commit)."""
    day = number_day(at or db_now(session))
    value = session.execute(
        text("INSERT INTO incident_counter (prefix, day, last_value) VALUES (:p, :d, 1) "
             "ON CONFLICT (prefix, day) DO UPDATE SET last_value = incident_counter.last_value + 1 "
             "RETURNING last_value"),
        {"p": prefix, "d": day},
    ).scalar_one()
    return f"{prefix}-{day}-{int(value):04d}"


def number_day(at: datetime) -> str:
    """The day a number counts in: ``at``'s date in Asia/Shanghai, as YYYYMMDD."""
    return local(at).strftime("%Y%m%d")
