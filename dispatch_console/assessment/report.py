"""The monthly assessment, the situation report and the weekly / monthly duty report as printable
HTML (Qt-free; every value escaped): the PDFs' content. The charts are ``<img src='chart:KEY'>``
resources the view layer draws (``ui.assessment.charts``)."""

from __future__ import annotations

import html
from datetime import date
from typing import Any

from dispatch_console.assessment.charts import Chart, compared, situation_charts
from dispatch_console.assessment.duty import DutyReport
from dispatch_console.assessment.export import (
    cells,
    header,
    proposal_header,
    proposal_rows,
    summary_rows,
    visits_header,
    visits_rows,
)
from dispatch_console.assessment.monthly import TARGETS, Assessment, GroupRow
from dispatch_console.assessment.situation import AGES, Situation
from dispatch_console.kernel.categories import load_catalog
from dispatch_console.kernel.i18n import C_, _
from dispatch_console.kernel.timefmt import fmt_local

STYLE = """
body { font-size: 9pt; }
h1 { font-size: 16pt; text-align: center; margin-bottom: 2pt; }
h2 { font-size: 12pt; margin-top: 10pt; margin-bottom: 3pt; border-bottom: 1px solid #555; }
p.meta { text-align: center; color: #333; }
table { border-collapse: collapse; width: 100%; }
th { background: #e6e6e6; font-weight: bold; }
th, td { border: 1px solid #777; padding: 2pt 3pt; vertical-align: top; }
p.empty { color: #555; }
"""


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _table(head: list[str], rows: list[list[Any]], widths: tuple[int, ...] = ()) -> str:
    """A table; ``widths`` (per cent, one per column) keeps short names on one line in wide tables."""
    if not rows:
        return f"<p class='empty'>{esc(_('None.'))}</p>"
    out = ["<table width='100%' cellspacing='0' cellpadding='3'><tr>",
           *(f"<th width='{widths[n]}%'>{esc(h)}</th>" if widths else f"<th>{esc(h)}</th>"
             for n, h in enumerate(head)), "</tr>"]
    for r in rows:
        out += ["<tr>", *(f"<td>{esc(_percent(c))}</td>" for c in r), "</tr>"]
    out.append("</table>")
    return "".join(out)


BREACH_WIDTHS = (17, 4, 17, 11, 11, 8, 9, 12, 11)


def _percent(value: Any) -> Any:
    return f"{value * 100:.1f}%" if isinstance(value, float) and 0 <= value <= 1 else value


def _groups(rows: list[GroupRow]) -> str:
    return _table(header(), [cells(r) for r in rows])


def assessment_html(report: Assessment) -> str:
    title = _("Assessment {month}").format(month=report.month)
    parts = [f"<html><head><meta charset='utf-8'><style>{STYLE}</style></head><body>",
             f"<h1>{esc(title)}</h1>",
             f"<p class='meta'>{esc(_('Made {time}').format(time=fmt_local(report.made_at)))}</p>",
             f"<h2>{esc(_('Summary'))}</h2>", _groups(summary_rows(report)),
             f"<h2>{esc(_('Communities'))}</h2>", _groups(report.communities),
             f"<h2>{esc(_('Grids'))}</h2>", _groups(report.grids),
             f"<h2>{esc(_('Units'))}</h2>", _groups(report.units),
             f"<h2>{esc(_('Proposed forces against the units sent'))}</h2>",
             _table(proposal_header(), proposal_rows(report)),
             f"<h2>{esc(_('Follow-up visits and satisfaction'))}</h2>",
             _table(visits_header(), visits_rows(report)),
             f"<h2>{esc(_('Breached deadlines and who held the incident'))}</h2>",
             _table([_("Incident"), _("Severity"), _("Deadline"), _("Due"), _("Reached"), _("Held by"),
                     _("Community"), _("Grid"), _("Unit")],
                    [[b.number, b.severity, b.label, fmt_local(b.due_at), fmt_local(b.reached_at) or "-",
                      b.holder or "-", b.community or "-", b.grid or "-", b.unit or "-"] for b in report.breaches],
                    BREACH_WIDTHS),
             "</body></html>"]
    return "".join(parts)


# ---------------------------------------------------------------------------------------------
# The situation report and the duty report (their charts are drawn in by the view layer).

CHART_WIDTH = 640  # the charts' width in the document's CSS pixels (96 to the inch: about 17 cm)


def chart_img(chart: Chart) -> str:
    return f"<p class='chart'><img src='chart:{esc(chart.key)}' width='{CHART_WIDTH}'></p>"


def _minutes(seconds: float | None) -> str:
    return f"{seconds / 60:.1f}" if seconds is not None else "-"


def _rate(value: float | None) -> str:
    return f"{value * 100:.1f}%" if value is not None else "-"


def _response_rows(sit: Situation) -> list[list[Any]]:
    return [[severity, _(TARGETS[kind]), _minutes(r.target_s), _minutes(r.p90_s), _rate(r.on_time_rate)]
            for severity, per in sit.response.items() for kind, r in per.items()]


def _response_header() -> list[str]:
    return [_("Severity"), _("Deadline"), _("Target (min)"), _("90th percentile (min)"), _("On time")]


def _shelter_rows(sit: Situation) -> list[list[Any]]:
    rows: list[list[Any]] = [[r.name, r.community or "-", r.status_label, r.occupancy, r.capacity,
                              r.free if r.status != "closed" else "-"] for r in sit.shelters.rows]
    if rows:
        sh = sit.shelters
        rows.append([_("Total"), "", _("{open} open, {full} full, {closed} closed").format(
            open=sh.count("open"), full=sh.count("full"), closed=sh.count("closed")), sh.people, sh.capacity,
            sh.free])
    return rows


def _shelter_header() -> list[str]:
    return [_("Shelter"), _("Community"), _("Status"), _("Occupancy"), _("Capacity"), _("Free places")]


def _category_rows(sit: Situation) -> list[list[Any]]:
    catalog = load_catalog()
    return [[catalog.category_label(k), sum(v)] for k, v in sorted(sit.per_day.items(), key=lambda kv: -sum(kv[1]))]


def _age_rows(sit: Situation) -> list[list[Any]]:
    labels = {"<1d": _("under 1 day"), "1-3d": _("1–3 days"), "3-7d": _("3–7 days"), ">7d": _("over 7 days")}
    return [[labels[name], sit.open_by_age.get(name, 0), sit.open_cases_by_age.get(name, 0)] for name, _d in AGES]


def _head(title: str, meta: str) -> list[str]:
    return [f"<html><head><meta charset='utf-8'><style>{STYLE}"
            "p.chart { text-align: center; margin: 4pt 0; }</style></head><body>",
            f"<h1>{esc(title)}</h1>", f"<p class='meta'>{esc(meta)}</p>"]


def situation_title(first: date, last: date) -> str:
    return _("Situation {first} to {last}").format(first=first.isoformat(), last=last.isoformat())


def situation_html(sit: Situation, charts: list[Chart]) -> str:
    first, last = sit.days[0], sit.days[-1]
    by_key = {c.key: c for c in charts}
    made = fmt_local(sit.made_at) if sit.made_at is not None else ""
    parts = _head(situation_title(first, last),
                  _("{n} reports; made {time}; open incidents and cases as at that time").format(
                      n=sit.total, time=made))
    parts += [f"<h2>{esc(_('Reports per day by category'))}</h2>", chart_img(by_key["per_day"]),
              _table([_("Category"), _("Reports")], _category_rows(sit)),
              f"<h2>{esc(_('Open incidents and cases by age'))}</h2>", chart_img(by_key["open_by_age"]),
              _table([_("Age"), _("Incidents"), _("Cases")], _age_rows(sit)),
              f"<h2>{esc(_('Response p90 against the target'))}</h2>", chart_img(by_key["response"]),
              _table(_response_header(), _response_rows(sit)),
              f"<h2>{esc(_('Warnings by rule'))}</h2>", chart_img(by_key["warnings"]),
              f"<h2>{esc(_('Shelters'))}</h2>", _table(_shelter_header(), _shelter_rows(sit)),
              "</body></html>"]
    return "".join(parts)


def duty_title(report: DutyReport) -> str:
    if report.period.kind == "week":
        return _("Weekly duty work report {period}").format(period=report.period.label)
    return _("Monthly duty work report {period}").format(period=report.period.label)


def _change(now: int, before: int) -> str:
    if before == 0:
        return "-" if now == 0 else _("new")
    return f"{(now - before) / before * 100:+.1f}%"


def duty_charts(report: DutyReport) -> list[Chart]:
    catalog = load_catalog()
    this, before = report.period.label, report.previous.label
    categories = {catalog.category_label(k): v for k, v in report.by_category.items()}
    communities = {(k or _("No community")): v for k, v in report.by_community.items()}
    return [*situation_charts(report.situation),
            compared("categories", _("Incidents by category"), categories, this, before),
            compared("communities", _("Incidents by community"), communities, this, before)]


def duty_html(report: DutyReport, charts: list[Chart]) -> str:
    by_key = {c.key: c for c in charts}
    sit, a, t, b = report.situation, report.assessment, report.totals, report.previous_totals
    catalog = load_catalog()
    made = fmt_local(a.made_at)
    parts = _head(duty_title(report), _("{first} to {last}, beside {previous} ({pfirst} to {plast}); made {time}")
                  .format(first=report.period.first.isoformat(), last=report.period.last.isoformat(),
                          previous=report.previous.label, pfirst=report.previous.first.isoformat(),
                          plast=report.previous.last.isoformat(), time=made))
    totals = [(_("Incidents"), t.incidents, b.incidents), (_("Cases opened"), t.cases_opened, b.cases_opened),
              (_("Cases closed"), t.cases_closed, b.cases_closed), (_("Visits due"), t.visits_due, b.visits_due),
              (_("Visits done"), t.visits_done, b.visits_done), (_("Warnings raised"), t.warnings, b.warnings)]
    head = [C_("duty report", "Item"), report.period.label, report.previous.label, _("Change")]
    parts += [f"<h2>{esc(_('1. Totals'))}</h2>",
              _table(head, [[name, now, before, _change(now, before)] for name, now, before in totals]),
              f"<h2>{esc(_('2. Incidents by category'))}</h2>", chart_img(by_key["categories"]),
              _table(head, [[catalog.category_label(k), x, y, _change(x, y)]
                            for k, (x, y) in report.by_category.items()]),
              f"<h2>{esc(_('3. Incidents by community'))}</h2>", chart_img(by_key["communities"]),
              _table(head, [[k or _("No community"), x, y, _change(x, y)]
                            for k, (x, y) in report.by_community.items()]),
              f"<h2>{esc(_('4. Reports per day'))}</h2>", chart_img(by_key["per_day"]),
              f"<h2>{esc(_('5. Response p90 against the target'))}</h2>", chart_img(by_key["response"]),
              _table(_response_header(), _response_rows(sit)),
              f"<h2>{esc(_('6. Breached deadlines and who held the incident'))}</h2>",
              _table([_("Incident"), _("Severity"), _("Deadline"), _("Due"), _("Reached"), _("Held by"),
                      _("Community"), _("Grid"), _("Unit")],
                     [[x.number, x.severity, x.label, fmt_local(x.due_at), fmt_local(x.reached_at) or "-",
                       x.holder or "-", x.community or "-", x.grid or "-", x.unit or "-"] for x in a.breaches],
                     BREACH_WIDTHS),
              f"<h2>{esc(_('7. Follow-up visits and satisfaction'))}</h2>",
              _table(visits_header(), visits_rows(a)),
              f"<h2>{esc(_('8. Warnings raised'))}</h2>", chart_img(by_key["warnings"]),
              f"<h2>{esc(_('9. Open incidents and cases by age'))}</h2>", chart_img(by_key["open_by_age"]),
              _table([_("Age"), _("Incidents"), _("Cases")], _age_rows(sit)),
              f"<h2>{esc(_('10. Shelters'))}</h2>", _table(_shelter_header(), _shelter_rows(sit)),
              "</body></html>"]
    return "".join(parts)
