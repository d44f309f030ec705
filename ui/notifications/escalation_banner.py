"""The escalation banner across the top of the main window, and its sound.

The banner shows while an unacknowledged notification is addressed to the signed-in officer: its
target role is the officer's role, or it is for everyone, or — for a director or an
administrator — it is critical, whoever it was for. The list is read again from the database
(off the GUI thread) whenever a notification changes at any workstation, so an acknowledgement
anywhere clears the banner everywhere. A notification that was not there before rings the
console's alarm (``ui.shell.alerts.AlertSound``, which never fails without an audio device): sound and
banner follow the database state arriving through the change feed, never the local timer.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QLabel, QMainWindow, QPushButton, QSizePolicy, QToolBar, QWidget

from dispatch_console import notifications
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.i18n import N_, _
from dispatch_console.notifications import NotificationRow, list_notifications
from ui.shell import settings
from ui.shell.alerts import AlertSound
from ui.shell.context import UiContext
from ui.shell.plain_text import plain_tooltip

log = logging.getLogger(__name__)

WATCHED = {"notification", "database"}
PENDING_LIMIT = 500  # newest unacknowledged notifications read per refresh

LEVEL_LABELS: dict[str, str] = {
    "info": N_("Notice"),
    "warning": N_("Warning"),
    "critical": N_("Urgent"),
}
URGENCY = {"critical": 0, "warning": 1, "info": 2}
# The banner's background per level, deep enough for white text by day and by night.
BANNER_COLOURS = {"critical": "#c62828", "warning": "#bf360c", "info": "#1565c0", "drill": "#6a1b9a"}


def level_label(level: str) -> str:
    return _(LEVEL_LABELS[level]) if level in LEVEL_LABELS else level


def addressed_to(row: NotificationRow, actor: Actor | None) -> bool:
    """Whether this notification is for the officer signed in (the banner and "for my role")."""
    return notifications.addressed_to(row, actor.role if actor else None)


def with_drill_mark(row: NotificationRow) -> str:
    """The title, marked as a drill unless the title already says so."""
    already = _("DRILL: {title}").format(title="")
    if not row.is_drill or row.title.startswith(already):
        return row.title
    return _("DRILL: {title}").format(title=row.title)


def pending_for(db: Any, actor: Actor | None) -> tuple[NotificationRow, ...]:
    """Unacknowledged notifications addressed to ``actor``, most urgent first, then newest first
    (runs off the GUI thread)."""
    if actor is None:
        return ()
    mine = list_notifications(db, unacknowledged_only=True, limit=PENDING_LIMIT, for_role=actor.role,
                              threads=True)
    return tuple(sorted(mine, key=lambda r: URGENCY.get(r.level, len(URGENCY))))  # stable: newest first kept


class EscalationWatch(QObject):
    """The unacknowledged notifications addressed to the signed-in officer; rings for new ones.

    The first list read after start or after another officer signs in is the baseline: it shows
    the banner but does not ring. Every notification that appears after that rings once.
    """

    changed = Signal(tuple)  # tuple[NotificationRow, ...], most urgent first

    def __init__(self, ui: UiContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ui = ui
        self.sound = AlertSound()
        self.rows: tuple[NotificationRow, ...] = ()
        self._seen: set[int] = set()
        self._baseline = True
        self._loading = False
        self._again = False
        self._generation = 0
        self._who = (ui.actor.user_id, ui.actor.role) if ui.actor is not None else None
        ui.feed.changed.connect(self._on_changes)
        ui.session.actor_changed.connect(self._on_actor_changed)

    @property
    def loading(self) -> bool:
        return self._loading

    @property
    def ids(self) -> set[int]:
        return {r.id for r in self.rows}

    def refresh(self) -> None:
        if self._loading:
            self._again = True
            return
        self._loading = True
        db, actor, generation = self.ui.console.db, self.ui.actor, self._generation
        self.ui.runner.run(lambda: pending_for(db, actor),
                           on_success=lambda rows: self._apply(generation, rows), on_failure=self._failed)

    def _on_changes(self, changes: list[Any]) -> None:
        if any(c.entity in WATCHED for c in changes):
            self.refresh()

    def _on_actor_changed(self, actor: Actor | None) -> None:
        who = (actor.user_id, actor.role) if actor is not None else None
        if who == self._who:
            return  # the same officer unlocked the console: nothing to re-read
        self._who = who
        self._generation += 1
        self._baseline = True
        self._seen = set()
        self.rows = ()
        self.changed.emit(self.rows)
        self.refresh()

    def _failed(self, exc: BaseException) -> None:
        self._loading = False
        log.warning("could not read the pending notifications: %s", exc)
        self._continue()

    def _apply(self, generation: int, rows: tuple[NotificationRow, ...]) -> None:
        self._loading = False
        if generation == self._generation:
            fresh = {r.id for r in rows} - self._seen
            self._seen |= fresh
            self.rows = tuple(rows)
            if fresh and not self._baseline:
                self.ring()
            self._baseline = False
            self.changed.emit(self.rows)
        self._continue()

    def _continue(self) -> None:
        if self._again:
            self._again = False
            self.refresh()

    def ring(self) -> None:
        if settings.get("alerts/sound"):
            self.sound.play()


class EscalationBanner(QToolBar):
    """A full-width bar on its own row at the top of the main window: the most urgent (then newest)
    notification addressed to this officer, how many more wait, and buttons to show or sign for it."""

    show_requested = Signal(object)  # NotificationRow
    acknowledge_requested = Signal(object)  # NotificationRow

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.setObjectName("banner-escalation")
        self.setWindowTitle(_("Escalation banner"))
        self.setMovable(False)
        self.setFloatable(False)
        self.rows: tuple[NotificationRow, ...] = ()
        self.label = QLabel(self)
        self.label.setObjectName("banner-escalation-text")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.show_button = QPushButton(_("Show"), self)
        self.show_button.setObjectName("banner-escalation-show")
        self.ack_button = QPushButton(_("Sign for it"), self)
        self.ack_button.setObjectName("banner-escalation-acknowledge")
        self.ack_button.setToolTip(_("Acknowledge this notification: every workstation sees who signed for it"))
        for widget in (self.label, self.show_button, self.ack_button):
            self.addWidget(widget)
        self.show_button.clicked.connect(lambda: self.rows and self.show_requested.emit(self.rows[0]))
        self.ack_button.clicked.connect(lambda: self.rows and self.acknowledge_requested.emit(self.rows[0]))
        self.toggleViewAction().setEnabled(False)  # it goes when signed for, not by hiding it
        # a row of its own: breaks before and after keep other banners (the drill's) off it
        window.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        window.addToolBar(Qt.ToolBarArea.TopToolBarArea, self)
        window.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        self.hide()

    @property
    def text(self) -> str:
        return self.label.text()

    def show_rows(self, rows: tuple[NotificationRow, ...]) -> None:
        self.rows = tuple(rows)
        if not self.rows:
            self.label.clear()
            self.setToolTip("")
            self.hide()
            return
        first = self.rows[0]
        text = _("{level}: {title}").format(level=level_label(first.level), title=with_drill_mark(first))
        if len(self.rows) > 1:
            text += "  " + _("(and {count} more to sign for)").format(count=len(self.rows) - 1)
        self.label.setText(text)
        self.setToolTip(plain_tooltip("\n".join(with_drill_mark(r) for r in self.rows[:20])))
        self.apply_colours()
        self.show()

    def apply_colours(self) -> None:
        if not self.rows:
            return
        first = self.rows[0]
        colour = BANNER_COLOURS.get("drill" if first.is_drill else first.level, BANNER_COLOURS["warning"])
        self.setStyleSheet(f"QToolBar#banner-escalation {{ background: {colour}; }} "
                           "QLabel#banner-escalation-text { color: white; font-weight: bold; font-size: 15px; "
                           "padding: 4px; }")

    def set_can_acknowledge(self, allowed: bool) -> None:
        self.ack_button.setEnabled(allowed)


def attach(ui: UiContext, window: QWidget | None, parent: QObject) -> tuple[EscalationWatch, EscalationBanner | None]:
    """The watch, and the banner when the panel lives in a main window (not in a bare test host)."""
    watch = EscalationWatch(ui, parent)
    banner = EscalationBanner(window) if isinstance(window, QMainWindow) else None
    if banner is not None:
        watch.changed.connect(banner.show_rows)
    return watch, banner
