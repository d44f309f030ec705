"""``dispatch-console handover report|log [--shift ID] --pdf OUT.pdf``: the record and the duty log.

In the top layer because the PDF needs Qt (text layout and the CJK font); it only reads the
database and runs offscreen, so it works on a server without a display.
"""

from __future__ import annotations

import os
from pathlib import Path

from dispatch_console.cli import EXIT_OK, CliContext, Commands
from dispatch_console.kernel.i18n import _


def register(commands: Commands) -> None:
    commands.group("handover", _("shift handover records and the duty log"))
    for name, handler, text in (
        ("report", cmd_report, _("the handover record of a shift as a PDF (default: the current shift)")),
        ("log", cmd_log, _("the duty log of a shift as a PDF (default: the current shift)")),
    ):
        p = commands.add_sub("handover", name, handler, text)
        p.add_argument("--shift", type=int, default=None, metavar="ID", help=_("the shift's id"))
        p.add_argument("--pdf", type=Path, required=True, metavar="OUT.pdf", help=_("the PDF file to write"))


def _qt() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from ui.shell.app import application

    application()


def cmd_report(ctx: CliContext) -> int:
    from dispatch_console.handover import service as handover
    from dispatch_console.handover.report import handover_html
    from dispatch_console.rosters.service import describe_shift

    record = handover.preview(ctx.database(), ctx.args.shift)
    _qt()
    from ui.shell.pdf_export import export_pdf

    title = _("Shift handover record {shift}").format(shift=describe_shift(record.shift))
    pages = export_pdf(handover_html(record), ctx.args.pdf, title=title)
    print(_("{path}: {pages} pages, {n} open incidents").format(
        path=ctx.args.pdf, pages=pages, n=len(record.situation.incidents)))
    return EXIT_OK


def cmd_log(ctx: CliContext) -> int:
    from dispatch_console.handover.duty_log import duty_log
    from dispatch_console.handover.report import duty_log_html
    from dispatch_console.rosters.service import describe_shift

    log = duty_log(ctx.database(), ctx.args.shift)
    _qt()
    from ui.shell.pdf_export import export_pdf

    title = _("Duty log {shift}").format(shift=describe_shift(log.shift))
    pages = export_pdf(duty_log_html(log), ctx.args.pdf, title=title)
    print(_("{path}: {pages} pages, {n} entries").format(path=ctx.args.pdf, pages=pages, n=len(log.entries)))
    return EXIT_OK
