"""``dispatch-console report assess --month YYYY-MM | --quarter YYYY-Qn [--json] [--xlsx F] [--pdf F]``,
``report situation --from D --to D [--pdf F] [--json]`` and ``report duty --week YYYY-Www | --month
YYYY-MM [--pdf F] [--json]`` (the weekly and monthly 值班工作报告).

In the view layer because the PDF needs Qt (text layout and the CJK font); Qt is loaded only
when ``--pdf`` is given, so ``--json`` and ``--xlsx`` run on a server without it.
"""

from __future__ import annotations

import json
import os
from typing import Any

from dispatch_console.cli import EXIT_OK, CliContext
from dispatch_console.kernel.i18n import N_, _

TARGET_LABELS = {"ack": N_("Acknowledge"), "dispatch": N_("Dispatch"), "arrive": N_("Arrive"),
                 "resolve": N_("Resolve")}


def _rate(value: float | None) -> str:
    return f"{value * 100:.1f}%" if value is not None else "-"


def _minutes(seconds: float | None) -> str:
    return f"{seconds / 60:.1f}" if seconds is not None else "-"


def cmd_assess(ctx: CliContext) -> int:
    from dispatch_console import assessment
    from dispatch_console.kernel.timefmt import fmt_local

    report = assessment.assess(ctx.database(), ctx.args.month or ctx.args.quarter)
    if ctx.args.xlsx:
        assessment.write_xlsx(report, ctx.args.xlsx)
    if ctx.args.pdf:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from ui.shell.app import application

        application()
        from ui.shell.pdf_export import export_pdf

        export_pdf(assessment.assessment_html(report), ctx.args.pdf,
                   title=_("Assessment {month}").format(month=report.month))
    if ctx.args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return EXIT_OK
    print(_("Assessment {month}").format(month=report.month))
    for r in [*assessment.summary_rows(report), *report.communities, *report.grids, *report.units]:
        rates = "  ".join(f"{_(assessment.TARGETS[k])} {_rate(t.on_time_rate)} p90 {_minutes(t.p90_seconds)}"
                          for k, t in r.targets.items())
        print(f"{_(assessment.LEVELS[r.level])} {r.name}: {r.incidents}  {rates}  "
              + _("reports {met}/{total}").format(met=r.reports.met, total=r.reports.met + r.reports.breached))
    rows = assessment.proposal_rows(report)
    if rows:
        print(_("Proposed forces against the units sent:"))
        print("  " + " | ".join(assessment.proposal_header()))
        for row in rows:
            print("  " + " | ".join(str(c) for c in row))
    for b in report.breaches:
        print("  " + _("{number} {deadline} due {due}, held by {holder}").format(
            number=b.number, deadline=b.label, due=fmt_local(b.due_at), holder=b.holder or "-"))
    return EXIT_OK


def _qt() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from ui.shell.app import application

    application()


def cmd_situation(ctx: CliContext) -> int:
    """``report situation --from D --to D [--pdf F] [--json]``: the situation of a range of local dates."""
    from dispatch_console.assessment import (
        parse_day,
        situation_between,
        situation_charts,
        situation_html,
        situation_title,
    )

    first, last = parse_day(ctx.args.first, "from"), parse_day(ctx.args.last, "to")
    data = situation_between(ctx.database(), first, last)
    if ctx.args.pdf:
        _qt()
        from ui.assessment.pdf import export_with_charts

        charts = situation_charts(data)
        export_with_charts(situation_html(data, charts), charts, ctx.args.pdf, title=situation_title(first, last))
    if ctx.args.json:
        print(json.dumps(situation_dict(data), ensure_ascii=False, indent=2))
        return EXIT_OK
    print(situation_title(first, last))
    print(_("{n} reports, {open} open").format(n=data.total, open=sum(data.open_by_age.values())))
    for severity, per in data.response.items():
        print("  " + "  ".join(f"{severity}·{_(TARGET_LABELS[k])} p90 {_minutes(r.p90_s)} / {_minutes(r.target_s)}"
                               for k, r in per.items()))
    return EXIT_OK


def situation_dict(data: Any) -> dict[str, Any]:
    return {"from": data.days[0].isoformat(), "to": data.days[-1].isoformat(), "total": data.total,
            "per_day": {k: list(v) for k, v in data.per_day.items()},
            "open_incidents_by_age": data.open_by_age, "open_cases_by_age": data.open_cases_by_age,
            "response": {str(sev): {k: {"p90_s": r.p90_s, "target_s": r.target_s, "on_time_rate": r.on_time_rate}
                                    for k, r in per.items()} for sev, per in data.response.items()},
            "warnings_by_rule": data.warnings_by_rule,
            "shelters": {"open": data.shelters.count("open"), "full": data.shelters.count("full"),
                         "closed": data.shelters.count("closed"), "people": data.shelters.people,
                         "capacity": data.shelters.capacity, "free": data.shelters.free}}


def cmd_duty(ctx: CliContext) -> int:
    """``report duty --week YYYY-Www | --month YYYY-MM [--pdf F] [--json]``: 值班工作报告."""
    from dispatch_console.assessment import duty_charts, duty_html, duty_report, duty_title

    report = duty_report(ctx.database(), week=ctx.args.week, month=ctx.args.month)
    if ctx.args.pdf:
        _qt()
        from ui.assessment.pdf import export_with_charts

        charts = duty_charts(report)
        export_with_charts(duty_html(report, charts), charts, ctx.args.pdf, title=duty_title(report))
    if ctx.args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return EXIT_OK
    print(duty_title(report))
    t, b = report.totals, report.previous_totals
    print(_("incidents {now} (previous {before}), cases opened {opened}, closed {closed}, visits due {due}, "
            "warnings {warnings}").format(now=t.incidents, before=b.incidents, opened=t.cases_opened,
                                          closed=t.cases_closed, due=t.visits_due, warnings=t.warnings))
    return EXIT_OK
