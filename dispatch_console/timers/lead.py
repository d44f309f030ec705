"""Which timer engine keeps the precise alarm clock for a PostgreSQL database.

Every console and agent runs a :class:`~dispatch_console.timers.engine.TimerEngine`. If each armed a
date job at every due time, eight stations would all wake at the same instant and each take a
turn of the writers' lock (the audit chain) to find the timer already claimed: on a busy duty
floor that queue of empty claims made deadlines seconds late. So one engine per database arms
(the *lead*); the others only run their safety sweep, and fire anything the lead has not.

The lead is whoever holds a session-level advisory lock on a connection of its own. Firing stays
exactly once through the claim transaction alone: the lead is only an optimisation, and two
engines that both believe they lead (for a moment, around a lost connection) still fire each
timer once. When the lead's process dies its connection closes and PostgreSQL frees the lock;
a follower takes it at its next sweep, so the worst case is one sweep interval late, as before.
The connection asks the server for TCP keepalives so a lead whose network vanished is noticed in
about half a minute rather than the operating system's two hours.

SQLite has no such lock and no need of it: its databases live on one machine, and there every
engine arms (its claims are short local transactions).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from db.engine import Database, application_name
from dispatch_console.kernel import transient
from dispatch_console.kernel.changefeed import libpq_url

if TYPE_CHECKING:
    import psycopg  # imported where a PostgreSQL lead connects: a SQLite process never loads it

log = logging.getLogger(__name__)

ARMING_LOCK_KEY = 7_270_002  # pg_advisory_lock key of the arming engine (writers use 7_270_001)
KEEPALIVE = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}
SERVER_KEEPALIVE = ("SET tcp_keepalives_idle = 10", "SET tcp_keepalives_interval = 5",
                    "SET tcp_keepalives_count = 3")


class ArmingLead:
    """Try to be, or stay, the engine that arms; :meth:`hold` is asked at every sweep."""

    def __init__(self, db: Database, station: str) -> None:
        self.db = db
        self.station = station
        self._conn: psycopg.Connection | None = None
        self._lock = threading.Lock()
        self.leading = not db.is_postgres
        # told once when its connection goes and once when it is back, not at every sweep
        self._outage = transient.Outage(log, f"station {station}: arming lead (sweeping only while away)")

    def hold(self) -> bool:
        """True while this engine arms. Re-checks its connection; takes the lock when it is free."""
        if not self.db.is_postgres:
            return True
        import psycopg

        with self._lock:
            was = self.leading
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = self._connect()
                if self.leading:
                    self._conn.execute("SELECT 1")  # still connected: still holding the lock
                else:
                    row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (ARMING_LOCK_KEY,)).fetchone()
                    self.leading = bool(row and row[0])
            except psycopg.Error as exc:
                self._outage.lost(exc)
                self._drop()
            else:
                self._outage.back()
            if self.leading != was:
                log.info("station %s %s the timer alarms", self.station,
                         "now arms" if self.leading else "no longer arms")
            return self.leading

    def release(self) -> None:
        """Give the lead up (closing the connection frees the lock for the next sweep elsewhere)."""
        with self._lock:
            self._drop()

    def backend_pid(self) -> int | None:
        """The server process holding the lock, while this engine leads (tests end it)."""
        return self._conn.info.backend_pid if self._conn is not None and self.leading else None

    def _connect(self) -> psycopg.Connection:
        import psycopg

        conn = psycopg.connect(libpq_url(self.db), autocommit=True, connect_timeout=5,
                               application_name=application_name(f"dispatch-console timers {self.station}"),
                               keepalives=KEEPALIVE["keepalives"], keepalives_idle=KEEPALIVE["keepalives_idle"],
                               keepalives_interval=KEEPALIVE["keepalives_interval"],
                               keepalives_count=KEEPALIVE["keepalives_count"])
        for statement in SERVER_KEEPALIVE:
            conn.execute(statement)
        return conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if self.db.is_postgres:
            self.leading = False
        if conn is not None:
            import psycopg

            try:
                conn.close()
            except psycopg.Error:
                pass
