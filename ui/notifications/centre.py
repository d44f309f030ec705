"""The notification centre (通知中心): every escalation, overdue step and reminder, newest first.

Each row says when (Asia/Shanghai), how urgent (level colour), what kind, which incident, the
title (the body below the table, as plain text), for whom, and who signed for it when. Filters:
only those not yet signed for, only those for my role. Space or Enter (or the button) signs for
the selected notification with optimistic locking: if another workstation was first, the message
says who and when. A double-click selects the incident everywhere in the console.

The list is read again (off the GUI thread) whenever a notification changes at any workstation.
In a main window the panel also puts up the escalation banner and its sound
(ui/notifications/escalation_banner.py) for what is addressed to the officer signed in.
"""

from __future__ import annotations

import logging
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QAction, QColor, QFont, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from dispatch_console import notifications
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.i18n import N_, _
from dispatch_console.kernel.permissions import allowed
from dispatch_console.kernel.timefmt import fmt_local
from dispatch_console.notifications import NotificationRow, list_notifications, role_label
from ui.notifications import escalation_banner
from ui.notifications.escalation_banner import BANNER_COLOURS, level_label, with_drill_mark
from ui.shell import theme
from ui.shell.context import UiContext
from ui.shell.plain_text import plain_tooltip

log = logging.getLogger(__name__)

LIMIT = 200  # rows shown
ROW_ROLE = Qt.ItemDataRole.UserRole + 1
Index = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    TIME = 0
    LEVEL = 1
    KIND = 2
    INCIDENT = 3
    TITLE = 4
    TARGET = 5
    SIGNED = 6


HEADERS: dict[Column, str] = {
    Column.TIME: N_("Time"),
    Column.LEVEL: N_("Level"),
    Column.KIND: N_("Kind"),
    Column.INCIDENT: N_("Incident"),
    Column.TITLE: N_("Notification"),
    Column.TARGET: N_("For"),
    Column.SIGNED: N_("Signed for"),
}
KIND_LABELS: dict[str, str] = {
    "escalation": N_("Escalation"),
    "deadline": N_("Deadline passed"),
    "reminder": N_("Reminder"),
    "checklist_overdue": N_("Overdue checklist step"),
    "handover_reminder": N_("Handover reminder"),
}
WIDTHS = {Column.TIME: 118, Column.LEVEL: 52, Column.KIND: 96, Column.INCIDENT: 150, Column.TITLE: 360,
          Column.TARGET: 96}


def kind_label(kind: str) -> str:
    return _(KIND_LABELS[kind]) if kind in KIND_LABELS else kind


def signed_text(row: NotificationRow) -> str:
    if row.acknowledged_at is None:
        return _("not yet")
    return _("{who}, {when}").format(who=row.acknowledged_by or "?",
                                     when=fmt_local(row.acknowledged_at, "%m-%d %H:%M:%S"))


def load(db: Any, actor: Actor | None, *, unsigned_only: bool, mine: bool) -> list[NotificationRow]:
    """The rows the filters select, newest first (runs off the GUI thread)."""
    if mine and actor is None:
        return []
    return list_notifications(db, unacknowledged_only=unsigned_only, limit=LIMIT,
                              for_role=actor.role if mine and actor else None, threads=True)


def thread_text(row: NotificationRow) -> str:
    """How many escalations of the incident the row stands for (its latest step is the row)."""
    if row.thread_size <= 1:
        return ""
    return _("{n} notifications of this incident, {unsigned} not signed for").format(
        n=row.thread_size, unsigned=row.thread_unsigned)


class NotificationModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[NotificationRow] = []

    def set_rows(self, rows: list[NotificationRow]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def replace(self, row: NotificationRow) -> None:
        place = self.row_of(row.id)
        if place is not None:
            self.rows[place] = row
            self.dataChanged.emit(self.index(place, 0), self.index(place, len(Column) - 1))

    def row_of(self, notification_id: int) -> int | None:
        return next((i for i, r in enumerate(self.rows) if r.id == notification_id), None)

    def repaint(self) -> None:
        if self.rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, len(Column) - 1))

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _(HEADERS[Column(section)])
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        row = self.rows[index.row()]
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, column)
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == Column.TIME:
                return _("{time} (Beijing time)").format(time=fmt_local(row.at))
            return plain_tooltip(row.body or with_drill_mark(row))
        if role == Qt.ItemDataRole.BackgroundRole and column == Column.LEVEL:
            return QColor(BANNER_COLOURS.get(row.level, BANNER_COLOURS["warning"]))
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == Column.LEVEL:
                return QColor("#ffffff")
            if row.is_drill and column in (Column.TITLE, Column.INCIDENT):
                return theme.drill_colour()
            return None
        if role == Qt.ItemDataRole.FontRole and row.acknowledged_at is None:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and column == Column.LEVEL:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

    @staticmethod
    def _text(row: NotificationRow, column: Column) -> str:
        if column == Column.TIME:
            return fmt_local(row.at, "%m-%d %H:%M:%S")
        if column == Column.LEVEL:
            return level_label(row.level)
        if column == Column.KIND:
            return kind_label(row.kind)
        if column == Column.INCIDENT:
            return row.incident_number or ""
        if column == Column.TITLE:
            title = " ".join(with_drill_mark(row).split())
            count = thread_text(row)
            return f"{title}  ({count})" if count else title
        if column == Column.TARGET:
            return role_label(row.target_role)
        return signed_text(row)


class _Table(QTableView):
    """Space or Enter signs for the selected notification."""

    sign_pressed = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.modifiers():
            self.sign_pressed.emit()
            return
        super().keyPressEvent(event)


class NotificationCentre(QDockWidget):
    screenshot_name = "notifications"

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(_("Notification centre"), parent)
        self.setObjectName("notifications")
        self.default_area = Qt.DockWidgetArea.RightDockWidgetArea
        self.tabify_with = "drills"  # in front of the drill panel: the right column stays as tall as it was
        self.ui = ui
        self.model = NotificationModel(self)
        self._loading = False
        self._again = False
        self._signing: set[int] = set()
        self._build()
        self.watch, self.banner = escalation_banner.attach(ui, parent, self)
        self.watch.changed.connect(self._on_pending)
        if self.banner is not None:
            self.banner.show_requested.connect(self.show_notification)
            self.banner.acknowledge_requested.connect(self.acknowledge)
        ui.feed.changed.connect(self._on_changes)
        ui.session.actor_changed.connect(self._on_actor_changed)
        self._update_buttons()
        self.reload()
        self.watch.refresh()

    # -- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        bar = QHBoxLayout()
        self.unsigned_only = QCheckBox(_("Not yet signed for"), body)
        self.unsigned_only.setObjectName("notifications-unsigned")
        self.mine = QCheckBox(_("For my role"), body)
        self.mine.setObjectName("notifications-mine")
        self.mine.setToolTip(_("Addressed to my role or to everyone; a director or administrator also sees "
                               "every urgent one"))
        self.count = QLabel(body)
        self.count.setTextFormat(Qt.TextFormat.PlainText)
        self.sign_button = QPushButton(_("Sign for it"), body)
        self.sign_button.setObjectName("notifications-sign")
        self.sign_button.setToolTip(_("Sign for the selected notification (Space or Enter)"))
        self.go_button = QPushButton(_("Go to incident"), body)
        self.go_button.setToolTip(_("Select its incident in the queue and the panels (double-click)"))
        for w in (self.unsigned_only, self.mine):
            bar.addWidget(w)
        bar.addStretch(1)
        for w in (self.count, self.go_button, self.sign_button):
            bar.addWidget(w)
        layout.addLayout(bar)

        self.table = _Table(body)
        self.table.setObjectName("notifications-table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(24)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in WIDTHS.items():
            self.table.setColumnWidth(column, width)
        self.table.setMinimumHeight(72)

        self.body = QPlainTextEdit(body)
        self.body.setObjectName("notifications-body")
        self.body.setReadOnly(True)
        self.body.setMinimumHeight(72)
        self.body.setPlaceholderText(_("Select a notification to read it in full."))
        self.split = QSplitter(Qt.Orientation.Vertical, body)
        self.split.addWidget(self.table)
        self.split.addWidget(self.body)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 1)
        layout.addWidget(self.split, 1)
        self.dockLocationChanged.connect(self._follow_area)
        self.message = QLabel(body)
        self.message.setObjectName("notifications-message")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.setWidget(body)

        self.unsigned_only.toggled.connect(lambda _c: self.reload())
        self.mine.toggled.connect(lambda _c: self.reload())
        self.table.sign_pressed.connect(lambda: self.acknowledge(self.current_row()))
        self.table.doubleClicked.connect(lambda _i: self.go_to_incident())
        self.sign_button.clicked.connect(lambda: self.acknowledge(self.current_row()))
        self.go_button.clicked.connect(self.go_to_incident)
        self.table.selectionModel().currentRowChanged.connect(lambda _c, _p: self._show_current())

    def _follow_area(self, area: Qt.DockWidgetArea) -> None:
        """Full text below the list in a side column, beside it across the top or bottom (stays low)."""
        wide = area in (Qt.DockWidgetArea.TopDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.split.setOrientation(Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical)

    def contribute_actions(self, window: QMainWindow) -> None:
        """Duty menu: go to the notification centre from anywhere (Ctrl+Shift+N)."""
        go = QAction(_("Notification centre"), window)
        go.setObjectName("notifications-focus")
        go.setShortcut(QKeySequence("Ctrl+Shift+N"))
        go.triggered.connect(self.focus_table)
        window.addAction(go)
        menu = getattr(window, "menu_duty", None)
        if menu is not None:
            menu.addAction(go)

    # -- reading -------------------------------------------------------------------------------
    def reload(self) -> None:
        if self._loading:
            self._again = True
            return
        self._loading = True
        db, actor = self.ui.console.db, self.ui.actor
        unsigned_only, mine = self.unsigned_only.isChecked(), self.mine.isChecked()
        self.ui.runner.run(lambda: load(db, actor, unsigned_only=unsigned_only, mine=mine),
                           on_success=self._loaded, on_failure=self._load_failed)

    def _loaded(self, rows: list[NotificationRow]) -> None:
        self._loading = False
        current = self.current_row()
        self.model.set_rows(rows)
        self.count.setText(_("{count} shown").format(count=len(rows)))
        if current is not None:
            self.select_id(current.id)
        self._show_current()
        if self._again:
            self._again = False
            self.reload()

    def _load_failed(self, exc: BaseException) -> None:
        self._loading = False
        self.show_message(_("Could not read the notifications: {error}").format(error=exc), error=True)
        if self._again:
            self._again = False
            self.reload()

    def _on_changes(self, changes: list[Any]) -> None:
        if any(c.entity in escalation_banner.WATCHED for c in changes):
            self.reload()

    def _on_actor_changed(self, _actor: object) -> None:
        self._update_buttons()
        if self.mine.isChecked():
            self.reload()

    def _on_pending(self, rows: tuple[NotificationRow, ...]) -> None:
        title = _("Notification centre")
        self.setWindowTitle(_("{title} ({count})").format(title=title, count=len(rows)) if rows else title)

    # -- selection -----------------------------------------------------------------------------
    def current_row(self) -> NotificationRow | None:
        index = self.table.currentIndex()
        return self.model.rows[index.row()] if index.isValid() and index.row() < len(self.model.rows) else None

    def select_id(self, notification_id: int) -> bool:
        place = self.model.row_of(notification_id)
        if place is None:
            return False
        self.table.selectRow(place)
        self.table.scrollTo(self.model.index(place, 0))
        return True

    def _show_current(self) -> None:
        row = self.current_row()
        if row is None:
            self.body.clear()
        else:
            lines = [with_drill_mark(row), thread_text(row), row.body or "",
                     _("For: {role}. Signed for: {signed}.").format(role=role_label(row.target_role),
                                                                    signed=signed_text(row))]
            self.body.setPlainText("\n".join(line for line in lines if line))
        self._update_buttons()

    def focus_table(self) -> None:
        self.show()
        self.raise_()
        self.table.setFocus()
        if not self.table.currentIndex().isValid() and self.model.rows:
            self.table.selectRow(0)

    def show_notification(self, row: NotificationRow) -> None:
        """From the banner: bring the centre up with that notification selected."""
        self.focus_table()
        self.select_id(row.id)

    def go_to_incident(self) -> None:
        row = self.current_row()
        if row is not None and row.incident_id is not None:
            self.ui.selection.select(row.incident_id)

    # -- signing for ---------------------------------------------------------------------------
    def can_sign(self) -> bool:
        actor = self.ui.actor
        return actor is not None and allowed(actor, "notification.acknowledge")

    def _update_buttons(self) -> None:
        row = self.current_row()
        self.sign_button.setEnabled(self.can_sign() and row is not None and row.acknowledged_at is None
                                    and row.id not in self._signing)
        self.go_button.setEnabled(row is not None and row.incident_id is not None)
        if self.banner is not None:
            self.banner.set_can_acknowledge(self.can_sign())

    def acknowledge(self, row: NotificationRow | None) -> None:
        """Sign for ``row`` at the version this console last read (optimistic locking)."""
        if row is None or row.id in self._signing:
            return
        if row.acknowledged_at is not None:
            self.show_message(signed_text(row))
            return
        actor = self.ui.actor
        if actor is None or not self.can_sign():
            self.show_message(_("Sign in with a role that may acknowledge escalations."), error=True)
            return
        self._signing.add(row.id)
        self._update_buttons()
        db = self.ui.console.db
        self.ui.runner.run(lambda: notifications.acknowledge(db, actor, row.id, row.version),
                           on_success=self._signed, on_failure=lambda exc: self._sign_failed(row.id, exc))

    def _signed(self, row: NotificationRow) -> None:
        self._signing.discard(row.id)
        self.model.replace(row)
        self.show_message(_("Signed for: {title}").format(title=with_drill_mark(row)))
        self._show_current()
        self.watch.refresh()
        self.reload()

    def _sign_failed(self, notification_id: int, exc: BaseException) -> None:
        self._signing.discard(notification_id)
        self.show_message(str(exc), error=True)  # ConcurrentChange / already signed: who and when
        self._update_buttons()
        self.watch.refresh()
        self.reload()

    # -- shell ---------------------------------------------------------------------------------
    def show_message(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet(f"color: {theme.deadline_colour('red').name()};" if error else "")
        self.message.setText(text)

    def apply_theme(self, _name: str) -> None:
        self.model.repaint()
        if self.banner is not None:
            self.banner.apply_colours()

    def is_ready(self) -> bool:
        return not self._loading and not self.watch.loading and not self._signing

    def shutdown(self) -> None:
        self._again = False
