"""Early warning (预警): the rules over the incidents and the official CAP 1.2 warnings.

The room's public face for the views and the command line. Behind it: ``cap`` (reading one
CAP message safely against the bundled schema), ``official`` (storing messages, files, the drop
folder, the response incident), ``rules`` (``policies/warning.toml`` and the sensitive-period
calendar), ``evaluate`` (the rules, incrementally from the change feed, on the timer engine) and
``board`` (raising once per episode, the lifecycle, the reads), ``map_layers`` (the areas in force
for the map).
"""

from dispatch_console.warnings.board import (
    OPEN_STATES,
    RULES,
    STATES,
    CapSummary,
    WarningRow,
    cap_messages,
    count_open,
    dismiss,
    get_warning,
    handle,
    list_warnings,
    mark_seen,
)
from dispatch_console.warnings.map_layers import WarningAreas, warning_areas
from dispatch_console.warnings.official import ImportReport, Outcome, import_paths, start_response

__all__ = [
    "OPEN_STATES", "RULES", "STATES", "CapSummary", "ImportReport", "Outcome", "WarningAreas", "WarningRow",
    "cap_messages", "count_open", "dismiss", "get_warning", "handle", "import_paths", "list_warnings", "mark_seen",
    "start_response", "warning_areas",
]
