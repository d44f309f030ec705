"""warnings: official CAP 1.2 messages, the warnings the rules raise, their incidents, the rules' cursor

``cap_message`` keeps each CAP message once per (identifier, sender, sent) with its text exactly
as received. ``warning`` is one row per episode: its ``episode_key`` is unique, so several
workstations evaluating the same rules raise it once. ``warning_incident`` links a warning to the
incidents that raised it; ``warning_cursor`` is how far the rules have read ``change_log``;
``warning_subject`` holds each evaluated incident's normalised phone and address for the repeat rules.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 12:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.base import JSONType, UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cap_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=255), nullable=False),
        sa.Column("sender", sa.String(length=255), nullable=False),
        sa.Column("sent_text", sa.String(length=40), nullable=False),
        sa.Column("sent", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("msg_type", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("refs", sa.Text(), nullable=True),
        sa.Column("thread_key", sa.String(length=520), nullable=False),
        sa.Column("event", sa.String(length=255), nullable=True),
        sa.Column("headline", sa.String(length=500), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("instruction", sa.Text(), nullable=True),
        sa.Column("sender_name", sa.String(length=255), nullable=True),
        sa.Column("language", sa.String(length=32), nullable=True),
        sa.Column("categories", JSONType, nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=True),
        sa.Column("urgency", sa.String(length=16), nullable=True),
        sa.Column("certainty", sa.String(length=16), nullable=True),
        sa.Column("colour", sa.String(length=8), nullable=True),
        sa.Column("effective", UTCDateTime(), nullable=True),
        sa.Column("onset", UTCDateTime(), nullable=True),
        sa.Column("expires", UTCDateTime(), nullable=True),
        sa.Column("areas", JSONType, nullable=True),
        sa.Column("covers_street", sa.Boolean(), nullable=False),
        sa.Column("covered_areas", JSONType, nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("source_file", sa.String(length=500), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("received_by", sa.String(length=100), nullable=True),
        sa.Column("xml", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cap_message")),
        sa.UniqueConstraint("identifier", "sender", "sent_text",
                            name=op.f("uq_cap_message_identifier_sender_sent_text")),
    )
    op.create_index("ix_cap_message_thread_key", "cap_message", ["thread_key"])
    op.create_table(
        "warning",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("episode_key", sa.String(length=600), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("target_role", sa.String(length=32), nullable=True),
        sa.Column("unit_kind", sa.String(length=32), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("details", JSONType, nullable=True),
        sa.Column("sensitive_period", sa.String(length=100), nullable=True),
        sa.Column("checklist_code", sa.String(length=64), nullable=True),
        sa.Column("cap_thread_key", sa.String(length=520), nullable=True),
        sa.Column("response_incident_id", sa.Integer(), nullable=True),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("raised_at", UTCDateTime(), nullable=False),
        sa.Column("raised_by", sa.String(length=100), nullable=True),
        sa.Column("seen_at", UTCDateTime(), nullable=True),
        sa.Column("seen_by", sa.Integer(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("state IN ('raised', 'seen', 'handled', 'dismissed')", name=op.f("ck_warning_state")),
        sa.ForeignKeyConstraint(["response_incident_id"], ["incident.id"],
                                name=op.f("fk_warning_response_incident_id_incident")),
        sa.ForeignKeyConstraint(["notification_id"], ["notification.id"],
                                name=op.f("fk_warning_notification_id_notification")),
        sa.ForeignKeyConstraint(["seen_by"], ["app_user.id"], name=op.f("fk_warning_seen_by_app_user")),
        sa.ForeignKeyConstraint(["closed_by"], ["app_user.id"], name=op.f("fk_warning_closed_by_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warning")),
        sa.UniqueConstraint("episode_key", name=op.f("uq_warning_episode_key")),
    )
    op.create_index("ix_warning_rule", "warning", ["rule"])
    op.create_index("ix_warning_cap_thread_key", "warning", ["cap_thread_key"])
    op.create_index("ix_warning_state_raised_at", "warning", ["state", "raised_at"])
    op.create_table(
        "warning_incident",
        sa.Column("warning_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["warning_id"], ["warning.id"], name=op.f("fk_warning_incident_warning_id_warning")),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"],
                                name=op.f("fk_warning_incident_incident_id_incident")),
        sa.PrimaryKeyConstraint("warning_id", "incident_id", name=op.f("pk_warning_incident")),
    )
    op.create_index("ix_warning_incident_incident_id", "warning_incident", ["incident_id"])
    op.create_table(
        "warning_cursor",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_warning_cursor")),
    )
    op.create_table(
        "warning_subject",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=500), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"],
                                name=op.f("fk_warning_subject_incident_id_incident")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warning_subject")),
    )
    op.create_index("ix_warning_subject_incident_id", "warning_subject", ["incident_id"])
    op.create_index("ix_warning_subject_kind_key_at", "warning_subject", ["kind", "key", "at"])


def downgrade() -> None:
    op.drop_index("ix_warning_subject_kind_key_at", table_name="warning_subject")
    op.drop_index("ix_warning_subject_incident_id", table_name="warning_subject")
    op.drop_table("warning_subject")
    op.drop_table("warning_cursor")
    op.drop_index("ix_warning_incident_incident_id", table_name="warning_incident")
    op.drop_table("warning_incident")
    op.drop_index("ix_warning_state_raised_at", table_name="warning")
    op.drop_index("ix_warning_cap_thread_key", table_name="warning")
    op.drop_index("ix_warning_rule", table_name="warning")
    op.drop_table("warning")
    op.drop_index("ix_cap_message_thread_key", table_name="cap_message")
    op.drop_table("cap_message")
