"""Reading timers: the next due times with the database clock (what an engine arms for), the timers
list for the console and the command line, each incident's next running deadline."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import Incident, Timer
from dispatch_console.timers.store import PHASE_KINDS


def next_due(db: Database) -> datetime | None:
    return next_due_and_now(db).due


@dataclass(frozen=True)
class NextDue:
    """What an armed engine needs to know: the earliest pending due time, the earliest one still
    ahead (``due`` may be past: a timer another station is firing right now) and the database clock."""

    due: datetime | None
    ahead: datetime | None
    db_clock: datetime


def next_due_and_now(db: Database) -> NextDue:
    """The earliest pending due time, the earliest still ahead and the database clock, read together."""
    with db.read() as s:
        return next_due_in(s)


def next_due_in(s: Session) -> NextDue:
    """:func:`next_due_and_now` inside an open session."""
    now = db_now(s)
    due, ahead = s.execute(
        select(func.min(Timer.due_at), func.min(case((Timer.due_at > now, Timer.due_at))))
        .where(Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))
    ).one()
    return NextDue(due, ahead, now)



@dataclass(frozen=True)
class TimerRow:
    id: int
    kind: str
    incident_id: int | None
    incident_number: str | None
    step: int
    target_role: str | None
    due_at: datetime
    created_at: datetime
    fired_at: datetime | None
    fired_by: str | None
    late_ms: int | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    is_drill: bool

    @property
    def state(self) -> str:
        if self.fired_at is not None:
            return "fired"
        return "cancelled" if self.cancelled_at is not None else "pending"


def list_timers(db: Database, *, state: str | None = None, incident_id: int | None = None,
                limit: int = 500) -> list[TimerRow]:
    """Timers newest due first; ``state`` is pending, fired or cancelled (None: all)."""
    query = select(Timer, Incident.number).outerjoin(Incident, Incident.id == Timer.incident_id)
    if state == "pending":
        query = query.where(Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))
    elif state == "fired":
        query = query.where(Timer.fired_at.is_not(None))
    elif state == "cancelled":
        query = query.where(Timer.cancelled_at.is_not(None), Timer.fired_at.is_(None))
    elif state is not None:
        raise ValueError(f"unknown timer state {state!r}")
    if incident_id is not None:
        query = query.where(Timer.incident_id == incident_id)
    order = Timer.due_at.asc() if state == "pending" else Timer.due_at.desc()
    with db.read() as s:
        rows = s.execute(query.order_by(order, Timer.id).limit(limit)).all()
        return [
            TimerRow(t.id, t.kind, t.incident_id, number, t.step, t.target_role, t.due_at, t.created_at,
                     t.fired_at, t.fired_by, t.late_ms, t.cancelled_at, t.cancel_reason, t.is_drill)
            for t, number in rows
        ]


class Deadline(NamedTuple):
    """The running target of an incident for countdown columns."""

    kind: str
    due_at: datetime
    started_at: datetime


def pending_deadlines(db: Database, incident_ids: Iterable[int]) -> dict[int, Deadline]:
    """Per incident, the earliest pending escalation target (its original deadline and start)."""
    if not incident_ids:
        return {}
    with db.read() as s:
        return pending_deadlines_in(s, incident_ids)


def pending_deadlines_in(s: Session, incident_ids: Iterable[int]) -> dict[int, Deadline]:
    """:func:`pending_deadlines` inside an open session (a page is read in one transaction)."""
    ids = sorted(set(incident_ids))
    result: dict[int, Deadline] = {}
    for start in range(0, len(ids), 500):
        rows = s.execute(
            select(Timer.incident_id, Timer.kind, Timer.payload, Timer.due_at, Timer.created_at)
            .where(Timer.incident_id.in_(ids[start:start + 500]), Timer.kind.in_(PHASE_KINDS),
                   Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))
            .order_by(Timer.due_at)
        )
        for incident_id, kind, payload, due_at, created_at in rows:
            payload = payload or {}
            due = _aware(payload.get("deadline")) or due_at
            started = _aware(payload.get("started_at")) or created_at
            current = result.get(incident_id)
            if current is None or due < current.due_at:
                result[incident_id] = Deadline(kind, due, started)
    return result


def deadline_state(deadline: Deadline, now: datetime) -> str:
    """``ok``, ``amber`` (less than half the time left) or ``red`` (breached)."""
    if now >= deadline.due_at:
        return "red"
    total = (deadline.due_at - deadline.started_at).total_seconds()
    left = (deadline.due_at - now).total_seconds()
    return "amber" if total > 0 and left < total / 2 else "ok"


def _aware(value: Any) -> datetime | None:
    if not value:
        return None
    dt = datetime.fromisoformat(str(value))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)

