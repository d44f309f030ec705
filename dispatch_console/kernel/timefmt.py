"""The duty room's local time (Asia/Shanghai) for display and for shift days."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def local(dt: datetime) -> datetime:
    return dt.astimezone(LOCAL_TZ)


def fmt_local(dt: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    return "" if dt is None else dt.astimezone(LOCAL_TZ).strftime(fmt)


def fmt_duration(seconds: float) -> str:
    """Ages and countdowns: 45s, 12m, 3h05m, 2d04h."""
    sign = "-" if seconds < 0 else ""
    s = int(abs(seconds))
    if s < 60:
        return f"{sign}{s}s"
    if s < 3600:
        return f"{sign}{s // 60}m"
    if s < 86400:
        return f"{sign}{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{sign}{s // 86400}d{(s % 86400) // 3600:02d}h"
