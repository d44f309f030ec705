"""incident search: a character-bigram index for every search of two or more characters

The queue looks for a piece of text anywhere in the number, description, address and reporter
name/phone of every incident (dispatch_console.incidents.search). Chinese has no spaces, and
pg_trgm draws no trigram from a two-character word (王伟, 漏水), so such searches read every row.
This migration indexes each pair of adjacent characters of the five (lower-cased) columns; a
search is narrowed to the rows holding all of its bigrams, then checked exactly by LIKE/ILIKE.

- PostgreSQL (14 or later): SQL functions ``dc_bigrams(text) -> text[]`` and
  ``dc_incident_bigrams(number, description, address, reporter_name, reporter_phone)`` and a GIN
  index on the latter, for the searches in which pg_trgm finds no trigram; the trigram indexes
  of 0002 keep serving the others. The bodies are SQL-standard (``RETURN``): bound at creation,
  so they do not depend on the search_path that ANALYZE or REINDEX run with. The index is built
  without a pending list (fastupdate off): a search never has to read unsorted recent entries.
- SQLite: a contentless FTS5 table ``incident_search`` (rowid = incident id) of the tokens made by
  the Python function ``dc_incident_bigrams`` (db.bigrams, registered on every connection by
  db.engine), kept by triggers on ``incident``. Contentless: the delete and update triggers give
  FTS5 the old values to recompute the tokens being removed, so the function's output is part of
  the schema; changing it needs a migration that runs 'delete-all' and refills the table.
  A later batch migration that rebuilds ``incident`` (move and copy) drops these triggers: it must
  create them again (``SQLITE_TRIGGERS`` below).

Both fill the index for the incidents already there.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 09:00:00
"""
from __future__ import annotations

from alembic import op

from db.bigrams import register_sqlite

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = ("number", "description", "address", "reporter_name", "reporter_phone")


def _bigrams_of(row: str) -> str:
    return "dc_incident_bigrams({})".format(", ".join(f"{row}.{c}" if row else c for c in COLUMNS))


PG_UPGRADE = (
    """CREATE OR REPLACE FUNCTION dc_bigrams(t text) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN ARRAY(SELECT substr(t, i, 2) FROM generate_series(1, length(t) - 1) AS i)""",
    """CREATE OR REPLACE FUNCTION dc_incident_bigrams(
        number text, description text, address text, reporter_name text, reporter_phone text)
    RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN dc_bigrams(lower(number)) || dc_bigrams(lower(description)) || dc_bigrams(lower(address))
        || dc_bigrams(lower(reporter_name)) || dc_bigrams(lower(reporter_phone))""",
    f"""CREATE INDEX IF NOT EXISTS ix_incident_search_bigrams ON incident
    USING gin ({_bigrams_of('')}) WITH (fastupdate = off)""",
    "ANALYZE incident",  # statistics of the new expression: the planner's row estimates
)

PG_DOWNGRADE = (
    "DROP INDEX IF EXISTS ix_incident_search_bigrams",
    "DROP FUNCTION IF EXISTS dc_incident_bigrams(text, text, text, text, text)",
    "DROP FUNCTION IF EXISTS dc_bigrams(text)",
)

SQLITE_TABLE = (
    "CREATE VIRTUAL TABLE incident_search USING fts5("
    "bigrams, content='', detail='none', columnsize=0, tokenize='ascii')"
)

_CHANGED = " OR ".join(f"old.{c} IS NOT new.{c}" for c in ("id", *COLUMNS))
SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER incident_search_insert AFTER INSERT ON incident BEGIN
        INSERT INTO incident_search (rowid, bigrams) VALUES (new.id, {_bigrams_of('new')});
    END""",
    f"""CREATE TRIGGER incident_search_delete AFTER DELETE ON incident BEGIN
        INSERT INTO incident_search (incident_search, rowid, bigrams)
        VALUES ('delete', old.id, {_bigrams_of('old')});
    END""",
    f"""CREATE TRIGGER incident_search_update AFTER UPDATE OF id, {", ".join(COLUMNS)} ON incident
    WHEN {_CHANGED} BEGIN
        INSERT INTO incident_search (incident_search, rowid, bigrams)
        VALUES ('delete', old.id, {_bigrams_of('old')});
        INSERT INTO incident_search (rowid, bigrams) VALUES (new.id, {_bigrams_of('new')});
    END""",
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for statement in PG_UPGRADE:
            op.execute(statement)
        return
    # db.engine registers the function on its connections; alembic run on its own does not.
    register_sqlite(bind.connection.driver_connection)
    op.execute(SQLITE_TABLE)
    op.execute(f"INSERT INTO incident_search (rowid, bigrams) SELECT id, {_bigrams_of('incident')} FROM incident")
    for statement in SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_DOWNGRADE:
            op.execute(statement)
        return
    for trigger in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS incident_search_{trigger}")
    op.execute("DROP TABLE IF EXISTS incident_search")
