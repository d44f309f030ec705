"""What every channel sender shares: the answer per recipient, the facts of the message, shortening.

A channel sender (``deliver``) never raises: it returns one :class:`Delivery` per recipient it
tried, with the provider's code and answer. ``outcome`` is ``sent``, ``error`` (not delivered,
safe to try again), ``rate_limited`` (the provider refused for speed; try again after
``retry_after``) or ``unknown`` (the request may have reached the provider and its answer was
lost: never repeated blindly, since an SMS is not idempotent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from dispatch_console.kernel.i18n import _
from dispatch_console.notifications.senders import OutgoingMessage

OUTCOMES = ("sent", "error", "rate_limited", "unknown")
# Roles whose on-duty phones a channel can @-mention or text.
PEOPLE_ROLES = ("shift_leader", "duty_officer", "director")


@dataclass(frozen=True)
class Delivery:
    recipient: str
    outcome: str
    code: str | None = None
    answer: str = ""
    retry_after: float | None = None


@dataclass(frozen=True)
class Contact:
    person_id: int
    name: str
    phone: str


@dataclass(frozen=True)
class Audience:
    """Who is on duty at the moment of sending (database clock), people on leave left out."""

    at: datetime
    by_role: dict[str, tuple[Contact, ...]] = field(default_factory=dict)

    def phones(self, roles: tuple[str, ...] | list[str]) -> tuple[str, ...]:
        seen: list[str] = []
        for role in roles:
            for c in self.by_role.get(role, ()):
                if c.phone not in seen:
                    seen.append(c.phone)
        return tuple(seen)


@dataclass(frozen=True)
class SendContext:
    """The message's facts for texts and templates, the audience, and the database time."""

    now: datetime
    audience: Audience
    level: str = "info"
    incident_number: str = ""
    local_time: str = ""
    # recipients already answered for this message (sent or unknown): never sent again
    done: frozenset[str] = frozenset()

    def variables(self, message: OutgoingMessage) -> dict[str, str]:
        return {"title": message.subject, "body": message.body, "level": self.level,
                "number": self.incident_number, "time": self.local_time}


class ChannelSender(Protocol):
    kind: str
    rate_per_minute: int | None
    down_after: int

    def deliver(self, message: OutgoingMessage, context: SendContext) -> list[Delivery]: ...


def cut_utf8(text: str, max_bytes: int) -> str:
    """The longest start of ``text`` that is at most ``max_bytes`` in UTF-8 (never half a character)."""
    raw = text.encode("utf-8")
    if len(raw) <= max_bytes:
        return text
    return raw[:max(max_bytes, 0)].decode("utf-8", errors="ignore")


def shorten(head: str, body: str, max_bytes: int, tail: str = "") -> str:
    """``head`` + body + ``tail`` within ``max_bytes`` of UTF-8.

    The rule: the head (level and title) and the tail (the @-mentions) are kept whole; the body
    is cut at a character boundary and ends with a mark saying the full text is on the console.
    If even the head does not fit, the head itself is cut (the tail still kept).
    """
    text = f"{head}\n{body}" if body and body != head else head
    if len((text + tail).encode("utf-8")) <= max_bytes:
        return text + tail
    mark = _("… (full text on the duty console)")
    room = max_bytes - len((head + "\n" + mark + tail).encode("utf-8"))
    if room <= 0:
        return cut_utf8(head, max_bytes - len(tail.encode("utf-8"))) + tail
    return f"{head}\n{cut_utf8(body, room)}{mark}{tail}"
