"""Light and dark themes (night shifts), and colours that stay readable in both.

The colours of tables, their headers and selections are set as palettes and fonts (Qt's own,
drawn natively). The rest of a theme — dock titles, the status bar, padded inputs — is a style
sheet (``resources/themes/*.qss``) set on the docks and the status bar only, never on the whole
application or the main window: a style sheet on a widget or any of its ancestors puts it under
Qt's style-sheet style, and under it a paint of the incident queue took ~30% longer (measured:
a full 1400x900 queue 21 → 14 ms; during a surge, stall p95 24 → 14–18 ms).
"""

from __future__ import annotations

import re
from importlib import resources as importlib_resources

from PySide6.QtCore import QModelIndex, QPersistentModelIndex
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDockWidget,
    QStatusBar,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

THEMES = ("light", "dark")

# Severity 1–4 (特别重大 … 一般): background and text per theme. Every text colour here meets WCAG
# AA (4.5:1) on the background it is drawn on: :func:`text_pairs` lists them, a test measures them.
_SEVERITY = {
    "light": {1: ("#b71c1c", "#ffffff"), 2: ("#bf360c", "#ffffff"), 3: ("#f9a825", "#1a1a1a"),
              4: ("#1565c0", "#ffffff")},
    "dark": {1: ("#ef5350", "#1a0000"), 2: ("#ff9800", "#1a0d00"), 3: ("#ffd54f", "#1a1400"),
             4: ("#64b5f6", "#001a33")},
}
_DEADLINE = {
    "light": {"ok": "#2a6f2e", "amber": "#a24a07", "red": "#c62828"},
    "dark": {"ok": "#81c784", "amber": "#ffb74d", "red": "#ff7b72"},
}
DRILL_COLOUR = {"light": "#6a1b9a", "dark": "#ce93d8"}
MUTED_COLOUR = {"light": "#5f6b76", "dark": "#9aa4ae"}  # done, withdrawn, waiting, gone: quieter, still legible
# Tables: selection, header sections and grid lines (QPalette Highlight, Button and Mid).
_VIEWS = {
    "light": {"selection": "#2f6fd6", "selected_text": "#ffffff", "header": "#f3f5f8", "grid": "#d0d7de"},
    "dark": {"selection": "#2d66c3", "selected_text": "#ffffff", "header": "#2a3038", "grid": "#3a414a"},
}
# Fusion draws a tick box's frame in the Window colour darkened by 40 %: on the night theme's
# dark window that frame vanished into the dark base, so an unticked checklist step showed no
# box at all. Tick boxes get their own Window colour (only their frame uses it): ≥ 3:1 against
# the base, WCAG's contrast for the parts of a control (1.4.11); by day the light grey frame
# (2:1 on white) is darkened the same way. A test measures both.
TICK_FRAME_WINDOW = {"light": "#a8a8a8", "dark": "#b4bcc4"}
TICK_WIDGETS = ("QCheckBox", "QRadioButton")
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


def muted_colour(theme: str | None = None) -> QColor:
    return QColor(MUTED_COLOUR[theme or _current])


def warning_style(theme: str | None = None) -> str:
    """A style sheet for a label that warns (refusals, deadlines passed): the theme's red, which
    reads on that theme's panels — never a fixed dark red that vanishes at night."""
    return f"color: {deadline_colour('red', theme).name()}; font-weight: bold"


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
    p.setColor(QPalette.ColorRole.Highlight, QColor("#2d66c3"))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    p.setColor(QPalette.ColorRole.ToolTipBase, alt)
    p.setColor(QPalette.ColorRole.ToolTipText, text)
    p.setColor(QPalette.ColorRole.PlaceholderText, QColor("#9aa4ae"))
    p.setColor(QPalette.ColorRole.Link, QColor("#79b8ff"))
    disabled = QPalette.ColorGroup.Disabled  # greyed-out actions must look greyed out at night too
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(disabled, role, QColor("#6e7681"))
    p.setColor(disabled, QPalette.ColorRole.Button, QColor("#262b31"))
    p.setColor(disabled, QPalette.ColorRole.Base, QColor("#1b1f24"))
    return p


def tick_palette(palette: QPalette, theme: str | None = None) -> QPalette:
    """``palette`` with the Window colour tick boxes need for a visible frame in ``theme``."""
    window = TICK_FRAME_WINDOW.get(theme or _current)
    ticks = QPalette(palette)
    if window:
        for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
            ticks.setColor(group, QPalette.ColorRole.Window, QColor(window))
    return ticks


class TickBoxDelegate(QStyledItemDelegate):
    """Draws a view's items as usual, their tick boxes with a frame the theme keeps visible."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        super().initStyleOption(option, index)
        if option.features & QStyleOptionViewItem.ViewItemFeature.HasCheckIndicator:
            option.palette = tick_palette(option.palette)


def show_tick_boxes(view: QAbstractItemView) -> None:
    """Give a view whose items are ticked (a checklist, units to dispatch) visible tick boxes."""
    view.setItemDelegate(TickBoxDelegate(view))


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


def palette(theme: str) -> QPalette:
    """The application palette of a theme (without the table tweaks of :func:`apply`)."""
    if theme == "dark":
        return _dark_palette()
    from PySide6.QtWidgets import QStyleFactory

    fusion = QStyleFactory.create("Fusion")
    return fusion.standardPalette()


def contrast_ratio(a: QColor, b: QColor) -> float:
    """WCAG 2 contrast ratio of two opaque colours (1 … 21)."""
    def luminance(c: QColor) -> float:
        def channel(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF())
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


_RULE = re.compile(r"([^{}]+)\{([^}]*)\}")
_PROP = re.compile(r"(?:^|;)\s*(background(?:-color)?|color)\s*:\s*(#[0-9a-fA-F]{6})")


def sheet_colours(theme: str) -> list[tuple[str, str | None, str | None]]:
    """(selector, text colour, background) of each rule of the theme's style sheet that sets one."""
    found = []
    for selector, body in _RULE.findall(re.sub(r"/\*.*?\*/", "", style_sheet(theme), flags=re.S)):
        props = {("bg" if k.startswith("background") else "fg"): v for k, v in _PROP.findall(body)}
        if props:
            found.append((selector.strip(), props.get("fg"), props.get("bg")))
    return found


def text_pairs(theme: str) -> list[tuple[str, QColor, QColor]]:
    """Every (what, text colour, background) the theme draws text with."""
    p = palette(theme)
    role = QPalette.ColorRole
    views = _VIEWS[theme]
    pairs: list[tuple[str, QColor, QColor]] = [
        ("window text", p.color(role.WindowText), p.color(role.Window)),
        ("text", p.color(role.Text), p.color(role.Base)),
        ("text, alternate rows", p.color(role.Text), p.color(role.AlternateBase)),
        ("buttons", p.color(role.ButtonText), p.color(role.Button)),
        ("tooltips", p.color(role.ToolTipText), p.color(role.ToolTipBase)),
        ("placeholder", p.color(role.PlaceholderText), p.color(role.Base)),
        ("links", p.color(role.Link), p.color(role.Base)),
        ("selection", QColor(views["selected_text"]), QColor(views["selection"])),
        ("table headers", p.color(role.ButtonText), QColor(views["header"])),
    ]
    surfaces = {"window": p.color(role.Window), "rows": p.color(role.Base),
                "alternate rows": p.color(role.AlternateBase), "buttons": p.color(role.Button)}
    for level in _SEVERITY[theme]:
        bg, fg = severity_colours(level, theme)
        pairs.append((f"severity {level}", fg, bg))
    coloured = {f"deadline {k}": QColor(v) for k, v in _DEADLINE[theme].items()}
    coloured["drill"] = drill_colour(theme)
    coloured["muted"] = muted_colour(theme)
    for what, colour in coloured.items():
        pairs += [(f"{what} on {where}", colour, bg) for where, bg in surfaces.items()]
    sheet = sheet_colours(theme)
    # a rule that sets only a text colour is drawn on what holds it: the status bar, a dock title
    containers = [QColor(bg) for sel, _fg, bg in sheet if bg and sel.startswith(("QStatusBar", "QDockWidget"))]
    for selector, rule_fg, rule_bg in sheet:
        text = QColor(rule_fg) if rule_fg else p.color(role.WindowText)
        behind = [QColor(rule_bg)] if rule_bg else [*containers, p.color(role.Window)]
        pairs += [(f"style sheet {selector}", text, b) for b in behind]
    return pairs


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
    for widget in TICK_WIDGETS:  # they paint no background: Window is their frame's colour only
        app.setPalette(tick_palette(palette, theme), widget)  # type: ignore[arg-type]  # the stubs say bytes; Qt takes the name
    bold = QFont(app.font())
    bold.setBold(True)
    app.setFont(bold, "QHeaderView")
    app.setStyleSheet("")  # none on the whole application: see the module's docstring
    style_panels(*app.topLevelWidgets())
