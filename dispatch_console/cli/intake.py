"""``dispatch-console intake [FILE|-]``: JSON Lines in, per-line errors out, good lines kept."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO

from dispatch_console.cli import EXIT_OK, EXIT_REJECTED, CliContext, Commands, UsageError
from dispatch_console.incidents.intake import IntakeSummary, intake_lines
from dispatch_console.kernel.categories import load_catalog
from dispatch_console.kernel.i18n import _


def register(commands: Commands) -> None:
    p = commands.add("intake", cmd_intake,
                     _("record incidents from JSON Lines (one incident per line; - reads standard input)"))
    p.add_argument("file", nargs="?", default="-", metavar="FILE",
                   help=_("JSON Lines file, or - for standard input"))


def _open(name: str) -> BinaryIO:
    if name == "-":
        return sys.stdin.buffer
    path = Path(name)
    if not path.is_file():
        raise UsageError(_("No such file: {path}").format(path=name))
    return path.open("rb")


def cmd_intake(ctx: CliContext) -> int:
    actor = ctx.actor()
    db = ctx.database()
    catalog = load_catalog(ctx.resources)
    summary = IntakeSummary()
    stream = _open(ctx.args.file)
    try:
        for outcome in intake_lines(db, actor, stream, catalog):
            summary.add(outcome)
            if outcome.outcome == "rejected":
                print(_("line {line}: {reason}").format(line=outcome.line, reason=outcome.reason),
                      file=sys.stderr)
            elif outcome.outcome == "duplicate":
                print(_("line {line}: duplicate of {number} (already recorded; not stored again)").format(
                    line=outcome.line, number=outcome.number))
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    print(summary.describe())
    return EXIT_REJECTED if summary.rejected else EXIT_OK
