"""cases: disputes (矛盾纠纷) and petitions (信访事项), their parties, mediation and follow-up visits

``case_file`` holds the case (numbered TYJ-/TYX-… like incidents), ``case_party`` its parties,
``case_incident`` the incidents it came from, ``case_session`` mediation sessions, ``case_term``
the agreement's terms with due dates, ``case_visit`` the follow-up visits (回访) and ``case_event``
its timeline. ``timer.case_id`` ties a deadline (a visit, a petition step) to its case: a plain
indexed column without a foreign key, so SQLite adds it in place without rebuilding ``timer``.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 12:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import db.base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('subtype', sa.String(length=32), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=True),
    sa.Column('risk', sa.String(length=8), nullable=False),
    sa.Column('may_escalate', sa.Boolean(), nullable=False),
    sa.Column('responsible_unit_id', sa.Integer(), nullable=True),
    sa.Column('responsible_person', sa.String(length=100), nullable=True),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('opened_by', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('referral', sa.String(length=32), nullable=True),
    sa.Column('agreement_text', sa.Text(), nullable=True),
    sa.Column('agreement_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('judicial_confirmed_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('registered_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('accepted_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('step_due_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('extension_days', sa.Integer(), nullable=False),
    sa.Column('extension_reason', sa.Text(), nullable=True),
    sa.Column('extension_approver', sa.String(length=100), nullable=True),
    sa.Column('replied_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reply_text', sa.Text(), nullable=True),
    sa.Column('closed_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('close_note', sa.Text(), nullable=True),
    sa.Column('reopen_count', sa.Integer(), nullable=False),
    sa.Column('is_drill', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('dispute', 'petition')", name=op.f('ck_case_file_kind')),
    sa.CheckConstraint("risk IN ('low', 'medium', 'high')", name=op.f('ck_case_file_risk')),
    sa.CheckConstraint('extension_days BETWEEN 0 AND 30', name=op.f('ck_case_file_extension_days')),
    sa.ForeignKeyConstraint(['created_by'], ['app_user.id'], name=op.f('fk_case_file_created_by_app_user')),
    sa.ForeignKeyConstraint(['grid_id'], ['area.id'], name=op.f('fk_case_file_grid_id_area')),
    sa.ForeignKeyConstraint(['owner_user_id'], ['app_user.id'], name=op.f('fk_case_file_owner_user_id_app_user')),
    sa.ForeignKeyConstraint(['responsible_unit_id'], ['unit.id'], name=op.f('fk_case_file_responsible_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_file')),
    sa.UniqueConstraint('number', name=op.f('uq_case_file_number'))
    )
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.create_index('ix_case_file_board', ['status', 'kind', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_file_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_file_grid_id'), ['grid_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_file_owner_user_id'), ['owner_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_file_responsible_unit_id'), ['responsible_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_file_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_file_step_due_at'), ['step_due_at'], unique=False)

    op.create_table('case_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('station', sa.String(length=100), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_case_event_case_id_case_file')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_event'))
    )
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_event_case_id'), ['case_id'], unique=False)

    op.create_table('case_party',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('id_number', sa.String(length=18), nullable=True),
    sa.CheckConstraint("role IN ('applicant', 'respondent', 'other')", name=op.f('ck_case_party_role')),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_case_party_case_id_case_file')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_party'))
    )
    with op.batch_alter_table('case_party', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_party_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_party_id_number'), ['id_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_party_phone'), ['phone'], unique=False)

    op.create_table('case_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('held_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=True),
    sa.Column('mediator', sa.String(length=100), nullable=False),
    sa.Column('mediator_org', sa.String(length=32), nullable=False),
    sa.Column('attendees', sa.Text(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('recorded_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_case_session_case_id_case_file')),
    sa.ForeignKeyConstraint(['recorded_by'], ['app_user.id'], name=op.f('fk_case_session_recorded_by_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_session'))
    )
    with op.batch_alter_table('case_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_session_case_id'), ['case_id'], unique=False)

    op.create_table('case_term',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('due_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_case_term_case_id_case_file')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_term'))
    )
    with op.batch_alter_table('case_term', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_term_case_id'), ['case_id'], unique=False)

    op.create_table('case_visit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('due_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('assignee_person_id', sa.Integer(), nullable=True),
    sa.Column('assignee_name', sa.String(length=100), nullable=True),
    sa.Column('missed_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('visited_at', db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('result', sa.String(length=16), nullable=True),
    sa.Column('satisfaction', sa.String(length=16), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("state IN ('due', 'done', 'cancelled')", name=op.f('ck_case_visit_state')),
    sa.ForeignKeyConstraint(['assignee_person_id'], ['person.id'], name=op.f('fk_case_visit_assignee_person_id_person')),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_case_visit_case_id_case_file')),
    sa.ForeignKeyConstraint(['recorded_by'], ['app_user.id'], name=op.f('fk_case_visit_recorded_by_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_visit'))
    )
    with op.batch_alter_table('case_visit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_visit_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_case_visit_due', ['state', 'due_at'], unique=False)
        batch_op.create_index('ix_case_visit_case_due', ['case_id', 'state', 'due_at'], unique=False)

    op.create_table('case_incident',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('linked_at', db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_case_incident_case_id_case_file')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_case_incident_incident_id_incident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_incident')),
    sa.UniqueConstraint('case_id', 'incident_id', name=op.f('uq_case_incident_case_id_incident_id'))
    )
    with op.batch_alter_table('case_incident', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_incident_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_incident_incident_id'), ['incident_id'], unique=False)

    op.add_column("timer", sa.Column("case_id", sa.Integer(), nullable=True))
    op.create_index("ix_timer_case_id", "timer", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_timer_case_id", table_name="timer")
    op.drop_column("timer", "case_id")  # SQLite >= 3.35 drops it in place

    with op.batch_alter_table('case_incident', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_incident_incident_id'))
        batch_op.drop_index(batch_op.f('ix_case_incident_case_id'))

    op.drop_table('case_incident')
    with op.batch_alter_table('case_visit', schema=None) as batch_op:
        batch_op.drop_index('ix_case_visit_case_due')
        batch_op.drop_index('ix_case_visit_due')
        batch_op.drop_index(batch_op.f('ix_case_visit_case_id'))

    op.drop_table('case_visit')
    with op.batch_alter_table('case_term', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_term_case_id'))

    op.drop_table('case_term')
    with op.batch_alter_table('case_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_session_case_id'))

    op.drop_table('case_session')
    with op.batch_alter_table('case_party', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_party_phone'))
        batch_op.drop_index(batch_op.f('ix_case_party_id_number'))
        batch_op.drop_index(batch_op.f('ix_case_party_case_id'))

    op.drop_table('case_party')
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_event_case_id'))

    op.drop_table('case_event')
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_file_step_due_at'))
        batch_op.drop_index(batch_op.f('ix_case_file_status'))
        batch_op.drop_index(batch_op.f('ix_case_file_responsible_unit_id'))
        batch_op.drop_index(batch_op.f('ix_case_file_owner_user_id'))
        batch_op.drop_index(batch_op.f('ix_case_file_grid_id'))
        batch_op.drop_index(batch_op.f('ix_case_file_created_at'))
        batch_op.drop_index('ix_case_file_board')

    op.drop_table('case_file')
