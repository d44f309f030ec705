"""incident search: trigram indexes for substring search over every incident (PostgreSQL)

The queue's search box looks for a piece of text anywhere in the number, description, address
and reporter name/phone of all incidents ever recorded, with ILIKE '%…%'. On PostgreSQL the
pg_trgm GIN indexes below serve those ILIKEs; autogenerate cannot express them, so they live in
this hand-written migration. SQLite has no pg_trgm; it scans with LIKE (see incident_queue).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 22:00:00
"""
from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SEARCHED_COLUMNS = ("number", "description", "address", "reporter_name", "reporter_phone")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in SEARCHED_COLUMNS:
        op.execute(
            f"CREATE INDEX IF NOT EXISTS ix_incident_{column}_trgm "
            f"ON incident USING gin ({column} gin_trgm_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in SEARCHED_COLUMNS:
        op.execute(f"DROP INDEX IF EXISTS ix_incident_{column}_trgm")
