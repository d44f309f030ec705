"""``dispatch-console handover report|log [--shift ID] --pdf OUT.pdf``: the record and the duty log.

In the top layer because the PDF needs Qt (text layout and the CJK font); it only reads the
database and runs offscreen, so it works on a server without a display.
"""

from __future__ import annotations

import os

from dispatch_console.cli import EXIT_OK, CliContext
from dispatch_console.kernel.i18n import _


def _qt() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from ui.shell.app import application

    application()


def cmd_report(ctx: CliContext) -> int:
    from dispatch_console import handover
    from dispatch_console.handover import handover_html
    from dispatch_console.rosters import describe_shift

    record = handover.preview(ctx.database(), ctx.args.shift)
    _qt()
    from ui.shell.pdf_export import export_pdf

    title = _("Shift handover record {shift}").format(shift=describe_shift(record.shift))
    pages = export_pdf(handover_html(record), ctx.args.pdf, title=title)
    print(_("{path}: {pages} pages, {n} open incidents").format(
        path=ctx.args.pdf, pages=pages, n=len(record.situation.incidents)))
    return EXIT_OK


def cmd_log(ctx: CliContext) -> int:
    from dispatch_console.handover import duty_log, duty_log_html
    from dispatch_console.rosters import describe_shift

    log = duty_log(ctx.database(), ctx.args.shift)
    _qt()
    from ui.shell.pdf_export import export_pdf

    title = _("Duty log {shift}").format(shift=describe_shift(log.shift))
    pages = export_pdf(duty_log_html(log), ctx.args.pdf, title=title)
    print(_("{path}: {pages} pages, {n} entries").format(path=ctx.args.pdf, pages=pages, n=len(log.entries)))
    return EXIT_OK
