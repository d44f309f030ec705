"""``dispatch-console cap import FILE|DIR …``: official CAP 1.2 warnings in, each refused file named."""

from __future__ import annotations

import json
import sys

from dispatch_console.cli import EXIT_OK, EXIT_REJECTED, CliContext, Commands
from dispatch_console.kernel.i18n import _


def register(commands: Commands) -> None:
    commands.group("cap", _("official warnings in (OASIS CAP 1.2)"))
    p = commands.add_sub("cap", "import", cmd_import,
                         _("read CAP 1.2 files, or every .xml/.cap file of a folder; exit 1 if any was refused"))
    p.add_argument("paths", nargs="+", metavar="FILE|DIR", help=_("CAP files or folders of them"))
    p.add_argument("--json", action="store_true", help=_("one JSON line per file"))


def cmd_import(ctx: CliContext) -> int:
    from dispatch_console import warnings

    report = warnings.import_paths(ctx.database(), ctx.actor(), ctx.args.paths)
    for o in report.outcomes:
        if ctx.args.json:
            print(json.dumps({"file": o.file, "status": o.status, "reason": o.reason, "identifier": o.identifier,
                              "msg_type": o.msg_type, "covers_street": o.covers_street,
                              "warning_id": o.warning_id, "new_warning": o.new_warning}, ensure_ascii=False))
        if o.status == "refused":
            print(_("{file}: refused: {reason}").format(file=o.file, reason=o.reason), file=sys.stderr)
        elif not ctx.args.json:
            states = {"stored": _("stored"), "duplicate": _("already stored"), "ignored": _("ignored")}
            where = _("covers the street") if o.covers_street else _("elsewhere")
            extra = _(" → warning {id}").format(id=o.warning_id) if o.new_warning else ""
            print(f"{o.file}: {states[o.status]} ({o.msg_type}, {where}){extra}")
    if not ctx.args.json:
        print(report.describe())
    return EXIT_REJECTED if report.refused else EXIT_OK
