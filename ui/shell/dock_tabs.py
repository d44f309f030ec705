"""Tab bars of tabbed docks that Qt left on screen by mistake.

When a main window builds its dock layout before it is first shown, Qt creates a tab bar for a
tab group, then another for the same group at the next tabification, and never retires the
first: it is only retired by a layout pass while the window is visible, which has not happened
yet. The orphan stays visible at its old place, a stray "Checklist | Notification centre" strip
drawn over the panel below it. (Building the layout while shown does not leave it; neither a
later ``restoreState`` nor tabifying again removes one left before.)

The orphan is recognisable: it shows a tab of a dock that a tab bar created after it also
shows, and a dock sits in one tab group only. Qt keeps its live bars in creation order (a
retired one is emptied), so the later bar is the live one.
"""

from __future__ import annotations

from PySide6.QtWidgets import QMainWindow, QTabBar


def _tabs(bar: QTabBar) -> set[str]:
    return {bar.tabText(i) for i in range(bar.count())}


def hide_stale_tab_bars(window: QMainWindow) -> list[QTabBar]:
    """Hide the main window's orphaned dock tab bars; returns those hidden."""
    bars = [b for b in window.findChildren(QTabBar) if b.parent() is window and b.count()]
    stale = [bar for i, bar in enumerate(bars) if any(_tabs(bar) & _tabs(later) for later in bars[i + 1:])]
    for bar in stale:
        bar.hide()
    return stale
