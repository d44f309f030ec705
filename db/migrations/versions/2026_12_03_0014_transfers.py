"""cross-region transfer (跨区域联动): transfers and the packages sent and taken

``transfer`` is one incident handed to another duty room (``out``) or from one (``in``), with the
sender's and the receiver's incident numbers. ``transfer_package`` holds every package sent or
taken, once: its unique (direction, package_id) is what makes a package in the shared exchange
folder taken exactly once however many workstations poll it; an ``out`` row not yet delivered is
the exchange's outbox.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 13:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.base import JSONType, UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "transfer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("package_id", sa.String(length=64), nullable=False),
        sa.Column("peer_room", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("sender_number", sa.String(length=32), nullable=False),
        sa.Column("receiver_number", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("summary", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("direction IN ('out', 'in')", name=op.f("ck_transfer_direction")),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"], name=op.f("fk_transfer_incident_id_incident")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer")),
        sa.UniqueConstraint("direction", "package_id", name=op.f("uq_transfer_direction_package_id")),
    )
    op.create_index(op.f("ix_transfer_peer_room"), "transfer", ["peer_room"])
    op.create_index(op.f("ix_transfer_incident_id"), "transfer", ["incident_id"])
    op.create_index(op.f("ix_transfer_status"), "transfer", ["status"])
    op.create_table(
        "transfer_package",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("package_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("peer_room", sa.String(length=64), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("body", JSONType, nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["transfer_id"], ["transfer.id"],
                                name=op.f("fk_transfer_package_transfer_id_transfer")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_package")),
        sa.UniqueConstraint("direction", "package_id", name=op.f("uq_transfer_package_direction_package_id")),
    )
    op.create_index(op.f("ix_transfer_package_transfer_id"), "transfer_package", ["transfer_id"])


def downgrade() -> None:
    op.drop_table("transfer_package")
    op.drop_table("transfer")
