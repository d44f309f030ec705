"""Light and dark themes (night shifts), and colours that stay readable in both.

The colours of tables, their headers and selections are set as palettes and fonts (Qt's own,
drawn natively). The rest of a theme — dock titles, the status bar, padded inputs — is a style
sheet (``resources/themes/*.qss``) set on the docks and the status bar only, never on the whole
application or the main window: a style sheet on a widget or any of its ancestors puts it under
Qt's style-sheet style, and under it a paint of the incident queue took ~30% longer (measured:
a full 1400x900 queue 21 → 14 ms; during a surge, stall p95 24 → 14–18 ms).
"""

from __future__ import annotations

from importlib import resources as importlib_resources

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QDockWidget, QStatusBar, QWidget

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
# Tables: selection, header sections and grid lines (QPalette Highlight, Button and Mid).
_VIEWS = {
    "light": {"selection": "#2f6fd6", "selected_text": "#ffffff", "header": "#f3f5f8", "grid": "#d0d7de"},
    "dark": {"selection": "#3d7bd9", "selected_text": "#ffffff", "header": "#2a3038", "grid": "#3a414a"},
}
STYLED = (QDockWidget, QStatusBar)  # the widgets that carry the theme's style sheet
INPUT_PADDING = "padding: 3px;"  # the sheet's padding of inputs, for inputs outside docks

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


def style_sheet(theme: str | None = None) -> str:
    """The theme's style sheet for docks and the status bar (and what they hold)."""
    qss = importlib_resources.files("resources") / "themes" / f"{theme or _current}.qss"
    return qss.read_text(encoding="utf-8") if qss.is_file() else ""


def style_panels(*roots: QWidget) -> None:
    """Give the theme's style sheet to the docks and status bars in ``roots`` (a main window
    calls this once it has built them; :func:`apply` restyles every one that exists)."""
    sheet = style_sheet()
    for root in roots:
        widgets = [root] if isinstance(root, STYLED) else []
        for kind in STYLED:
            widgets.extend(root.findChildren(kind))
        for widget in widgets:
            if widget.styleSheet() != sheet:
                widget.setStyleSheet(sheet)


def apply(app: QApplication, theme: str) -> None:
    global _current
    if theme not in THEMES:
        theme = "light"
    _current = theme
    app.setStyle("Fusion")
    palette = _dark_palette() if theme == "dark" else app.style().standardPalette()
    views = _VIEWS[theme]
    palette.setColor(QPalette.ColorRole.Highlight, QColor(views["selection"]))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor(views["selected_text"]))
    app.setPalette(palette)
    header = QPalette(palette)
    header.setColor(QPalette.ColorRole.Button, QColor(views["header"]))
    app.setPalette(header, "QHeaderView")
    grid = QPalette(palette)
    grid.setColor(QPalette.ColorRole.Mid, QColor(views["grid"]))
    app.setPalette(grid, "QTableView")
    bold = QFont(app.font())
    bold.setBold(True)
    app.setFont(bold, "QHeaderView")
    app.setStyleSheet("")  # none on the whole application: see the module's docstring
    style_panels(*app.topLevelWidgets())
