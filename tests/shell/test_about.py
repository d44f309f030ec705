"""Help → About: version, database, schema revision and the log file, for IT on the telephone."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel, QWidget
from pytestqt.qtbot import QtBot

from db.engine import Database
from db.migrate import head_revision
from dispatch_console import __version__
from dispatch_console.kernel import logfile
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.console import ConsoleContext
from ui.shell.about import AboutDialog
from ui.shell.context import UiContext
from ui.shell.main_window import MainWindow, Panels

pytestmark = pytest.mark.gui


def _queue(_ui: UiContext, parent: QWidget) -> QWidget:
    return QLabel("queue", parent)


def test_about_names_version_database_schema_and_log(qtbot: QtBot, db: Database, system: Actor) -> None:
    console = ConsoleContext(db, "值班台3", Resources(), actor=system)
    window = MainWindow(console, panels=Panels(central=_queue), start_feed=False, restore_layout=False)
    qtbot.addWidget(window)
    try:
        assert any(a.objectName() == "action-about" for a in window.menu_help.actions())
        about = AboutDialog(window.ui, window)
        qtbot.addWidget(about)
        values = {key: label.text() for key, label in about.values.items()}
        assert values["version"].startswith(f"dispatch-console {__version__}")
        assert values["station"] == "值班台3"
        assert console.display_url in values["database"] and db.backend in values["database"]
        assert values["log"] == str(logfile.log_path())
        qtbot.waitUntil(lambda: about.values["schema"].text() == head_revision())
    finally:
        window.shutdown()
