"""The queue's table model: cached plain rows, kept in the SQL order, drawn without Python.

Rows are :class:`IncidentRow` objects cached by id, in the order the database sorts them (most
severe first, then oldest). Each loaded row is rendered once into Qt's own item store (a
``QStandardItemModel``: text, colours, font, tooltip per cell) and rendered again only when it
changes, so painting the table never calls back into Python. That matters on a busy console:
every Python call from a paint must take the interpreter lock, which the threads reading the
database hold most of the time during a surge (a Python ``data()`` made a paint 3–4x slower
then, and a frozen queue is what an officer feels). Pages arrive as the view scrolls (``canFetchMore`` / ``fetchMore``
ask the queue view for the next page; the model never reads the database itself). Changes from
the change feed come as :class:`RowRefresh` batches and become row inserts, moves, updates and
removals, so the view keeps its selection. An incident that vanished or was merged away stays
on screen as a disabled, struck-through row until the next reload, instead of disappearing under
the officer's cursor.

Ages and countdowns tick from a local clock corrected to the database clock (``db_offset``):
the ticking never queries the database, and only cells whose text or colour changed are set
(``visible_rows`` limits ticking and flashing to what is on screen, when a view provides it).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QFont, QStandardItem, QStandardItemModel

from dispatch_console.incidents import IncidentRow, PageLoad, RowRefresh
from dispatch_console.kernel.categories import Catalog, shipped_catalog
from dispatch_console.kernel.i18n import N_, _
from dispatch_console.kernel.text import summary
from dispatch_console.kernel.timefmt import fmt_duration, fmt_local
from dispatch_console.timers import Deadline, deadline_state
from ui.shell import theme
from ui.shell.plain_text import plain_tooltip

ID_ROLE = Qt.ItemDataRole.UserRole + 1
Index = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    NUMBER = 0
    SEVERITY = 1
    AGE = 2
    CATEGORY = 3
    GRID = 4
    STATUS = 5
    OWNER = 6
    UNITS = 7
    CHECKLIST = 8
    DEADLINE = 9
    DESCRIPTION = 10


HEADERS: dict[Column, str] = {
    Column.NUMBER: N_("Number"),
    Column.SEVERITY: N_("Level"),
    Column.AGE: N_("Age"),
    Column.CATEGORY: N_("Category"),
    Column.GRID: N_("Grid"),
    Column.STATUS: N_("Status"),
    Column.OWNER: N_("Owner"),
    Column.UNITS: N_("Units"),
    Column.CHECKLIST: N_("Checklist"),
    Column.DEADLINE: N_("Next deadline"),
    Column.DESCRIPTION: N_("Description"),
}
TICKING = (Column.AGE, Column.DEADLINE)
SEVERITY_SHORT = {1: "Ⅰ", 2: "Ⅱ", 3: "Ⅲ", 4: "Ⅳ"}


def sort_key(row: IncidentRow) -> tuple[int, datetime, int]:
    """The queue's order, the same as the SQL ``ORDER BY severity, created_at, id``."""
    return row.severity, row.created_at, row.id


def one_line(text: str, limit: int = 120) -> str:
    return summary(text, limit)


DISPLAY = Qt.ItemDataRole.DisplayRole
FOREGROUND = Qt.ItemDataRole.ForegroundRole
BACKGROUND = Qt.ItemDataRole.BackgroundRole
FONT = Qt.ItemDataRole.FontRole
ALIGNMENT = Qt.ItemDataRole.TextAlignmentRole
ROLES = (DISPLAY, FOREGROUND, BACKGROUND, FONT, ALIGNMENT)
ENABLED = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled
DISABLED = Qt.ItemFlag.ItemIsSelectable  # shown, selectable, but disabled
CENTRED = int(Qt.AlignmentFlag.AlignCenter)
COLUMNS = tuple(Column)
# One cell as rendered: (text, foreground, background, font, alignment), compared with what the
# item holds so that only what changed is set (every set repaints that cell). Tooltips are not
# stored: the view asks ``tooltip()`` when one is about to show.
Cell = tuple[str, Any, Any, Any, Any]


def _font(bold: bool, strike: bool) -> QFont:
    font = QFont()
    font.setBold(bold)
    font.setStrikeOut(strike)
    return font


class QueueModel(QStandardItemModel):
    """Loaded rows of the queue; ``total`` is how many the filter selects in the database."""

    fetch_requested = Signal(int)  # offset of the next page

    def __init__(self, catalog: Catalog | None = None, parent: QObject | None = None) -> None:
        super().__init__(0, len(Column), parent)
        self.catalog = catalog or shipped_catalog()
        self._ids: list[int] = []
        self._keys: list[tuple[int, datetime, int]] = []
        self._rows: dict[int, IncidentRow] = {}
        self._cells: dict[int, list[Cell]] = {}  # id → what its items hold now
        self._gone: dict[int, str] = {}  # id → why the row is shown disabled
        self._deadlines: dict[int, Deadline] = {}
        self._alerts: set[int] = set()
        self._flash_on = False
        self._fonts = {(bold, strike): _font(bold, strike) for bold in (False, True) for strike in (False, True)}
        self.total = 0
        self.generation = 0
        self.fetching = False
        # Live changes race the pages: a refresh can come before the page that reaches its row,
        # having been read after it. So: rows that match but sort after the loaded ones wait in
        # ``_beyond`` until a page reaches their place; ids refreshed while a page is read keep
        # what the refresh said (``_touched``); refreshes that come before a filter's first page
        # are applied after it (``_held``). The end is reached when a page came back short.
        self._beyond: dict[int, IncidentRow] = {}
        self._touched: set[int] = set()
        self._held: list[RowRefresh] = []
        self._resetting = False
        self._at_end = True
        self.db_offset = timedelta(0)  # database clock minus local clock
        self.read_only = False  # the last known rows while the database is away (not live)
        # (first, last) rows on screen; None: every loaded row (no view, tests)
        self.visible_rows: Callable[[], tuple[int, int]] | None = None

    # -- Qt model API (everything else, data() included, is Qt's own) ------------------------
    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _(HEADERS[Column(section)])
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ForegroundRole and self.read_only:
            return theme.muted_colour()
        return None

    def set_read_only(self, on: bool) -> None:
        """Rows no longer live (the database is away): the header says so; the rows stay."""
        if on != self.read_only:
            self.read_only = on
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(Column) - 1)

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:
        return not parent.isValid() and not self.fetching and not self._at_end

    def fetchMore(self, parent: Index = QModelIndex()) -> None:
        if self.canFetchMore(parent):
            self.fetching = True
            self.fetch_requested.emit(self.loaded_count)

    # -- rendering ----------------------------------------------------------------------------
    def now(self) -> datetime:
        """The database time now, from the local clock and the last measured offset."""
        return datetime.now(UTC) + self.db_offset

    def _render(self, row: IncidentRow, now: datetime) -> list[Cell]:
        """Every cell of one row: what the table shows for it at ``now``."""
        incident_id = row.id
        gone = incident_id in self._gone
        flashing = not gone and self._flash_on and incident_id in self._alerts
        flash = None
        if flashing:
            flash = QColor(theme.severity_colours(1)[0])
            flash.setAlpha(110)
        grey = theme.muted_colour() if gone else None
        plain = self._fonts[(True, True)] if gone else None
        bold = self._fonts[(True, False)]
        cells: list[Cell] = []
        for column in COLUMNS:
            text = self._text(row, column, now)
            foreground: Any = grey
            background: Any = flash
            font: Any = plain
            align: Any = None
            if column == Column.SEVERITY:
                align = CENTRED
                if not gone:
                    background, foreground = theme.severity_colours(row.severity)
                    font = bold
            elif column == Column.DEADLINE:
                if not gone:
                    font = bold
                    deadline = self._deadlines.get(incident_id)
                    if deadline is not None and row.is_open:
                        foreground = theme.deadline_colour(deadline_state(deadline, now))
            elif column == Column.NUMBER:
                if not gone and row.is_drill:
                    foreground = theme.drill_colour()
                if not gone and (row.is_drill or incident_id in self._alerts):
                    font = bold
            elif column == Column.CHECKLIST:
                align = CENTRED
            cells.append((text, foreground, background, font, align))
        return cells

    def tooltip(self, position: int, column: int) -> str:
        """The tooltip of one cell (plain text, made safe for Qt's rich-text tooltips)."""
        row = self.incident_at(position)
        if row is None:
            return ""
        deadline = self._deadlines.get(row.id)
        if column == Column.SEVERITY:
            text = self.catalog.severity_label(row.severity)
        elif column == Column.DEADLINE and deadline is not None:
            text = _("Due at {time}").format(time=fmt_local(deadline.due_at))
        elif column == Column.GRID and row.community_name:
            text = row.community_name
        elif column == Column.AGE:
            text = _("Recorded at {time}").format(time=fmt_local(row.created_at))
        else:
            parts = [row.description]
            if row.address:
                parts.append(_("Address: {address}").format(address=row.address))
            text = "\n".join(parts)
        return plain_tooltip(text)

    def _items(self, incident_id: int, cells: list[Cell]) -> list[QStandardItem]:
        """New items for one row (only roles with a value are set: most cells hold text alone)."""
        gone = incident_id in self._gone
        items = []
        for cell in cells:
            item = QStandardItem(cell[0])
            if gone:
                item.setFlags(DISABLED)
            for role, value in zip(ROLES[1:], cell[1:], strict=True):
                if value is not None:
                    item.setData(value, role)
            items.append(item)
        items[0].setData(incident_id, ID_ROLE)
        self._cells[incident_id] = cells
        return items

    def _update(self, position: int, columns: tuple[Column, ...] = COLUMNS, now: datetime | None = None) -> None:
        """Set what changed in one loaded row's cells (all, or only ``columns``); a row not drawn
        yet is left for when it comes on screen (:meth:`_draw`)."""
        incident_id = self._ids[position]
        old = self._cells.get(incident_id)
        if old is None:
            return
        cells = self._render(self._rows[incident_id], now or self.now())
        flags = DISABLED if incident_id in self._gone else ENABLED
        if columns == COLUMNS and self.item(position, 0) is not None \
                and (self.item(position, 0).flags() & ENABLED) != flags:
            for column in COLUMNS:
                self.item(position, column).setFlags(flags)
        for column in columns:
            item = self.item(position, column)
            if item is None:
                continue
            new = cells[column]
            before = old[column] if old is not None else None
            for n, role in enumerate(ROLES):
                if before is None or before[n] != new[n]:
                    item.setData(new[n], role)
        if columns != COLUMNS:
            cells = [cells[c] if c in columns else old[c] for c in COLUMNS]
        self._cells[incident_id] = cells

    def _draw(self, position: int, now: datetime) -> None:
        """Make the items of a row that has none yet (rows get them when they come on screen)."""
        incident_id = self._ids[position]
        if incident_id in self._cells:
            return
        items = self._items(incident_id, self._render(self._rows[incident_id], now))
        blocked = self.blockSignals(True)  # one dataChanged for the row instead of one per cell
        try:
            for column, item in enumerate(items):
                self.setItem(position, column, item)
        finally:
            self.blockSignals(blocked)
        self.dataChanged.emit(self.index(position, 0), self.index(position, len(Column) - 1))

    def _draw_on_screen(self) -> None:
        now = self.now()
        for position in self._on_screen():
            self._draw(position, now)

    def _text(self, row: IncidentRow, column: Column, now: datetime) -> str:
        if column == Column.NUMBER:
            text = row.number
            if row.is_drill:
                text = _("[DRILL] {number}").format(number=text)
            why = self._gone.get(row.id)
            return f"{text} — {why}" if why else text
        if column == Column.SEVERITY:
            return SEVERITY_SHORT.get(row.severity, str(row.severity))
        if column == Column.AGE:
            return fmt_duration((now - row.created_at).total_seconds())
        if column == Column.CATEGORY:
            return self.catalog.category_label(row.category)
        if column == Column.GRID:
            return row.grid_name or ""
        if column == Column.STATUS:
            return self.catalog.status_label(row.status)
        if column == Column.OWNER:
            return row.owner_name or ""
        if column == Column.UNITS:
            return row.units
        if column == Column.CHECKLIST:
            return f"{row.checklist_done}/{row.checklist_total}" if row.checklist_total else ""
        if column == Column.DEADLINE:
            deadline = self._deadlines.get(row.id)
            if deadline is None or not row.is_open:
                return ""
            left = (deadline.due_at - now).total_seconds()
            if left < 0:
                return _("overdue {time}").format(time=fmt_duration(-left))
            return fmt_duration(left)
        return one_line(row.description)

    def rerender(self) -> None:
        """Render every loaded row again (after a theme change)."""
        now = self.now()
        for position in range(len(self._ids)):
            self._update(position, now=now)

    # -- reading ------------------------------------------------------------------------------
    @property
    def loaded_count(self) -> int:
        """Rows loaded that the filter still selects (the offset of the next page)."""
        return len(self._ids) - len(self._gone)

    @property
    def ids(self) -> list[int]:
        return list(self._ids)

    def last_key(self) -> tuple[int, datetime, int] | None:
        """The sort key of the last row loaded (where the next page starts), None when empty."""
        return self._keys[-1] if self._keys else None

    def row_of(self, incident_id: int) -> int | None:
        row = self._rows.get(incident_id)
        if row is None:
            return None
        position = bisect.bisect_left(self._keys, sort_key(row))
        if position < len(self._ids) and self._ids[position] == incident_id:
            return position
        try:  # a row whose cached key is not its sort position (cannot happen; be safe)
            return self._ids.index(incident_id)
        except ValueError:
            return None

    def incident_at(self, row: int) -> IncidentRow | None:
        if 0 <= row < len(self._ids):
            return self._rows[self._ids[row]]
        return None

    def cached(self, incident_id: int) -> IncidentRow | None:
        return self._rows.get(incident_id)

    def is_gone(self, incident_id: int) -> bool:
        return incident_id in self._gone

    def deadline_of(self, incident_id: int) -> Deadline | None:
        return self._deadlines.get(incident_id)

    # -- loading ------------------------------------------------------------------------------
    def _set_clock(self, db_time: datetime) -> None:
        self.db_offset = db_time - datetime.now(UTC)

    def begin_reload(self) -> int:
        """A new filter: results of earlier requests are stale from now on."""
        self.generation += 1
        self.fetching = True
        self._resetting = True
        self._held = []
        self._touched = set()
        return self.generation

    def reset_to(self, generation: int, load: PageLoad) -> bool:
        """Show the first page of a (new) filter; returns False for a stale result."""
        if generation != self.generation:
            return False
        self._set_clock(load.db_time)
        self.beginResetModel()
        # one reset for the whole page: the item store's own per-row signals are not needed, and
        # rows get their items when they come on screen (a page holds three screens or more)
        blocked = self.blockSignals(True)
        try:
            self.setRowCount(0)
            self._ids, self._keys, self._rows, self._gone, self._cells = [], [], {}, {}, {}
            self._beyond = {}
            self._deadlines = dict(load.deadlines)
            for row in load.page.rows:
                self._ids.append(row.id)
                self._keys.append(sort_key(row))
                self._rows[row.id] = row
            self.setRowCount(len(self._ids))
        finally:
            self.blockSignals(blocked)
        self._page_read(load)
        self.fetching = False
        self.endResetModel()
        self._release_held()  # read after the filter was asked for: newer than the page, or as new
        self._draw_on_screen()
        return True

    def append_page(self, generation: int, load: PageLoad) -> bool:
        """Rows of the next page go after the loaded ones (ids already shown are skipped)."""
        if generation != self.generation:
            return False
        self.fetching = False
        self._set_clock(load.db_time)
        # a row refreshed while the page was read keeps what the refresh said: the page may
        # have been read before the row's last change (and no later change would correct it)
        fresh = [r for r in load.page.rows if r.id not in self._rows and r.id not in self._touched]
        for row in fresh:
            self._beyond.pop(row.id, None)
        self._deadlines.update(load.deadlines)
        if fresh:
            start = len(self._ids)
            for row in fresh:
                self._ids.append(row.id)
                self._keys.append(sort_key(row))
                self._rows[row.id] = row
            self.insertRows(start, len(fresh))  # rows without items: drawn when they come on screen
        self._page_read(load)
        self._draw_on_screen()
        return True

    def _page_read(self, load: PageLoad) -> None:
        """After a page: is the end reached, which waiting rows now belong among the loaded, the total."""
        self._touched = set()
        self._at_end = len(load.page.rows) < load.page.query.limit
        last = self._keys[-1] if self._keys else None
        due = [r for r in self._beyond.values() if self._at_end or (last is not None and sort_key(r) < last)]
        now = self.now()
        for row in sorted(due, key=sort_key):
            # it came as a live change before the page that reaches its place, and that page
            # was read before it existed: without this it would be skipped for good
            del self._beyond[row.id]
            self._insert(bisect.bisect_left(self._keys, sort_key(row)), row, now)
        settled = self.loaded_count + len(self._beyond)
        self.total = settled if self._at_end else max(load.page.total, settled)

    def fetch_failed(self, generation: int) -> None:
        if generation != self.generation:
            return
        self.fetching = False
        self._release_held()  # the first page failed: the rows shown stay, live changes reach them

    def _release_held(self) -> None:
        """Stop holding refreshes for a first page, and apply those held."""
        self._resetting = False
        held, self._held = self._held, []
        for refresh in held:
            self._apply(refresh)

    # -- live changes -------------------------------------------------------------------------
    def apply_refresh(self, generation: int, refresh: RowRefresh) -> bool:
        """Insert, move, update or remove rows for changed incidents; keeps the selection.

        Returns False for a refresh read under an earlier filter. One that comes before the
        first page of its filter is kept and applied right after that page.
        """
        if generation != self.generation:
            return False
        if self._resetting:
            self._held.append(refresh)
            return True
        self._apply(refresh)
        return True

    def _apply(self, refresh: RowRefresh) -> None:
        self._set_clock(refresh.db_time)
        if self.fetching:
            self._touched.update(refresh.matching, refresh.other, refresh.missing)
        for incident_id, row in refresh.matching.items():
            self._deadlines.pop(incident_id, None)
            if incident_id in refresh.deadlines:
                self._deadlines[incident_id] = refresh.deadlines[incident_id]
            self._place(row)
        for incident_id, row in refresh.other.items():
            if row.merged_into_id is not None or row.status == "cancelled":
                self._mark_gone(incident_id, row, _("merged as a duplicate"))
            else:
                self._remove(incident_id)
        for incident_id in refresh.missing:
            self._mark_gone(incident_id, None, _("no longer exists"))
        self._draw_on_screen()  # rows that moved up into view may not be drawn yet

    def _insert(self, place: int, row: IncidentRow, now: datetime) -> None:
        self._ids.insert(place, row.id)
        self._keys.insert(place, sort_key(row))
        self._rows[row.id] = row
        self.insertRow(place, self._items(row.id, self._render(row, now)))

    def _place(self, row: IncidentRow) -> None:
        incident_id = row.id
        was_gone = self._gone.pop(incident_id, None) is not None
        current = self.row_of(incident_id)
        key = sort_key(row)
        if current is None:
            place = bisect.bisect_left(self._keys, key)
            if self._beyond.pop(incident_id, None) is None:
                self.total += 1
            if place >= len(self._ids) and not self._at_end:
                self._beyond[incident_id] = row  # it sorts after rows not loaded yet: a later page places it
                return
            self._insert(place, row, self.now())
            return
        if was_gone:
            self.total += 1
        self._rows[incident_id] = row
        others = self._keys[:current] + self._keys[current + 1:]
        place = bisect.bisect_left(others, key)
        if place >= len(others) and not self._at_end:
            self._drop(current)  # it now sorts after rows not loaded yet: a later page places it
            self._beyond[incident_id] = row
            return
        if place != current:
            # moved: the item store has no row move, so take the row out and put it back (a
            # selection on the row itself is restored by the view, which follows the incident)
            self.takeRow(current)
            self._ids.pop(current)
            self._keys.pop(current)
            self._insert(place, row, self.now())
        else:
            self._keys[current] = key
            self._update(current)

    def _remove(self, incident_id: int) -> None:
        current = self.row_of(incident_id)
        if current is None:
            self._forget_beyond(incident_id)
            return
        if incident_id not in self._gone:
            self.total = max(0, self.total - 1)
        self._drop(current)

    def _forget_beyond(self, incident_id: int) -> None:
        """A row waiting beyond the loaded ones no longer matches: it leaves the count."""
        if self._beyond.pop(incident_id, None) is not None:
            self.total = max(0, self.total - 1)

    def _drop(self, row: int) -> None:
        incident_id = self._ids[row]
        del self._ids[row]
        del self._keys[row]
        self._rows.pop(incident_id, None)
        self._cells.pop(incident_id, None)
        self._gone.pop(incident_id, None)
        self._deadlines.pop(incident_id, None)
        self.removeRow(row)

    def _mark_gone(self, incident_id: int, row: IncidentRow | None, why: str) -> None:
        current = self.row_of(incident_id)
        if current is None:
            self._forget_beyond(incident_id)
            return
        if incident_id not in self._gone:
            self.total = max(0, self.total - 1)
        self._gone[incident_id] = why
        if row is not None:
            self._rows[incident_id] = row
        self._update(current)

    # -- alerts and ticking -------------------------------------------------------------------
    def _on_screen(self) -> range:
        if not self._ids:
            return range(0)
        if self.visible_rows is None:
            return range(len(self._ids))
        first, last = self.visible_rows()
        return range(max(0, first), min(len(self._ids) - 1, last) + 1)

    def set_alerts(self, incident_ids: set[int]) -> None:
        changed = self._alerts ^ incident_ids
        self._alerts = set(incident_ids)
        for incident_id in changed:
            row = self.row_of(incident_id)
            if row is not None:
                self._update(row)

    def is_flashing(self, incident_id: int) -> bool:
        return incident_id in self._alerts and self._flash_on

    @property
    def alerts(self) -> set[int]:
        return set(self._alerts)

    def flash(self, on: bool) -> None:
        """Alerting rows on screen change colour (rows scrolled to later show the current phase)."""
        self._flash_on = on
        if not self._alerts:
            return
        now = self.now()
        for position in self._on_screen():
            if self._ids[position] in self._alerts:
                self._update(position, now=now)

    def tick(self) -> None:
        """Ages and countdowns moved on: set the texts and colours of those two columns that changed."""
        now = self.now()
        for position in self._on_screen():
            self._update(position, TICKING, now)

    def show_rows(self, first: int, last: int) -> None:
        """Rows just scrolled into view: draw them, or bring their ticking cells and flashing up to date."""
        now = self.now()
        for position in range(max(0, first), min(len(self._ids) - 1, last) + 1):
            if self._ids[position] in self._cells:
                self._update(position, now=now)
            else:
                self._draw(position, now)
