"""Every key binding of a window (QActions and QShortcuts) with where it is active, and the
bindings that clash: one key, two actions, scopes that overlap — neither would fire (Qt calls it
an ambiguous shortcut and drops the key)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget

WINDOW_WIDE = (Qt.ShortcutContext.WindowShortcut, Qt.ShortcutContext.ApplicationShortcut)


@dataclass(frozen=True)
class Binding:
    key: str
    what: str
    scope: QWidget  # where the key is active: the window, or a widget and its children

    def overlaps(self, other: Binding) -> bool:
        return (self.scope is other.scope or self.scope.isAncestorOf(other.scope)
                or other.scope.isAncestorOf(self.scope))


def bindings(window: QWidget) -> list[Binding]:
    out: list[Binding] = []
    for action in window.findChildren(QAction):
        widgets = [w for w in action.associatedObjects() if isinstance(w, QWidget)]
        if action.shortcutContext() in WINDOW_WIDE:
            widgets = [window] if widgets else []
        for seq in action.shortcuts():
            for widget in widgets:
                if widget.window() is window and not widget.inherits("QMenu"):
                    out.append(Binding(seq.toString(QKeySequence.SequenceFormat.PortableText),
                                       action.objectName() or action.text(), widget))
    for shortcut in window.findChildren(QShortcut):
        parent = shortcut.parent()
        if not isinstance(parent, QWidget) or parent.window() is not window:
            continue
        scope = window if shortcut.context() in WINDOW_WIDE else parent
        for seq in shortcut.keys():  # noqa: SIM118  (QShortcut.keys(), not a dict)
            out.append(Binding(seq.toString(QKeySequence.SequenceFormat.PortableText),
                               shortcut.objectName() or f"QShortcut on {parent.objectName()}", scope))
    return out


def clashes(window: QWidget) -> list[tuple[str, str, str]]:
    """(key, one action, the other) for every key two actions with overlapping scopes share."""
    found = []
    seen = bindings(window)
    for i, a in enumerate(seen):
        for b in seen[i + 1:]:
            if a.key == b.key and a.what != b.what and a.overlaps(b):
                found.append((a.key, a.what, b.what))
    return found
