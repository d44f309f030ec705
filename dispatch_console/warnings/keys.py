"""What the rules over incidents and over cases share: the keys people are compared by, the episode in progress.

A phone is its digits (without +86); an address is folded as people mean it. An episode's
warning is "ongoing" while it is younger than the rule's window: a later report or case joins it
instead of raising another.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import EarlyWarning
from dispatch_console.kernel.i18n import _

_NOT_ADDRESS = re.compile(r"[\s\W_]+", re.UNICODE)


def phone_key(phone: str | None) -> str | None:
    """The digits of a phone, without a leading +86 / 0086 (at least 5 digits, else None)."""
    digits = re.sub(r"\D", "", phone or "")
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) >= 11:
            digits = digits[len(prefix):]
    return digits if len(digits) >= 5 else None


def address_key(address: str | None) -> str | None:
    """An address compared as people mean it: full-width folded (NFKC), case, spaces and punctuation gone."""
    text = _NOT_ADDRESS.sub("", unicodedata.normalize("NFKC", address or "")).lower()
    return text[:500] if len(text) >= 4 else None


def ongoing(session: Session, prefixes: tuple[str, ...] | str, since: datetime) -> int | None:
    """The episode's warning still running: the newest of ``prefixes`` raised since ``since``."""
    found: list[int] = []
    for prefix in (prefixes,) if isinstance(prefixes, str) else prefixes:
        hit = session.execute(select(EarlyWarning.id).where(
            EarlyWarning.episode_key.like(prefix + "%"), EarlyWarning.raised_at >= since)
            .order_by(EarlyWarning.id.desc()).limit(1)).scalar()
        if hit is not None:
            found.append(int(hit))
    return max(found) if found else None


def period_title(title: str, period: str | None) -> str:
    return _("[{period}] {title}").format(period=period, title=title) if period else title
