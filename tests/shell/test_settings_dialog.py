"""Console → Settings: test the connection against PostgreSQL, save, and the console starts on it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from db.engine import Database
from dispatch_console.kernel import secrets
from station import composition
from ui.shell import settings
from ui.shell.commands import _console, use_configured_database
from ui.shell.main_window import MainWindow, Panels
from ui.shell.settings_dialog import SettingsDialog

pytestmark = pytest.mark.gui


@pytest.fixture
def keyring(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The system keyring, without touching this machine's."""
    kept: dict[str, str] = {}
    monkeypatch.setattr(secrets, "remember_password", lambda url, pw=None: kept.update({url: str(pw)}) or True)
    return kept


@pytest.fixture
def clean_settings() -> Any:
    keys = ("db/url", "station/name", "ui/language", "ui/theme", "alerts/sound", "alerts/volume", "map/tile_url")
    yield
    for key in keys:
        settings.settings().remove(key)


def test_settings_dialog_tests_the_connection_and_the_console_starts_on_it(
        qtbot: QtBot, pg_db: Database, keyring: dict[str, str], clean_settings: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPATCH_DB_URL", raising=False)
    monkeypatch.delenv("DISPATCH_STATION", raising=False)
    url = pg_db.url.render_as_string(hide_password=False)
    dialog = SettingsDialog(first_run=True)
    qtbot.addWidget(dialog)
    dialog.url.clear()
    qtbot.keyClicks(dialog.url, url)
    qtbot.keyClicks(dialog.password, "duty-room-pw")  # trust auth ignores it; the keyring keeps it
    qtbot.mouseClick(dialog.test, Qt.MouseButton.LeftButton)
    assert dialog.verdict.text().startswith("Connected: schema"), dialog.verdict.text()
    assert dialog.password.text() == "" and "duty-room-pw" not in dialog.url.text()
    assert keyring == {url: "duty-room-pw"}
    dialog.station.setText("值班台2")  # (QTest types ASCII only)
    dialog.language.setCurrentIndex(dialog.language.findData("zh_CN"))
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    dialog.volume.setValue(35)
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    assert dialog.result() == SettingsDialog.DialogCode.Accepted
    assert settings.get("db/url") == url and "duty-room-pw" not in str(settings.settings().allKeys())
    assert settings.get("station/name") == "值班台2" and settings.get("alerts/volume") == 35
    assert settings.get("ui/theme") == "dark"

    # the next start: no --db, no --station on the command line; the console opens on PostgreSQL
    ctx: Any = SimpleNamespace(args=SimpleNamespace(db=None, demo=False, station=None, lang=None, user=None))
    assert use_configured_database(ctx, ask=False) is True
    assert ctx.args.db == url and ctx.args.station == "值班台2"
    cli = _cli_context(ctx.args)
    console = _console(cli, demo_default=False)
    assert console.backend == "postgresql" and console.station == "值班台2"
    window = MainWindow(console, panels=Panels(central=composition.panels().central), start_feed=False,
                        restore_layout=False)
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(window.ready, timeout=30000)
        assert type(window.central).__name__ == "QueueView"
    finally:
        window.shutdown()
        console.db.dispose()


def _cli_context(args: Any) -> Any:
    from dispatch_console.cli import CliContext

    full = SimpleNamespace(config_dir=None, password=None, verbose=False, **vars(args))
    return CliContext(full)  # type: ignore[arg-type]


def test_a_failed_test_names_the_reason_and_never_the_password(qtbot: QtBot, keyring: dict[str, str],
                                                              clean_settings: None) -> None:
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    dialog.url.setText("postgresql+psycopg://duty:topsecret@127.0.0.1:1/dispatch")
    result = dialog.test_connection()
    assert not result.ok and dialog.verdict.text()
    assert "topsecret" not in dialog.verdict.text() and "topsecret" not in dialog.url.text()
    assert keyring == {}  # only a password that worked is kept


def test_the_menu_opens_settings(qtbot: QtBot, sqlite_db: Database) -> None:
    from dispatch_console.kernel.config import Resources
    from dispatch_console.kernel.console import ConsoleContext

    def queue(_ui: Any, parent: QWidget) -> QWidget:
        return QWidget(parent)

    window = MainWindow(ConsoleContext(sqlite_db, "t", Resources()), panels=Panels(central=queue),
                        start_feed=False, restore_layout=False)
    qtbot.addWidget(window)
    try:
        assert any(a.objectName() == "action-settings" for a in window.menu_console.actions())
    finally:
        window.shutdown()


def test_a_machine_wide_defaults_file_sets_up_every_workstation(tmp_path: Any) -> None:
    """IT copies one file to /etc/xdg/dispatch-console/ (XDG_CONFIG_DIRS); each officer's own
    settings still win over it."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    machine = tmp_path / "etc-xdg" / "dispatch-console"
    machine.mkdir(parents=True)
    (machine / "dispatch-console.conf").write_text(
        "[db]\nurl=postgresql+psycopg://duty@db.street.local/dispatch\n[ui]\ntheme=dark\n", encoding="utf-8")
    user = tmp_path / "home-config" / "dispatch-console"
    user.mkdir(parents=True)
    (user / "dispatch-console.conf").write_text("[ui]\ntheme=light\n", encoding="utf-8")
    env = {**os.environ, "XDG_CONFIG_DIRS": str(tmp_path / "etc-xdg"), "XDG_CONFIG_HOME": str(tmp_path / "home-config"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    code = "from ui.shell import settings; print(settings.get('db/url')); print(settings.get('ui/theme'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["postgresql+psycopg://duty@db.street.local/dispatch", "light"], out.stderr


@pytest.mark.parametrize("saved", [True, False])
def test_the_first_start_with_no_database_configured_asks_for_one(
        qtbot: QtBot, tmp_path: Any, keyring: dict[str, str], clean_settings: None,
        monkeypatch: pytest.MonkeyPatch, saved: bool) -> None:
    """No --db, no DISPATCH_DB_URL and nothing saved: the first-run dialog comes up before the console;
    what the officer saves there is the database the console opens, and Esc starts nothing."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    monkeypatch.delenv("DISPATCH_DB_URL", raising=False)
    monkeypatch.delenv("DISPATCH_STATION", raising=False)
    settings.settings().remove("db/url")
    url = f"sqlite:///{tmp_path / 'street.sqlite3'}"
    seen: list[str] = []

    def officer() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, SettingsDialog):
            QTimer.singleShot(50, officer)
            return
        seen.append(dialog.windowTitle())
        if not saved:
            qtbot.keyClick(dialog, Qt.Key.Key_Escape)
            return
        dialog.url.setFocus()
        qtbot.keyClicks(dialog.url, url)
        dialog.station.setText("值班台3")
        dialog.buttons.button(dialog.buttons.StandardButton.Save).click()

    QTimer.singleShot(0, officer)
    ctx: Any = SimpleNamespace(args=SimpleNamespace(db=None, demo=False, station=None, lang=None, user=None))
    assert use_configured_database(ctx, ask=True) is saved
    assert seen == ["Set up this workstation"]
    if saved:
        assert ctx.args.db == url and ctx.args.station == "值班台3" and settings.get("db/url") == url
    else:
        assert ctx.args.db is None and not settings.get("db/url")
