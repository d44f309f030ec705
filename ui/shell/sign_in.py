"""Signing in at a workstation: the sign-in dialog, the first-start administrator, switching officer.

The password check (argon2, deliberately slow) runs off the GUI thread; the dialog stays
responsive and shows the reason of a refusal (wrong password, locked, disabled) as plain text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from dispatch_console import users
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.console import ConsoleContext
from dispatch_console.kernel.errors import AuthenticationFailed, DispatchError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import allowed, role_label
from ui.shell import theme
from ui.shell.background import BackgroundRunner

log = logging.getLogger(__name__)



def demo_hint() -> str:
    """Every demo account with its role (the demo plan's list, so none is left out)."""
    from dispatch_console.demo.plan import ACCOUNTS

    lines = [f"{username} — {role_label(role)}" for username, role, _key, _title in ACCOUNTS]
    return _("Demo accounts (password demo):") + "\n" + "\n".join(lines)


def plain_label(text: str = "", parent: QWidget | None = None) -> QLabel:
    """A label that never interprets markup: names and messages may contain anything."""
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setText(text)
    return label


def _password_field(parent: QWidget) -> QLineEdit:
    field = QLineEdit(parent)
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setMaxLength(users.MAX_PASSWORD)
    return field


def may_use_console(actor: Actor) -> Actor:
    """Integration accounts (hotline, 110, video) only feed intake; they never sit at a console."""
    if not allowed(actor, "console.sign_in"):
        raise AuthenticationFailed(
            _("{user} is an integration account ({role}); it cannot sign in at a workstation.").format(
                user=actor.username, role=role_label(actor.role)))
    return actor


class _BackgroundDialog(QDialog):
    """A dialog whose OK runs one operation off the GUI thread and closes with its Actor."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setModal(True)
        self.actor: Actor | None = None
        self.runner = BackgroundRunner(self, max_threads=1)
        self.form = QFormLayout()
        self.error = plain_label("", self)
        self.error.setObjectName("sign-in-error")
        self.error.setStyleSheet(theme.warning_style())
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    def operation(self) -> Callable[[], Actor] | None:
        """The work to run for the current input, or None after showing why the input is wrong."""
        raise NotImplementedError

    def submit(self) -> None:
        if not self.buttons.isEnabled():
            return
        work = self.operation()
        if work is None:
            return
        self.error.setText(_("Checking…"))
        self._busy(True)
        self.runner.run(lambda: may_use_console(work()), on_success=self._succeeded, on_failure=self._failed)

    def _busy(self, busy: bool) -> None:
        self.buttons.setEnabled(not busy)
        for field in self.findChildren(QLineEdit):
            field.setEnabled(not busy)

    def _succeeded(self, actor: Any) -> None:
        self._busy(False)
        self.actor = actor
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self._busy(False)
        if isinstance(exc, DispatchError):
            self.error.setText(str(exc))
        else:  # the database is unreachable or similar: say so, never with the URL's password
            log.warning("sign-in failed: %s", type(exc).__name__)
            self.error.setText(_("The database cannot be reached; try again or call the administrator."))
        self.on_failed()

    def on_failed(self) -> None:
        pass

    def done(self, result: int) -> None:
        self.runner.wait_idle(10000)
        super().done(result)


class SignInDialog(_BackgroundDialog):
    """User, password and this workstation; Enter signs in, Esc cancels."""

    def __init__(self, console: ConsoleContext, parent: QWidget | None = None, *,
                 username: str = "", demo: bool = False, title: str | None = None) -> None:
        super().__init__(title or _("Sign in"), parent)
        self.console = console
        self.user = QLineEdit(self)
        self.user.setObjectName("sign-in-user")
        self.user.setMaxLength(users.MAX_USERNAME)
        self.user.setText(username)
        self.password = _password_field(self)
        self.password.setObjectName("sign-in-password")
        self.station = plain_label(console.station, self)
        self.station.setObjectName("sign-in-station")
        self.form.addRow(_("User name"), self.user)
        self.form.addRow(_("Password"), self.password)
        self.form.addRow(_("Workstation"), self.station)
        if demo:
            hint = plain_label(demo_hint(), self)
            hint.setObjectName("sign-in-demo-accounts")
            self.form.addRow(hint)
        (self.password if username else self.user).setFocus()

    def operation(self) -> Callable[[], Actor] | None:
        username, password = self.user.text().strip(), self.password.text()
        if not username or not password:
            self.error.setText(_("Enter your user name and password."))
            (self.user if not username else self.password).setFocus()
            return None
        db, station = self.console.db, self.console.station
        return lambda: users.authenticate(db, username, password, station)

    def on_failed(self) -> None:
        self.password.clear()
        self.password.setFocus()


class FirstAdminDialog(_BackgroundDialog):
    """The first start on an empty database: create the administrator account."""

    def __init__(self, console: ConsoleContext, parent: QWidget | None = None) -> None:
        super().__init__(_("First start: create the administrator"), parent)
        self.console = console
        intro = plain_label(_("This database has no accounts yet. Create the administrator, who then "
                              "adds the duty officers and leaders."), self)
        self.form.addRow(intro)
        self.user = QLineEdit("admin", self)
        self.user.setObjectName("first-admin-user")
        self.user.setMaxLength(users.MAX_USERNAME)
        self.name = QLineEdit(self)
        self.name.setObjectName("first-admin-name")
        self.name.setMaxLength(users.MAX_DISPLAY_NAME)
        self.password = _password_field(self)
        self.password.setObjectName("first-admin-password")
        self.repeat = _password_field(self)
        self.repeat.setObjectName("first-admin-repeat")
        self.form.addRow(_("User name"), self.user)
        self.form.addRow(_("Name"), self.name)
        self.form.addRow(_("Password"), self.password)
        self.form.addRow(_("Repeat the password"), self.repeat)
        self.form.addRow(_("Workstation"), plain_label(console.station, self))
        self.name.setFocus()

    def operation(self) -> Callable[[], Actor] | None:
        username, name = self.user.text().strip(), self.name.text().strip() or None
        password = self.password.text()
        if password != self.repeat.text():
            self.error.setText(_("The two passwords differ."))
            self.repeat.clear()
            self.repeat.setFocus()
            return None
        db, station = self.console.db, self.console.station
        return lambda: users.create_first_admin(db, station, username=username, password=password,
                                                display_name=name)


def sign_in(console: ConsoleContext, *, demo: bool = False, parent: QWidget | None = None) -> Actor | None:
    """At start-up: the first-start dialog on an empty database, else the sign-in dialog."""
    dialog: _BackgroundDialog
    if users.count_users(console.db) == 0:
        dialog = FirstAdminDialog(console, parent)
    else:
        dialog = SignInDialog(console, parent, demo=demo)
    dialog.exec()
    return dialog.actor
