"""request ids: the idempotency key of the request that recorded an incident

A write tried again after its commit's answer was lost (the connection dropped during COMMIT)
must find what the first try stored instead of storing it twice. ``external_id`` is that key
for senders that give one; every other write (an intake line without one, a form) gets a
request id of its own, kept here. A plain column plus a unique index: SQLite adds the column
without rebuilding the table (the search triggers stay), and both backends let many NULLs
through a unique index.

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-03 08:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("incident", sa.Column("request_id", sa.String(length=64), nullable=True))
    op.create_index("ix_incident_request_id", "incident", ["request_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_incident_request_id", table_name="incident")
    op.drop_column("incident", "request_id")  # SQLite >= 3.35 drops it in place (the triggers stay)
