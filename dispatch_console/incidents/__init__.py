"""Incidents (警情): recording, lifecycle, numbers, units, the queue and its search, timeline,
intake, statistics, map data, and the follow-ups other rooms hang on an incident change.

Modules: ``draft`` (a report being taken and its problems), ``service`` (creating, the lifecycle
steps, notes, merging), ``queue`` (the rows, the detail, the exact scopes), ``units`` (unit
status), ``intake`` (the JSON-lines intake), ``live_queue`` (the queue"s pages and alerts),
``changed`` (what changed since the feed"s last read), ``map_data`` (the map"s markers and
cards), ``journal`` (the station"s offline journal), ``timeline`` (the events" labels).

This is the room"s public face: what the views and the command line use. ``changed``,
``live_queue``, ``map_data``, ``journal`` and ``timeline`` load at the first use of one of their
names (they bring the scheduler and numpy): the intake path stays as light as it was.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

from dispatch_console.incidents.draft import IncidentDraft, Problem, draft_problems
from dispatch_console.incidents.intake import (
    INTAKE_LIMITS,
    INTAKE_RETRY,
    IntakeSummary,
    IntakeWeather,
    LineOutcome,
    intake_lines,
)
from dispatch_console.incidents.queue import (
    ExactScope,
    IncidentDetail,
    IncidentRow,
    QueueQuery,
    TimelineEvent,
    UnitRow,
    grid_open_scope,
    query_incidents,
    rows_by_ids,
)
from dispatch_console.incidents.service import (
    CreateResult,
    acknowledge,
    add_note,
    assign,
    close,
    create_incident,
    get_incident,
    list_assignable_units,
    list_units,
    mark_on_scene,
    merge_duplicate,
    release,
    reopen,
    repeat_reports,
    resolve,
)
from dispatch_console.incidents.units import SETTABLE_UNIT_STATUSES, set_unit_status
from dispatch_console.kernel.faces import loaded_at_first_use

if TYPE_CHECKING:  # loaded at their first use, not with the room
    from dispatch_console.incidents.changed import ChangedIncidents, read_changed
    from dispatch_console.incidents.journal import (
        JournalEntry,
        JournalNote,
        OfflineJournal,
        ReplayOutcome,
        note_or_keep,
        record_or_keep,
    )
    from dispatch_console.incidents.live_queue import (
        PageLoad,
        PendingAlert,
        RowRefresh,
        alert_of,
        load_page,
        pending_alerts,
        queue_position,
        refresh_rows,
    )
    from dispatch_console.incidents.map_data import (
        IncidentMarker,
        IncidentUpdate,
        MapSnapshot,
        UnitCard,
        UnitUpdate,
        grid_open_incidents,
        incident_update,
        load_snapshot,
        marker_of,
        unit_card,
        unit_update,
    )
    from dispatch_console.incidents.timeline import event_label

__all__ = [
    "INTAKE_LIMITS",
    "INTAKE_RETRY",
    "SETTABLE_UNIT_STATUSES",
    "ChangedIncidents",
    "CreateResult",
    "ExactScope",
    "IncidentDetail",
    "IncidentDraft",
    "IncidentMarker",
    "IncidentRow",
    "IncidentUpdate",
    "IntakeSummary",
    "IntakeWeather",
    "JournalEntry",
    "JournalNote",
    "LineOutcome",
    "MapSnapshot",
    "OfflineJournal",
    "PageLoad",
    "PendingAlert",
    "Problem",
    "QueueQuery",
    "ReplayOutcome",
    "RowRefresh",
    "TimelineEvent",
    "UnitCard",
    "UnitRow",
    "UnitUpdate",
    "acknowledge",
    "add_note",
    "alert_of",
    "assign",
    "close",
    "create_incident",
    "draft_problems",
    "event_label",
    "get_incident",
    "grid_open_incidents",
    "grid_open_scope",
    "incident_update",
    "intake_lines",
    "list_assignable_units",
    "list_units",
    "load_page",
    "load_snapshot",
    "mark_on_scene",
    "marker_of",
    "merge_duplicate",
    "note_or_keep",
    "pending_alerts",
    "query_incidents",
    "queue_position",
    "read_changed",
    "record_or_keep",
    "refresh_rows",
    "release",
    "reopen",
    "repeat_reports",
    "resolve",
    "rows_by_ids",
    "set_unit_status",
    "unit_card",
    "unit_update",
]

def _changed() -> ModuleType:
    from dispatch_console.incidents import changed

    return changed


def _journal() -> ModuleType:
    from dispatch_console.incidents import journal

    return journal


def _live_queue() -> ModuleType:
    from dispatch_console.incidents import live_queue

    return live_queue


def _map_data() -> ModuleType:
    from dispatch_console.incidents import map_data

    return map_data


def _timeline() -> ModuleType:
    from dispatch_console.incidents import timeline

    return timeline


_LAZY = {name: module for module, names in (
    (_changed, (
        "ChangedIncidents", "read_changed",
    )),
    (_journal, (
        "JournalEntry", "JournalNote", "OfflineJournal", "ReplayOutcome", "note_or_keep", "record_or_keep",
    )),
    (_live_queue, (
        "PageLoad", "PendingAlert", "RowRefresh", "alert_of", "load_page", "pending_alerts", "queue_position",
        "refresh_rows",
    )),
    (_map_data, (
        "IncidentMarker", "IncidentUpdate", "MapSnapshot", "UnitCard", "UnitUpdate", "grid_open_incidents",
        "incident_update", "load_snapshot", "marker_of", "unit_card", "unit_update",
    )),
    (_timeline, (
        "event_label",
    )),
) for name in names}


__getattr__ = loaded_at_first_use(globals(), _LAZY)
