"""Console → Settings (and the first-run dialog): what IT sets once per workstation.

The database URL with "Test connection" (the password is asked in its own field, kept in the
system keyring and never shown or stored with the URL), the station's name, language, theme,
the alert sound and its volume, and the map's tiles. Stored per workstation with QSettings
(``~/.config/dispatch-console/dispatch-console.conf``, the registry on Windows); a machine-wide
file with the same keys (``/etc/xdg/dispatch-console/dispatch-console.conf``, HKLM on Windows)
gives the defaults, so IT sets up 20 workstations by copying one file (README).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from dispatch_console.kernel import secrets
from dispatch_console.kernel.connection import ConnectionResult, test_connection
from dispatch_console.kernel.i18n import _
from ui.shell import settings


class SettingsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, *, first_run: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("settings-dialog")
        self.setWindowTitle(_("Set up this workstation") if first_run else _("Settings"))
        self.result_: ConnectionResult | None = None
        form = QFormLayout()
        self.url = QLineEdit(str(settings.get("db/url") or ""))
        self.url.setObjectName("settings-url")
        self.url.setPlaceholderText("postgresql+psycopg://duty@db.street.local/dispatch")
        self.password = QLineEdit()
        self.password.setObjectName("settings-password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText(_("asked once, kept in the system keyring"))
        self.test = QPushButton(_("Test connection"))
        self.test.setObjectName("settings-test")
        self.test.clicked.connect(self.test_connection)
        self.verdict = QLabel()
        self.verdict.setObjectName("settings-verdict")
        self.verdict.setTextFormat(Qt.TextFormat.PlainText)
        self.verdict.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.password, 1)
        row.addWidget(self.test)
        self.station = QLineEdit(str(settings.get("station/name") or ""))
        self.station.setObjectName("settings-station")
        self.station.setPlaceholderText(_("this computer's name"))
        self.language = QComboBox()
        self.language.setObjectName("settings-language")
        for code, label in (("zh_CN", "中文"), ("en", "English")):
            self.language.addItem(label, code)
        self.language.setCurrentIndex(max(0, self.language.findData(str(settings.get("ui/language")))))
        self.theme = QComboBox()
        self.theme.setObjectName("settings-theme")
        for code, label in (("light", _("Day theme")), ("dark", _("Night theme"))):
            self.theme.addItem(label, code)
        self.theme.setCurrentIndex(max(0, self.theme.findData(str(settings.get("ui/theme")))))
        self.sound = QCheckBox(_("Sound for new major incidents and escalations"))
        self.sound.setObjectName("settings-sound")
        self.sound.setChecked(bool(settings.get("alerts/sound")))
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setObjectName("settings-volume")
        self.volume.setRange(0, 100)
        self.volume.setValue(int(settings.get("alerts/volume")))
        self.tiles = QLineEdit(str(settings.get("map/tile_url") or ""))
        self.tiles.setObjectName("settings-tiles")
        self.tiles.setPlaceholderText(_("empty: the map's own layers, no tiles (policies/map.toml)"))
        form.addRow(_("Database URL"), self.url)
        form.addRow(_("Password"), row)
        form.addRow("", self.verdict)
        form.addRow(_("Station name"), self.station)
        form.addRow(_("Language"), self.language)
        form.addRow(_("Theme"), self.theme)
        form.addRow(_("Alert sound"), self.sound)
        form.addRow(_("Volume"), self.volume)
        form.addRow(_("Map tiles"), self.tiles)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        if first_run:
            intro = QLabel(_("No database is configured on this workstation yet. Enter the street's database "
                             "(ask IT), test the connection and save."))
            intro.setWordWrap(True)
            layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.resize(640, self.sizeHint().height())

    def test_connection(self) -> ConnectionResult:
        """Connect with what is typed; a password that worked goes to the keyring, never to the URL."""
        result = test_connection(self.url.text(), self.password.text() or None)
        self.result_ = result
        if result.url:
            self.url.setText(result.url)  # a password typed into the URL leaves the field
        self.password.clear()
        text = result.text
        if result.ok and result.password and not secrets.remember_password(result.url, result.password):
            text += "\n" + _("No system keyring: the password will be asked at each start.")
        self.verdict.setText(text)
        self.verdict.setProperty("ok", result.ok)
        return result

    def save(self) -> None:
        url = self.url.text().strip()
        if url and (self.result_ is None or self.result_.url != url):
            self.test_connection()  # never store a URL that nobody tried
            url = self.url.text().strip()
        settings.put("db/url", url)
        settings.put("station/name", self.station.text().strip())
        settings.put("ui/language", self.language.currentData())
        settings.put("ui/theme", self.theme.currentData())
        settings.put("alerts/sound", self.sound.isChecked())
        settings.put("alerts/volume", self.volume.value())
        settings.put("map/tile_url", self.tiles.text().strip())
        self.accept()


def add_to_menu(window: QWidget, menu: object) -> QAction:
    """Console → Settings… (what changes here is used at the next start)."""
    action = QAction(_("Settings…"), window)
    action.setObjectName("action-settings")
    action.triggered.connect(lambda: SettingsDialog(window).exec())
    menu.addAction(action)  # type: ignore[attr-defined]
    return action
