"""Engine and session factory for both backends, and the database clock.

SQLite runs in WAL mode with pysqlite's own transaction handling switched off, so that a write
transaction starts with ``BEGIN IMMEDIATE`` (one writer at a time, taken up front instead of a
deadlock-prone lock upgrade) while readers use a plain deferred ``BEGIN``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from db.bigrams import register_sqlite as _register_search_function

log = logging.getLogger(__name__)

_WRITE_OPTION = "dispatch_write"


def normalise_url(url: str | URL) -> str | URL:
    """A database URL as SQLAlchemy takes it, also when written the libpq way.

    libpq names several servers in one URI (``postgresql://u@db1:5432,db2:5432/duty?
    target_session_attrs=read-write``: the first that accepts writes is used, so after a failover
    the promoted standby is found). SQLAlchemy writes the same as repeated ``host`` parameters;
    this turns the one into the other, and a driverless ``postgresql://`` into psycopg's.
    """
    if not isinstance(url, str):
        return url
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
        return url
    scheme = "postgresql+psycopg"
    authority, _slash, tail = rest.partition("/")
    userinfo, at, hostlist = authority.rpartition("@")
    if "," not in hostlist:
        return f"{scheme}://{rest}"
    path, _q, query = tail.partition("?")
    hosts = [h for h in hostlist.split(",") if h]
    params = "&".join(f"host={quote(h, safe=':[]')}" for h in hosts)
    query = f"{params}&{query}" if query else params
    return f"{scheme}://{userinfo}{at}/{path}?{query}"


def server_list(url: URL) -> list[str]:
    """The servers a PostgreSQL URL names (``host:port``), in the order libpq tries them."""
    hosts = url.query.get("host")
    if hosts:
        return list(hosts) if isinstance(hosts, tuple) else str(hosts).split(",")
    return [f"{url.host or 'localhost'}:{url.port or 5432}"]


# SQLSTATEs after which a pooled connection is of no more use: the server is shutting down or
# crashed, or it is (now) a read-only standby — the next connection finds the primary.
_DROP_CONNECTION_SQLSTATES = {"57P01", "57P02", "57P03", "25006"}


def _postgres_setup(engine: Engine) -> None:
    @event.listens_for(engine, "handle_error")
    def _on_error(context: Any) -> None:
        code = getattr(context.original_exception, "sqlstate", None)
        if code in _DROP_CONNECTION_SQLSTATES and not context.is_disconnect:
            context.is_disconnect = True  # invalidate it (and the pool's older ones), not reuse it


APPLICATION_NAME_MAX = 63  # NAMEDATALEN - 1


def application_name(label: str) -> str:
    """``label`` as a PostgreSQL ``application_name``: the server keeps printable ASCII only and
    turns every other character into "?", so 值班台1 and 值班台2 would both read "???1" in
    pg_stat_activity and pg_locks. Other characters are written as \\uXXXX (Python's and JSON's
    escape, read back with :func:`read_application_name`), never cut in the middle."""
    out = ""
    for ch in label:
        piece = ch if " " <= ch <= "~" and ch != "\\" else ch.encode("unicode_escape").decode("ascii")
        if len(out) + len(piece) > APPLICATION_NAME_MAX:
            break
        out += piece
    return out


def read_application_name(name: str) -> str:
    """What :func:`application_name` wrote, with the Chinese back (for people reading pg_stat_activity)."""
    return name.encode("ascii", "replace").decode("unicode_escape")


def redact_url(url: str | URL) -> str:
    """The URL as it may be shown to people: never with its password."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()
        _register_search_function(dbapi_connection)  # the incident search triggers call it

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(_WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


class Database:
    """One database: its engine, read and write sessions, and the clock."""

    def __init__(self, url: str | URL, *, echo: bool = False, pool_size: int = 5) -> None:
        self.url = make_url(normalise_url(url))
        self.backend = self.url.get_backend_name()
        # hide_parameters: a statement logged (or in an error) never shows its values — password
        # hashes, phones and ID numbers stay out of the logs
        kwargs: dict[str, Any] = {"echo": echo, "future": True, "hide_parameters": True}
        if self.backend == "sqlite":
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
            if self.url.database in (None, "", ":memory:"):
                raise ValueError("an in-memory SQLite database cannot be shared; give a file path")
        elif self.backend == "postgresql":
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = 10
            kwargs["pool_pre_ping"] = True
        else:
            kwargs["poolclass"] = NullPool
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.backend == "sqlite":
            _sqlite_setup(self.engine)
        elif self.backend == "postgresql":
            _postgres_setup(self.engine)
        self._write_engine = self.engine.execution_options(**{_WRITE_OPTION: True})
        self._read = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._write = sessionmaker(bind=self._write_engine, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.backend == "postgresql"

    @property
    def display_url(self) -> str:
        return redact_url(self.url)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work; its transaction is rolled back when the session closes.

        Loaded objects stay readable after the block (close() detaches without expiring them).
        """
        session = self._read()
        try:
            yield session
        finally:
            session.close()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends, rolled back on any exception.

        On SQLite it begins IMMEDIATE, so writers queue for the lock at the start.
        """
        session = self._write()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def now(self, session: Session | None = None) -> datetime:
        """The database clock (PostgreSQL ``now()``; on SQLite, the file's host clock)."""
        if session is None:
            with self.read() as s:
                return self.now(s)
        return db_now(session)

    def refresh_statistics(self) -> None:
        """Bring the query planner's statistics up to date (SQLite; PostgreSQL's autovacuum does its own).

        Without them SQLite guesses that any equality narrows a table to a handful of rows, and
        filtered the open queue by category through the category index (every fire incident in
        the history) instead of the open incidents' index: 13 ms for a page instead of 1.
        ``analysis_limit`` bounds the work (a tenth of a second on 100,000 incidents).
        """
        if self.backend != "sqlite":
            return
        with self._write_engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA analysis_limit=1000")
            conn.exec_driver_sql("ANALYZE")

    def probe(self) -> None:
        """Connect once, so a wrong URL or a refused password is told at start, not mid-shift."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def db_now(session: Session) -> datetime:
    """The database's current time as an aware UTC datetime.

    On PostgreSQL this is ``clock_timestamp()`` rather than ``now()``: inside a transaction that
    waited for a lock, ``now()`` would be the (earlier) start of the transaction.
    """
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        value = session.execute(text("SELECT clock_timestamp()")).scalar_one()
        return value.astimezone(UTC)
    raw = session.execute(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")).scalar_one()
    return datetime.fromisoformat(raw).replace(tzinfo=UTC)
