"""dispatch assistance: call-taking answers, run-card proposals, supplies and shelters

``incident_answers`` keeps the questions asked at intake and the answers, the score and the
severity suggested and chosen (with the reason when they differ); ``dispatch_proposal`` keeps
what the run card proposed and what was sent. ``depot`` and ``stock_movement`` are the supplies:
the balance is the sum of the ledger. ``shelter`` and ``shelter_movement`` are the shelters and
the people arriving and leaving.

The ledgers (and the answers and proposals) are append-only on both backends: a trigger refuses
UPDATE and DELETE for everyone, so a mistake is corrected by a new line. ``db grant`` adds them to
the append-only tables of the workstation role as well.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 12:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.base import JSONType, UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

APPEND_ONLY = ("incident_answers", "dispatch_proposal", "stock_movement", "shelter_movement")
_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION dispatch_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'dispatch-console: % on % is not allowed (append-only ledger: add a correction)',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    op.create_table(
        "incident_answers",
        sa.Column("id", _BIGINT, nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("set_code", sa.String(length=64), nullable=False),
        sa.Column("set_version", sa.String(length=32), nullable=False),
        sa.Column("set_hash", sa.String(length=64), nullable=False),
        sa.Column("answers", JSONType, nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("suggested_severity", sa.Integer(), nullable=False),
        sa.Column("chosen_severity", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        _fk("incident_answers", "incident_id", "incident"),
        _fk("incident_answers", "recorded_by", "app_user"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_answers")),
    )
    op.create_index("ix_incident_answers_incident_id", "incident_answers", ["incident_id"])
    op.create_table(
        "dispatch_proposal",
        sa.Column("id", _BIGINT, nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("card", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("proposed", JSONType, nullable=False),
        sa.Column("short", JSONType, nullable=False),
        sa.Column("sent_unit_ids", JSONType, nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        _fk("dispatch_proposal", "incident_id", "incident"),
        _fk("dispatch_proposal", "user_id", "app_user"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispatch_proposal")),
    )
    op.create_index("ix_dispatch_proposal_incident_id", "dispatch_proposal", ["incident_id"])
    op.create_table(
        "depot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("contact_name", sa.String(length=100), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=True),
        _fk("depot", "community_id", "area"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_depot")),
        sa.UniqueConstraint("code", name=op.f("uq_depot_code")),
        sa.UniqueConstraint("name", name=op.f("uq_depot_name")),
    )
    op.create_table(
        "stock_movement",
        sa.Column("id", _BIGINT, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("depot_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("other_depot_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("station", sa.String(length=100), nullable=True),
        sa.CheckConstraint("kind IN ('receive', 'issue', 'transfer_out', 'transfer_in', 'count')",
                           name=op.f("ck_stock_movement_kind")),
        sa.CheckConstraint("quantity <> 0", name=op.f("ck_stock_movement_quantity")),
        _fk("stock_movement", "depot_id", "depot"),
        _fk("stock_movement", "other_depot_id", "depot"),
        _fk("stock_movement", "incident_id", "incident"),
        _fk("stock_movement", "user_id", "app_user"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_movement")),
    )
    op.create_index("ix_stock_movement_depot_item", "stock_movement", ["depot_id", "item"])
    op.create_index("ix_stock_movement_incident_id", "stock_movement", ["incident_id"])
    op.create_table(
        "shelter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("contact_name", sa.String(length=100), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("status IN ('closed', 'open', 'full')", name=op.f("ck_shelter_status")),
        sa.CheckConstraint("capacity > 0", name=op.f("ck_shelter_capacity")),
        _fk("shelter", "community_id", "area"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shelter")),
        sa.UniqueConstraint("code", name=op.f("uq_shelter_code")),
    )
    op.create_table(
        "shelter_movement",
        sa.Column("id", _BIGINT, nullable=False),
        sa.Column("shelter_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.CheckConstraint("people <> 0", name=op.f("ck_shelter_movement_people")),
        _fk("shelter_movement", "shelter_id", "shelter"),
        _fk("shelter_movement", "incident_id", "incident"),
        _fk("shelter_movement", "user_id", "app_user"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shelter_movement")),
    )
    op.create_index("ix_shelter_movement_shelter_id", "shelter_movement", ["shelter_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for table in APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION dispatch_ledger_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION dispatch_ledger_append_only()")
    else:
        for table in APPEND_ONLY:
            for verb in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} BEGIN "
                           f"SELECT RAISE(ABORT, 'dispatch-console: {verb} on {table} is not allowed "
                           f"(append-only ledger: add a correction)'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    for table in ("shelter_movement", "shelter", "stock_movement", "depot", "dispatch_proposal", "incident_answers"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS dispatch_ledger_append_only()")
