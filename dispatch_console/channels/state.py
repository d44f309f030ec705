"""Channel bookkeeping: rate slots, the attempt log, and the "channel down" state.

All of it is written in the outbox's own short transactions (with the database clock the outbox
was given). The rate limit is a sliding window of the last minute of requests kept in the
channel's ``channel_state`` row, which the claim locks (``FOR UPDATE`` on PostgreSQL; SQLite's
write transaction is already exclusive), so two agents together never exceed it. A channel is
*down* after ``down_after`` failed attempts in a row, and up again at its next success.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.engine import Database
from db.models import ChannelAttempt, ChannelState
from dispatch_console.channels.base import Delivery

WINDOW = timedelta(minutes=1)


def _state(s: Session, channel: str) -> ChannelState:
    dialect = s.get_bind().dialect.name
    values = {"channel": channel, "consecutive_failures": 0, "recent_sends": []}
    if dialect == "postgresql":
        s.execute(postgresql.insert(ChannelState).values(**values).on_conflict_do_nothing())
        row = s.execute(select(ChannelState).where(ChannelState.channel == channel).with_for_update()).scalar_one()
    else:
        s.execute(sqlite.insert(ChannelState).values(**values).on_conflict_do_nothing())
        row = s.execute(select(ChannelState).where(ChannelState.channel == channel)).scalar_one()
    return row


def reserve_slot(s: Session, channel: str, per_minute: int | None, now: datetime) -> datetime | None:
    """Take one request of the channel's minute; None when taken, else when the next one is free."""
    if not per_minute:
        return None
    row = _state(s, channel)
    recent = sorted(t for t in (datetime.fromisoformat(x) for x in (row.recent_sends or [])) if t > now - WINDOW)
    if len(recent) >= per_minute:
        return recent[len(recent) - per_minute] + WINDOW
    recent.append(now)
    row.recent_sends = [t.isoformat() for t in recent[-per_minute:]]
    row.updated_at = now
    return None


def done_recipients(s: Session, outbox_id: int) -> frozenset[str]:
    """Recipients of this message already answered as sent, or whose answer was lost."""
    return frozenset(s.execute(select(ChannelAttempt.recipient).where(
        ChannelAttempt.outbox_id == outbox_id, ChannelAttempt.outcome.in_(("sent", "unknown")))).scalars())


def any_unknown(s: Session, outbox_id: int) -> bool:
    return s.execute(select(ChannelAttempt.id).where(
        ChannelAttempt.outbox_id == outbox_id, ChannelAttempt.outcome == "unknown").limit(1)).first() is not None


def record_attempts(s: Session, *, outbox_id: int, channel: str, kind: str, attempt: int, now: datetime,
                    deliveries: Iterable[Delivery]) -> None:
    s.add_all([ChannelAttempt(outbox_id=outbox_id, channel=channel, kind=kind, recipient=d.recipient[:200],
                              attempt=attempt, at=now, outcome=d.outcome, code=(d.code or None) and d.code[:64],
                              answer=d.answer[:2000] or None) for d in deliveries])


def note_result(s: Session, channel: str, now: datetime, *, ok: bool, error: str | None, down_after: int) -> bool:
    """Count the channel's run of failures; returns whether it is down now."""
    row = _state(s, channel)
    row.updated_at = now
    if ok:
        row.consecutive_failures = 0
        row.down_since = None
        row.last_success_at = now
        return False
    row.consecutive_failures = (row.consecutive_failures or 0) + 1
    row.last_error = (error or "")[:2000]
    if row.consecutive_failures >= max(down_after, 1) and row.down_since is None:
        row.down_since = now
    return row.down_since is not None


@dataclass(frozen=True)
class ChannelStatus:
    channel: str
    down: bool
    down_since: datetime | None
    consecutive_failures: int
    last_error: str | None
    last_success_at: datetime | None


def channel_status(db: Database) -> list[ChannelStatus]:
    """Every channel that has been used, by name (what the console shows)."""
    with db.read() as s:
        rows = s.execute(select(ChannelState).order_by(ChannelState.channel)).scalars()
        return [ChannelStatus(r.channel, r.down_since is not None, r.down_since, r.consecutive_failures or 0,
                              r.last_error, r.last_success_at) for r in rows]


def down_channels(db: Database) -> list[ChannelStatus]:
    """The channels that keep failing (the console's "channel down" warning)."""
    return [c for c in channel_status(db) if c.down]


@dataclass(frozen=True)
class AttemptRow:
    id: int
    outbox_id: int
    channel: str
    kind: str
    recipient: str
    attempt: int
    at: datetime
    outcome: str
    code: str | None
    answer: str | None


def attempts(db: Database, *, outbox_id: int | None = None, channel: str | None = None,
             limit: int = 500) -> list[AttemptRow]:
    query = select(ChannelAttempt)
    if outbox_id is not None:
        query = query.where(ChannelAttempt.outbox_id == outbox_id)
    if channel is not None:
        query = query.where(ChannelAttempt.channel == channel)
    with db.read() as s:
        rows = s.execute(query.order_by(ChannelAttempt.id).limit(limit)).scalars()
        return [AttemptRow(a.id, a.outbox_id, a.channel, a.kind, a.recipient, a.attempt, a.at, a.outcome,
                           a.code, a.answer) for a in rows]
