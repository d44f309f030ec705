"""Data shown as text, never as markup: Qt renders a tooltip that *looks* like HTML as HTML."""

from __future__ import annotations

import html


def plain_tooltip(text: str | None) -> str:
    """A tooltip that shows ``text`` literally, even ``<img src=x>`` or ``<b>``."""
    if not text:
        return ""
    if "<" not in text and "&" not in text:
        return text  # nothing Qt could take for markup
    return "<p style='white-space:pre-wrap'>" + html.escape(text) + "</p>"
