"""Light and dark themes (night shifts), and colours that stay readable in both."""

from __future__ import annotations

from importlib import resources as importlib_resources

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("light", "dark")

# Severity 1–4 (特别重大 … 一般): background and text per theme, contrast checked by eye on both.
_SEVERITY = {
    "light": {1: ("#b71c1c", "#ffffff"), 2: ("#e65100", "#ffffff"), 3: ("#f9a825", "#1a1a1a"),
              4: ("#1565c0", "#ffffff")},
    "dark": {1: ("#ef5350", "#1a0000"), 2: ("#ff9800", "#1a0d00"), 3: ("#ffd54f", "#1a1400"),
             4: ("#64b5f6", "#001a33")},
}
_DEADLINE = {
    "light": {"ok": "#2e7d32", "amber": "#ef6c00", "red": "#c62828"},
    "dark": {"ok": "#81c784", "amber": "#ffb74d", "red": "#ef5350"},
}
DRILL_COLOUR = {"light": "#6a1b9a", "dark": "#ce93d8"}

_current = "light"


def current() -> str:
    return _current


def severity_colours(severity: int, theme: str | None = None) -> tuple[QColor, QColor]:
    bg, fg = _SEVERITY[theme or _current].get(severity, ("#9e9e9e", "#000000"))
    return QColor(bg), QColor(fg)


def deadline_colour(state: str, theme: str | None = None) -> QColor:
    return QColor(_DEADLINE[theme or _current].get(state, "#9e9e9e"))


def drill_colour(theme: str | None = None) -> QColor:
    return QColor(DRILL_COLOUR[theme or _current])


def _dark_palette() -> QPalette:
    p = QPalette()
    base, alt, text = QColor("#1e2227"), QColor("#272c33"), QColor("#e6e6e6")
    p.setColor(QPalette.ColorRole.Window, QColor("#23272e"))
    p.setColor(QPalette.ColorRole.WindowText, text)
    p.setColor(QPalette.ColorRole.Base, base)
    p.setColor(QPalette.ColorRole.AlternateBase, alt)
    p.setColor(QPalette.ColorRole.Text, text)
    p.setColor(QPalette.ColorRole.Button, QColor("#2d333b"))
    p.setColor(QPalette.ColorRole.ButtonText, text)
    p.setColor(QPalette.ColorRole.Highlight, QColor("#3d7bd9"))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    p.setColor(QPalette.ColorRole.ToolTipBase, alt)
    p.setColor(QPalette.ColorRole.ToolTipText, text)
    p.setColor(QPalette.ColorRole.PlaceholderText, QColor("#8b949e"))
    p.setColor(QPalette.ColorRole.Link, QColor("#79b8ff"))
    disabled = QPalette.ColorGroup.Disabled  # greyed-out actions must look greyed out at night too
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(disabled, role, QColor("#6e7681"))
    p.setColor(disabled, QPalette.ColorRole.Button, QColor("#262b31"))
    p.setColor(disabled, QPalette.ColorRole.Base, QColor("#1b1f24"))
    return p


def apply(app: QApplication, theme: str) -> None:
    global _current
    if theme not in THEMES:
        theme = "light"
    _current = theme
    app.setStyle("Fusion")
    app.setPalette(_dark_palette() if theme == "dark" else app.style().standardPalette())
    qss = importlib_resources.files("resources") / "themes" / f"{theme}.qss"
    app.setStyleSheet(qss.read_text(encoding="utf-8") if qss.is_file() else "")
