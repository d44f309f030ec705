"""Signing in at a workstation, the first start, the idle lock screen and switching officer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QPoint, Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QDialog, QLabel

from db.engine import Database
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.console import ConsoleContext
from dispatch_console.users import accounts as users
from station import composition
from ui.shell import sign_in as sign_in_module
from ui.shell.main_window import MainWindow
from ui.shell.sign_in import FirstAdminDialog, SignInDialog

pytestmark = pytest.mark.gui

HOSTILE_NAME = '"</script><img src=x onerror=alert(1)>\u202eevil\u200b'


@pytest.fixture
def console(sqlite_db: Database, system: Actor) -> ConsoleContext:
    with sqlite_db.write() as s:
        users.create_user(s, system, username="wang", password="pw", role="duty_officer", display_name="王伟")
        users.create_user(s, system, username="li", password="pw2", role="shift_leader", display_name="李娜")
        users.create_user(s, system, username="hotline", password="pw", role="integration")
        users.create_user(s, system, username="odd", password="pw", role="observer",
                          display_name=HOSTILE_NAME)
    return ConsoleContext(sqlite_db, "值班台1", Resources())


def _type_and_enter(qtbot: Any, dialog: SignInDialog, user: str, password: str) -> None:
    dialog.user.clear()
    qtbot.keyClicks(dialog.user, user)
    qtbot.keyClick(dialog.user, Qt.Key.Key_Tab)
    qtbot.keyClicks(dialog.password, password)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)


def test_enter_signs_in_off_the_gui_thread(qtbot: Any, console: ConsoleContext) -> None:
    dialog = SignInDialog(console)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.station.text() == "值班台1"
    _type_and_enter(qtbot, dialog, "wang", "pw")
    qtbot.waitUntil(lambda: dialog.actor is not None)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.actor.username == "wang" and dialog.actor.station == "值班台1"


def test_a_wrong_password_says_so_and_clears_the_field(qtbot: Any, console: ConsoleContext) -> None:
    dialog = SignInDialog(console)
    qtbot.addWidget(dialog)
    dialog.show()
    _type_and_enter(qtbot, dialog, "wang", "nope")
    qtbot.waitUntil(lambda: dialog.error.text() == "Wrong user name or password.")
    assert dialog.password.text() == "" and dialog.actor is None and dialog.isVisible()


def test_escape_cancels(qtbot: Any, console: ConsoleContext) -> None:
    dialog = SignInDialog(console)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClick(dialog.user, Qt.Key.Key_Escape)
    assert dialog.result() == QDialog.DialogCode.Rejected and dialog.actor is None


def test_an_integration_account_cannot_sit_at_a_console(qtbot: Any, console: ConsoleContext) -> None:
    dialog = SignInDialog(console)
    qtbot.addWidget(dialog)
    dialog.show()
    _type_and_enter(qtbot, dialog, "hotline", "pw")
    qtbot.waitUntil(lambda: "integration account" in dialog.error.text())
    assert dialog.actor is None


def test_hostile_names_render_as_plain_text(qtbot: Any, console: ConsoleContext, system: Actor) -> None:
    admin = Actor(user_id=None, username="system", role="system", station="x")
    users.disable_user(console.db, admin, "odd")
    dialog = SignInDialog(console)
    qtbot.addWidget(dialog)
    dialog.show()
    _type_and_enter(qtbot, dialog, "odd", "pw")
    qtbot.waitUntil(lambda: "disabled" in dialog.error.text())
    assert dialog.error.textFormat() == Qt.TextFormat.PlainText
    for label in dialog.findChildren(QLabel):
        assert label.textFormat() == Qt.TextFormat.PlainText or "<" not in label.text()
    users.enable_user(console.db, admin, "odd")
    console.actor = users.authenticate(console.db, "odd", "pw", "值班台1")
    window = MainWindow(console, panels=composition.panels(), start_feed=False)
    qtbot.addWidget(window)
    guard = window.session_guard
    guard.lock()
    assert HOSTILE_NAME in guard.lock_screen.who.text()
    assert guard.lock_screen.who.textFormat() == Qt.TextFormat.PlainText
    assert HOSTILE_NAME in window.windowTitle()
    window.shutdown()


def test_first_start_creates_the_administrator(qtbot: Any, sqlite_db: Database) -> None:
    console = ConsoleContext(sqlite_db, "值班台1", Resources())
    dialog = FirstAdminDialog(console)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.name.setText("陈主任")  # Chinese arrives through the input method, not key codes
    qtbot.keyClicks(dialog.password, "s3cret")
    qtbot.keyClicks(dialog.repeat, "s3creT")
    qtbot.keyClick(dialog.repeat, Qt.Key.Key_Return)
    assert dialog.error.text() == "The two passwords differ." and dialog.repeat.text() == ""
    qtbot.keyClicks(dialog.repeat, "s3cret")
    qtbot.keyClick(dialog.repeat, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.actor is not None)
    assert (dialog.actor.username, dialog.actor.role, dialog.actor.display_name) == ("admin", "admin", "陈主任")
    assert users.authenticate(sqlite_db, "admin", "s3cret", "ws").role == "admin"


def test_sign_in_picks_the_first_start_dialog_only_on_an_empty_database(
        monkeypatch: Any, sqlite_db: Database, console: ConsoleContext) -> None:
    shown: list[type] = []
    monkeypatch.setattr(sign_in_module._BackgroundDialog, "exec", lambda self: shown.append(type(self)) or 0)
    assert sign_in_module.sign_in(console) is None
    empty = ConsoleContext(Database(str(sqlite_db.url).replace("dispatch.sqlite3", "other.sqlite3")), "ws")
    from db.migrate import upgrade

    upgrade(empty.db)
    sign_in_module.sign_in(empty)
    empty.db.dispose()
    assert shown == [SignInDialog, FirstAdminDialog]


@pytest.fixture
def window(qtbot: Any, console: ConsoleContext) -> Iterator[MainWindow]:
    console.actor = users.authenticate(console.db, "wang", "pw", console.station)
    win = MainWindow(console, panels=composition.panels(), start_feed=False)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.shutdown()


def test_idle_locks_with_the_queue_visible_behind(qtbot: Any, window: MainWindow) -> None:
    guard = window.session_guard
    assert guard.switch_action.shortcut().toString() == "Ctrl+Shift+L"
    assert guard.switch_action in window.menu_console.actions()
    guard.watcher.set_minutes(0.001)  # idle after a few milliseconds of no input
    qtbot.waitUntil(lambda: guard.locked)
    overlay = guard.lock_screen
    assert window.centralWidget().isVisible() and window.isVisible()  # veiled, not hidden
    assert overlay.geometry() == window.rect()
    guard.watcher.set_minutes(0)
    # the window's shortcuts stay asleep (the lock screen claims the keys), except switching officer
    quit_key = QKeyEvent(QEvent.Type.ShortcutOverride, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    QApplication.sendEvent(overlay.password, quit_key)
    assert quit_key.isAccepted()
    switch_key = QKeyEvent(QEvent.Type.ShortcutOverride, Qt.Key.Key_L,
                           Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    switch_key.ignore()
    QApplication.sendEvent(overlay.password, switch_key)
    assert not switch_key.isAccepted()
    # the keyboard cannot leave the lock screen, and floating panels take no input
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.centralWidget().setFocus()
    qtbot.waitUntil(overlay.password.hasFocus)
    assert not overlay.blocks_window(window.windowHandle())
    dock = next(iter(window.panels.values()))
    dock.setFloating(True)
    dock.show()
    qtbot.waitUntil(lambda: dock.windowHandle() is not None)
    assert overlay.blocks_window(dock.windowHandle())
    qtbot.keyClicks(overlay.password, "wrong")
    qtbot.keyClick(overlay.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: overlay.error.text() != "")
    assert guard.locked
    qtbot.keyClicks(overlay.password, "pw")
    qtbot.keyClick(overlay.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not guard.locked)
    assert window.console.actor.username == "wang"


def test_key_and_mouse_events_count_as_activity(qtbot: Any, window: MainWindow) -> None:
    watcher = window.session_guard.watcher
    before = watcher.activity
    handle = window.windowHandle()  # real input arrives at the window first, then the widget
    qtbot.keyClick(handle, Qt.Key.Key_Down)
    qtbot.mouseClick(handle, Qt.MouseButton.LeftButton, pos=QPoint(40, 40))
    assert watcher.activity >= before + 2
    assert not window.session_guard.locked


def test_switch_officer_without_restarting(qtbot: Any, window: MainWindow) -> None:
    guard = window.session_guard
    guard.lock()

    def fill_in() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, SignInDialog)
        dialog.user.setText("li")
        dialog.password.setText("pw2")
        dialog.submit()

    QTimer.singleShot(0, fill_in)
    guard.switch_action.trigger()
    assert window.console.actor.username == "li" and window.console.actor.role == "shift_leader"
    assert not guard.locked
    assert "李娜" in window.windowTitle()

    QTimer.singleShot(0, lambda: QApplication.activeModalWidget().reject())  # type: ignore[union-attr]
    guard.switch_officer()
    assert window.console.actor.username == "li"  # cancelling keeps the officer signed in


def test_the_veil_covers_the_window_when_it_is_resized_while_the_veil_is_being_shown(
        qtbot: Any, window: MainWindow) -> None:
    """The window may change size between the veil being sized and the veil counting as shown
    (a dock settling its size): the veil still ends at the window's edges. (Seen in CI: the veil
    1002 px wide over a window of 1112.)"""
    overlay = window.session_guard.lock_screen
    real_show = overlay.show

    def show_while_the_window_grows() -> None:
        window.resize(window.width() + 110, window.height())
        real_show()

    overlay.show = show_while_the_window_grows  # type: ignore[method-assign]
    window.session_guard.lock()
    qtbot.waitUntil(lambda: window.session_guard.locked)
    qtbot.waitUntil(lambda: overlay.geometry() == window.rect(), timeout=2000)
    window.resize(window.width() - 60, window.height() + 40)
    qtbot.waitUntil(lambda: overlay.geometry() == window.rect(), timeout=2000)
