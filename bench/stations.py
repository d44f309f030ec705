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
