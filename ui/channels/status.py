"""The status bar's "channel down" warning: hidden while every channel works.

It asks ``dispatch_console.channels.state.down_channels`` (database state, so every workstation
shows the same) every 30 seconds in the background, and shows which channels keep failing,
since when, with their last error as the tooltip.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QWidget

from dispatch_console.channels import ChannelStatus
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.timefmt import fmt_local
from ui.shell.background import BackgroundRunner
from ui.shell.context import UiContext

REFRESH_MS = 30_000


class ChannelDownLabel(QLabel):
    def __init__(self, runner: BackgroundRunner, down_channels: Callable[[], list[ChannelStatus]],
                 parent: QWidget | None = None, *, refresh_ms: int = REFRESH_MS) -> None:
        super().__init__(parent)
        self.setObjectName("channel-down")
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.runner = runner
        self.down_channels = down_channels
        self.down: list[ChannelStatus] = []
        self.hide()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh)
        self._timer.start(refresh_ms)
        self.refresh()

    def refresh(self) -> None:
        self.runner.run(self.down_channels, on_success=self.show_down, on_failure=lambda _e: None)

    def show_down(self, down: list[ChannelStatus]) -> None:
        self.down = list(down)
        if not self.down:
            self.clear()
            self.setToolTip("")
            self.hide()
            return
        names = ", ".join(_("{channel} since {time}").format(channel=c.channel, time=fmt_local(c.down_since, "%H:%M"))
                          for c in self.down)
        self.setText(_("⚠ Channel down: {names}").format(names=names))
        self.setToolTip("\n".join(
            _("{channel}: {count} failures in a row; last: {error}").format(
                channel=c.channel, count=c.consecutive_failures, error=(c.last_error or "")[:200])
            for c in self.down) + "\n" + _("Messages wait in the outbox or go by the next channel."))
        self.show()


def channel_down_label(ui: UiContext, parent: QWidget | None = None) -> ChannelDownLabel:
    """The status bar's warning for this console (the composition root lists it)."""
    from dispatch_console.channels import down_channels

    db = ui.console.db
    return ChannelDownLabel(ui.runner, lambda: down_channels(db), parent)
