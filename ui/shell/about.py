"""Help → About: what IT asks for first — version, database, schema revision, log file."""

from __future__ import annotations

import platform
import sys

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QMainWindow, QVBoxLayout, QWidget

from dispatch_console import __version__
from dispatch_console.kernel import logfile
from dispatch_console.kernel.i18n import _
from ui.shell.context import UiContext


class AboutDialog(QDialog):
    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("about-dialog")
        self.setWindowTitle(_("About dispatch-console"))
        console = ui.console
        frozen = bool(getattr(sys, "frozen", False))
        self.values: dict[str, QLabel] = {}
        form = QFormLayout()
        rows = [
            ("version", _("Version"), f"dispatch-console {__version__}"
             + (" " + _("(installed program)") if frozen else "")),
            ("station", _("Workstation"), console.station),
            ("database", _("Database"), f"{console.display_url} ({console.backend})"),
            ("schema", _("Schema revision"), _("reading …")),
            ("log", _("Log file"), str(logfile.log_path())),
            ("runtime", _("Runtime"), f"Python {platform.python_version()}, Qt {qVersion()}, "
                                       f"PySide6 {PySide6.__version__}, {platform.system()} {platform.release()}"),
        ]
        for key, label, value in rows:
            text = QLabel(value)
            text.setObjectName(f"about-{key}")
            text.setTextFormat(Qt.TextFormat.PlainText)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            text.setWordWrap(True)
            self.values[key] = text
            form.addRow(label, text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.resize(620, self.sizeHint().height())
        schema = self.values["schema"]
        ui.runner.run(console.schema_revision,  # a database read: never on the GUI thread
                      on_success=lambda rev: schema.setText(str(rev or _("none (empty database)"))),
                      on_failure=lambda exc: schema.setText(_("unreadable: {error}").format(error=exc)))


def add_to_menu(window: QMainWindow, ui: UiContext, menu: object) -> QAction:
    """Help → About dispatch-console."""
    action = QAction(_("About dispatch-console"), window)
    action.setObjectName("action-about")
    action.triggered.connect(lambda: AboutDialog(ui, window).exec())
    menu.addAction(action)  # type: ignore[attr-defined]
    return action
