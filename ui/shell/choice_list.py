"""A dock worked by keyboard: a list, a key that chooses what to do with the selected row, Enter to do it.

The call tasks (1–4, then Enter) and the incoming transfers (A / R, then Enter) are both this: the
officer selects a row, presses a key — the choice is shown in the hint — and Enter records it, Esc
thinks again. A subclass says what the rows are (:meth:`fetch`, :meth:`row_id`, :meth:`row_text`),
which of them can be decided (:meth:`row_open`), what each key needs (:attr:`needs`, a permission
of ``kernel/permissions.py``) and what doing it is (:meth:`act`). A key the signed-in person may not
use is disabled: pressing it chooses nothing and the hint says why (the service refuses it anyway).
The list follows the change feed (:meth:`wants_reload`); database work runs on the background runner.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QDockWidget, QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from dispatch_console.kernel.permissions import refusal
from ui.shell.context import UiContext


class _List(QListWidget):
    def __init__(self, dock: ChoiceListDock, parent: QWidget) -> None:
        super().__init__(parent)
        self.dock = dock

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in self.dock.keys:
            self.dock.choose(self.dock.keys[key])
            return
        if key == Qt.Key.Key_N and self.dock.note is not None:
            self.dock.note.setFocus()
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.dock.chosen is not None:
            self.dock.decide()
            return
        if key == Qt.Key.Key_Escape and self.dock.chosen is not None:
            self.dock.choose(None)
            return
        super().keyPressEvent(event)


class ChoiceListDock(QDockWidget):
    """The list, the optional note field and the hint; subclasses fill in the hooks below."""

    #: key → choice (``Qt.Key`` values)
    keys: dict[int, str] = {}
    #: choice → the permission it needs (a choice not named needs none beyond signing in)
    needs: dict[str, str] = {}

    def __init__(self, ui: UiContext, title: str, name: str, parent: QWidget | None = None, *,
                 note_placeholder: str | None = None, note_chars: int = 2000) -> None:
        super().__init__(title, parent)
        self.setObjectName(name)
        self.default_area = Qt.DockWidgetArea.RightDockWidgetArea
        self.ui = ui
        self.rows: list[Any] = []
        self.chosen: str | None = None
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        self.list = _List(self, body)
        self.list.setObjectName(f"{name}-list")
        self.list.currentRowChanged.connect(lambda _row: self.choose(None))
        layout.addWidget(self.list, 1)
        self.note: QLineEdit | None = None
        if note_placeholder is not None:
            self.note = QLineEdit(body)
            self.note.setObjectName(f"{name}-note")
            self.note.setPlaceholderText(note_placeholder)
            self.note.setMaxLength(note_chars)
            self.note.returnPressed.connect(self.list.setFocus)
            layout.addWidget(self.note)
        self.hint = QLabel(body)
        self.hint.setObjectName(f"{name}-hint")
        self.hint.setTextFormat(Qt.TextFormat.PlainText)
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        self.setWidget(body)
        self._loading = False
        self._again = False
        ui.feed.changed.connect(self._on_changes)
        ui.session.actor_changed.connect(lambda _actor: self.choose(None))

    # -- the hooks -----------------------------------------------------------------------------
    def fetch(self) -> Callable[[], Sequence[Any]]:
        """The read to run in the background (a function of no arguments returning the rows)."""
        raise NotImplementedError

    def row_id(self, row: Any) -> Any:
        raise NotImplementedError

    def row_text(self, row: Any) -> str:
        raise NotImplementedError

    def row_open(self, row: Any) -> bool:
        """Whether the row can still be decided (the others are shown dimmed)."""
        return True

    def idle_hint(self) -> str:
        raise NotImplementedError

    def chosen_hint(self, choice: str) -> str:
        raise NotImplementedError

    def act(self, row: Any, choice: str, note: str) -> Callable[[], Any]:
        """The write to run in the background for ``choice`` on ``row``."""
        raise NotImplementedError

    def done_text(self, result: Any, choice: str) -> str:
        raise NotImplementedError

    def failed_text(self, exc: BaseException) -> str:
        raise NotImplementedError

    def wants_reload(self, changes: list[Any]) -> bool:
        raise NotImplementedError

    def after_load(self) -> None:
        """After the rows are shown (a count in the title, say)."""

    # -- reading -------------------------------------------------------------------------------
    def start(self) -> None:
        """The first hint and the first read: call at the end of the subclass's ``__init__``."""
        self.choose(None)
        self.reload()

    def reload(self) -> None:
        if self._loading:
            self._again = True
            return
        self._loading = True
        self.ui.runner.run(self.fetch(), on_success=self._loaded, on_failure=self._failed)

    def _loaded(self, rows: Sequence[Any]) -> None:
        self._loading = False
        current = self.current()
        self.rows = list(rows)
        self.list.blockSignals(True)
        self.list.clear()
        for r in self.rows:
            item = QListWidgetItem(self.row_text(r))
            item.setData(Qt.ItemDataRole.UserRole, self.row_id(r))
            if not self.row_open(r):
                item.setForeground(self.palette().placeholderText())
            self.list.addItem(item)
        ids = [self.row_id(r) for r in self.rows]
        keep = current is not None and self.row_id(current) in ids
        self.list.setCurrentRow(ids.index(self.row_id(current)) if keep else (0 if ids else -1))
        self.list.blockSignals(False)
        self.after_load()
        if not keep:
            self.choose(None)
        if self._again:
            self._again = False
            self.reload()

    def _failed(self, exc: BaseException) -> None:
        self._loading = False
        self.hint.setText(self.failed_text(exc))

    def _on_changes(self, changes: list[Any]) -> None:
        if self.wants_reload(changes):
            self.reload()

    def current(self) -> Any | None:
        row = self.list.currentRow()
        return self.rows[row] if 0 <= row < len(self.rows) else None

    # -- deciding ------------------------------------------------------------------------------
    def refused(self, choice: str) -> str | None:
        """Why the signed-in person may not make ``choice`` (None if they may)."""
        action = self.needs.get(choice)
        return refusal(self.ui.actor, action) if action is not None else None

    def disabled(self) -> dict[str, str]:
        """The choices the signed-in person may not make, with the reason."""
        found = {}
        for choice in dict.fromkeys(self.keys.values()):
            why = self.refused(choice)
            if why is not None:
                found[choice] = why
        return found

    def choose(self, choice: str | None) -> None:
        current = self.current()
        why = self.refused(choice) if choice is not None else None
        if choice is not None and why is not None:
            self.chosen = None
            self.hint.setText(why)
            return
        self.chosen = choice if current is not None and self.row_open(current) else None
        if self.chosen is None:
            reasons = list(dict.fromkeys(self.disabled().values()))
            self.hint.setText("\n".join([self.idle_hint(), *reasons]))
        else:
            self.hint.setText(self.chosen_hint(self.chosen))

    def decide(self) -> None:
        row, choice = self.current(), self.chosen
        if row is None or choice is None or self.ui.actor is None:
            return
        note = self.note.text() if self.note is not None else ""
        self.choose(None)

        def done(result: Any) -> None:
            if self.note is not None:
                self.note.clear()
            self.hint.setText(self.done_text(result, choice))
            self.reload()

        def failed(exc: BaseException) -> None:
            self.hint.setText(str(exc))
            self.reload()

        self.ui.runner.run(self.act(row, choice, note), on_success=done, on_failure=failed)
