"""Night and day: every text colour of a theme reads on what it is drawn on (WCAG AA, 4.5:1) —
the palette, the severity and deadline colours, the style sheets — and the views take their
warning colours from the theme, so no fixed dark red is left on a dark panel."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtGui import QColor

from ui.shell import theme

ROOT = Path(__file__).resolve().parents[2]
# colours that are not drawn on a theme's surfaces: paper (PDF), the map's own palette, the drill
# chart on white, the roster's conflict cell (its own background with its text)
OWN_BACKGROUND = {"ui/shell/theme.py", "ui/shell/pdf_export.py", "ui/map/web.py", "ui/drills/report_view.py",
                  "ui/rosters/calendar.py", "ui/notifications/escalation_banner.py", "ui/shell/main_window.py"}
FIXED_TEXT = re.compile(r"""(?<![-\w])color:\s*#[0-9a-fA-F]{3,6}|setForeground\([^)]*QColor\(\s*["']#""")


@pytest.mark.parametrize("name", theme.THEMES)
def test_every_text_colour_of_the_theme_meets_wcag_aa(qapp, name: str) -> None:  # type: ignore[no-untyped-def]
    pairs = theme.text_pairs(name)
    assert len(pairs) > 30  # palette, severities, deadlines, style sheet rules
    low = [(what, fg.name(), bg.name(), round(theme.contrast_ratio(fg, bg), 2)) for what, fg, bg in pairs
           if theme.contrast_ratio(fg, bg) < 4.5]
    assert low == []


def test_the_ratio_is_wcag_s() -> None:
    assert theme.contrast_ratio(QColor("#000000"), QColor("#ffffff")) == pytest.approx(21.0)
    assert theme.contrast_ratio(QColor("#777777"), QColor("#ffffff")) == pytest.approx(4.48, abs=0.01)


def test_views_take_text_colours_from_the_theme() -> None:
    fixed = []
    for path in sorted((ROOT / "ui").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in OWN_BACKGROUND:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if FIXED_TEXT.search(line):
                fixed.append(f"{rel}:{n}: {line.strip()}")
    assert fixed == []
