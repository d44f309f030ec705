"""Locking an idle workstation, and switching the signed-in officer without restarting.

After ``security/idle_lock_minutes`` (default 15; 0 = never) without a key press or mouse event
anywhere in the application, a translucent overlay covers the main window: the queue stays
visible behind it and alarms keep sounding, but nothing can be clicked or typed except the
overlay. The same officer unlocks with their password, or another officer signs in ("Switch
officer", Ctrl+Shift+L, also from the menu at any time).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QGuiApplication, QKeyEvent, QKeySequence, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from dispatch_console import users
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.errors import DispatchError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import role_label
from ui.shell import settings, theme
from ui.shell.sign_in import SignInDialog, plain_label

SWITCH_SHORTCUT = "Ctrl+Shift+L"
_ACTIVITY = {
    QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.Wheel,
    QEvent.Type.TouchBegin,
}
_INPUT = _ACTIVITY | {
    QEvent.Type.KeyRelease, QEvent.Type.MouseButtonRelease, QEvent.Type.MouseButtonDblClick,
    QEvent.Type.ContextMenu, QEvent.Type.TouchUpdate, QEvent.Type.TouchEnd,
}


class IdleWatcher(QObject):
    """``idle`` after ``minutes`` without key or mouse events in any of the console's windows.

    It filters the top-level widget windows (QWindow level, where every key press and mouse event
    arrives before Qt hands it to a widget) rather than the whole QApplication: a Python event
    filter on the application crashes PySide6 once the WebEngine map is loaded.
    """

    idle = Signal()

    def __init__(self, minutes: float, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._timed_out)
        self.activity = 0
        self.blocker: LockScreen | None = None
        self.set_minutes(minutes)
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.focusWindowChanged.connect(self.watch_windows)
        self.watch_windows()

    def watch_windows(self, *_args: object) -> None:
        """Filter every widget window that exists now (new ones are picked up as they get focus)."""
        for window in QGuiApplication.topLevelWindows():
            if window.metaObject().className() == "QWidgetWindow":
                window.installEventFilter(self)  # installing twice keeps one filter

    def _timed_out(self) -> None:
        self.idle.emit()

    def set_minutes(self, minutes: float) -> None:
        self.minutes = minutes
        if minutes > 0:
            self.timer.setInterval(max(1, int(minutes * 60_000)))
            self.timer.start()
        else:
            self.timer.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in _ACTIVITY:
            self.activity += 1
            if self.minutes > 0:
                self.timer.start()
        # locked: other windows (floating panels, pop-ups) take no input until unlocked
        return kind in _INPUT and self.blocker is not None and self.blocker.blocks_window(watched)

    def stop(self) -> None:
        self.timer.stop()
        for window in QGuiApplication.topLevelWindows():
            window.removeEventFilter(self)


class LockScreen(QWidget):
    """The translucent overlay over a locked window: unlock with the password or switch officer."""

    unlocked = Signal(object)  # Actor

    def __init__(self, window: QMainWindow, session_guard: SessionGuard) -> None:
        super().__init__(window)
        self.setObjectName("lock-screen")
        self.window_ = window
        self.guard = session_guard
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, False)
        card = QFrame(self)
        card.setObjectName("lock-card")
        card.setFrameShape(QFrame.Shape.StyledPanel)
        card.setAutoFillBackground(True)
        card.setMaximumWidth(460)
        self.title = plain_label("", card)
        self.title.setObjectName("lock-title")
        font = self.title.font()
        font.setPointSize(font.pointSize() + 4)
        self.title.setFont(font)
        self.who = plain_label("", card)
        self.who.setObjectName("lock-who")
        self.password = QLineEdit(card)
        self.password.setObjectName("lock-password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText(_("Password"))
        self.password.returnPressed.connect(self.unlock)
        self.error = plain_label("", card)
        self.error.setObjectName("lock-error")
        self.error.setStyleSheet(theme.warning_style())
        self.unlock_button = QPushButton(_("Unlock"), card)
        self.unlock_button.clicked.connect(self.unlock)
        self.switch_button = QPushButton(_("Switch officer"), card)
        self.switch_button.clicked.connect(self.guard.switch_officer)
        buttons = QHBoxLayout()
        buttons.addWidget(self.unlock_button)
        buttons.addWidget(self.switch_button)
        inner = QVBoxLayout(card)
        for w in (self.title, self.who, self.password, self.error):
            inner.addWidget(w)
        inner.addLayout(buttons)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(card)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(1)
        window.installEventFilter(self)
        for widget in (self.password, self.unlock_button, self.switch_button):
            widget.installEventFilter(self)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._keep_focus)
        self.hide()

    # The queue stays readable through the veil; only the card is opaque.
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(0, 0, 0, 110))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window_:
            # always, not only while shown: a resize of the window delivered while the veil was
            # being shown (after show_for sized it, before it counted as visible) left it short of
            # the window's edge (seen in CI: the veil 1002 px wide over a window of 1112)
            if event.type() == QEvent.Type.Resize:
                self.setGeometry(self.window_.rect())
            elif event.type() == QEvent.Type.Show:
                self.guard.watcher.watch_windows()
            return False
        return self._swallow_shortcuts(event)

    def blocks_window(self, window: QObject) -> bool:
        """True for input to a top-level window other than the locked one or a sign-in dialog."""
        if not self.isVisible() or window is self.window_.windowHandle():
            return False
        for widget in QApplication.topLevelWidgets():
            if widget.windowHandle() is window:
                return not isinstance(widget, SignInDialog)
        return False

    def _keep_focus(self, _old: QWidget | None, new: QWidget | None) -> None:
        """While locked, Tab or a click cannot move the keyboard to the queue behind the veil."""
        if (self.isVisible() and new is not None and not self.isAncestorOf(new)
                and not isinstance(new.window(), SignInDialog)):
            self.password.setFocus()

    def _swallow_shortcuts(self, event: QEvent) -> bool:
        """Claim every shortcut key while locked (so the window's actions stay asleep) but one."""
        if event.type() != QEvent.Type.ShortcutOverride or not isinstance(event, QKeyEvent):
            return False
        pressed = QKeySequence(event.keyCombination())
        if pressed.matches(QKeySequence(SWITCH_SHORTCUT)) == QKeySequence.SequenceMatch.ExactMatch:
            return False
        event.accept()
        return True

    def show_for(self, actor: Actor | None) -> None:
        self.title.setText(_("Workstation locked"))
        if actor is not None:
            self.who.setText(_("{name} ({role}) at {station}: enter your password to continue.").format(
                name=actor.label, role=role_label(actor.role), station=actor.station))
        else:
            self.who.setText(_("Nobody is signed in."))
        self.password.setEnabled(actor is not None)
        self.unlock_button.setEnabled(actor is not None)
        self.error.clear()
        self.password.clear()
        self.setGeometry(self.window_.rect())
        self.show()
        self.raise_()
        self.password.setFocus()

    def unlock(self) -> None:
        actor = self.guard.actor
        password = self.password.text()
        if actor is None or not password or not self.unlock_button.isEnabled():
            return
        self.unlock_button.setEnabled(False)
        db = self.guard.console.db
        self.guard.runner.run(lambda: users.verify_password(db, actor, password),
                              on_success=self._unlocked, on_failure=self._refused)

    def _unlocked(self, actor: Any) -> None:
        self.unlock_button.setEnabled(True)
        self.hide()
        self.unlocked.emit(actor)

    def _refused(self, exc: BaseException) -> None:
        self.unlock_button.setEnabled(True)
        self.error.setText(str(exc) if isinstance(exc, DispatchError)
                           else _("The database cannot be reached; try again or call the administrator."))
        self.password.clear()
        self.password.setFocus()


class SessionGuard(QObject):
    """Wires idle lock, lock screen and "Switch officer" into a main window.

    The window must offer ``console`` (ConsoleContext), ``runner`` (BackgroundRunner),
    ``set_actor(actor)`` and ``menu_console`` (QMenu) — see ui/shell/main_window.py.
    """

    locked_changed = Signal(bool)

    def __init__(self, window: Any, minutes: float | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.console = window.console
        self.runner = window.runner
        self.lock_screen = LockScreen(window, self)
        self.lock_screen.unlocked.connect(self._signed_in)
        value = settings.get("security/idle_lock_minutes") if minutes is None else minutes
        self.watcher = IdleWatcher(float(value or 0), self)
        self.watcher.blocker = self.lock_screen
        self.watcher.idle.connect(self.lock)
        self.switch_action = QAction(_("Switch officer"), window)
        self.switch_action.setShortcut(QKeySequence(SWITCH_SHORTCUT))
        self.switch_action.triggered.connect(self.switch_officer)
        self.lock_action = QAction(_("Lock workstation"), window)
        self.lock_action.triggered.connect(self.lock)
        menu = getattr(window, "menu_console", None)
        if menu is not None:
            first = menu.actions()[0] if menu.actions() else None
            menu.insertAction(first, self.switch_action)
            menu.insertAction(first, self.lock_action)
            if first is not None:
                menu.insertSeparator(first)
        else:
            window.addAction(self.switch_action)

    @property
    def actor(self) -> Actor | None:
        return self.console.actor  # type: ignore[no-any-return]

    @property
    def locked(self) -> bool:
        return self.lock_screen.isVisible()

    def lock(self) -> None:
        if not self.locked:
            self.lock_screen.show_for(self.actor)
            self.locked_changed.emit(True)

    def switch_officer(self) -> None:
        """Another officer signs in here; the previous one is signed out. Cancel keeps things as they were."""
        dialog = SignInDialog(self.console, self.window, title=_("Switch officer"))
        dialog.exec()
        if dialog.actor is not None:
            self.lock_screen.hide()
            self._signed_in(dialog.actor)

    def _signed_in(self, actor: Actor) -> None:
        self.window.set_actor(actor)
        self.watcher.set_minutes(self.watcher.minutes)
        self.locked_changed.emit(False)

    def stop(self) -> None:
        self.watcher.stop()


def install_session_guard(window: Any, minutes: float | None = None) -> SessionGuard:
    """Give a main window its idle lock and the "Switch officer" action (Ctrl+Shift+L)."""
    return SessionGuard(window, minutes)
