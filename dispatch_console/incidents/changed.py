"""The one read of a batch of changed incidents, shared by every view of a console.

When the change feed names incidents, a console reads them once: their queue rows under the
queue's filter (with their next deadlines, :func:`live_queue.refresh_rows_in`) and, when a map is
shown, every grid's open count and the open total — in one read transaction. The queue applies
the rows, the map draws its markers from them (:func:`map_data.marker_of`), the alarm keeps its
list from them (:func:`live_queue.alert_of`); none of them reads again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from db.engine import Database
from dispatch_console.incidents.live_queue import RowRefresh, refresh_rows_in
from dispatch_console.incidents.map_data import grid_open_counts_in, open_total_in
from dispatch_console.incidents.queue import IncidentRow, QueueQuery


@dataclass(frozen=True)
class MapCounts:
    """Open incidents per grid (grids with none are absent) and in all."""

    grid_counts: dict[int, int]
    open_total: int


@dataclass(frozen=True)
class ChangedIncidents:
    ids: frozenset[int]
    refresh: RowRefresh
    map_counts: MapCounts | None = None

    def row(self, incident_id: int) -> IncidentRow | None:
        """The fresh row of a changed incident, whether the queue's filter selects it or not."""
        return self.refresh.matching.get(incident_id) or self.refresh.other.get(incident_id)


def read_changed(db: Database, query: QueueQuery, incident_ids: Iterable[int], *,
                 map_counts: bool = False) -> ChangedIncidents:
    """The changed incidents' rows (and the map's counts), in one read transaction."""
    ids = frozenset(incident_ids)
    with db.read() as s:
        refresh = refresh_rows_in(s, query, ids)
        counts = MapCounts(grid_open_counts_in(s), open_total_in(s)) if map_counts else None
    return ChangedIncidents(ids, refresh, counts)
