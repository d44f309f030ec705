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

from sqlalchemy import text
from sqlalchemy.orm import Session

from db.engine import db_now
from dispatch_console.kernel.timefmt import local

DEFAULT_PREFIX = "TY"


# Up from the grid, at most four areas (grid → community → street → district), stopping at the
# first with a prefix or at the street: one statement instead of one per level.
_PREFIX_UP = text(
    "WITH RECURSIVE up (id, level, parent_id, number_prefix, depth) AS ("
    " SELECT id, level, parent_id, number_prefix, 0 FROM area WHERE id = :grid"
    " UNION ALL"
    " SELECT a.id, a.level, a.parent_id, a.number_prefix, up.depth + 1 FROM area a JOIN up ON a.id = up.parent_id"
    " WHERE up.depth < 3 AND coalesce(up.number_prefix, '') = '' AND up.level <> 'street')"
    " SELECT number_prefix FROM up WHERE coalesce(number_prefix, '') <> '' ORDER BY depth LIMIT 1")


_GRID_AND_PREFIX = text(
    "WITH RECURSIVE up (id, level, parent_id, number_prefix, depth) AS ("
    " SELECT id, level, parent_id, number_prefix, 0 FROM area WHERE id = :grid"
    " UNION ALL"
    " SELECT a.id, a.level, a.parent_id, a.number_prefix, up.depth + 1 FROM area a JOIN up ON a.id = up.parent_id"
    " WHERE up.depth < 3 AND coalesce(up.number_prefix, '') = '' AND up.level <> 'street')"
    " SELECT (SELECT level FROM area WHERE id = :grid) AS level,"
    " (SELECT number_prefix FROM up WHERE coalesce(number_prefix, '') <> '' ORDER BY depth LIMIT 1) AS prefix")


def grid_and_prefix(session: Session, area_id: int) -> tuple[str | None, str]:
    """The area's level (None: no such area) and, as :func:`street_prefix`, its number prefix: one
    statement for what a new incident given its grid asks twice."""
    row = session.execute(_GRID_AND_PREFIX, {"grid": area_id}).one()
    return (str(row.level) if row.level is not None else None), (str(row.prefix) if row.prefix else DEFAULT_PREFIX)


def street_prefix(session: Session, grid_id: int | None) -> str:
    """The number prefix of the street that holds the grid (walking up the tree), else TY."""
    if grid_id is None:
        return DEFAULT_PREFIX
    found = session.execute(_PREFIX_UP, {"grid": grid_id}).scalar()
    return str(found) if found else DEFAULT_PREFIX


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
