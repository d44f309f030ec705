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


def parse_duration(value: Any) -> timedelta:
    """``90`` / ``"90s"`` / ``"5m"`` / ``"2h"`` / ``"1h30m"`` / ``"1d"`` → timedelta (ValueError otherwise)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"{value!r} is negative")
        return timedelta(seconds=value)
    if isinstance(value, str):
        text = value.strip().lower()
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            return timedelta(seconds=float(text))
        parts = _DURATION_PART.findall(text)
        if parts and re.fullmatch(r"(?:\s*\d+(?:\.\d+)?\s*[smhd])+\s*", text):
            return timedelta(seconds=sum(float(n) * _UNIT_SECONDS[u] for n, u in parts))
    raise ValueError(f"{value!r} is not a duration (write 90s, 5m, 2h or a number of seconds)")


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
