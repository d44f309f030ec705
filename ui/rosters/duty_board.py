"""The on-duty board (值班表): who is on duty now and next, units and forces, grid staff.

"Now" is the database's time, asked again when a roster, shift or unit changes (change feed)
and once a minute, so the board turns over at 08:00 and 20:00 with nobody touching it.
Every query runs off the GUI thread through the background runner.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from dispatch_console import incidents
from dispatch_console import rosters as roster
from dispatch_console.incidents import UnitRow
from dispatch_console.jurisdiction import StaffHit
from dispatch_console.kernel.categories import shipped_catalog
from dispatch_console.kernel.change_kinds import Entity
from dispatch_console.kernel.change_kinds import entities as named
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import allowed
from dispatch_console.kernel.roles import role_label
from dispatch_console.kernel.timefmt import fmt_local
from ui.shell.context import UiContext
from ui.shell.tables import ITEM_DATA, read_only_item, row_table

ROSTER_ENTITIES = frozenset({Entity.ROSTER, Entity.SHIFT, Entity.DATABASE})
# a unit sent to an incident or released from it changes its status, and is recorded as a unit
# change: the board's "on incident" column needs no reload for every incident that changes
UNIT_ENTITIES = frozenset({Entity.UNIT, Entity.DATABASE})
STAFF_ENTITIES = frozenset({Entity.AREA, Entity.DATABASE})
UNIT_ID_ROLE = ITEM_DATA
REFRESH_MS = 60_000
_item = read_only_item


class DutyBoardPanel(QDockWidget):
    screenshot_name = "duty_board"

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(_("On-duty board"), parent)
        self.setObjectName("duty_board")
        self.default_area = Qt.DockWidgetArea.RightDockWidgetArea
        self.tabify_with = "jurisdiction"
        self.ui = ui
        self._busy: set[str] = set()
        self._stale: set[str] = set()
        self.duty: roster.OnDuty | None = None
        self.tabs = QTabWidget(self)
        self._build_duty_tab()
        self._build_units_tab()
        self._build_staff_tab()
        self.message = QLabel(self)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.message)
        self.setWidget(body)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.reload_duty)
        self.timer.start()
        self._search_timer = QTimer(self, singleShot=True, interval=200)
        self._search_timer.timeout.connect(self.reload_staff)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        ui.router.on_changes(ROSTER_ENTITIES | UNIT_ENTITIES | STAFF_ENTITIES, self._on_changes)
        ui.session.actor_changed.connect(lambda _a: self._update_buttons())
        self.reload()

    # -- layout --------------------------------------------------------------------------------
    def _build_duty_tab(self) -> None:
        tab = QWidget(self.tabs)
        layout = QVBoxLayout(tab)
        self.current_title = QLabel(tab)
        self.next_title = QLabel(tab)
        for label in (self.current_title, self.next_title):
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setStyleSheet("font-weight: bold")
        self.current_model = QStandardItemModel(0, 3, self)
        self.next_model = QStandardItemModel(0, 3, self)
        for m in (self.current_model, self.next_model):
            m.setHorizontalHeaderLabels([_("Post"), _("Full name"), _("Phone")])
        self.current_view = row_table(self.current_model, tab)
        self.next_view = row_table(self.next_model, tab)
        layout.addWidget(self.current_title)
        layout.addWidget(self.current_view, 3)
        layout.addWidget(self.next_title)
        layout.addWidget(self.next_view, 2)
        self.tabs.addTab(tab, _("On duty"))

    def _build_units_tab(self) -> None:
        tab = QWidget(self.tabs)
        layout = QVBoxLayout(tab)
        self.units_model = QStandardItemModel(0, 5, self)
        self.units_model.setHorizontalHeaderLabels(
            [_("Unit"), _("Status"), _("Contact"), _("Phone"), _("Incident")])
        self.units_view = row_table(self.units_model, tab)
        buttons = QHBoxLayout()
        self.status_buttons: dict[str, QPushButton] = {}
        catalog = shipped_catalog()
        for status in incidents.SETTABLE_UNIT_STATUSES:
            button = QPushButton(catalog.unit_status_label(status), tab)
            button.clicked.connect(lambda _c=False, st=status: self.set_unit_status(st))
            buttons.addWidget(button)
            self.status_buttons[status] = button
        buttons.addStretch(1)
        layout.addWidget(self.units_view, 1)
        layout.addLayout(buttons)
        self.tabs.addTab(tab, _("Units"))
        self._update_buttons()

    def _build_staff_tab(self) -> None:
        tab = QWidget(self.tabs)
        layout = QVBoxLayout(tab)
        self.search = QLineEdit(tab)
        self.search.setPlaceholderText(_("Search grid, name or phone…"))
        self.search.setClearButtonEnabled(True)
        self.staff_model = QStandardItemModel(0, 5, self)
        self.staff_model.setHorizontalHeaderLabels(
            [_("Grid"), _("Community"), _("Post"), _("Full name"), _("Phone")])
        self.staff_view = row_table(self.staff_model, tab)
        layout.addWidget(self.search)
        layout.addWidget(self.staff_view, 1)
        self.tabs.addTab(tab, _("Grid staff (一格三员)"))

    # -- loading -------------------------------------------------------------------------------
    def is_ready(self) -> bool:
        return not self._busy

    def reload(self) -> None:
        self.reload_duty()
        self.reload_units()
        self.reload_staff()

    def _load(self, key: str) -> None:
        """Run the loader of ``key`` in the background; if asked again meanwhile, run it once more
        when it ends (with the state then, e.g. the search text typed since)."""
        if key in self._busy:
            self._stale.add(key)
            return
        self._busy.add(key)
        db = self.ui.console.db
        text = self.search.text()
        fn, show = {
            "duty": (lambda: roster.now_on_duty(db), self._show_duty),
            "units": (lambda: roster.units_board(db), self._show_units),
            "staff": (lambda: roster.grid_staff_directory(db, text), self._show_staff),
        }[key]

        def done(result: object) -> None:
            self._busy.discard(key)
            show(result)  # type: ignore[operator]
            if key in self._stale:
                self._stale.discard(key)
                self._load(key)

        def failed(exc: BaseException) -> None:
            self._busy.discard(key)
            self._stale.discard(key)
            self.message.setText(str(exc))

        self.ui.runner.run(fn, on_success=done, on_failure=failed)

    def reload_duty(self) -> None:
        self._load("duty")

    def reload_units(self) -> None:
        self._load("units")

    def reload_staff(self) -> None:
        self._load("staff")

    def _on_changes(self, changes: list[Any]) -> None:
        entities = named(changes)
        if entities & ROSTER_ENTITIES:
            self.reload_duty()
        if entities & UNIT_ENTITIES:
            self.reload_units()
        if entities & STAFF_ENTITIES:
            self.reload_staff()

    # -- showing -------------------------------------------------------------------------------
    @staticmethod
    def _fill(model: QStandardItemModel, title: QLabel, heading: str,
              on: roster.ShiftOnDuty | None) -> None:
        model.removeRows(0, model.rowCount())
        if on is None:
            title.setText(_("{when}: {shift}").format(when=heading, shift=_("no shift on the roster")))
            return
        state = "" if on.shift.published_at else "  " + _("(not published)")
        title.setText(_("{when}: {shift}").format(when=heading, shift=roster.describe_shift(on.shift)) + state)
        for p in on.people:
            model.appendRow([_item(role_label(p.role)), _item(p.name), _item(p.phone)])
        if not on.people:
            model.appendRow([_item(_("nobody rostered")), _item(""), _item("")])

    def _show_duty(self, duty: roster.OnDuty) -> None:
        self.duty = duty
        self._fill(self.current_model, self.current_title, _("On duty now"), duty.current)
        self._fill(self.next_model, self.next_title, _("Next shift"), duty.next)
        self.setToolTip(_("As of {time} (database time)").format(time=fmt_local(duty.at, "%H:%M")))

    def _show_units(self, units: list[UnitRow]) -> None:
        catalog = shipped_catalog()
        self.units_model.removeRows(0, self.units_model.rowCount())
        for u in units:
            status = _item(catalog.unit_status_label(u.status))
            status.setData(u.version, UNIT_ID_ROLE + 1)
            self.units_model.appendRow([_item(u.name, u.id), status, _item(u.contact_name), _item(u.phone),
                                        _item(u.incident_number)])

    def _show_staff(self, hits: list[StaffHit]) -> None:
        self.staff_model.removeRows(0, self.staff_model.rowCount())
        for h in hits:
            self.staff_model.appendRow([_item(h.grid_name), _item(h.community), _item(h.role_label),
                                        _item(h.name), _item(h.phone)])

    # -- unit status ----------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        actor = self.ui.actor
        may = actor is not None and allowed(actor, "unit.update")
        for button in self.status_buttons.values():
            button.setEnabled(may)

    def set_unit_status(self, status: str) -> None:
        index = self.units_view.currentIndex()
        if not index.isValid():
            self.message.setText(_("Select a unit first."))
            return
        unit_id = index.siblingAtColumn(0).data(UNIT_ID_ROLE)
        version = index.siblingAtColumn(1).data(UNIT_ID_ROLE + 1)
        db, actor = self.ui.console.db, self.ui.console.require_actor()
        def refused(exc: BaseException) -> None:
            self.message.setText(str(exc))
            self.reload_units()

        self.ui.runner.run(lambda: incidents.set_unit_status(db, actor, int(unit_id), int(version), status),
                           on_success=lambda _u: self.message.clear(), on_failure=refused)

    def shutdown(self) -> None:
        self.timer.stop()
        self._search_timer.stop()
