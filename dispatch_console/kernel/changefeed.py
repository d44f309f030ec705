"""The change feed: every workstation learns of every committed change, in order, exactly once.

Writers add a ``change_log`` row in the same transaction as their change (``changes.record``).
A :class:`ChangeFeed` wakes up when something may have changed — a PostgreSQL ``NOTIFY`` on a
dedicated autocommit connection, or a changed SQLite ``PRAGMA data_version`` — and then reads
``change_log`` after the last seq it delivered. The notification is only a doorbell: a missed
one, or a reconnect after the listening connection was killed, loses nothing, because the rows
are read by seq. A safety catch-up runs every few seconds regardless.

The feed is Qt-free: it calls ``callback(list[Change])`` on its own thread. The UI adapts it to a
queued Qt signal; the timer engine uses it directly.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from db.engine import Database
from db.models import ChangeLog
from dispatch_console.kernel import transient
from dispatch_console.kernel.changes import NOTIFY_CHANNEL

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    seq: int
    at: datetime
    entity: str
    entity_id: int | None
    op: str
    station: str | None
    user_id: int | None
    incident_id: int | None = None  # the incident a change of another entity belongs to (a timer's)
    due_at: datetime | None = None  # a timer scheduled or moved: when it is due


def latest_seq(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(select(func.coalesce(func.max(ChangeLog.seq), 0))).scalar_one())


def changes_after(db: Database, seq: int, limit: int = 5000) -> list[Change]:
    with db.read() as s:
        rows = s.execute(
            select(ChangeLog).where(ChangeLog.seq > seq).order_by(ChangeLog.seq).limit(limit)
        ).scalars()
        return [
            Change(r.seq, r.at, r.entity, r.entity_id, r.op, r.station, r.user_id, r.incident_id, r.due_at)
            for r in rows
        ]


def libpq_url(db: Database) -> str:
    """The SQLAlchemy URL as a libpq connection string for a raw psycopg connection.

    Made by the engine's own dialect, so a URL naming several servers (a primary and its
    standby, with ``target_session_attrs``) reaches the same server the pool would.
    """
    import psycopg  # here, not at the top: a SQLite process never loads it

    _args, opts = db.engine.dialect.create_connect_args(db.url)
    # the psycopg dialect adds Python objects (its adapters' ``context``): not libpq options
    options = {k: v for k, v in opts.items() if isinstance(v, (str, int)) and not isinstance(v, bool)}
    return psycopg.conninfo.make_conninfo(**options)


class ChangeFeed:
    """Delivers committed changes after ``start_seq`` to ``callback`` on a background thread."""

    def __init__(
        self,
        db: Database,
        callback: Callable[[list[Change]], None],
        *,
        start_seq: int | None = None,
        poll_interval: float = 0.05,
        safety_interval: float = 2.0,
        name: str = "change-feed",
    ) -> None:
        self.db = db
        self.callback = callback
        self.poll_interval = poll_interval
        self.safety_interval = safety_interval
        self._last_seq = start_seq
        self.start_seq = start_seq or 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._name = name
        self._lock = threading.Lock()
        self.connected = threading.Event()
        self.backend_pid: int | None = None
        self.reconnects = 0
        self.on_state: Callable[[bool], None] | None = None
        # a lost connection is told once, and its return once (with how long), not at every retry
        self._outage = transient.Outage(log, name)

    @property
    def last_seq(self) -> int:
        return self._last_seq or 0

    def start(self) -> ChangeFeed:
        if self._last_seq is None:
            self._last_seq = latest_seq(self.db)
        self.start_seq = self._last_seq  # what came before is not delivered
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def catch_up(self) -> int:
        """Read and deliver every change after the last delivered seq; returns how many."""
        delivered = 0
        with self._lock:
            while True:
                batch = changes_after(self.db, self.last_seq)
                if not batch:
                    break
                self._last_seq = batch[-1].seq
                delivered += len(batch)
                try:
                    self.callback(batch)
                except Exception:
                    log.exception("change-feed subscriber failed")
                if len(batch) < 5000:
                    break
        return delivered

    def _set_connected(self, up: bool) -> None:
        if up:
            self._outage.back()
            self.connected.set()
        else:
            self.connected.clear()
        if self.on_state is not None:
            try:
                self.on_state(up)
            except Exception:
                log.exception("change-feed state callback failed")

    def _run(self) -> None:
        backoff = 0.2
        while not self._stop.is_set():
            try:
                if self.db.is_postgres:
                    self._listen_postgres()
                else:
                    self._poll_sqlite()
                backoff = 0.2
            except Exception as exc:  # connection lost: reconnect, then catch up by seq
                if self._stop.is_set():
                    break
                if transient.is_transient(exc):
                    self._outage.lost(exc)
                else:
                    log.warning("change feed failed (%s); reconnecting", transient.describe(exc))
                self._set_connected(False)
                self.reconnects += 1
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)

    def _listen_postgres(self) -> None:
        import psycopg

        with psycopg.connect(libpq_url(self.db), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
            self.backend_pid = conn.info.backend_pid
            self._set_connected(True)
            self.catch_up()
            last_safety = time.monotonic()
            while not self._stop.is_set():
                woke = False
                for _notify in conn.notifies(timeout=min(0.5, self.safety_interval), stop_after=1):
                    woke = True
                if woke or time.monotonic() - last_safety >= self.safety_interval:
                    self.catch_up()
                    last_safety = time.monotonic()

    def _poll_sqlite(self) -> None:
        path = self.db.url.database
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5, check_same_thread=False)
        try:
            self._set_connected(True)
            self.catch_up()
            seen = conn.execute("PRAGMA data_version").fetchone()[0]
            last_safety = time.monotonic()
            while not self._stop.wait(self.poll_interval):
                version = conn.execute("PRAGMA data_version").fetchone()[0]
                if version != seen or time.monotonic() - last_safety >= self.safety_interval:
                    seen = version
                    self.catch_up()
                    last_safety = time.monotonic()
        finally:
            conn.close()
