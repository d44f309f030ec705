"""The monthly assessment as printable HTML (Qt-free; every value escaped): the PDF's content."""

from __future__ import annotations

import html
from typing import Any

from dispatch_console.assessment.export import cells, header, proposal_header, proposal_rows, summary_rows
from dispatch_console.assessment.monthly import Assessment, GroupRow
from dispatch_console.kernel.i18n import _
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


def _table(head: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return f"<p class='empty'>{esc(_('None.'))}</p>"
    out = ["<table><tr>", *(f"<th>{esc(h)}</th>" for h in head), "</tr>"]
    for r in rows:
        out += ["<tr>", *(f"<td>{esc(_percent(c))}</td>" for c in r), "</tr>"]
    out.append("</table>")
    return "".join(out)


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
             f"<h2>{esc(_('Breached deadlines and who held the incident'))}</h2>",
             _table([_("Incident"), _("Severity"), _("Deadline"), _("Due"), _("Reached"), _("Held by"),
                     _("Community"), _("Grid"), _("Unit")],
                    [[b.number, b.severity, b.label, fmt_local(b.due_at), fmt_local(b.reached_at) or "-",
                      b.holder or "-", b.community or "-", b.grid or "-", b.unit or "-"] for b in report.breaches]),
             "</body></html>"]
    return "".join(parts)
