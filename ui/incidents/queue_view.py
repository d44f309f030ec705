"""The live incident queue: the console's central view.

A filter bar (status, category, grid, severity, "mine", search over all history) over a table of
incidents, most severe first and then oldest. Filtering, search and paging run in SQL through
the incident service; pages load as the table scrolls. Changes made at any workstation arrive
through the console's change router (ui/shell/change_router.py), which reads the changed
incidents once, under this queue's filter, for every view; the queue applies their rows in
place. Serious new incidents ring and flash (ui/shell/alerts.py) until somebody acknowledges them.

Keyboard: F2 / Ctrl+N new incident (intake form), Ctrl+F search, Ctrl+L back to the queue,
Ctrl+K acknowledge the selected incident, F5 reload, Esc back from "exactly these incidents" (a bar
of the situation or a grid of the map chose them); with the queue focused the letters of
ui/incidents/actions.py (A acknowledge, D dispatch, S on scene, R resolve, C close, O reopen,
M merge, N note, U release).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast

from PySide6.QtCore import QEvent, QItemSelectionModel, QModelIndex, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QHelpEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QTableView,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from dispatch_console import jurisdiction
from dispatch_console.incidents import (
    ChangedIncidents,
    ExactScope,
    IncidentRow,
    JournalEntry,
    PageLoad,
    PendingAlert,
    QueueQuery,
    RowRefresh,
    load_page,
    queue_position,
    refresh_rows,
    rows_by_ids,
)
from dispatch_console.kernel.categories import load_catalog
from dispatch_console.kernel.change_kinds import Entity, Op
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.timefmt import fmt_local
from ui.incidents import actions as incident_actions
from ui.incidents.actions import IncidentActions
from ui.incidents.offline import OfflineIntake
from ui.incidents.queue_model import Column, QueueModel
from ui.shell import theme
from ui.shell.alerts import AlertController
from ui.shell.context import UiContext
from ui.shell.flow_layout import FlowLayout

log = logging.getLogger(__name__)

PAGE_SIZE = 100
SEARCH_DEBOUNCE_MS = 300
TICK_MS = 5000
HIDDEN_SCREENFUL = 40  # rows drawn ahead while the queue is not on screen
COLUMN_WIDTHS = {Column.NUMBER: 158, Column.SEVERITY: 44, Column.AGE: 64, Column.CATEGORY: 80,
                 Column.GRID: 128, Column.STATUS: 72, Column.OWNER: 64, Column.UNITS: 150,
                 Column.CHECKLIST: 66, Column.DEADLINE: 92}
STATUS_OPEN, STATUS_ALL = "__open__", "__all__"
SEVERITY_MAJOR = "__major__"
# timer changes that name their incident when they have one: a timer change without one and not
# of these (a drill clock paused or resumed moves every deadline of its drill) does not say whose
TIMER_OF_ITS_OWN = frozenset({Op.SCHEDULE, Op.CANCEL, Op.FIRE})


def _combo(parent: QWidget, name: str, tip: str) -> QComboBox:
    combo = QComboBox(parent)
    combo.setObjectName(name)
    combo.setToolTip(tip)
    # as wide as its choice needs, but at the least eight characters wide: with every
    # filter as wide as its longest category the bar alone forced the window past 1366 px
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(8)
    return combo


class QueueView(QWidget):
    screenshot_name = "queue"

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("queue")
        self.ui = ui
        self.catalog = load_catalog(ui.console.resources)
        self.model = QueueModel(self.catalog, self)
        self._applying = False  # live changes being applied: row moves are not officer's choices
        self._grids_loading = True
        self._pending_select: int | None = None
        self._locating = False
        self._own_reads = 0  # reads of its own (only when another queue's filter leads the router)
        # the selected incident's row when it is not (or no longer) a row of the queue: resolved
        # out of the open queue, or chosen on the map under another filter. The keys act on it.
        self._selected_row: IncidentRow | None = None
        self._build()
        self.offline = OfflineIntake(ui, self)  # reports kept while the database is away, replayed
        cast(QVBoxLayout, self.layout()).insertWidget(0, self.offline)
        self.offline.told.connect(self.show_message)
        self.offline.replayed.connect(lambda _outcome: self.reload())
        self.offline.ask_note = lambda *a, **k: incident_actions.ask_note(*a, **k)
        self.offline.state.changed.connect(
            lambda: self.set_offline(self.offline.state.lost_at if self.offline.state.offline else None))
        self.actions_ = IncidentActions(ui, self, self.current_row)
        self.actions_.make_actions(self.table)
        self.actions_.message.connect(self.show_message)
        self.actions_.reload.connect(lambda incident_id: self.refresh_ids({incident_id}))
        self.alerts = AlertController(ui, self)
        self.alerts.changed.connect(self._on_alerts)
        self.alerts.flash.connect(self._on_flash)
        self.model.fetch_requested.connect(self._fetch)
        self.model.visible_rows = self._visible_rows
        self.table.verticalScrollBar().valueChanged.connect(lambda _v: self._rows_shown())
        self.table.selectionModel().currentRowChanged.connect(self._on_current)
        ui.selection.changed.connect(self._follow_selection)
        ui.router.follow_query(lambda: ((self, self.model.generation), self.query()))
        ui.router.on_rows(self._on_rows)
        ui.router.on_changes({Entity.DATABASE, Entity.AREA, Entity.TIMER}, self._on_changes)
        ui.session.actor_changed.connect(self._on_actor_changed)
        ui.exact.changed.connect(self._on_exact)
        self._tick = QTimer(self)
        self._tick.timeout.connect(self.model.tick)
        self._tick.timeout.connect(self._show_stale)
        self._tick.start(TICK_MS)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DEBOUNCE_MS)
        self._search_timer.timeout.connect(self.reload)
        self._load_grids()
        self.reload()
        self.alerts.refresh()

    # -- construction -------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        bar = FlowLayout()  # one row when there is room, two in a narrow window (1366 px)
        self.search = QLineEdit(self)
        self.search.setObjectName("queue-search")
        self.search.setPlaceholderText(_("Search all history: number, description, address, reporter, phone…"))
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(180)  # it grows (stretch 2); 320 forced the window past a 1366 screen
        self.status = _combo(self, "filter-status", _("Status"))
        self.status.addItem(_("Open incidents"), STATUS_OPEN)
        self.status.addItem(_("All statuses"), STATUS_ALL)
        for label in self.catalog.statuses:
            self.status.addItem(label.text, label.code)
        self.category = _combo(self, "filter-category", _("Category"))
        self.category.addItem(_("All categories"), None)
        for label in self.catalog.categories:
            self.category.addItem(label.text, label.code)
        self.grid = _combo(self, "filter-grid", _("Grid"))
        self.grid.addItem(_("All grids"), None)
        self.severity = _combo(self, "filter-severity", _("Severity"))
        self.severity.addItem(_("All severities"), None)
        self.severity.addItem(_("Ⅰ–Ⅱ (major)"), SEVERITY_MAJOR)
        for label in self.catalog.severities:
            self.severity.addItem(label.text, int(label.code))
        self.mine = QCheckBox(_("Mine"), self)
        self.mine.setToolTip(_("Only incidents I own"))
        self.drills = QCheckBox(_("Drills"), self)
        self.drills.setToolTip(_("Show drill incidents"))
        self.drills.setChecked(True)
        self.count = QLabel(self)
        self.count.setObjectName("queue-count")
        self.count.setTextFormat(Qt.TextFormat.PlainText)
        bar.add(self.search, stretch=True)
        for widget in (self.status, self.category, self.grid, self.severity, self.mine, self.drills, self.count):
            bar.add(widget)
        for w in (self.search, self.status, self.category, self.grid, self.severity):
            w.setStyleSheet(theme.INPUT_PADDING)  # on each input, not the view: see ui/shell/theme.py
        layout.addLayout(bar)
        self._build_exact(layout)

        self.banner = QPushButton(self)
        self.banner.setObjectName("alert-banner")
        self.banner.setFlat(False)
        self.banner.hide()
        self.banner.clicked.connect(self._select_first_alert)
        layout.addWidget(self.banner)

        self.table = QTableView(self)
        self.table.setObjectName("queue-table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)  # rows are read-only
        self.table.viewport().installEventFilter(self)  # tooltips, asked of the model when shown
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(26)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in COLUMN_WIDTHS.items():
            self.table.setColumnWidth(column, width)
        layout.addWidget(self.table, 1)
        self.stale = QLabel(self)  # the last known queue, while the database is away (set_offline)
        self.stale.setObjectName("queue-stale")
        self.stale.setTextFormat(Qt.TextFormat.PlainText)
        self.stale.hide()
        layout.insertWidget(layout.indexOf(self.table), self.stale)
        self._stale_since: datetime | None = None

        self.message = QLabel(self)
        self.message.setObjectName("queue-message")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        layout.addWidget(self.message)

        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.search.returnPressed.connect(self._search_now)
        for combo in (self.status, self.category, self.grid, self.severity):
            combo.currentIndexChanged.connect(lambda _i: self.reload())
        self.mine.toggled.connect(lambda _c: self.reload())
        self.drills.toggled.connect(lambda _c: self.reload())

    def _build_exact(self, layout: QVBoxLayout) -> None:
        """The line that says the queue shows exactly some incidents, with its way back (Esc)."""
        self.exact_bar = QWidget(self)
        self.exact_bar.setObjectName("queue-exact")
        row = QHBoxLayout(self.exact_bar)
        row.setContentsMargins(0, 0, 0, 0)
        self.exact_label = QLabel(self.exact_bar)
        self.exact_label.setObjectName("queue-exact-label")
        self.exact_label.setTextFormat(Qt.TextFormat.PlainText)
        self.exact_label.setStyleSheet("font-weight: bold;")
        self.exact_clear = QPushButton(_("Show the whole queue (Esc)"), self.exact_bar)
        self.exact_clear.setObjectName("queue-exact-clear")
        self.exact_clear.clicked.connect(self.ui.exact.clear)
        row.addWidget(self.exact_label, 1)
        row.addWidget(self.exact_clear)
        self.exact_bar.hide()
        layout.addWidget(self.exact_bar)
        self.exact_escape = QAction(_("Show the whole queue"), self)
        self.exact_escape.setObjectName("queue-exact-escape")
        self.exact_escape.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        # the queue and what is in it only: Esc stays the dialogs' and the other panels' own key
        self.exact_escape.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.exact_escape.setEnabled(False)  # a disabled action leaves Esc to the focused widget
        self.exact_escape.triggered.connect(self.ui.exact.clear)
        self.addAction(self.exact_escape)

    def _on_exact(self, scope: ExactScope | None) -> None:
        """Another view asked for exactly some incidents (or Esc went back): the filters above stand
        aside while the scope holds, so the queue shows exactly what the bar or grid counted."""
        held = scope is not None
        self.exact_bar.setVisible(held)
        self.exact_escape.setEnabled(held)
        if scope is not None:
            self.exact_label.setText(_("Showing exactly: {what}").format(what=scope.label))
        for widget in (self.search, self.status, self.category, self.grid, self.severity, self.mine, self.drills):
            widget.setEnabled(not held)
        self.reload()
        if held:
            self.focus_table()

    def contribute_actions(self, window: QMainWindow) -> None:
        """Incident menu: new incident, the per-incident letters, search, acknowledge from anywhere."""
        menu = getattr(window, "menu_incident", None)
        new = QAction(_("New incident…"), window)
        new.setObjectName("incident-new")
        new.setShortcuts([QKeySequence(Qt.Key.Key_F2), QKeySequence("Ctrl+N")])
        new.triggered.connect(self.open_intake)
        window.addAction(new)
        ack = QAction(_("Acknowledge selected incident"), window)
        ack.setObjectName("incident-acknowledge-anywhere")
        ack.setShortcut(QKeySequence("Ctrl+K"))
        ack.triggered.connect(lambda: self.actions_.trigger("acknowledge"))
        window.addAction(ack)
        find = QAction(_("Search incidents"), window)
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.triggered.connect(self.focus_search)
        window.addAction(find)
        back = QAction(_("Go to the queue"), window)
        back.setShortcut(QKeySequence("Ctrl+L"))
        back.triggered.connect(self.focus_table)
        window.addAction(back)
        refresh = QAction(_("Reload the queue"), window)
        refresh.setShortcut(QKeySequence(Qt.Key.Key_F5))
        refresh.triggered.connect(self.reload)
        window.addAction(refresh)
        if menu is not None:
            for act in (new, ack, find, back, refresh):
                menu.addAction(act)
            menu.addSeparator()
            for act in self.actions_.actions.values():
                menu.addAction(act)
        self.window_actions = {"new": new, "acknowledge": ack, "find": find, "back": back, "refresh": refresh}

    def _on_actor_changed(self, _actor: object) -> None:
        self.actions_.update_enabled()
        if self.mine.isChecked():
            self.reload()

    # -- the query ----------------------------------------------------------------------------
    def query(self, offset: int = 0, limit: int | None = None) -> QueueQuery:
        exact = self.ui.exact.current
        if exact is not None:  # exactly those incidents, whatever the filter bar says
            return QueueQuery(exact=exact, limit=limit or PAGE_SIZE, offset=offset)
        status = self.status.currentData()
        text = self.search.text().strip() or None
        statuses: tuple[str, ...] = ()
        if status not in (STATUS_OPEN, STATUS_ALL, None):
            statuses = (str(status),)
        # the open queue by default; a search looks through all history unless a status is chosen
        open_only = status == STATUS_OPEN and text is None
        severity = self.severity.currentData()
        severities: tuple[int, ...] = ()
        if severity == SEVERITY_MAJOR:
            severities = (1, 2)
        elif severity is not None:
            severities = (int(severity),)
        category = self.category.currentData()
        grid = self.grid.currentData()
        actor = self.ui.actor
        owner = None
        if self.mine.isChecked():
            owner = actor.user_id if actor is not None and actor.user_id is not None else -1
        return QueueQuery(
            statuses=statuses, categories=(str(category),) if category else (),
            grid_ids=(int(grid),) if grid else (), severities=severities, owner_user_id=owner,
            text=text, open_only=open_only, include_drill=self.drills.isChecked(),
            limit=limit or PAGE_SIZE, offset=offset,
        )

    # -- loading ------------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the first page again for the current filter; results of older requests are dropped."""
        self._search_timer.stop()
        generation = self.model.begin_reload()
        query = self.query()
        db = self.ui.console.db
        self.ui.runner.run(lambda: load_page(db, query),
                           on_success=lambda load: self._loaded(generation, load),
                           on_failure=lambda exc: self._load_failed(generation, exc))

    def _search_now(self) -> None:
        self.reload()
        self.focus_table()

    def _loaded(self, generation: int, load: PageLoad) -> None:
        if not self.model.reset_to(generation, load):
            return  # a newer filter was asked for meanwhile
        self._show_count()
        self._restore_selection()
        self._continue_pending()

    def _load_failed(self, generation: int, exc: BaseException) -> None:
        self.model.fetch_failed(generation)
        self.show_message(_("Could not load the queue: {error}").format(error=exc), True)

    def _fetch(self, offset: int, limit: int | None = None) -> None:
        generation = self.model.generation
        # the next page starts after the last row shown (keyset), so incidents arriving while it
        # is read can neither push a row out of it nor show one twice; the offset is the fallback
        query = replace(self.query(offset=offset, limit=limit), after=self.model.last_key())
        db = self.ui.console.db
        self.ui.runner.run(lambda: load_page(db, query),
                           on_success=lambda load: self._appended(generation, load),
                           on_failure=lambda exc: self._load_failed(generation, exc))

    def _appended(self, generation: int, load: PageLoad) -> None:
        if self.model.append_page(generation, load):
            self._show_count()
            self._continue_pending()

    def _show_count(self) -> None:
        self.count.setText(_("{shown} of {total}").format(shown=self.model.loaded_count, total=self.model.total))

    def _load_grids(self) -> None:
        db = self.ui.console.db
        self.ui.runner.run(lambda: jurisdiction.tree(db), on_success=self._show_grids,
                           on_failure=lambda _e: self._grids_done())

    def _grids_done(self) -> None:
        self._grids_loading = False

    def _show_grids(self, communities: list[jurisdiction.CommunityRow]) -> None:
        self._grids_loading = False
        current = self.grid.currentData()
        self.grid.blockSignals(True)
        while self.grid.count() > 1:
            self.grid.removeItem(1)
        for community in communities:
            for grid in community.grids:
                self.grid.addItem(f"{grid.name}", grid.id)
                self.grid.setItemData(self.grid.count() - 1, f"{community.name} · {grid.code}",
                                      Qt.ItemDataRole.ToolTipRole)
        index = self.grid.findData(current)
        self.grid.setCurrentIndex(max(index, 0))
        self.grid.blockSignals(False)

    # -- live changes -------------------------------------------------------------------------
    def _on_changes(self, changes: list[Any]) -> None:
        """What the router's rows do not cover: the whole database, the grids, timers moved
        without saying whose (a drill clock paused or resumed)."""
        if any(c.entity == Entity.DATABASE for c in changes):
            self.reload()
            self._load_grids()
            return
        if any(c.entity == Entity.AREA for c in changes):
            self._load_grids()
        if any(c.entity == Entity.TIMER and c.incident_id is None and c.op not in TIMER_OF_ITS_OWN
               for c in changes):
            self.refresh_ids(set(self.model.ids))  # whose deadlines moved is not said: the loaded rows'

    def refresh_ids(self, ids: set[int]) -> None:
        """Read these incidents again (through the router, so every view gets their rows)."""
        self.ui.router.refresh(ids)

    def _on_rows(self, batch: ChangedIncidents, tag: object) -> None:
        if not (isinstance(tag, tuple) and tag[0] is self):
            self._read_own(set(batch.ids))  # another queue's filter: split them by this one's
            return
        self._refreshed(tag[1], set(batch.ids), batch.refresh)

    def _read_own(self, ids: set[int]) -> None:
        generation, query, db = self.model.generation, self.query(), self.ui.console.db
        self._own_reads += 1
        self.ui.runner.run(lambda: refresh_rows(db, query, ids),
                           on_success=lambda r: self._read_own_done(generation, ids, r),
                           on_failure=lambda exc: self._read_own_done(generation, ids, None, exc))

    def _read_own_done(self, generation: int, ids: set[int], refresh: RowRefresh | None,
                       exc: BaseException | None = None) -> None:
        self._own_reads -= 1
        if refresh is None:
            log.warning("queue refresh failed: %s", exc)
            QTimer.singleShot(2000, lambda: self._read_own(ids))
            return
        self._refreshed(generation, ids, refresh, own=True)

    def _refreshed(self, generation: int, ids: set[int], refresh: RowRefresh, *, own: bool = False) -> None:
        wanted = self.ui.selection.current
        fresh = refresh.matching.get(wanted) or refresh.other.get(wanted)
        if fresh is not None:
            self._selected_row = fresh
        self._applying = True
        try:
            applied = self.model.apply_refresh(generation, refresh)
        finally:
            self._applying = False
        if not applied:  # the filter changed meanwhile; read them again under the new one
            if own:
                self._read_own(ids)
            else:
                self.refresh_ids(ids)
        else:
            self._keep_selection()
        self._show_count()
        self.actions_.update_enabled()
        self._continue_pending()

    # -- selection ----------------------------------------------------------------------------
    def current_row(self) -> IncidentRow | None:
        """The incident the keys act on: the selected one, which the detail panel shows — also
        after it left the queue (resolved out of the open queue). Never the row that happens to
        sit under the highlight after rows moved."""
        wanted = self.ui.selection.current
        if not wanted:
            return None
        place = self.model.row_of(wanted)
        if place is not None:
            return self.model.incident_at(place)
        row = self._selected_row
        return row if row is not None and row.id == wanted else None

    def highlighted_id(self) -> int | None:
        """The incident of the queue's highlighted row, if any."""
        index = self.table.currentIndex()
        row = self.model.incident_at(index.row()) if index.isValid() else None
        return row.id if row else None

    def current_id(self) -> int | None:
        return self.highlighted_id()

    def _keep_selection(self) -> None:
        """After live changes: the selected incident stays selected, wherever its row went (a row
        that moves is taken out and put back, and the table would otherwise pick a neighbour).
        When it left the queue the highlight goes rather than landing on a neighbour the detail
        panel does not show."""
        wanted = self.ui.selection.current
        if wanted and self.current_id() != wanted:
            if self.model.row_of(wanted) is not None:
                self.select_id(wanted, load=False)
            else:
                self._clear_highlight()

    def _clear_highlight(self) -> None:
        self.table.selectionModel().clear()
        self.actions_.update_enabled()

    def _visible_rows(self) -> tuple[int, int]:
        """The rows on screen: only these are drawn, ticked and flashed. While the queue is hidden,
        the first screenful (what showing it will show first)."""
        if not self.table.isVisible():
            return 0, HIDDEN_SCREENFUL - 1
        first = self.table.rowAt(0)
        last = self.table.rowAt(self.table.viewport().height() - 1)
        if first < 0:
            return 0, -1
        return first, last if last >= 0 else self.model.rowCount() - 1

    def _rows_shown(self) -> None:
        first, last = self._visible_rows()
        self.model.show_rows(first, last)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and watched is self.table.viewport():
            self._rows_shown()  # a taller queue shows rows that may not be drawn yet
        if event.type() == QEvent.Type.ToolTip and watched is self.table.viewport():
            help_event = cast(QHelpEvent, event)
            index = self.table.indexAt(help_event.pos())
            text = self.model.tooltip(index.row(), index.column()) if index.isValid() else ""
            if text:
                QToolTip.showText(help_event.globalPos(), text, self.table.viewport())
            else:
                QToolTip.hideText()
            return True
        return super().eventFilter(watched, event)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self._rows_shown()  # rows loaded while hidden are drawn now, ages brought up to date
        QTimer.singleShot(0, self._rows_shown)  # and again once the layout has settled

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._applying:
            return  # the table moved its current row because a row moved; _keep_selection decides
        row = self.model.incident_at(current.row()) if current.isValid() else None
        self.actions_.update_enabled()
        if row is not None:
            self.ui.selection.select(row.id)

    def _follow_selection(self, incident_id: int) -> None:
        if incident_id and incident_id != self.current_id() and not self.select_id(incident_id, load=False):
            self._clear_highlight()  # not a row here: no highlight on an incident not shown
            self._read_selected(incident_id)
        self.actions_.update_enabled()

    def _read_selected(self, incident_id: int) -> None:
        """Read the row of a selected incident that is not in the queue, so the keys act on it."""
        db = self.ui.console.db

        def got(rows: dict[int, IncidentRow]) -> None:
            if self.ui.selection.current == incident_id and incident_id in rows:
                self._selected_row = rows[incident_id]
                self.actions_.update_enabled()

        self.ui.runner.run(lambda: rows_by_ids(db, [incident_id]), on_success=got,
                           on_failure=lambda exc: log.warning("reading incident %s failed: %s", incident_id, exc))

    def _restore_selection(self) -> None:
        wanted = self._pending_select or self.ui.selection.current
        if wanted and self.model.row_of(wanted) is not None:
            self.select_id(wanted, load=False)
        elif self.model.rowCount() and not self.table.currentIndex().isValid() and not self._pending_select:
            self.table.setCurrentIndex(self.model.index(0, 0))

    def select_id(self, incident_id: int, *, load: bool = True) -> bool:
        """Select the incident's row; with ``load``, read it first if it is not on screen yet."""
        row = self.model.row_of(incident_id)
        if row is None:
            if load:
                self._locate(incident_id)
            return False
        if self._pending_select == incident_id:
            self._pending_select = None
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index)
        return True

    def select_number(self, number: str) -> None:
        """Select an incident by its number (screenshots, the map); loads pages until it is shown."""
        self._locate(number)

    def _locate(self, number_or_id: str | int) -> None:
        self._locating = True
        query = self.query()
        db = self.ui.console.db
        self.ui.runner.run(lambda: queue_position(db, query, number_or_id), on_success=self._located,
                           on_failure=self._locate_failed)

    def _locate_failed(self, exc: BaseException) -> None:
        self._locating = False
        self.show_message(str(exc), True)

    def _located(self, found: tuple[int, int | None]) -> None:
        self._locating = False
        incident_id, place = found
        self.ui.selection.select(incident_id)
        if place is None:
            self.show_message(_("That incident is not in the queue as filtered; its details are shown."), False)
            return
        self._pending_select = incident_id
        if place < self.model.loaded_count and self.model.row_of(incident_id) is None:
            self.refresh_ids({incident_id})  # new since the page was read: the refresh inserts it
        self._continue_pending(place)

    def _continue_pending(self, place: int | None = None) -> None:
        wanted = self._pending_select
        if wanted is None:
            return
        if self.select_id(wanted, load=False):
            return
        if place is not None and place >= self.model.loaded_count and not self.model.fetching:
            self.model.fetching = True
            self._fetch(self.model.loaded_count, place + 1 - self.model.loaded_count + PAGE_SIZE)

    def is_ready(self) -> bool:
        return not (self.model.fetching or self.ui.router.busy or self._own_reads or self._grids_loading
                    or self._locating or self._pending_select or self.alerts.loading)

    # -- alerts -------------------------------------------------------------------------------
    def _on_alerts(self, rows: tuple[PendingAlert, ...]) -> None:
        self.model.set_alerts({r.id for r in rows})
        if rows:
            numbers = ", ".join(r.number for r in rows[:5]) + (" …" if len(rows) > 5 else "")
            self.banner.setText(_("New major incident {numbers}").format(numbers=numbers))
            self.banner.setToolTip(_("Select it: click, then A to acknowledge"))
            self.banner.show()
        else:
            self.banner.hide()

    def _on_flash(self, on: bool) -> None:
        self.model.flash(on)
        bg, fg = theme.severity_colours(1)
        if on:
            style = f"background: {bg.name()}; color: {fg.name()}; border: 2px solid {bg.name()};"
        else:
            style = f"color: {bg.name()}; border: 2px solid {bg.name()};"
        self.banner.setStyleSheet("QPushButton#alert-banner { font-weight: bold; padding: 6px; " + style + " }")

    def _select_first_alert(self) -> None:
        if self.alerts.rows:
            first = self.alerts.rows[0]
            self.ui.selection.select(first.id)
            self.select_id(first.id)
            self.focus_table()

    # -- the rest -----------------------------------------------------------------------------
    def open_intake(self) -> None:
        from ui.incidents.intake_form import IntakeForm

        form = IntakeForm(self.ui, self.window(), offline=self.offline)
        form.created.connect(self._created)
        form.kept.connect(self._kept)
        self.intake = form
        form.open()

    def _created(self, row: IncidentRow) -> None:
        self.show_message(_("{number} recorded").format(number=row.number), False)
        self.ui.selection.select(row.id)
        self.select_id(row.id)
        self.focus_table()

    def _kept(self, entry: JournalEntry) -> None:
        self.offline.kept(entry)  # shown above the queue as a pending row
        self.focus_table()

    def quit_concern(self) -> str | None:
        """Quitting now would lose a report half typed in the intake form."""
        form = getattr(self, "intake", None)
        try:
            typing = form is not None and form.isVisible() and form.has_input()
        except RuntimeError:  # the form was closed and deleted
            typing = False
        return _("An incident report is being typed in the intake form and is not recorded yet.") if typing else None

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def focus_table(self) -> None:
        self.table.setFocus()

    def show_message(self, text: str, error: bool = False) -> None:
        self.message.setText(("⚠ " if error else "") + text)
        colour = theme.deadline_colour("red" if error else "ok")
        self.message.setStyleSheet(f"color: {colour.name()};")

    def apply_theme(self, _name: str) -> None:
        self.model.rerender()
        self.set_offline(self._stale_since)

    # -- offline: the last known queue, read-only ---------------------------------------------
    def set_offline(self, since: datetime | None) -> None:
        """The database is away since ``since`` (None: live again). The rows stay, marked read-only
        with their age; the change feed brings what was missed when it is back."""
        self._stale_since = since
        self.model.set_read_only(since is not None)
        header = self.table.horizontalHeader()
        if since is None:
            self.stale.hide()
            header.setStyleSheet("")
            return
        muted = theme.muted_colour().name()
        amber = theme.deadline_colour("amber").name()
        header.setStyleSheet(f"QHeaderView::section {{ background: {muted}; color: black; }}")
        self.stale.setStyleSheet(f"background: {amber}; color: black; font-weight: bold; padding: 2px;")
        self._show_stale()
        self.stale.show()

    def _show_stale(self) -> None:
        since = self._stale_since
        if since is None:
            return
        minutes = max(0, int((datetime.now(UTC) - since).total_seconds() // 60))
        self.stale.setText(_("Offline · data as of {time} ({minutes} min ago)").format(
            time=fmt_local(since, "%H:%M"), minutes=minutes))

    def shutdown(self) -> None:
        self.offline.shutdown()
        for timer in (self._tick, self._search_timer):
            timer.stop()
        self.alerts.stop()
