"""What a simulated workstation does in its own process: record incidents at a steady pace
through the real incident service (checklists and escalation timers included)."""

from __future__ import annotations

import os
import random
import threading
import time

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


def write_flat_out(url: str, station: str, start_at: float, stop_at: float, seed: int = 0,
                   lock_throughout: bool = False) -> dict[str, list[float]]:
    """Record incidents as fast as the database takes them from ``start_at`` to ``stop_at``.

    ``lock_throughout`` records them as every write did before the short serialised step: the
    writers' lock taken first and held for the whole transaction (the same-run baseline).
    Returns per write when it started and committed, and how long it held the writers' lock
    (from the moment the lock was granted to the end of the commit).
    """
    import uuid

    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from dispatch_console.incidents.service import add_incident, create_incident
    from dispatch_console.kernel.changes import serialise_writers

    db = Database(url)
    actor = officer(station)
    rng = random.Random(seed)
    granted: list[float] = []
    held: list[float] = []

    @event.listens_for(db.engine, "after_cursor_execute")
    def _lock_granted(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "pg_advisory_xact_lock" in statement:
            granted.append(time.monotonic())

    @event.listens_for(Session, "after_commit")
    def _committed(_session: Session) -> None:
        if granted:
            held.append(time.monotonic() - granted.pop())

    @event.listens_for(db.engine, "rollback")
    def _rolled_back(_conn: object) -> None:
        granted.clear()

    def baseline(draft_: object) -> None:
        with db.write() as s:
            serialise_writers(s)
            add_incident(s, actor, draft_, request_id=uuid.uuid4().hex)  # type: ignore[arg-type]

    began: list[float] = []
    committed: list[float] = []
    try:
        grids = grid_ids(db)
        delay = start_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        while time.monotonic() < stop_at:
            started = time.monotonic()
            if lock_throughout:
                baseline(draft(rng, grids))
            else:
                create_incident(db, actor, draft(rng, grids), request_id=uuid.uuid4().hex)
            began.append(started)
            committed.append(time.monotonic())
    finally:
        event.remove(Session, "after_commit", _committed)
        db.dispose()
    return {"began": began, "committed": committed, "lock_held": held}
