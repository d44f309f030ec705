"""The outbox: notifications for people outside the console, delivered until they are sent.

``notifications.notify`` adds one ``outbox`` row per external recipient of the notification's role
(``resources/policies/notify.toml``), in the same transaction — never for drills. :func:`drain`
delivers them: each row is claimed in a short write transaction (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) that pushes its ``next_attempt_at`` a lease ahead, so
two agents never send the same message, and a crashed agent's message is retried after the lease.
A failed send is retried with exponential backoff; after ``max_attempts`` it is marked ``failed``
but stays listed. Delivery bookkeeping writes no audit rows: it changes no record a person edits.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import Notification, OutboxMessage
from dispatch_console.kernel import transient
from dispatch_console.kernel.config import Resources, data_dir
from dispatch_console.kernel.i18n import _
from dispatch_console.notifications.senders import REQUIRED_KEYS, SENDER_TYPES, OutgoingMessage, Sender, build_senders
from dispatch_console.notifications.service import LEVELS
from dispatch_console.timers.engine import PolicyError, policy_duration

log = logging.getLogger(__name__)

POLICY_FILE = "policies/notify.toml"


@dataclass(frozen=True)
class Recipient:
    sender: str
    to: str
    min_level: str = "info"


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


def parse_settings(data: Mapping[str, Any], source: str) -> NotifySettings:
    """Validate notify.toml; every error names the file and the key."""

    def fail(key: str, problem: str) -> PolicyError:
        return PolicyError(_("{file}: {key}: {problem}").format(file=source, key=key, problem=problem))

    box = data.get("outbox", {})
    max_attempts = box.get("max_attempts", 8)
    if not isinstance(max_attempts, int) or isinstance(max_attempts, bool) or max_attempts < 1:
        raise fail("outbox.max_attempts", _("a whole number of at least 1"))
    senders: dict[str, dict[str, Any]] = {}
    for name, cfg in data.get("senders", {}).items():
        kind = cfg.get("type") if isinstance(cfg, dict) else None
        if kind not in SENDER_TYPES:
            raise fail(f"senders.{name}.type", _("one of {choices}").format(choices=", ".join(SENDER_TYPES)))
        for key in REQUIRED_KEYS[kind]:
            if not cfg.get(key):
                raise fail(f"senders.{name}.{key}", _("required"))
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
            found.append(Recipient(str(item["sender"]), str(item["to"]), level))
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


def senders_from_settings(current: NotifySettings | None = None) -> dict[str, Sender]:
    return build_senders((current or settings()).senders, data_dir())


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


def _claim(db: Database, station: str, current: NotifySettings, tried: set[int]) -> OutgoingMessage | None:
    with db.write() as s:
        now = db_now(s)
        query = (
            select(OutboxMessage)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now,
                   OutboxMessage.id.not_in(tried))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(1)
        )
        if db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        msg = s.execute(query).scalars().first()
        if msg is None:
            return None
        msg.attempts += 1
        msg.claimed_by = station
        msg.next_attempt_at = now + current.lease  # nobody else takes it while we send
        return OutgoingMessage(msg.id, msg.channel, msg.recipient, msg.subject, msg.body,
                               msg.notification_id, msg.attempts)


def _finish(db: Database, message: OutgoingMessage, station: str, error: str | None,
            current: NotifySettings) -> str:
    with db.write() as s:
        now = db_now(s)
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


def drain(db: Database, senders: Mapping[str, Sender], station: str, *, limit: int = 100,
          current: NotifySettings | None = None) -> dict[str, int]:
    """Send what is due, each message at most once per call.

    Returns counts of ``sent``, ``retry`` (will be tried again later) and ``failed`` (gave up).
    """
    current = current or settings()
    counts = {"sent": 0, "retry": 0, "failed": 0}
    tried: set[int] = set()
    for _i in range(limit):
        message = _claim(db, station, current, tried)
        if message is None:
            break
        tried.add(message.id)
        error: str | None = None
        sender = senders.get(message.channel)
        try:
            if sender is None:
                raise LookupError(_("No sender named {name} is configured.").format(name=message.channel))
            sender.send(message)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.warning("outbox message %s to %s failed (attempt %s): %s", message.id, message.recipient,
                        message.attempt, error)
        try:
            counts[_finish(db, message, station, error, current)] += 1
        except Exception as exc:
            if transient.is_transient(exc):
                # one line that matters more than the outage's: this message may go out twice
                log.warning("outbox message %s %s, but the database went away before that was recorded; "
                            "it is tried again after its lease", message.id,
                            "was sent" if error is None else "failed")
            raise
    return counts
