"""Assessment (考核): the monthly on-time rates and 90th percentiles per community, grid and unit,
information-reporting deadlines, and every breached deadline with who held the incident (责任倒查);
the situation of a range of days (态势) and the weekly and monthly duty report (值班工作报告).

Modules: ``monthly`` (the assessment), ``visits`` (the follow-up visits it counts), ``situation``
(the situation's reads and the scopes its cells open), ``charts`` (the charts as data), ``duty``
(the duty report), ``export`` (the workbook, openpyxl) and ``report`` (the reports as HTML).

This is the room's public face: what the views and the command line use. ``export`` and
``report`` load at the first use of one of their names (openpyxl is heavy; the reads are not).
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

from dispatch_console.assessment.charts import Chart, situation_charts
from dispatch_console.assessment.duty import DutyReport, duty_report
from dispatch_console.assessment.monthly import TARGETS, Assessment, Breach, GroupRow, assess, month_bounds, p90
from dispatch_console.assessment.situation import (
    WINDOWS,
    Response,
    RuleLinks,
    Shelters,
    Situation,
    age_scope,
    late_scope,
    minutes_text,
    parse_day,
    reports_scope,
    response_scope,
    situation_between,
    warning_links,
    warnings_scope,
)
from dispatch_console.assessment.situation import situation as recent_situation
from dispatch_console.kernel.faces import loaded_at_first_use

if TYPE_CHECKING:  # spreadsheets (openpyxl) and the reports load when first used, not with the room
    from dispatch_console.assessment.export import (
        LEVELS,
        append_safe,
        proposal_header,
        proposal_rows,
        summary_rows,
        write_xlsx,
    )
    from dispatch_console.assessment.report import (
        assessment_html,
        duty_charts,
        duty_html,
        duty_title,
        situation_html,
        situation_title,
    )

__all__ = [
    "LEVELS",
    "TARGETS",
    "WINDOWS",
    "Assessment",
    "Breach",
    "Chart",
    "DutyReport",
    "GroupRow",
    "Response",
    "RuleLinks",
    "Shelters",
    "Situation",
    "age_scope",
    "append_safe",
    "assess",
    "assessment_html",
    "duty_charts",
    "duty_html",
    "duty_report",
    "duty_title",
    "late_scope",
    "minutes_text",
    "month_bounds",
    "p90",
    "parse_day",
    "proposal_header",
    "proposal_rows",
    "recent_situation",
    "reports_scope",
    "response_scope",
    "situation_between",
    "situation_charts",
    "situation_html",
    "situation_title",
    "summary_rows",
    "warning_links",
    "warnings_scope",
    "write_xlsx",
]

_EXPORT = ("LEVELS", "append_safe", "proposal_header", "proposal_rows", "summary_rows", "write_xlsx")
_REPORT = ("assessment_html", "duty_charts", "duty_html", "duty_title", "situation_html", "situation_title")
def _export() -> ModuleType:
    from dispatch_console.assessment import export

    return export


def _report() -> ModuleType:
    from dispatch_console.assessment import report

    return report


_LAZY = {**{name: _export for name in _EXPORT}, **{name: _report for name in _REPORT}}


__getattr__ = loaded_at_first_use(globals(), _LAZY)
