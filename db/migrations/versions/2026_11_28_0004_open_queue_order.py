"""open queue order: a partial index of the open incidents in the queue's order

The queue opens on the open incidents, most severe first, then oldest (``ORDER BY severity,
created_at, id``), with a category, grid or severity filter on top. With 100,000 incidents of
which 5,000 are open, the all-history index in that order has to step over every closed incident
on the way, and the status index has to sort. This index holds only the open ones, in order, on
both backends; db.models declares it too (``ix_incident_open_order``), so a regenerated initial
migration has it and this one then does nothing.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 01:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# as db.models.OPEN_STATUS_SQL says it today (a migration keeps what it created)
OPEN_STATUS_SQL = "status IN ('new', 'acknowledged', 'dispatched', 'on_scene')"

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_incident_open_order", "incident", ["severity", "created_at", "id"], if_not_exists=True,
        postgresql_where=sa.text(OPEN_STATUS_SQL), sqlite_where=sa.text(OPEN_STATUS_SQL),
    )
    op.execute("ANALYZE incident")


def downgrade() -> None:
    op.drop_index("ix_incident_open_order", table_name="incident", if_exists=True)
