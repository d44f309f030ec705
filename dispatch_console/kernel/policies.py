"""Site policies: the TOML files under ``resources/policies/`` (a site's config folder overrides
them file by file) and the values they share, durations first.

A wrong value never passes silently: :class:`PolicyError` names the file and the key.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from dispatch_console.kernel.errors import DispatchError
from dispatch_console.kernel.i18n import _

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


# Longer than any deadline, reminder or retention a site sets; a wider number is a typo (or an
# attack on the parser: timedelta overflows past 999 999 999 days).
MAX_DURATION = timedelta(days=36_600)


def _within(seconds: float, value: Any) -> timedelta:
    # compared before float() or timedelta() see it: a 400-digit int compares exactly, NaN fails
    if not 0 <= seconds <= MAX_DURATION.total_seconds():
        raise ValueError(f"{str(value)[:40]!r} is not between 0 and {MAX_DURATION.days} days")
    return timedelta(seconds=seconds)


def parse_duration(value: Any) -> timedelta:
    """``90`` / ``"90s"`` / ``"5m"`` / ``"2h"`` / ``"1h30m"`` / ``"1d"`` → timedelta (ValueError otherwise),
    at most :data:`MAX_DURATION`."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"{value!r} is negative")
        return _within(value, value)
    if isinstance(value, str) and len(value) <= 64:
        text = value.strip().lower()
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            return _within(float(text), value)
        parts = _DURATION_PART.findall(text)
        if parts and re.fullmatch(r"(?:\s*\d+(?:\.\d+)?\s*[smhd])+\s*", text):
            return _within(sum(float(n) * _UNIT_SECONDS[u] for n, u in parts), value)
    raise ValueError(f"{str(value)[:40]!r} is not a duration (write 90s, 5m, 2h or a number of seconds)")


class PolicyError(DispatchError):
    """A policy file is wrong; the message names the file and the key."""


def policy_duration(value: Any, source: str, key: str) -> timedelta:
    """A duration from a policy file, or PolicyError naming the file and the key."""
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise PolicyError(_("{file}: {key}: {problem}").format(file=source, key=key, problem=exc)) from None


MIN_RETENTION_DAYS = 180
"""Audit and change rows are kept at least this long (网络安全法 art. 21: logs kept at least six
months); ``audit prune`` refuses a shorter period."""
