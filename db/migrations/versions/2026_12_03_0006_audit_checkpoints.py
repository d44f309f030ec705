"""audit checkpoints, the database's own settings, and the one path to a new own password

- ``audit_checkpoint``: signed witnesses of the audit chain's head and of the row counts of
  ``audit_log`` and ``change_log`` (dispatch_console.kernel.audit). The HMAC key is not in the
  database: it stays in the config folder of the agent's machine.
- ``site_setting``: facts about the database itself; ``database_kind = demo`` is written when a
  demo database is created (dispatch_console.demo.database), and ``db seed-demo`` refuses any
  database without it that holds data.
- PostgreSQL only: ``dispatch_set_own_password(user_id, current_hash, new_hash)``, a SECURITY
  DEFINER function (owned by whoever runs the migrations) that changes one account's password
  hash only if the caller presents its current hash (compare and swap) and bumps its version.
  The restricted workstation role (``db grant``) may not update ``app_user.password_hash``
  itself; an officer changing their own password, and the sign-in that upgrades an old hash,
  go through this function.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-03 08:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import db.base

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

SET_OWN_PASSWORD = """
CREATE OR REPLACE FUNCTION dispatch_set_own_password(p_user_id integer, p_current_hash text,
                                                     p_new_hash text)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    IF p_new_hash IS NULL OR p_new_hash NOT LIKE '$argon2%' THEN
        RAISE EXCEPTION 'dispatch-console: not a password hash' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE app_user SET password_hash = p_new_hash, version = version + 1
     WHERE id = p_user_id AND password_hash = p_current_hash AND NOT disabled;
    RETURN FOUND;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "audit_checkpoint",
        sa.Column("id", _ID, primary_key=True, autoincrement=False),
        sa.Column("at", db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("station", sa.String(100), nullable=True),
        sa.Column("audit_rows", sa.BigInteger(), nullable=False),
        sa.Column("audit_head_id", sa.BigInteger(), nullable=False),
        sa.Column("audit_head_hash", sa.String(64), nullable=False),
        sa.Column("change_rows", sa.BigInteger(), nullable=False),
        sa.Column("change_max_seq", sa.BigInteger(), nullable=False),
        sa.Column("pruned_before_id", sa.BigInteger(), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("prev_signature", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(64), nullable=False),
    )
    op.create_table(
        "site_setting",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(255), nullable=False),
        sa.Column("set_at", db.base.UTCDateTime(timezone=True), nullable=True),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(SET_OWN_PASSWORD)
        op.execute("REVOKE ALL ON FUNCTION dispatch_set_own_password(integer, text, text) FROM PUBLIC")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS dispatch_set_own_password(integer, text, text)")
    op.drop_table("site_setting")
    op.drop_table("audit_checkpoint")
