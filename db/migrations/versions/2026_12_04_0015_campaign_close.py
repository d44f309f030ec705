"""campaign close: a leader closes a screening campaign (who, when, and the reason when grids had not reported)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 18:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import db.base

revision = "0015"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_at', db.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closed_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('closed_by_name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('close_reason', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_campaign_closed_by_app_user'), 'app_user', ['closed_by'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_campaign_closed_by_app_user'), type_='foreignkey')
        batch_op.drop_column('close_reason')
        batch_op.drop_column('closed_by_name')
        batch_op.drop_column('closed_by')
        batch_op.drop_column('closed_at')
