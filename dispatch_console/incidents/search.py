"""The queue's text search: a case-insensitive substring of any of five columns, found by index.

What is searched: the text (trimmed) anywhere in an incident's number, description, address,
reporter name or reporter phone, case-insensitively, with LIKE's wildcards ``%`` ``_`` ``\\`` in
it taken literally. That is decided, as before, by LIKE (ILIKE on PostgreSQL when the text has
letter case): the *recheck*, always part of the filter, so the answer is exactly the LIKE answer.

How it is found: Chinese has no spaces, and pg_trgm draws no trigram from a two-character word,
so the recheck alone would read every incident ever recorded. A character-bigram index
(migration 0003) narrows it first: a row containing the text contains each pair of its adjacent
characters, so only rows holding all the text's bigrams are rechecked. One character has no
bigram; it is rechecked over every row (correct, not indexed).

- SQLite: a contentless FTS5 table ``incident_search`` (rowid = incident id) of the bigram tokens
  made by :func:`db.bigrams.incident_bigram_tokens`, kept by triggers. The filter is
  ``incident.id IN (SELECT rowid FROM incident_search WHERE incident_search MATCH '"t1" AND …')
  AND <recheck>``. Tokens are hex digits made here, never the searched text, so nothing typed
  can break or extend the MATCH expression.
- PostgreSQL: a GIN expression index on ``dc_incident_bigrams(number, description, address,
  reporter_name, reporter_phone)`` (the pairs of adjacent characters of each lower-cased column).
  The filter is ``dc_incident_bigrams(…) @> dc_bigrams(lower(:text)) AND <recheck>``: the text
  goes through the same SQL functions as the rows, so index and query cannot disagree, and since
  ILIKE is ``lower(column) LIKE lower(pattern)`` on a UTF-8 database, every match passes it.
  It serves the texts in which pg_trgm finds no trigram (:func:`pg_trgm_finds_trigram`: two
  characters, mostly). Where pg_trgm finds one, the trigram indexes of 0002 serve the recheck
  itself, and better: with both conditions the planner multiplies their selectivities (the same
  condition counted twice), expects a few rows where there are thousands, and sorts them all
  instead of walking the queue order (2-4x slower for common words on 100,000 incidents).

Only when it is selective: an index that leaves a large share of all incidents to recheck is
slower than no index, since the rows query then stops at its first page in queue order, and on
PostgreSQL it is worse: a plan without the index computes the bigrams of every row it reads
(~50 µs each), so a count for "TY" (every incident) took 4 s. Before using it, the filter asks:
SQLite counts the FTS5 hits (stopping at the limit), PostgreSQL asks the planner for its
estimate of the bigram condition alone (EXPLAIN: no rows read). Past the limit the recheck alone
is the filter, as before this index existed; the answer is the same either way.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, literal, literal_column, or_, select, table
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from db.bigrams import bigram_tokens
from db.models import Incident

FTS_TABLE = "incident_search"
# The bigram index is used when it leaves at most 1/SHARE of the incidents (or MIN_CANDIDATES) to
# recheck. Measured on 100,000 incidents: on SQLite a candidate costs ~9 µs (rows and count),
# against ~100-150 ms for the plain scan; on PostgreSQL the planner turns to a sequential scan
# (and computes bigrams per row) somewhere above 10%.
SQLITE_SHARE = 8
PG_SHARE = 20
MIN_CANDIDATES = 500
_WORD = re.compile(r"[^\W_]+")  # letters and digits: pg_trgm's word characters


def searched_columns() -> tuple[Any, ...]:
    """The five columns, in the order the index functions take them."""
    return (Incident.number, Incident.description, Incident.address, Incident.reporter_name,
            Incident.reporter_phone)


def like_pattern(text: str) -> str:
    """``%text%`` with LIKE's wildcards in the text escaped (searched for literally)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def recheck(dialect: str, text: str) -> ColumnElement[bool]:
    """The exact test: ``text`` is a case-insensitive substring of one of the five columns.

    SQLite's LIKE folds ASCII letters only. On PostgreSQL ILIKE only when case can matter: Chinese
    text, phone numbers and digits have no case, and LIKE is ~2.5x cheaper per row.
    """
    pattern = like_pattern(text)
    if dialect == "postgresql" and pattern.lower() != pattern.upper():
        return or_(*(c.ilike(pattern, escape="\\") for c in searched_columns()))
    return or_(*(c.like(pattern, escape="\\") for c in searched_columns()))


def match_expression(text: str) -> str | None:
    """The FTS5 query for ``text`` (all its bigram tokens, quoted, ANDed); None if it has none."""
    tokens = sorted(bigram_tokens(text))
    return " AND ".join(f'"{t}"' for t in tokens) if tokens else None


def pg_trgm_finds_trigram(text: str) -> bool:
    """Whether pg_trgm draws a trigram from ``LIKE '%text%'``.

    It takes each word (run of letters and digits) of the text, padded with two blanks before it
    and one after it where the word ends at a non-word character rather than at the pattern's
    ``%``, and finds a trigram in it if that is three or more characters long.
    """
    for word in _WORD.finditer(text):
        padded = len(word.group()) + (2 if word.start() > 0 else 0) + (1 if word.end() < len(text) else 0)
        if padded >= 3:
            return True
    return False


def pg_condition(text: str) -> ColumnElement[bool]:
    """The PostgreSQL bigram condition: the rows' bigrams include all of the text's."""
    return func.dc_incident_bigrams(*searched_columns()).op("@>")(func.dc_bigrams(func.lower(literal(text))))


def sqlite_condition(match: str) -> ColumnElement[bool]:
    """The SQLite bigram condition: the incident's id is among the FTS5 hits of ``match``."""
    return Incident.id.in_(_fts_hits(match))


def _fts_hits(match: str) -> Any:
    return (select(literal_column("rowid")).select_from(table(FTS_TABLE))
            .where(literal_column(FTS_TABLE).op("MATCH")(literal(match))))


def _sqlite_selective(session: Session, match: str) -> bool:
    incidents = session.execute(select(func.max(Incident.id))).scalar() or 0  # ~ the count, at once
    limit = max(MIN_CANDIDATES, incidents // SQLITE_SHARE)
    hits = session.execute(select(func.count()).select_from(_fts_hits(match).limit(limit).subquery())).scalar_one()
    return int(hits) < limit


def _pg_selective(session: Session, condition: ColumnElement[bool]) -> bool:
    probe = select(literal_column("1")).select_from(Incident.__table__).where(condition)
    compiled = probe.compile(dialect=session.get_bind().dialect)
    plan = session.connection().exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params).scalar_one()
    if isinstance(plan, str):
        plan = json.loads(plan)
    estimate = float(plan[0]["Plan"]["Plan Rows"])
    incidents = session.execute(sql_text("SELECT reltuples FROM pg_class WHERE oid = 'incident'::regclass")).scalar()
    return estimate <= max(MIN_CANDIDATES, float(incidents or 0) / PG_SHARE)


def indexed(session: Session, text: str) -> ColumnElement[bool] | None:
    """The bigram index condition for ``text`` (a superset of the matches), or None where the
    bigram index is not the one to use: one character; on PostgreSQL, a text with a trigram;
    a text whose bigrams are in too many incidents to narrow the search."""
    if len(text) < 2:
        return None
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        if pg_trgm_finds_trigram(text):
            return None
        condition = pg_condition(text)
        return condition if _pg_selective(session, condition) else None
    if dialect == "sqlite":
        match = match_expression(text)
        if match is None or not _sqlite_selective(session, match):
            return None
        return sqlite_condition(match)
    return None


def search_filter(session: Session, text: str) -> ColumnElement[bool]:
    """WHERE clause: incidents whose searched columns contain ``text`` (trimmed), case-insensitively."""
    text = text.strip()
    if "\x00" in text:
        # No incident text holds NUL (the services refuse it; PostgreSQL text cannot): none match.
        # Said here because PostgreSQL would refuse the parameter, and SQLite cut the pattern at it.
        return false()
    exact = recheck(session.get_bind().dialect.name, text)
    narrowed = indexed(session, text)
    return exact if narrowed is None else and_(narrowed, exact)
