"""``dispatch-console audit verify``: recompute the audit log's hash chain (administrators)."""

from __future__ import annotations

import json
import sys

from dispatch_console.cli import EXIT_OK, EXIT_REJECTED, CliContext, Commands
from dispatch_console.kernel import audit
from dispatch_console.kernel.i18n import _


def register(commands: Commands) -> None:
    commands.group("audit", _("the tamper-evident audit log"))
    p = commands.add_sub("audit", "verify", cmd_verify,
                         _("check that no audit row was edited, deleted or reordered"))
    p.add_argument("--json", action="store_true", help=_("JSON for scripts"))


def cmd_verify(ctx: CliContext) -> int:
    result = audit.verify_as(ctx.database(), ctx.actor())
    if ctx.args.json:
        print(json.dumps({"ok": result.ok, "rows_checked": result.rows_checked,
                          "first_bad_id": result.first_bad_id, "kind": result.kind,
                          "problem": result.problem}, ensure_ascii=False))
    else:
        print(result.describe(), file=sys.stdout if result.ok else sys.stderr)
    return EXIT_OK if result.ok else EXIT_REJECTED
