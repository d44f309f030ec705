"""The queue's table model: a thin adapter over cached plain rows, kept in the SQL order.

Rows are :class:`IncidentRow` objects cached by id, in the order the database sorts them (most
severe first, then oldest). Pages arrive as the view scrolls (``canFetchMore`` / ``fetchMore``
ask the queue view for the next page; the model never reads the database itself). Changes from
the change feed come as :class:`RowRefresh` batches and become row inserts, moves, updates and
removals, so the view keeps its selection. An incident that vanished or was merged away stays
on screen as a disabled, struck-through row until the next reload, instead of disappearing under
the officer's cursor.

Ages and countdowns tick from a local clock corrected to the database clock (``db_offset``):
the ticking never queries the database.
"""

from __future__ import annotations

import bisect
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QFont

from dispatch_console.categories import Catalog, shipped_catalog
from dispatch_console.i18n import N_, _
from dispatch_console.incident_queue import IncidentRow
from dispatch_console.queue_support import PageLoad, RowRefresh
from dispatch_console.timefmt import fmt_duration, fmt_local
from dispatch_console.timers import Deadline, deadline_state
from ui import theme
from ui.plain_text import plain_tooltip

ID_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2
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
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class QueueModel(QAbstractTableModel):
    """Loaded rows of the queue; ``total`` is how many the filter selects in the database."""

    fetch_requested = Signal(int)  # offset of the next page

    def __init__(self, catalog: Catalog | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.catalog = catalog or shipped_catalog()
        self._ids: list[int] = []
        self._keys: list[tuple[int, datetime, int]] = []
        self._rows: dict[int, IncidentRow] = {}
        self._gone: dict[int, str] = {}  # id → why the row is shown disabled
        self._deadlines: dict[int, Deadline] = {}
        self._alerts: set[int] = set()
        self._flash_on = False
        self.total = 0
        self.generation = 0
        self.fetching = False
        self.db_offset = timedelta(0)  # database clock minus local clock

    # -- Qt model API -------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _(HEADERS[Column(section)])
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if self._ids[index.row()] in self._gone:
            return Qt.ItemFlag.ItemIsSelectable  # shown, selectable, but disabled
        return Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:
        return not parent.isValid() and not self.fetching and self.loaded_count < self.total

    def fetchMore(self, parent: Index = QModelIndex()) -> None:
        if self.canFetchMore(parent):
            self.fetching = True
            self.fetch_requested.emit(self.loaded_count)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._ids):
            return None
        incident_id = self._ids[index.row()]
        row = self._rows[incident_id]
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, column)
        if role == ID_ROLE:
            return incident_id
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(self._tooltip(row, column))
        gone = incident_id in self._gone
        if role == Qt.ItemDataRole.BackgroundRole:
            if not gone and column == Column.SEVERITY:
                return theme.severity_colours(row.severity)[0]
            if not gone and self._flash_on and incident_id in self._alerts:
                colour = QColor(theme.severity_colours(1)[0])
                colour.setAlpha(110)
                return colour
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if gone:
                return QColor("#8b949e")
            if column == Column.SEVERITY:
                return theme.severity_colours(row.severity)[1]
            if column == Column.DEADLINE:
                deadline = self._deadlines.get(incident_id)
                return theme.deadline_colour(deadline_state(deadline, self.now())) if deadline and row.is_open else None
            if column == Column.NUMBER and row.is_drill:
                return theme.drill_colour()
            return None
        if role == Qt.ItemDataRole.FontRole:
            if gone or column in (Column.SEVERITY, Column.DEADLINE) or (
                    column == Column.NUMBER and (row.is_drill or incident_id in self._alerts)):
                font = QFont()
                font.setStrikeOut(gone)
                font.setBold(not gone)
                return font
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (Column.SEVERITY, Column.CHECKLIST):
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

    # -- text ---------------------------------------------------------------------------------
    def now(self) -> datetime:
        """The database time now, from the local clock and the last measured offset."""
        return datetime.now(UTC) + self.db_offset

    def _text(self, row: IncidentRow, column: Column) -> str:
        if column == Column.NUMBER:
            text = row.number
            if row.is_drill:
                text = _("[DRILL] {number}").format(number=text)
            why = self._gone.get(row.id)
            return f"{text} — {why}" if why else text
        if column == Column.SEVERITY:
            return SEVERITY_SHORT.get(row.severity, str(row.severity))
        if column == Column.AGE:
            return fmt_duration((self.now() - row.created_at).total_seconds())
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
            left = (deadline.due_at - self.now()).total_seconds()
            if left < 0:
                return _("overdue {time}").format(time=fmt_duration(-left))
            return fmt_duration(left)
        return one_line(row.description)

    def _tooltip(self, row: IncidentRow, column: Column) -> str:
        if column == Column.SEVERITY:
            return self.catalog.severity_label(row.severity)
        if column == Column.DEADLINE and row.id in self._deadlines:
            return _("Due at {time}").format(time=fmt_local(self._deadlines[row.id].due_at))
        if column == Column.GRID and row.community_name:
            return row.community_name
        if column == Column.AGE:
            return _("Recorded at {time}").format(time=fmt_local(row.created_at))
        parts = [row.description]
        if row.address:
            parts.append(_("Address: {address}").format(address=row.address))
        return "\n".join(parts)

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
        try:
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
        return self.generation

    def reset_to(self, generation: int, load: PageLoad) -> bool:
        """Show the first page of a (new) filter; returns False for a stale result."""
        if generation != self.generation:
            return False
        self.beginResetModel()
        self._ids, self._keys, self._rows, self._gone = [], [], {}, {}
        self._deadlines = dict(load.deadlines)
        for row in load.page.rows:
            self._ids.append(row.id)
            self._keys.append(sort_key(row))
            self._rows[row.id] = row
        self.total = load.page.total
        self.fetching = False
        self._set_clock(load.db_time)
        self.endResetModel()
        return True

    def append_page(self, generation: int, load: PageLoad) -> bool:
        """Rows of the next page go after the loaded ones (ids already shown are skipped)."""
        if generation != self.generation:
            return False
        self.fetching = False
        self.total = load.page.total
        self._set_clock(load.db_time)
        fresh = [r for r in load.page.rows if r.id not in self._rows]
        self._deadlines.update(load.deadlines)
        if fresh:
            start = len(self._ids)
            self.beginInsertRows(QModelIndex(), start, start + len(fresh) - 1)
            for row in fresh:
                self._ids.append(row.id)
                self._keys.append(sort_key(row))
                self._rows[row.id] = row
            self.endInsertRows()
        return True

    def fetch_failed(self, generation: int) -> None:
        if generation == self.generation:
            self.fetching = False

    # -- live changes -------------------------------------------------------------------------
    def apply_refresh(self, generation: int, refresh: RowRefresh) -> bool:
        """Insert, move, update or remove rows for changed incidents; keeps the selection."""
        if generation != self.generation:
            return False
        self._set_clock(refresh.db_time)
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
        return True

    def _place(self, row: IncidentRow) -> None:
        incident_id = row.id
        was_gone = self._gone.pop(incident_id, None) is not None
        current = self.row_of(incident_id)
        key = sort_key(row)
        if current is None:
            place = bisect.bisect_left(self._keys, key)
            self.total += 1
            if place >= len(self._ids) and self.loaded_count < self.total - 1:
                return  # it sorts after rows not loaded yet: a later page brings it
            self.beginInsertRows(QModelIndex(), place, place)
            self._ids.insert(place, incident_id)
            self._keys.insert(place, key)
            self._rows[incident_id] = row
            self.endInsertRows()
            return
        if was_gone:
            self.total += 1
        self._rows[incident_id] = row
        others = self._keys[:current] + self._keys[current + 1:]
        place = bisect.bisect_left(others, key)
        if place >= len(others) and self.loaded_count < self.total:
            self._drop(current)  # it now sorts after rows not loaded yet: a later page brings it
            return
        if place != current:
            # destination in pre-move terms: one further when moving down
            self.beginMoveRows(QModelIndex(), current, current, QModelIndex(),
                               place + 1 if place > current else place)
            self._ids.insert(place, self._ids.pop(current))
            self._keys.pop(current)
            self._keys.insert(place, key)
            self.endMoveRows()
        else:
            self._keys[current] = key
        self._row_changed(place)

    def _remove(self, incident_id: int) -> None:
        current = self.row_of(incident_id)
        if current is None:
            return
        if incident_id not in self._gone:
            self.total = max(0, self.total - 1)
        self._drop(current)

    def _drop(self, row: int) -> None:
        incident_id = self._ids[row]
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._ids[row]
        del self._keys[row]
        self._rows.pop(incident_id, None)
        self._gone.pop(incident_id, None)
        self._deadlines.pop(incident_id, None)
        self.endRemoveRows()

    def _mark_gone(self, incident_id: int, row: IncidentRow | None, why: str) -> None:
        current = self.row_of(incident_id)
        if current is None:
            return
        if incident_id not in self._gone:
            self.total = max(0, self.total - 1)
        self._gone[incident_id] = why
        if row is not None:
            self._rows[incident_id] = row
        self._row_changed(current)

    def _row_changed(self, row: int) -> None:
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(Column) - 1))

    # -- alerts and ticking -------------------------------------------------------------------
    def set_alerts(self, incident_ids: set[int]) -> None:
        changed = self._alerts ^ incident_ids
        self._alerts = set(incident_ids)
        for incident_id in changed:
            row = self.row_of(incident_id)
            if row is not None:
                self._row_changed(row)

    def is_flashing(self, incident_id: int) -> bool:
        return incident_id in self._alerts and self._flash_on

    @property
    def alerts(self) -> set[int]:
        return set(self._alerts)

    def flash(self, on: bool) -> None:
        self._flash_on = on
        for incident_id in self._alerts:
            row = self.row_of(incident_id)
            if row is not None:
                self._row_changed(row)

    def tick(self) -> None:
        """Ages and countdowns moved on: repaint those two columns only."""
        if self._ids:
            last = len(self._ids) - 1
            for column in TICKING:
                self.dataChanged.emit(self.index(0, column), self.index(last, column),
                                      [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ForegroundRole])
