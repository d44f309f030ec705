"""Transient database errors are weather: told apart from real faults, waited out, told once.

A write whose transaction the database rolled back because the connection went away, the server
shut down or restarted, a standby refused it after a failover, two transactions deadlocked or
could not be serialised, or SQLite's file stayed locked, may simply be tried again — provided the
write carries an idempotency key (an incident's ``external_id`` or the request id its form or
intake line got), so that a commit whose answer was lost is found, not repeated.

* :func:`is_transient` says whether an exception (SQLAlchemy, psycopg or sqlite3, anywhere in
  its chain of causes) is such weather.
* :func:`describe` gives the one line a person or an integrator is shown for any database error.
* :func:`retry` runs a write again after transient errors, with exponential backoff and jitter,
  within a bound of attempts and seconds; what finally fails raises :class:`DatabaseGone`.
* :class:`Outage` turns a stream of failures into two log lines: one when the database goes
  away, one when it comes back (with how long it was away).

Qt-free; the retry's waiting can be cut short by a :class:`threading.Event`.
"""

from __future__ import annotations

import logging
import random
import re
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL

from dispatch_console.kernel.errors import DispatchError
from dispatch_console.kernel.i18n import _

log = logging.getLogger(__name__)

T = TypeVar("T")

# SQLSTATEs after which a rolled-back transaction may be tried again.
TRANSIENT_SQLSTATES = {
    "40001": "serialization failure",
    "40P01": "deadlock detected",
    "25006": "read-only transaction (a standby, after a failover)",
    "57P01": "the server was shut down by its administrator",
    "57P02": "the server crashed",
    "57P03": "the server is starting up or shutting down",
    "53300": "too many connections",
}
# Connection exceptions (class 08) are all weather.
TRANSIENT_SQLSTATE_CLASSES = ("08",)

# Texts of errors that carry no SQLSTATE (the connection is gone, or never came).
_CONNECTION_TEXTS = (
    "connection refused",
    "could not connect",
    "connection failed",
    "server closed the connection",
    "terminating connection",
    "connection is closed",
    "connection already closed",
    "consuming input failed",
    "sending query failed",
    "lost synchronization with server",
    "no connection to the server",
    "ssl syscall error",
    "eof detected",
    "connection timed out",
    "timeout expired",
    "could not receive data from server",
    "could not send data to server",
    "network is unreachable",
    "no route to host",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "cannot execute",  # "cannot execute INSERT in a read-only transaction"
    "read-only transaction",
    "target_session_attrs",
)
# Errors at connect time that no waiting mends: a wrong password, a database or role missing.
_PERMANENT_TEXTS = (
    "password authentication failed",
    "no password supplied",
    "does not exist",
    "authentication failed",
    "no pg_hba.conf entry",
    "invalid connection option",
    "invalid dsn",
    "invalid uri",
)
# "unable to open": the file (on a share, a removable disk) is not there at the moment.
_SQLITE_TEXTS = ("database is locked", "database is busy", "database table is locked",
                 "unable to open database file")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, the DBAPI error SQLAlchemy wraps, and their causes (each once).

    Only explicit causes (``raise … from exc``) count, not the exception being handled when
    another was raised: a bug in an ``except`` block is a bug, not a database error.
    """
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop(0)
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        orig = getattr(item, "orig", None)
        if isinstance(orig, BaseException):
            todo.append(orig)
        todo.append(item.__cause__)


def sqlstate(exc: BaseException) -> str | None:
    """The PostgreSQL SQLSTATE somewhere in the chain, if any."""
    for item in _chain(exc):
        code = getattr(item, "sqlstate", None)
        if isinstance(code, str) and code:
            return code
    return None


def _psycopg() -> Any | None:
    """psycopg if it is loaded: its errors exist only once it is (a SQLite process never imports it)."""
    return sys.modules.get("psycopg")


def _driver_errors() -> tuple[type[BaseException], ...]:
    pg = _psycopg()
    return (sqlite3.Error, pg.Error) if pg is not None else (sqlite3.Error,)


def is_database_error(exc: BaseException) -> bool:
    """Any error of the database layers (SQLAlchemy, psycopg, sqlite3)."""
    kinds: tuple[type[BaseException], ...] = (sa_exc.SQLAlchemyError, *_driver_errors())
    return any(isinstance(item, kinds) for item in _chain(exc))


def _text(exc: BaseException) -> str:
    return " ".join(str(item) for item in _chain(exc)).lower()


def is_transient(exc: BaseException) -> bool:
    """True for database weather: the transaction was rolled back and may be tried again."""
    if not is_database_error(exc):
        return False
    text = _text(exc)
    if any(t in text for t in _PERMANENT_TEXTS):
        return False
    code = sqlstate(exc)
    if code is not None:  # the server answered: weather only for these (not a constraint, a syntax …)
        return code in TRANSIENT_SQLSTATES or code[:2] in TRANSIENT_SQLSTATE_CLASSES
    pg = _psycopg()
    for item in _chain(exc):
        if isinstance(item, sa_exc.DBAPIError) and item.connection_invalidated:
            return True
        if isinstance(item, sa_exc.DisconnectionError):
            return True
        if isinstance(item, sqlite3.OperationalError):
            return any(t in str(item).lower() for t in _SQLITE_TEXTS)
        if pg is not None and isinstance(item, pg.OperationalError):
            return True  # no SQLSTATE: the connection failed or was lost
        if pg is not None and isinstance(item, pg.InterfaceError):
            return any(t in text for t in _CONNECTION_TEXTS)
    return False


_PASSWORDS = re.compile(r"(password\s*=\s*)\S+|(://[^:/@\s]*:)[^@\s]*@", re.IGNORECASE)


def _no_passwords(text: str) -> str:
    return _PASSWORDS.sub(lambda m: f"{m.group(1)}***" if m.group(1) else f"{m.group(2)}***@", text)


def describe(exc: BaseException, url: str | URL | None = None) -> str:
    """One line for people: what the database said, without SQL, parameters or passwords."""
    for item in _chain(exc):
        if isinstance(item, _driver_errors()):
            message = str(item)
            break
    else:
        message = str(getattr(exc, "orig", None) or exc)
    first = " ".join(line.strip() for line in message.strip().splitlines()[:3] if line.strip())
    first = first.split("[SQL:", 1)[0].strip()
    if url is not None:
        from dispatch_console.kernel.secrets import scrub

        first = scrub(first, url)
    return _no_passwords(first)[:300] or type(exc).__name__


class DatabaseGone(DispatchError):
    """A write could not be done because the database stayed away (or stayed busy) too long."""

    def __init__(self, message: str, attempts: int, waited: float, cause: BaseException) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.waited = waited
        self.cause = cause


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying: at most ``attempts`` tries and ``within`` seconds of waiting.

    Waits grow from ``first`` by ``factor`` up to ``cap``; each is drawn at random from its upper
    half ("equal jitter"), so writers that lost the same server do not all return at once.
    """

    attempts: int = 12
    within: float = 30.0
    first: float = 0.1
    factor: float = 2.0
    cap: float = 5.0

    def delays(self, rng: random.Random | None = None) -> Iterator[float]:
        rng = rng or random.Random()
        step = self.first
        while True:
            yield step / 2 + rng.random() * step / 2
            step = min(step * self.factor, self.cap)


DEFAULT_POLICY = RetryPolicy()


def retry(
    write: Callable[[], T],
    *,
    what: str,
    policy: RetryPolicy = DEFAULT_POLICY,
    stop: threading.Event | None = None,
    outage: Outage | None = None,
    sleep: Callable[[float], object] | None = None,
    rng: random.Random | None = None,
) -> T:
    """``write()``, tried again after transient errors; any other error passes through unchanged.

    ``write`` must be idempotent across a lost commit (it carries its idempotency key). ``stop``
    cuts the waiting short (the write is not tried again). ``outage`` is told of the weather so
    that it is logged once, not at every attempt.
    """
    started = time.monotonic()
    delays = policy.delays(rng)
    attempt = 0
    while True:
        attempt += 1
        try:
            result = write()
        except Exception as exc:
            if not is_transient(exc):
                raise
            waited = time.monotonic() - started
            if outage is not None:
                outage.lost(exc)
            delay = next(delays)
            if attempt >= policy.attempts or waited + delay > policy.within:
                raise DatabaseGone(
                    _("{what} was not confirmed after {attempts} attempts in {seconds:.0f} s: {reason}").format(
                        what=what, attempts=attempt, seconds=waited, reason=describe(exc)),
                    attempt, waited, exc) from None
            log.debug("%s: attempt %s failed (%s); again in %.2f s", what, attempt, describe(exc), delay)
            if stop is None:
                (sleep or time.sleep)(delay)
            elif stop.is_set() or stop.wait(delay):
                raise DatabaseGone(
                    _("{what} was not confirmed (stopped while the database was away): {reason}").format(
                        what=what, reason=describe(exc)),
                    attempt, time.monotonic() - started, exc) from None
            continue
        if outage is not None:
            outage.back()
        return result


class Outage:
    """Logs what changed: one line when the database goes away, one when it is back.

    ``lost(exc)`` is called at every failure, ``back()`` at every success; only the first of a run
    of failures and the first success after it write a line (with how long it lasted). Safe to
    share between threads.
    """

    def __init__(self, logger: logging.Logger, where: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger
        self.where = where
        self._clock = clock
        self._since: float | None = None
        self._failures = 0
        self._lock = threading.Lock()
        self.outages = 0

    @property
    def away(self) -> bool:
        return self._since is not None

    def lost(self, exc: BaseException) -> bool:
        """A failure; True if it began an outage (and was logged)."""
        with self._lock:
            self._failures += 1
            if self._since is not None:
                return False
            self._since = self._clock()
            self.outages += 1
        self.logger.warning("%s: the database is unreachable (%s); waiting for it", self.where, describe(exc))
        return True

    def back(self) -> float | None:
        """A success; the outage's length in seconds if it ended one (and was logged)."""
        with self._lock:
            if self._since is None:
                return None
            lasted = self._clock() - self._since
            failures, self._since, self._failures = self._failures, None, 0
        self.logger.warning("%s: the database is back after %.1f s (%d failed attempts)",
                            self.where, lasted, failures)
        return lasted
