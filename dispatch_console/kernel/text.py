"""Text as the duty room reads it in lists: one line, shortened with an ellipsis."""

from __future__ import annotations


def summary(text: str | None, limit: int) -> str:
    """``text`` folded to one line (runs of white space, newlines included, become one space) and
    cut to at most ``limit`` characters, the last of them "…" when something was cut."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: max(limit - 1, 0)] + "…"
