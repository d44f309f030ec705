"""Emergency drills: scenarios, the drill clock, running a drill and its after-action report.

The room's public face: the views and the command line import from here. Behind it,
``scenario`` (the TOML scenarios), ``clock``, ``service`` (running a drill), ``runs`` and
``report`` (the after-action report).
"""

from dispatch_console.drills.report import (
    DrillReport,
    RunFigures,
    action_text,
    build_report,
    compare_runs,
    dispatch_text,
    expectation_label,
    fmt_s,
    report_json,
    report_lines,
    state_text,
    status_text,
)
from dispatch_console.drills.scenario import Scenario, ScenarioError, load_scenario, shipped_scenarios
from dispatch_console.drills.service import (
    MAX_SPEED,
    DrillRunRow,
    InjectRow,
    TickResult,
    abort_drill,
    active_run,
    get_run,
    injects_of,
    list_runs,
    pause_drill,
    resume_drill,
    start_drill,
    tick,
)

__all__ = [
    "MAX_SPEED",
    "DrillReport",
    "DrillRunRow",
    "InjectRow",
    "RunFigures",
    "Scenario",
    "ScenarioError",
    "TickResult",
    "abort_drill",
    "action_text",
    "active_run",
    "build_report",
    "compare_runs",
    "dispatch_text",
    "expectation_label",
    "fmt_s",
    "get_run",
    "injects_of",
    "list_runs",
    "load_scenario",
    "pause_drill",
    "report_json",
    "report_lines",
    "resume_drill",
    "shipped_scenarios",
    "start_drill",
    "state_text",
    "status_text",
    "tick",
]
