"""The GUI commands: ``run`` (the console), ``screenshot VIEW OUT.png``, ``self-test`` and ``handover report|log``.

Registering them imports no Qt and no view: each handler imports its view code when it runs, so
``dispatch-console --help``, ``intake`` or ``agent`` never load a window. The handlers themselves
live with their rooms (``ui/shell/commands.py``, ``ui/handover/commands.py``); the main window's
panels come from the composition root, passed in as ``panels``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from dispatch_console.cli import CliContext, Commands
from dispatch_console.kernel.i18n import _

if TYPE_CHECKING:
    from ui.shell.main_window import Panels


def register(commands: Commands, *, panels: Callable[[], Panels]) -> None:
    def run(ctx: CliContext) -> int:
        from ui.shell.commands import cmd_run

        return cmd_run(ctx, panels())

    def screenshot(ctx: CliContext) -> int:
        from ui.shell.commands import cmd_screenshot

        return cmd_screenshot(ctx, panels())

    def self_test(ctx: CliContext) -> int:
        from ui.shell.self_test import cmd_self_test

        return cmd_self_test(ctx, panels())

    commands.add("run", run, _("open the console (the default command)"))
    p = commands.add("screenshot", screenshot, _("render a view offscreen to a PNG (docs, tests)"))
    p.add_argument("view", help=_("main, or a panel's name (map, queue, board, roster, checklist …)"))
    p.add_argument("out", type=Path, help=_("the PNG file to write"))
    p.add_argument("--size", default="1920x1080", help=_("window size WxH"))
    p.add_argument("--theme", choices=["light", "dark"], default=None, help=_("light or dark"))
    p.add_argument("--select", metavar="NUMBER", default=None, help=_("select this incident first"))

    p = commands.add("self-test", self_test, _("check this installation: database, demo data, window, map, PDF, "
                                                "timers (a temporary database; exit code 0 when all pass)"))
    p.add_argument("--keep", metavar="DIR", default=None,
                   help=_("write the database, map.png and handover.pdf to DIR and keep them"))

    commands.group("handover", _("shift handover records and the duty log"))
    for name, handler, text in (
        ("report", _handover_report, _("the handover record of a shift as a PDF (default: the current shift)")),
        ("log", _duty_log, _("the duty log of a shift as a PDF (default: the current shift)")),
    ):
        p = commands.add_sub("handover", name, handler, text)
        p.add_argument("--shift", type=int, default=None, metavar="ID", help=_("the shift's id"))
        p.add_argument("--pdf", type=Path, required=True, metavar="OUT.pdf", help=_("the PDF file to write"))

    commands.group("report",
                   _("reports: the assessment (考核), the situation (研判), the duty work report (值班工作报告)"))
    p = commands.add_sub("report", "assess", _assess,
                         _("on-time rates, 90th percentiles and breached deadlines of a month or a quarter"))
    period = p.add_mutually_exclusive_group(required=True)
    period.add_argument("--month", metavar="YYYY-MM", help=_("the month (local time)"))
    period.add_argument("--quarter", metavar="YYYY-Qn", help=_("the quarter (local time)"))
    p.add_argument("--json", action="store_true", help=_("print JSON"))
    p.add_argument("--xlsx", type=Path, default=None, metavar="OUT.xlsx", help=_("write a workbook"))
    p.add_argument("--pdf", type=Path, default=None, metavar="OUT.pdf", help=_("the PDF file to write"))
    p = commands.add_sub("report", "situation", _situation,
                         _("the situation (研判) of a range of dates: reports per day, open by age, response p90, "
                           "warnings, shelters"))
    p.add_argument("--from", dest="first", required=True, metavar="YYYY-MM-DD", help=_("the first day (local)"))
    p.add_argument("--to", dest="last", required=True, metavar="YYYY-MM-DD", help=_("the last day (local)"))
    p.add_argument("--json", action="store_true", help=_("print JSON"))
    p.add_argument("--pdf", type=Path, default=None, metavar="OUT.pdf", help=_("the PDF file to write"))
    p = commands.add_sub("report", "duty", _duty, _("the weekly or monthly duty work report (值班工作报告)"))
    period = p.add_mutually_exclusive_group(required=True)
    period.add_argument("--week", metavar="YYYY-Www", help=_("the ISO week (Monday to Sunday, local time)"))
    period.add_argument("--month", metavar="YYYY-MM", help=_("the month (local time)"))
    p.add_argument("--json", action="store_true", help=_("print JSON"))
    p.add_argument("--pdf", type=Path, default=None, metavar="OUT.pdf", help=_("the PDF file to write"))


def _situation(ctx: CliContext) -> int:
    from ui.assessment.commands import cmd_situation

    return cmd_situation(ctx)


def _duty(ctx: CliContext) -> int:
    from ui.assessment.commands import cmd_duty

    return cmd_duty(ctx)


def _assess(ctx: CliContext) -> int:
    from ui.assessment.commands import cmd_assess

    return cmd_assess(ctx)


def _handover_report(ctx: CliContext) -> int:
    from ui.handover.commands import cmd_report

    return cmd_report(ctx)


def _duty_log(ctx: CliContext) -> int:
    from ui.handover.commands import cmd_log

    return cmd_log(ctx)
