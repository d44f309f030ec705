"""The outbox: notifications for people outside the console, delivered until they are sent.

``notifications.notify`` adds one ``outbox`` row per external recipient of the notification's role
(``resources/policies/notify.toml``), in the same transaction — never for drills. :func:`drain`
delivers them: each row is claimed in a short write transaction (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) that pushes its ``next_attempt_at`` a lease ahead, so
two agents never send the same message, and a crashed agent's message is retried after the lease.
A failed send is retried with exponential backoff; after ``max_attempts`` it is marked ``failed``
but stays listed. Delivery bookkeeping writes no audit rows: it changes no record a person edits.

Channels (``dispatch_console.channels``: WeCom, DingTalk, SMS) go through the same claim, with
more on top: a channel's rate limit is kept at the claim (a message over the limit waits in the
outbox until its minute has a free request), every try is logged per recipient with the
provider's answer (``channel_attempt``), a recipient already answered is never sent again, an
answer that was lost leaves the message ``unknown`` (never repeated), and a message whose channel
keeps failing is handed to the next channel of its role (its row ``fallback``, a new row with
``fallback_of``). ``drain`` takes an injectable clock (default: the database's).

The channels room stands above this one: it registers its sender kinds (:func:`register_kind`,
called by ``dispatch_console.channels.install``) and its senders bring their own bookkeeping
(:class:`ChannelSender`), so the outbox imports nothing of it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import Notification, OutboxMessage
from dispatch_console.kernel import transient
from dispatch_console.kernel.config import Resources, data_dir
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.policies import PolicyError, policy_duration
from dispatch_console.notifications.levels import LEVELS
from dispatch_console.notifications.senders import (
    REQUIRED_KEYS,
    SENDER_TYPES,
    OutgoingMessage,
    Sender,
    SmtpSender,
    build_senders,
)

log = logging.getLogger(__name__)

POLICY_FILE = "policies/notify.toml"


@dataclass(frozen=True)
class Recipient:
    sender: str
    to: str
    min_level: str = "info"
    fallback: tuple[str, ...] = ()  # the next senders, in order, when this one keeps failing


@dataclass(frozen=True)
class NotifySettings:
    max_attempts: int = 8
    retry_base: timedelta = timedelta(seconds=30)
    retry_max: timedelta = timedelta(minutes=30)
    lease: timedelta = timedelta(minutes=5)
    senders: dict[str, dict[str, Any]] = field(default_factory=dict)
    recipients: dict[str, tuple[Recipient, ...]] = field(default_factory=dict)

    def recipients_for(self, role: str | None, level: str) -> tuple[Recipient, ...]:
        if role is None:
            return ()
        rank = LEVELS.index(level)
        return tuple(r for r in self.recipients.get(role, ()) if LEVELS.index(r.min_level) <= rank)


class Answer(Protocol):
    """One recipient's answer from a channel (``dispatch_console.channels.base.Delivery``)."""

    recipient: str
    outcome: str  # sent | error | rate_limited | unknown
    code: str | None
    answer: str
    retry_after: float | None


class ChannelSender(Protocol):
    """A sender that answers per recipient and keeps its own books in the outbox's transactions."""

    kind: str
    rate_per_minute: int | None
    down_after: int

    def reserve(self, session: Session, channel: str, now: datetime) -> datetime | None:
        """Take a request of the channel's rate limit; None when taken, else when one is free."""

    def context(self, session: Session, message: OutgoingMessage, now: datetime) -> Any:
        """What the sending needs to know now (who is on duty, recipients already answered)."""

    def deliver(self, message: OutgoingMessage, context: Any) -> Sequence[Answer]: ...

    def failed(self, message: OutgoingMessage, error: Exception) -> Answer:
        """The answer to log when ``deliver`` itself broke."""

    def settle(self, session: Session, message: OutgoingMessage, answers: Sequence[Answer],
               now: datetime) -> tuple[bool, bool]:
        """Log the answers and keep the channel's health: (channel down now, some answer ever lost)."""


@dataclass(frozen=True)
class SenderKind:
    """A sender type another room brings: how to check its settings and how to build it."""

    problems: Callable[[Mapping[str, Any]], list[tuple[str, str]]]
    build: Callable[[str, Mapping[str, Any], Resources | None], ChannelSender]


EXTRA_KINDS: dict[str, SenderKind] = {}


def register_kind(kind: str, *, problems: Callable[[Mapping[str, Any]], list[tuple[str, str]]],
                  build: Callable[[str, Mapping[str, Any], Resources | None], ChannelSender]) -> None:
    EXTRA_KINDS[kind] = SenderKind(problems, build)


def parse_settings(data: Mapping[str, Any], source: str) -> NotifySettings:
    """Validate notify.toml; every error names the file and the key."""

    def fail(key: str, problem: str) -> PolicyError:
        return PolicyError(_("{file}: {key}: {problem}").format(file=source, key=key, problem=problem))

    box = data.get("outbox", {})
    max_attempts = box.get("max_attempts", 8)
    if not isinstance(max_attempts, int) or isinstance(max_attempts, bool) or max_attempts < 1:
        raise fail("outbox.max_attempts", _("a whole number of at least 1"))
    senders: dict[str, dict[str, Any]] = {}
    types = (*SENDER_TYPES, *EXTRA_KINDS)
    for name, cfg in data.get("senders", {}).items():
        kind = cfg.get("type") if isinstance(cfg, dict) else None
        if kind not in types:
            raise fail(f"senders.{name}.type", _("one of {choices}").format(choices=", ".join(types)))
        if kind in EXTRA_KINDS:
            for key, problem in EXTRA_KINDS[kind].problems(cfg):
                raise fail(f"senders.{name}.{key}", problem)
        else:
            for key in REQUIRED_KEYS[kind]:
                if not cfg.get(key):
                    raise fail(f"senders.{name}.{key}", _("required"))
            if kind == "smtp" and cfg.get("tls") not in (None, *SmtpSender.TLS_MODES):
                raise fail(f"senders.{name}.tls", _("one of {choices}").format(choices=", ".join(SmtpSender.TLS_MODES)))
        senders[name] = dict(cfg)
    recipients: dict[str, tuple[Recipient, ...]] = {}
    for role, cfg in data.get("roles", {}).items():
        found = []
        for i, item in enumerate(cfg.get("recipients", [])):
            where = f"roles.{role}.recipients[{i}]"
            if not isinstance(item, dict) or item.get("sender") not in senders:
                raise fail(f"{where}.sender", _("one of {choices}").format(choices=", ".join(senders) or "-"))
            if not str(item.get("to") or "").strip():
                raise fail(f"{where}.to", _("required"))
            level = item.get("min_level", "info")
            if level not in LEVELS:
                raise fail(f"{where}.min_level", _("one of {choices}").format(choices=", ".join(LEVELS)))
            fallback = item.get("fallback", [])
            fallback = [fallback] if isinstance(fallback, str) else fallback
            if not isinstance(fallback, list) or any(f not in senders or f == item["sender"] for f in fallback):
                raise fail(f"{where}.fallback", _("a list of other senders: {choices}").format(
                    choices=", ".join(senders) or "-"))
            found.append(Recipient(str(item["sender"]), str(item["to"]), level, tuple(fallback)))
        recipients[role] = tuple(found)
    return NotifySettings(
        max_attempts=max_attempts,
        retry_base=policy_duration(box.get("retry_base", "30s"), source, "outbox.retry_base"),
        retry_max=policy_duration(box.get("retry_max", "30m"), source, "outbox.retry_max"),
        lease=policy_duration(box.get("lease", "5m"), source, "outbox.lease"),
        senders=senders, recipients=recipients,
    )


_resources: Resources | None = None
_settings: NotifySettings | None = None


def configure(resources: Resources | None = None, settings: NotifySettings | None = None) -> None:
    """Use the site's resources (config folder) or explicit settings from now on."""
    global _resources, _settings
    _resources, _settings = resources, settings


def load_settings(resources: Resources | None = None) -> NotifySettings:
    res = resources or Resources.from_env()
    path = res.path(POLICY_FILE)
    return parse_settings(res.toml(POLICY_FILE), str(path))


def settings() -> NotifySettings:
    global _settings
    if _settings is None:
        _settings = load_settings(_resources)
    return _settings


def senders_from_settings(current: NotifySettings | None = None) -> dict[str, Sender | ChannelSender]:
    """Every configured sender by name; a channel's secrets are fetched now (a missing one says which)."""
    configs = (current or settings()).senders
    plain = {n: c for n, c in configs.items() if c["type"] not in EXTRA_KINDS}
    found: dict[str, Sender | ChannelSender] = dict(build_senders(plain, data_dir()))
    for name, cfg in configs.items():
        if cfg["type"] in EXTRA_KINDS:
            found[name] = EXTRA_KINDS[cfg["type"]].build(name, cfg, _resources)
    return found


def backoff(attempts: int, current: NotifySettings) -> timedelta:
    """Wait before the next attempt: base, 2×base, 4×base … capped at retry_max."""
    factor = 2 ** max(attempts - 1, 0)
    return min(current.retry_base * factor, current.retry_max)


def enqueue(session: Session, notification: Notification, now: datetime) -> int:
    """Outbox rows for the notification's role; none for drills."""
    if notification.is_drill:
        return 0
    current = settings()
    rows = [
        OutboxMessage(notification_id=notification.id, channel=r.sender, recipient=r.to,
                      subject=notification.title, body=notification.body or notification.title,
                      status="pending", attempts=0, created_at=now, next_attempt_at=now)
        for r in current.recipients_for(notification.target_role, notification.level)
    ]
    session.add_all(rows)
    return len(rows)


@dataclass(frozen=True)
class OutboxRow:
    id: int
    notification_id: int | None
    channel: str
    recipient: str
    subject: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None
    claimed_by: str | None


def list_messages(db: Database, *, status: str | None = None, limit: int = 200) -> list[OutboxRow]:
    query = select(OutboxMessage)
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    with db.read() as s:
        rows = s.execute(query.order_by(OutboxMessage.id.desc()).limit(limit)).scalars()
        return [OutboxRow(m.id, m.notification_id, m.channel, m.recipient, m.subject, m.status, m.attempts,
                          m.created_at, m.next_attempt_at, m.sent_at, m.last_error, m.claimed_by)
                for m in rows]


Clock = Callable[[Session], datetime]


def _is_channel(sender: object) -> bool:
    return hasattr(sender, "deliver")


def _claim(db: Database, station: str, current: NotifySettings, tried: set[int],
           senders: Mapping[str, Sender | ChannelSender], clock: Clock) -> OutgoingMessage | None:
    with db.write() as s:
        now = clock(s)
        held: set[str] = set()  # channels whose minute is full: their messages wait
        while True:
            query = (
                select(OutboxMessage)
                .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now,
                       OutboxMessage.id.not_in(tried), OutboxMessage.channel.not_in(held))
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(1)
            )
            if db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            msg = s.execute(query).scalars().first()
            if msg is None:
                return None
            sender = senders.get(msg.channel)
            if _is_channel(sender):
                free_at = sender.reserve(s, msg.channel, now)  # type: ignore[union-attr]
                if free_at is not None:
                    # over the channel's limit: wait in the outbox (not an attempt), all of its messages
                    # but those another agent holds (waiting for them here could deadlock with it)
                    waiting = select(OutboxMessage.id).where(
                        OutboxMessage.channel == msg.channel, OutboxMessage.status == "pending",
                        OutboxMessage.next_attempt_at < free_at)
                    if db.is_postgres:
                        waiting = waiting.with_for_update(skip_locked=True)
                    ids = list(s.execute(waiting).scalars())
                    s.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(next_attempt_at=free_at))
                    held.add(msg.channel)
                    continue
            msg.attempts += 1
            msg.claimed_by = station
            msg.next_attempt_at = now + current.lease  # nobody else takes it while we send
            return OutgoingMessage(msg.id, msg.channel, msg.recipient, msg.subject, msg.body,
                                   msg.notification_id, msg.attempts)


def _finish(db: Database, message: OutgoingMessage, station: str, error: str | None,
            current: NotifySettings, clock: Clock) -> str:
    with db.write() as s:
        now = clock(s)
        if error is None:
            values: dict[str, Any] = {"status": "sent", "sent_at": now, "last_error": None}
            state = "sent"
        elif message.attempt >= current.max_attempts:
            values = {"status": "failed", "last_error": error[:2000]}
            state = "failed"
        else:
            values = {"last_error": error[:2000], "next_attempt_at": now + backoff(message.attempt, current)}
            state = "retry"
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message.id, OutboxMessage.claimed_by == station,
                   OutboxMessage.attempts == message.attempt)
            .values(**values)
        )
    return state


def _context(db: Database, message: OutgoingMessage, sender: ChannelSender, clock: Clock) -> Any:
    """What the channel needs to know, read with the clock of the sending."""
    with db.read() as s:
        return sender.context(s, message, clock(s))


def _next_channel(s: Session, row: OutboxMessage, current: NotifySettings) -> str | None:
    """The sender after this row's in its role's fallback chain, if any."""
    root = row
    while root.fallback_of is not None:
        parent = s.get(OutboxMessage, root.fallback_of)
        if parent is None:
            break
        root = parent
    note = s.get(Notification, row.notification_id) if row.notification_id is not None else None
    if note is None:
        return None
    for r in current.recipients_for(note.target_role, note.level):
        if r.sender == root.channel and r.to == root.recipient:
            chain = (r.sender, *r.fallback)
            if row.channel in chain and chain.index(row.channel) + 1 < len(chain):
                return chain[chain.index(row.channel) + 1]
    return None


def _finish_channel(db: Database, message: OutgoingMessage, station: str, sender: ChannelSender,
                    deliveries: Sequence[Answer], current: NotifySettings, clock: Clock) -> str:
    """Log each recipient's answer, keep the channel's health, and settle the message.

    ``sent`` when every recipient is answered; ``unknown`` when every recipient is answered
    but one answer was lost (never repeated); a provider's "too fast" waits its time and does not
    count as an attempt; any other error retries with backoff — or, when the channel is down or
    the message has used its attempts, hands the message to the next channel of its role.
    """
    with db.write() as s:
        now = clock(s)
        row = s.execute(select(OutboxMessage).where(
            OutboxMessage.id == message.id, OutboxMessage.claimed_by == station,
            OutboxMessage.attempts == message.attempt)).scalar_one_or_none()
        errors = [d for d in deliveries if d.outcome == "error"]
        slow = [d for d in deliveries if d.outcome == "rate_limited"]
        failure = "; ".join(f"{d.recipient}: {d.code} {d.answer}"[:300] for d in errors) or None
        down, unknown = sender.settle(s, message, deliveries, now)
        if errors:
            log.warning("outbox message %s on %s failed for %s (attempt %s): %s", message.id, message.channel,
                        ", ".join(d.recipient for d in errors), message.attempt, failure)
        if row is None:  # the lease ran out and another agent took it: its bookkeeping wins
            return "retry"
        if not errors and not slow:
            row.status = "unknown" if unknown else "sent"
            row.sent_at = now
            row.last_error = _("The answer was lost: it may have been sent, so it is not sent again.") \
                if unknown else None
            return row.status
        if not errors:
            wait = max((d.retry_after or 60.0) for d in slow)
            row.attempts -= 1  # the provider's speed limit is not the message's failure
            row.next_attempt_at = now + timedelta(seconds=wait)
            row.last_error = "; ".join(f"{d.recipient}: {d.code}" for d in slow)[:2000]
            return "retry"
        row.last_error = (failure or "")[:2000]
        if down or message.attempt >= current.max_attempts:
            following = _next_channel(s, row, current)
            if following is not None:
                row.status = "fallback"
                s.add(OutboxMessage(notification_id=row.notification_id, channel=following, recipient=row.recipient,
                                    subject=row.subject, body=row.body, status="pending", attempts=0,
                                    created_at=now, next_attempt_at=now, fallback_of=row.id))
                log.warning("outbox message %s moves from %s to %s", message.id, message.channel, following)
                return "fallback"
        if message.attempt >= current.max_attempts:
            row.status = "failed"
            return "failed"
        row.next_attempt_at = now + backoff(message.attempt, current)
        return "retry"


def _deliver(sender: ChannelSender, message: OutgoingMessage, context: Any) -> Sequence[Answer]:
    try:
        return sender.deliver(message, context)
    except Exception as exc:  # a sender's bug must not stop the outbox: logged as that attempt's error
        return [sender.failed(message, exc)]


def drain(db: Database, senders: Mapping[str, Sender | ChannelSender], station: str, *, limit: int = 100,
          current: NotifySettings | None = None, clock: Clock | None = None) -> dict[str, int]:
    """Send what is due, each message at most once per call.

    Returns counts of ``sent``, ``retry`` (will be tried again later), ``failed`` (gave up),
    ``unknown`` (answer lost, not repeated) and ``fallback`` (handed to the next channel).
    ``clock`` reads "now" in a session (default: the database clock).
    """
    current = current or settings()
    clock = clock or db_now
    counts = {"sent": 0, "retry": 0, "failed": 0, "unknown": 0, "fallback": 0}
    tried: set[int] = set()
    for _i in range(limit):
        message = _claim(db, station, current, tried, senders, clock)
        if message is None:
            break
        tried.add(message.id)
        sender = senders.get(message.channel)
        if _is_channel(sender):
            channel: ChannelSender = sender  # type: ignore[assignment]
            deliveries = _deliver(channel, message, _context(db, message, channel, clock))
            counts[_finish_channel(db, message, station, channel, deliveries, current, clock)] += 1
            continue
        error: str | None = None
        try:
            if sender is None:
                raise LookupError(_("No sender named {name} is configured.").format(name=message.channel))
            sender.send(message)  # type: ignore[union-attr]
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.warning("outbox message %s to %s failed (attempt %s): %s", message.id, message.recipient,
                        message.attempt, error)
        try:
            counts[_finish(db, message, station, error, current, clock)] += 1
        except Exception as exc:
            if transient.is_transient(exc):
                # one line that matters more than the outage's: this message may go out twice
                log.warning("outbox message %s %s, but the database went away before that was recorded; "
                            "it is tried again after its lease", message.id,
                            "was sent" if error is None else "failed")
            raise
    return counts
