"""Hostile text in tooltips shows literally: Qt would render HTML-looking tooltips as markup."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QTextDocument

from ui.shell.plain_text import plain_tooltip

HOSTILE = [
    '"</script><img src=x onerror=alert(1)>',
    "<b>bold</b> & <i>x</i>",
    "'; DROP TABLE incident;--",
    "\u202eevil\u200b zero-width",
    "平山村二坊12号 <出租屋>",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_tooltip_renders_as_the_same_plain_text(qapp, text: str) -> None:  # type: ignore[no-untyped-def]
    tip = plain_tooltip(text)
    doc = QTextDocument()
    doc.setHtml(tip) if "<p" in tip else doc.setPlainText(tip)
    assert doc.toPlainText() == text
    assert "<img" not in doc.toHtml().split("<body", 1)[1].replace("&lt;img", "")


def test_plain_words_stay_as_they_are() -> None:
    assert plain_tooltip("值班员 13800138000") == "值班员 13800138000"
    assert plain_tooltip(None) == ""
