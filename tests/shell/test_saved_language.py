"""The language chosen in the View menu is the console's at the next start."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from db.engine import Database
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.console import ConsoleContext
from dispatch_console.kernel.i18n import _, language, set_language
from ui.shell.commands import use_saved_language
from ui.shell.context import UiContext
from ui.shell.main_window import MainWindow, Panels

pytestmark = pytest.mark.gui


def _queue(_ui: UiContext, parent: QWidget) -> QWidget:
    return QLabel("queue", parent)


def _choose_in_view_menu(qtbot: QtBot, db: Database, system: Actor, label: str) -> None:
    window = MainWindow(ConsoleContext(db, "t", Resources(), actor=system), panels=Panels(central=_queue),
                        start_feed=False, restore_layout=False)
    qtbot.addWidget(window)
    try:
        action = next(a for a in window.menu_view.actions() if a.text() == label)
        action.trigger()
    finally:
        window.shutdown()


def test_the_language_chosen_in_the_view_menu_is_used_at_the_next_start(
        qtbot: QtBot, sqlite_db: Database, system: Actor, monkeypatch: pytest.MonkeyPatch) -> None:
    told: list[str] = []
    monkeypatch.setattr(QMessageBox, "information", lambda _p, _t, text, *_a: told.append(text))
    monkeypatch.delenv("DISPATCH_LANG", raising=False)
    no_flag: Any = SimpleNamespace(args=SimpleNamespace(lang=None))
    try:
        _choose_in_view_menu(qtbot, sqlite_db, system, "中文")
        assert told == ["The language changes at the next start."]
        assert language() == "en"  # this run keeps its language …
        assert use_saved_language(no_flag) == "zh_CN"  # … the next start speaks Chinese
        assert _("Quit") == "退出"

        _choose_in_view_menu(qtbot, sqlite_db, system, "English")
        assert use_saved_language(no_flag) == "en" and _("Quit") == "Quit"

        _choose_in_view_menu(qtbot, sqlite_db, system, "中文")  # --lang still wins for one run
        assert use_saved_language(SimpleNamespace(args=SimpleNamespace(lang="en"))) == "en"  # type: ignore[arg-type]
    finally:
        set_language("en")
