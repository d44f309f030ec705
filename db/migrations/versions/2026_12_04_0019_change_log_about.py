"""change_log says which incident a change belongs to, and when a scheduled deadline is due

``incident_id``: a timer's incident (a firing refreshes that incident's row and detail, not every
row of every queue). ``due_at``: a timer scheduled or moved, its due time (an engine armed for an
earlier deadline need not read the timers again). Both null for everything else.

Revision ID: 0019
Revises: 0014
Create Date: 2026-12-04 18:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.base import UTCDateTime

revision = "0019"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("change_log") as batch:
        batch.add_column(sa.Column("incident_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                                   nullable=True))
        batch.add_column(sa.Column("due_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("change_log") as batch:
        batch.drop_column("due_at")
        batch.drop_column("incident_id")
