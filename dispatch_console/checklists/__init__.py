"""Emergency-response checklists: templates and the ticked steps of an incident, with reporting deadlines.

The room's public face: the views and the command line import from here. Behind it,
``templates`` (the TOML templates and the reporting policy) and ``service`` (an incident's
checklist: started, re-planned, ticked, its deadlines).
"""

from dispatch_console.checklists.service import ChecklistItemRow, ResolveCheck, items_for, resolve_check, tick, untick
from dispatch_console.checklists.templates import (
    ROLE_LABELS,
    ReportingPolicy,
    Template,
    TemplateError,
    load_reporting_policy,
    load_templates,
)

__all__ = [
    "ROLE_LABELS",
    "ChecklistItemRow",
    "ReportingPolicy",
    "ResolveCheck",
    "Template",
    "TemplateError",
    "items_for",
    "load_reporting_policy",
    "load_templates",
    "resolve_check",
    "tick",
    "untick",
]
