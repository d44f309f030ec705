"""channel attempts: every try of WeCom, DingTalk and SMS per recipient; channel state; fallbacks

``channel_attempt`` keeps each try of a channel for one recipient with the provider's answer
(an SMS whose answer was lost is ``unknown`` there and never sent again). ``channel_state``
holds, per channel, the times of its recent requests (its rate limit is kept by queueing in the
outbox), its run of failures and since when it is down. ``outbox.fallback_of`` links a message
moved to the next channel of its role to the row of the channel that kept failing.

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-03 08:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.base import JSONType, UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("fallback_of", sa.Integer(), nullable=True))
    op.create_table(
        "channel_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], name=op.f("fk_channel_attempt_outbox_id_outbox")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_attempt")),
    )
    op.create_index("ix_channel_attempt_outbox_id", "channel_attempt", ["outbox_id"])
    op.create_index("ix_channel_attempt_channel_at", "channel_attempt", ["channel", "at"])
    op.create_table(
        "channel_state",
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("down_since", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_success_at", UTCDateTime(), nullable=True),
        sa.Column("recent_sends", JSONType, nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_channel_state")),
    )


def downgrade() -> None:
    op.drop_table("channel_state")
    op.drop_index("ix_channel_attempt_channel_at", table_name="channel_attempt")
    op.drop_index("ix_channel_attempt_outbox_id", table_name="channel_attempt")
    op.drop_table("channel_attempt")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("fallback_of")
