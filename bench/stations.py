"""What a simulated workstation does in its own process: record incidents at a steady pace
through the real incident service (checklists and escalation timers included)."""

from __future__ import annotations

import os
import random
import threading
import time
from typing import Any

from sqlalchemy import select

from bench.textgen import draft
from db.engine import Database
from db.models import Area
from dispatch_console.kernel.actor import Actor


def officer(station: str) -> Actor:
    return Actor(user_id=None, username=f"bench-{station}", role="duty_officer", station=station,
                 display_name=f"bench {station}")


def grid_ids(db: Database) -> list[int]:
    with db.read() as s:
        return [int(i) for i in s.execute(select(Area.id).where(Area.level == "grid").order_by(Area.id)).scalars()]


def write_paced(url: str, station: str, count: int, interval_s: float, start_at: float, seed: int = 0,
                stop_at: float | None = None, nice: int = 0) -> list[tuple[int, float, float]]:
    """Record ``count`` incidents, the i-th at ``start_at + i * interval_s`` (time.monotonic, the
    same clock in every process of this machine), stopping at ``stop_at``.

    Returns (incident id, write started, write committed) per incident; a write that falls
    behind its slot starts at once, so a slow database shows as a lower achieved rate.
    With ``nice``, the writing runs in a thread of that lower CPU priority (Linux; the thread
    ends with the task, so the pooled worker keeps its own priority for the next figure).
    """
    if nice and hasattr(os, "setpriority"):
        result: list[list[tuple[int, float, float]]] = []
        failure: list[BaseException] = []

        def lowered() -> None:
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
                result.append(write_paced(url, station, count, interval_s, start_at, seed, stop_at))
            except BaseException as exc:
                failure.append(exc)

        thread = threading.Thread(target=lowered, name=f"{station}-writer")
        thread.start()
        thread.join()
        if failure:
            raise failure[0]
        return result[0]
    from dispatch_console.incidents.service import create_incident

    db = Database(url)
    actor = officer(station)
    rng = random.Random(seed)
    out: list[tuple[int, float, float]] = []
    try:
        grids = grid_ids(db)
        for i in range(count):
            due = start_at + i * interval_s
            if stop_at is not None and max(due, time.monotonic()) >= stop_at:
                break  # the surge is over: a station that fell behind does not write on after it
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            began = time.monotonic()
            result = create_incident(db, actor, draft(rng, grids))
            out.append((result.row.id, began, time.monotonic()))
    finally:
        db.dispose()
    return out


def _backend_cpu_s(pids: set[int]) -> float | None:
    """CPU seconds (user + system) the PostgreSQL backends ``pids`` used so far (Linux, the server
    on this machine); None when it cannot be read."""
    total = 0.0
    try:
        for pid in pids:
            with open(f"/proc/{pid}/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
    return total


def _statement_kind(statement: str) -> str:
    """A statement's kind for the timings: its verb and table (``INSERT incident_event``)."""
    words = statement.replace("(", " ").split()
    if not words:
        return "?"
    verb = words[0].upper()
    upper = [w.upper() for w in words]
    for key in ("INTO", "FROM", "UPDATE"):
        if key in upper[:60] and upper.index(key) + 1 < len(words):
            return f"{verb} {words[upper.index(key) + 1].strip(chr(34))}"
    return " ".join(words[:2])[:40]


def write_flat_out(url: str, station: str, start_at: float, stop_at: float, seed: int = 0,
                   lock_throughout: bool = False) -> dict[str, Any]:
    """Record incidents as fast as the database takes them from ``start_at`` to ``stop_at``.

    ``lock_throughout`` records them as every write did before the short serialised step: the
    writers' lock taken first and held for the whole transaction (the same-run baseline).
    Returns per write when it started and committed, and how long it held the writers' lock
    (from the moment the lock was granted to the end of the commit); and where the time went:
    this process's CPU, its PostgreSQL backends' CPU, and each kind of statement's round trips.
    """
    import uuid

    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from dispatch_console.incidents.service import add_incident, create_incident
    from dispatch_console.kernel.changes import LOCKED_AT, serialise_writers

    db = Database(url)
    actor = officer(station)
    rng = random.Random(seed)
    granted: list[float] = []
    held: list[float] = []
    backends: set[int] = set()
    timing = {"on": False, "t": 0.0}
    statements: dict[str, list[float]] = {}

    @event.listens_for(db.engine, "connect")
    def _backend(dbapi_connection: Any, _record: Any) -> None:
        if db.is_postgres:
            with dbapi_connection.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                backends.add(int(cur.fetchone()[0]))

    @event.listens_for(db.engine, "before_cursor_execute")
    def _started(*_args: object) -> None:
        timing["t"] = time.perf_counter()

    @event.listens_for(db.engine, "after_cursor_execute")
    def _lock_granted(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if timing["on"]:
            took = time.perf_counter() - timing["t"]
            got = statements.setdefault(_statement_kind(statement), [0.0, 0.0])
            got[0] += 1
            got[1] += took
        if "pg_advisory_xact_lock" in statement:
            granted.append(time.time())

    @event.listens_for(Session, "after_commit")
    def _committed(session: Session) -> None:
        locked_at = session.info.pop(LOCKED_AT, None)
        if granted:
            held.append(time.time() - granted.pop())
        elif locked_at is not None:  # the short step: the database's clock is this machine's
            held.append(time.time() - float(locked_at))

    @event.listens_for(db.engine, "rollback")
    def _rolled_back(_conn: object) -> None:
        granted.clear()

    def baseline(draft_: object) -> None:
        with db.write() as s:
            serialise_writers(s)
            add_incident(s, actor, draft_, request_id=uuid.uuid4().hex)  # type: ignore[arg-type]

    began: list[float] = []
    committed: list[float] = []
    cpu: dict[str, float | None] = {}
    try:
        grids = grid_ids(db)
        delay = start_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        cpu_started, backend_started = time.process_time(), _backend_cpu_s(backends)
        timing["on"] = True
        while time.monotonic() < stop_at:
            started = time.monotonic()
            if lock_throughout:
                baseline(draft(rng, grids))
            else:
                create_incident(db, actor, draft(rng, grids), request_id=uuid.uuid4().hex)
            began.append(started)
            committed.append(time.monotonic())
        timing["on"] = False
        backend_ended = _backend_cpu_s(backends)
        cpu = {"client_s": time.process_time() - cpu_started,
               "backend_s": backend_ended - backend_started
               if backend_started is not None and backend_ended is not None else None}
    finally:
        event.remove(Session, "after_commit", _committed)
        db.dispose()
    return {"began": began, "committed": committed, "lock_held": held, "cpu": cpu, "statements": statements}
