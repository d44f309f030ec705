"""cross-region transfer of a case: what a transfer carries, and the local case it is linked to

A transfer may now carry a dispute or petition case (``subject`` case) instead of an incident;
``case_id`` is this room's case (the one sent, or the one opened when a case was accepted).

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-04 18:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transfer") as batch:
        batch.add_column(sa.Column("subject", sa.String(length=8), nullable=False, server_default="incident"))
        batch.add_column(sa.Column("case_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_transfer_case_id_case_file"), "case_file", ["case_id"], ["id"])
        batch.create_index(op.f("ix_transfer_case_id"), ["case_id"])


def downgrade() -> None:
    with op.batch_alter_table("transfer") as batch:
        batch.drop_index(op.f("ix_transfer_case_id"))
        batch.drop_constraint(op.f("fk_transfer_case_id_case_file"), type_="foreignkey")
        batch.drop_column("case_id")
        batch.drop_column("subject")
