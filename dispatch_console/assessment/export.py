"""The assessment as an xlsx workbook: a sheet per view, every text cell safe against formula injection.

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be read
by a spreadsheet as a formula (a unit or grid name comes from an imported file, a holder's name
from an account): every row goes through ``kernel.export_cells.xlsx_append``, which keeps it a
string cell with the Text format.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from dispatch_console.assessment.monthly import TARGETS, Assessment, GroupRow, ProposalStats
from dispatch_console.kernel.categories import load_catalog
from dispatch_console.kernel.export_cells import xlsx_append
from dispatch_console.kernel.i18n import N_, _
from dispatch_console.kernel.timefmt import fmt_local

LEVELS: dict[str, str] = {
    "street": N_("Street"), "severity": N_("Severity"), "community": N_("Community"), "grid": N_("Grid"),
    "unit": N_("Unit"),
}


def safe_cell(value: Any) -> Any:
    """The value for a cell: a time as local text; text is made safe by ``kernel.export_cells``."""
    if isinstance(value, datetime):
        return fmt_local(value)
    return value


def append_safe(ws: Any, values: list[Any]) -> None:
    """Append a row through the kernel's export cells: formula-looking text stays a text cell."""
    xlsx_append(ws, [safe_cell(v) for v in values])


def _rate(value: float | None) -> Any:
    return round(value, 4) if value is not None else "-"


def _minutes(seconds: float | None) -> Any:
    return round(seconds / 60, 1) if seconds is not None else "-"


def _header() -> list[str]:
    cells = [_("Level"), _("Name"), _("Incidents")]
    for kind, label in TARGETS.items():
        del kind
        cells += [_("{target} on time").format(target=_(label)), _("{target} p90 (min)").format(target=_(label))]
    cells += [_("Reporting deadlines met"), _("Reporting deadlines breached")]
    return cells


def _row(r: GroupRow) -> list[Any]:
    cells: list[Any] = [_(LEVELS[r.level]), r.name, r.incidents]
    for kind in TARGETS:
        t = r.targets[kind]
        cells += [_rate(t.on_time_rate), _minutes(t.p90_seconds)]
    cells += [r.reports.met, r.reports.breached]
    return cells


def summary_rows(report: Assessment) -> list[GroupRow]:
    """The street, then each severity: the summary sheet and the PDF's first table."""
    return [report.street, *(report.by_severity[k] for k in sorted(report.by_severity))]


def header() -> list[str]:
    return _header()


def cells(r: GroupRow) -> list[Any]:
    return _row(r)


def proposal_header() -> list[str]:
    return [_("Category"), _("Severity"), _("Incidents"), _("With a proposal"), _("Accepted unchanged"),
            _("Changed"), _("Units added"), _("Units removed"), _("Dispatched without a proposal"),
            _("Nothing sent")]


def proposal_rows(report: Assessment) -> list[list[Any]]:
    """Per category × severity, then the street's total: the workbook's sheet and the PDF's table."""
    catalog = load_catalog()
    total = ProposalStats("", 0)
    out: list[list[Any]] = []
    for p in report.proposals:
        out.append([catalog.category_label(p.category), p.severity, *_proposal_figures(p)])
        for name in ("incidents", "with_proposal", "accepted", "changed", "units_added", "units_removed",
                     "without", "not_sent"):
            setattr(total, name, getattr(total, name) + getattr(p, name))
    if report.proposals:
        out.append([_("The street"), "", *_proposal_figures(total)])
    return out


def _proposal_figures(p: ProposalStats) -> list[int]:
    return [p.incidents, p.with_proposal, p.accepted, p.changed, p.units_added, p.units_removed, p.without,
            p.not_sent]


def visits_header() -> list[str]:
    return [_("Level"), _("Name"), _("Visits due"), _("Visited on time"), _("Visited late"), _("Missed"),
            _("Not yet due"), _("Visits on time"), _("Satisfied"), _("Basically satisfied"), _("Dissatisfied"),
            _("Satisfaction answered"), _("Satisfaction rate")]


def visits_rows(report: Assessment) -> list[list[Any]]:
    """The follow-up visits: the street, the communities, the grids, the units."""
    return [[_(LEVELS[v.level]), v.name, v.due, v.on_time, v.late, v.missed, v.pending, _rate(v.on_time_rate),
             v.satisfied, v.basically, v.dissatisfied, v.answered, _rate(v.satisfaction_rate)]
            for v in report.visits.rows()]


def write_xlsx(report: Assessment, path: str | Path) -> None:
    wb = Workbook()
    sheet = wb.active
    assert sheet is not None
    sheet.title = _("Summary")
    append_safe(sheet, [_("Assessment {month}").format(month=report.month)])
    append_safe(sheet, [_("Made {time}").format(time=fmt_local(report.made_at))])
    append_safe(sheet, _header())
    for r in summary_rows(report):
        append_safe(sheet, _row(r))
    for title, rows in ((_("Communities"), report.communities), (_("Grids"), report.grids),
                        (_("Units"), report.units)):
        ws = wb.create_sheet(title)
        append_safe(ws, _header())
        for r in rows:
            append_safe(ws, _row(r))
    ws = wb.create_sheet(_("Proposals"))
    append_safe(ws, proposal_header())
    for cells_ in proposal_rows(report):
        append_safe(ws, cells_)
    ws = wb.create_sheet(_("Follow-up visits"))
    append_safe(ws, visits_header())
    for cells_ in visits_rows(report):
        append_safe(ws, cells_)
    ws = wb.create_sheet(_("Breaches"))
    append_safe(ws, [_("Incident"), _("Severity"), _("Deadline"), _("Due"), _("Reached"), _("Held by"),
                     _("Community"), _("Grid"), _("Unit")])
    for b in report.breaches:
        append_safe(ws, [b.number, b.severity, b.label, b.due_at, b.reached_at or "", b.holder or "",
                         b.community or "", b.grid or "", b.unit or ""])
    wb.save(str(path))
