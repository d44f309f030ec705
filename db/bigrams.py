"""Character bigrams of the searched incident text: what the SQLite search index holds.

The queue searches for a piece of text anywhere in five columns of an incident (see
``dispatch_console.incidents.search``). Chinese has no spaces, so words cannot be indexed; every
pair of adjacent characters can. A row that contains the searched text contains every bigram of
it, so the rows whose bigrams include all of the searched text's bigrams are a small superset of
the matches, which the LIKE that follows narrows to the exact answer.

On SQLite the bigrams live in an FTS5 table kept by triggers (migration 0003) that call
:func:`incident_bigram_tokens`, registered on every connection as ``dc_incident_bigrams``. Each
bigram is one FTS5 token: the two characters' code points in hex, so that no character (quote,
operator, punctuation, NUL) is ever split, dropped or read as query syntax by FTS5.

This function is part of the schema: the FTS5 table is contentless, and deleting a row's tokens
means recomputing them from the row's old values. Changing what it returns needs a migration that
empties and refills ``incident_search``.

Lives in ``db`` (not ``dispatch_console``) because ``db.engine`` registers it on each connection.
"""

from __future__ import annotations

from typing import Any

SQLITE_FUNCTION = "dc_incident_bigrams"
SEARCHED_COLUMNS = ("number", "description", "address", "reporter_name", "reporter_phone")

# SQLite's LIKE folds the case of ASCII letters only; folding exactly those keeps the index in step
# with it (str.lower() would also fold other letters, and folds Σ by its context).
_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def fold(text: str) -> str:
    """The text as SQLite's LIKE compares it: ASCII letters lower-cased, all else unchanged."""
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


def bigram_tokens(text: str) -> set[str]:
    """One token per pair of adjacent characters of the folded text (none for 0 or 1 character).

    A token is the two code points as 8 hex digits each (UTF-32): letters and digits only.
    """
    h = fold(text).encode("utf-32-be", "surrogatepass").hex()
    return {h[i:i + 16] for i in range(0, len(h) - 8, 8)}


def incident_bigram_tokens(*values: Any) -> str:
    """The FTS5 document of one incident: the tokens of each column, space-separated.

    Pairs never span two columns. NULLs (and non-text values) contribute nothing.
    """
    tokens: set[str] = set()
    for value in values:
        if isinstance(value, str):
            tokens |= bigram_tokens(value)
    return " ".join(sorted(tokens))


def register_sqlite(dbapi_connection: Any) -> None:
    """Make ``dc_incident_bigrams(number, description, address, reporter_name, reporter_phone)``
    available to SQL (the search triggers call it) on a sqlite3 connection."""
    dbapi_connection.create_function(
        SQLITE_FUNCTION, len(SEARCHED_COLUMNS), incident_bigram_tokens, deterministic=True
    )
