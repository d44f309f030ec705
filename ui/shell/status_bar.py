"""Where this workstation stands: station, officer, database, connection, database time."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QWidget

from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.timefmt import fmt_local
from ui.shell.context import UiContext

CLOCK_RESYNC_MS = 30_000


def _label(name: str, tip: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setToolTip(tip)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def _busy_indicator() -> QProgressBar:
    """A drawn busy bar, not a glyph: "⏳" is missing from the fonts a duty-room PC ships with and
    showed as an empty box."""
    bar = QProgressBar()
    bar.setObjectName("busy")
    bar.setToolTip(_("Database work in progress"))
    bar.setRange(0, 0)  # busy: Qt's own moving indicator
    bar.setTextVisible(False)
    bar.setFixedSize(48, 10)
    bar.setVisible(False)
    return bar


class ConsoleStatusBar(QStatusBar):
    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ui = ui
        self.station = _label("station", _("This workstation"))
        self.user = _label("user", _("The signed-in officer"))
        self.database = _label("database", _("The shared database (password never shown)"))
        self.connection = _label("connection-up", _("Live updates from the other workstations"))
        self.clock = _label("db-clock", _("The database clock: the one clock for deadlines and shifts"))
        self.busy = _busy_indicator()
        for w in (self.station, self.user, self.database, self.connection, self.busy, self.clock):
            self.addPermanentWidget(w)
        self.station.setText(_("Station: {name}").format(name=ui.console.station))
        self.database.setText(ui.console.display_url)
        self.set_actor(ui.actor)
        self.set_connected(None)
        self._offset: timedelta | None = None  # database time minus local time
        ui.session.actor_changed.connect(self.set_actor)
        ui.feed.connection_changed.connect(self.set_connected)
        ui.runner.busy_changed.connect(self._on_busy)
        self._tick = QTimer(self)
        self._tick.timeout.connect(self._show_clock)
        self._tick.start(1000)
        self._resync = QTimer(self)
        self._resync.timeout.connect(self.sync_clock)
        self._resync.start(CLOCK_RESYNC_MS)
        self.sync_clock()

    def set_actor(self, actor: Actor | None) -> None:
        self.user.setText(_("Officer: {name}").format(name=actor.label) if actor else _("Nobody signed in"))

    def set_connected(self, up: bool | None) -> None:
        if up is None:
            text, name = _("Connecting…"), "connection-down"
        elif up:
            text, name = _("● Live"), "connection-up"
        else:
            text, name = _("✖ Disconnected — reconnecting"), "connection-down"
        self.connection.setText(text)
        self.connection.setObjectName(name)
        self.connection.style().unpolish(self.connection)
        self.connection.style().polish(self.connection)

    def sync_clock(self) -> None:
        db = self.ui.console.db

        def measure() -> timedelta:
            before = time.time()
            now = db.now()
            after = time.time()
            local_mid = datetime.fromtimestamp((before + after) / 2, UTC)
            return now - local_mid

        self.ui.runner.run(measure, on_success=self._set_offset, on_failure=lambda _e: self.set_connected(False))

    def _set_offset(self, offset: timedelta) -> None:
        self._offset = offset
        self._show_clock()

    def database_time(self) -> datetime | None:
        if self._offset is None:
            return None
        return datetime.now(UTC) + self._offset

    def _show_clock(self) -> None:
        now = self.database_time()
        self.clock.setText(_("DB time {time}").format(time=fmt_local(now)) if now else _("DB time …"))

    def _on_busy(self, count: int) -> None:
        self.busy.setVisible(bool(count))

    def flash(self, message: str, *, error: bool = False, msecs: int = 8000) -> None:
        self.showMessage(("⚠ " if error else "") + message, msecs)
