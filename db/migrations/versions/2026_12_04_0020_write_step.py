"""the writers' short step as one statement (PostgreSQL): lock, numbers, audit chain, change_log, notify

``dc_write_step`` is what a write transaction does under the writers' lock, in the backend, so
that the lock is held for one statement and the commit instead of a round trip per step:

1. take the writers' advisory lock (``lock_key``; NULL when the transaction holds it already).
   Inside a VOLATILE plpgsql function every query takes a new snapshot, so the statements after
   the lock see what the previous holder committed;
2. give each new incident in ``numbers`` its number (``[{"prefix", "day", "incident_id",
   "token"}]``): the day's row of ``incident_counter`` created or incremented, the incident's
   placeholder ``token`` replaced by the number in its row and in the changes below;
3. append the ``changes`` (``[{"head", "tail", "at", "user_id", …, "before", "after", "op"}]``)
   to the audit chain: each row's hash is sha256(previous hash || head || id || tail), where
   head and tail are the canonical JSON of the row's content before and after its id, made by
   the application (``changes.audit_hash`` computes the same from the stored row); and append
   their change_log rows (their seqs are taken under the lock, so they become visible in order);
4. ``pg_notify(channel, last seq)`` when a channel is given (once per transaction).

Returns ``{"seq": last seq, "numbers": {token: number}, "locked_at": when the lock was held
(epoch seconds, the database clock)}``. SQLite has nothing to create: its
write transactions begin IMMEDIATE and do the same steps in the application.

Revision ID: 0020
Revises: 0014
Create Date: 2026-12-04 18:20:00
"""
from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0015"
branch_labels = None
depends_on = None

WRITE_STEP_SQL = r"""
CREATE OR REPLACE FUNCTION dc_write_step(lock_key bigint, numbers jsonb, changes jsonb, channel text)
RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n jsonb;
    c jsonb;
    v bigint;
    num text;
    taken jsonb := '{}'::jsonb;
    token text;
    tail_id bigint;
    tail_hash text;
    head text;
    rest text;
    before_text text;
    after_text text;
    last_seq bigint;
    locked_at double precision;
BEGIN
    IF lock_key IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(lock_key);
    END IF;
    locked_at := extract(epoch FROM clock_timestamp());
    FOR n IN SELECT value FROM jsonb_array_elements(coalesce(numbers, '[]'::jsonb)) LOOP
        INSERT INTO incident_counter (prefix, day, last_value) VALUES (n->>'prefix', n->>'day', 1)
            ON CONFLICT (prefix, day) DO UPDATE SET last_value = incident_counter.last_value + 1
            RETURNING last_value INTO v;
        num := (n->>'prefix') || '-' || (n->>'day') || '-' || lpad(v::text, greatest(4, length(v::text)), '0');
        UPDATE incident SET number = num WHERE id = (n->>'incident_id')::bigint;
        taken := taken || jsonb_build_object(n->>'token', num);
    END LOOP;
    SELECT a.id, a.hash INTO tail_id, tail_hash FROM audit_log a ORDER BY a.id DESC LIMIT 1;
    IF NOT FOUND THEN
        tail_id := 0;
        tail_hash := repeat('0', 64);
    END IF;
    FOR c IN SELECT value FROM jsonb_array_elements(coalesce(changes, '[]'::jsonb)) LOOP
        head := c->>'head';
        rest := c->>'tail';
        before_text := (c->'before')::text;
        after_text := (c->'after')::text;
        FOR token, num IN SELECT key, value #>> '{}' FROM jsonb_each(taken) LOOP
            head := replace(head, token, num);
            rest := replace(rest, token, num);
            before_text := replace(before_text, token, num);
            after_text := replace(after_text, token, num);
        END LOOP;
        tail_id := tail_id + 1;
        INSERT INTO audit_log (id, at, user_id, username, station, action, entity, entity_id, before, after,
                               prev_hash, hash)
        VALUES (tail_id, (c->>'at')::timestamptz, (c->>'user_id')::integer, c->>'username', c->>'station',
                c->>'action', c->>'entity', (c->>'entity_id')::bigint, before_text::jsonb, after_text::jsonb,
                tail_hash, encode(sha256(convert_to(tail_hash || head || tail_id::text || rest, 'UTF8')), 'hex'))
        RETURNING audit_log.hash INTO tail_hash;
        INSERT INTO change_log (at, entity, entity_id, op, station, user_id, incident_id, due_at)
        VALUES ((c->>'at')::timestamptz, c->>'entity', (c->>'entity_id')::bigint, c->>'op', c->>'station',
                (c->>'user_id')::integer, (c->>'incident_id')::bigint, (c->>'due_at')::timestamptz)
        RETURNING change_log.seq INTO last_seq;
    END LOOP;
    IF channel IS NOT NULL AND last_seq IS NOT NULL THEN
        PERFORM pg_notify(channel, last_seq::text);
    END IF;
    RETURN jsonb_build_object('seq', last_seq, 'numbers', taken, 'locked_at', locked_at);
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(WRITE_STEP_SQL)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS dc_write_step(bigint, jsonb, jsonb, text)")
