"""``dispatch-console report assess --month YYYY-MM | --quarter YYYY-Qn [--json] [--xlsx F] [--pdf F]``.

In the view layer because the PDF needs Qt (text layout and the CJK font); Qt is loaded only
when ``--pdf`` is given, so ``--json`` and ``--xlsx`` run on a server without it.
"""

from __future__ import annotations

import json
import os

from dispatch_console.cli import EXIT_OK, CliContext
from dispatch_console.kernel.i18n import _


def _rate(value: float | None) -> str:
    return f"{value * 100:.1f}%" if value is not None else "-"


def _minutes(seconds: float | None) -> str:
    return f"{seconds / 60:.1f}" if seconds is not None else "-"


def cmd_assess(ctx: CliContext) -> int:
    from dispatch_console import assessment
    from dispatch_console.assessment.export import LEVELS, proposal_header, proposal_rows, summary_rows
    from dispatch_console.kernel.timefmt import fmt_local

    report = assessment.assess(ctx.database(), ctx.args.month or ctx.args.quarter)
    if ctx.args.xlsx:
        assessment.write_xlsx(report, ctx.args.xlsx)
    if ctx.args.pdf:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from dispatch_console.assessment.report import assessment_html
        from ui.shell.app import application

        application()
        from ui.shell.pdf_export import export_pdf

        export_pdf(assessment_html(report), ctx.args.pdf,
                   title=_("Assessment {month}").format(month=report.month))
    if ctx.args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return EXIT_OK
    print(_("Assessment {month}").format(month=report.month))
    for r in [*summary_rows(report), *report.communities, *report.grids, *report.units]:
        rates = "  ".join(f"{_(assessment.TARGETS[k])} {_rate(t.on_time_rate)} p90 {_minutes(t.p90_seconds)}"
                          for k, t in r.targets.items())
        print(f"{_(LEVELS[r.level])} {r.name}: {r.incidents}  {rates}  "
              + _("reports {met}/{total}").format(met=r.reports.met, total=r.reports.met + r.reports.breached))
    rows = proposal_rows(report)
    if rows:
        print(_("Proposed forces against the units sent:"))
        print("  " + " | ".join(proposal_header()))
        for row in rows:
            print("  " + " | ".join(str(c) for c in row))
    for b in report.breaches:
        print("  " + _("{number} {deadline} due {due}, held by {holder}").format(
            number=b.number, deadline=b.label, due=fmt_local(b.due_at), holder=b.holder or "-"))
    return EXIT_OK
