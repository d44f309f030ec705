"""campaigns: screening campaigns (矛盾纠纷排查) over grids, each grid's report, the cases found

``campaign`` holds the campaign and its due time, ``campaign_grid`` one row per grid (pending,
无新增 or found; when it reported and whether its lateness was escalated), ``campaign_case`` the
cases a grid's report opened. The overdue escalation is a ``timer`` (kind ``campaign_due``) with the
campaign's id in its payload.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-03 13:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import db.base

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('campaign',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('due_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('is_drill', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("reason IN ('monthly', 'sensitive_date', 'other')", name=op.f('ck_campaign_reason')),
    sa.ForeignKeyConstraint(['created_by'], ['app_user.id'], name=op.f('fk_campaign_created_by_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign'))
    )
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_due_at'), ['due_at'], unique=False)

    op.create_table('campaign_grid',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reporter', sa.String(length=100), nullable=True),
    sa.Column('reported_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reported_by', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('escalated_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('pending', 'nothing_new', 'found')", name=op.f('ck_campaign_grid_state')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_campaign_grid_campaign_id_campaign')),
    sa.ForeignKeyConstraint(['grid_id'], ['area.id'], name=op.f('fk_campaign_grid_grid_id_area')),
    sa.ForeignKeyConstraint(['reported_by'], ['app_user.id'], name=op.f('fk_campaign_grid_reported_by_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_grid')),
    sa.UniqueConstraint('campaign_id', 'grid_id', name=op.f('uq_campaign_grid_campaign_id_grid_id'))
    )
    with op.batch_alter_table('campaign_grid', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_grid_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_grid_grid_id'), ['grid_id'], unique=False)

    op.create_table('campaign_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_campaign_case_campaign_id_campaign')),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_campaign_case_case_id_case_file')),
    sa.ForeignKeyConstraint(['grid_id'], ['area.id'], name=op.f('fk_campaign_case_grid_id_area')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_case')),
    sa.UniqueConstraint('case_id', name=op.f('uq_campaign_case_case_id'))
    )
    with op.batch_alter_table('campaign_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_case_campaign_id'), ['campaign_id'], unique=False)


def downgrade() -> None:
    for table in ("campaign_case", "campaign_grid", "campaign"):
        op.drop_table(table)
