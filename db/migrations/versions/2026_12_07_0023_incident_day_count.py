"""incident day counts: a grid's and a category's reports per local day, kept by triggers on ``incident``

The surge rules compare a grid's (a category's) reports in the last 24 hours with its daily mean
over the 28 days before. Counting those 28 days from the incident index on every new incident
visited every report of the month (tens of thousands at a million incidents, per rule). Here each
(grid | category, local day) has one row with its count of reports, drills and merged duplicates
left out, as the rules count them; a surge reads at most the baseline's days of this table and
the incidents of the (partial) days at its two ends (``dispatch_console.warnings.evaluate``).

The counts are kept by triggers on ``incident``, not by the application, so that every way an
incident is written keeps them right: a new incident, an edit of its category or grid, a merge,
a drill flag, a bulk load, a backdated test history. The day is the Asia/Shanghai calendar day
(UTC+8, no daylight saving since 1991) of ``created_at``.

- PostgreSQL: a deferrable constraint trigger, initially deferred: the rows are written at
  commit, after the transaction took the writers' lock for its change_log rows (``dc_write_step``,
  0020), so two new incidents of one grid never hold each other's day row in opposite orders, and
  a new incident does not hold a day row while it queues for the writers' lock.
- SQLite: AFTER triggers (its write transactions begin IMMEDIATE: one writer at a time).

A later batch migration that rebuilds ``incident`` on SQLite (move and copy) drops these triggers:
it must create them again (``SQLITE_TRIGGERS`` below). Rows fall to 0 and stay (an edit moved the
report away); they cost nothing to the sums.

Both backends fill the table from the incidents already there.

Revision ID: 0023
Revises: 0024
Create Date: 2026-12-07 14:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0024"
branch_labels = None
depends_on = None

TABLE = "incident_day_count"
WATCHED = ("grid_id", "category", "is_drill", "merged_into_id", "created_at")

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION dc_incident_day_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND NOT OLD.is_drill AND OLD.merged_into_id IS NULL THEN
        IF OLD.grid_id IS NOT NULL THEN
            UPDATE incident_day_count SET count = count - 1
            WHERE kind = 'grid' AND subject = OLD.grid_id::text
              AND day = (OLD.created_at AT TIME ZONE 'Asia/Shanghai')::date;
        END IF;
        UPDATE incident_day_count SET count = count - 1
        WHERE kind = 'category' AND subject = OLD.category
          AND day = (OLD.created_at AT TIME ZONE 'Asia/Shanghai')::date;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NOT NEW.is_drill AND NEW.merged_into_id IS NULL THEN
        IF NEW.grid_id IS NOT NULL THEN
            INSERT INTO incident_day_count (kind, subject, day, count)
            VALUES ('grid', NEW.grid_id::text, (NEW.created_at AT TIME ZONE 'Asia/Shanghai')::date, 1)
            ON CONFLICT (kind, subject, day) DO UPDATE SET count = incident_day_count.count + 1;
        END IF;
        INSERT INTO incident_day_count (kind, subject, day, count)
        VALUES ('category', NEW.category, (NEW.created_at AT TIME ZONE 'Asia/Shanghai')::date, 1)
        ON CONFLICT (kind, subject, day) DO UPDATE SET count = incident_day_count.count + 1;
    END IF;
    RETURN NULL;
END
$$
"""

_PG_CHANGED = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in WATCHED)
PG_TRIGGERS = (
    """CREATE CONSTRAINT TRIGGER incident_day_count_write AFTER INSERT OR DELETE ON incident
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION dc_incident_day_count()""",
    f"""CREATE CONSTRAINT TRIGGER incident_day_count_update AFTER UPDATE OF {", ".join(WATCHED)} ON incident
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN ({_PG_CHANGED}) EXECUTE FUNCTION dc_incident_day_count()""",
)


def _sqlite_add(row: str, delta: int) -> str:
    """The statements adding ``delta`` for ``row`` (new | old), when that row counts."""
    counted = f"NOT {row}.is_drill AND {row}.merged_into_id IS NULL"
    day = f"date({row}.created_at, '+8 hours')"
    if delta > 0:
        subjects = (("grid", f"CAST({row}.grid_id AS TEXT)", f" AND {row}.grid_id IS NOT NULL"),
                    ("category", f"{row}.category", ""))
        return "".join(
            f"""INSERT INTO incident_day_count (kind, subject, day, count)
            SELECT '{kind}', {subject}, {day}, 1 WHERE {counted}{extra}
            ON CONFLICT (kind, subject, day) DO UPDATE SET count = count + 1;
            """ for kind, subject, extra in subjects)
    return "".join(
        f"""UPDATE incident_day_count SET count = count - 1
        WHERE kind = '{kind}' AND subject = {subject} AND day = {day} AND {counted};
        """ for kind, subject in (("grid", f"CAST({row}.grid_id AS TEXT)"), ("category", f"{row}.category")))


_SQLITE_CHANGED = " OR ".join(f"old.{c} IS NOT new.{c}" for c in WATCHED)
SQLITE_TRIGGERS = (
    f"CREATE TRIGGER incident_day_count_insert AFTER INSERT ON incident BEGIN {_sqlite_add('new', 1)} END",
    f"CREATE TRIGGER incident_day_count_delete AFTER DELETE ON incident BEGIN {_sqlite_add('old', -1)} END",
    f"""CREATE TRIGGER incident_day_count_update AFTER UPDATE OF {", ".join(WATCHED)} ON incident
    WHEN {_SQLITE_CHANGED} BEGIN {_sqlite_add('old', -1)} {_sqlite_add('new', 1)} END""",
)


def _backfill(day: str) -> str:
    counted = "NOT is_drill AND merged_into_id IS NULL"
    return f"""INSERT INTO incident_day_count (kind, subject, day, count)
    SELECT 'grid', CAST(grid_id AS TEXT), {day}, count(*) FROM incident
    WHERE {counted} AND grid_id IS NOT NULL GROUP BY grid_id, {day}
    UNION ALL
    SELECT 'category', category, {day}, count(*) FROM incident WHERE {counted} GROUP BY category, {day}"""


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("kind", sa.String(length=16), nullable=False),  # grid | category
        sa.Column("subject", sa.String(length=64), nullable=False),  # the grid's id, the category's code
        sa.Column("day", sa.Date(), nullable=False),  # the local (Asia/Shanghai) day of created_at
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "subject", "day", name=op.f("pk_incident_day_count")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        # the same transaction as the triggers' creation: no incident is written between
        op.execute("LOCK TABLE incident IN SHARE ROW EXCLUSIVE MODE")
        op.execute(_backfill("(created_at AT TIME ZONE 'Asia/Shanghai')::date"))
        for statement in PG_TRIGGERS:
            op.execute(statement)
    else:
        op.execute(_backfill("date(created_at, '+8 hours')"))
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    op.execute(f"ANALYZE {TABLE}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for trigger in ("write", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS incident_day_count_{trigger} ON incident")
        op.execute("DROP FUNCTION IF EXISTS dc_incident_day_count()")
    else:
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS incident_day_count_{trigger}")
    op.drop_table(TABLE)
