"""``dispatch-console audit verify | checkpoint | prune`` (administrators).

``verify`` recomputes the audit log's hash chain and holds it against the signed checkpoints
(their signatures are checked when this machine has the audit key). ``checkpoint`` signs the
chain's head now (the agent does it every 15 minutes on the machine that holds the key;
``--init-key`` creates the key there). ``prune`` deletes audit and change rows older than the
retention period (at least 180 days), audited.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from dispatch_console.cli import EXIT_OK, EXIT_REJECTED, CliContext, Commands
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import require
from dispatch_console.kernel.policies import MIN_RETENTION_DAYS


def register(commands: Commands) -> None:
    commands.group("audit", _("the tamper-evident audit log"))
    p = commands.add_sub("audit", "verify", cmd_verify,
                         _("check that no audit row was edited, deleted, reordered, forged or recomputed"))
    p.add_argument("--json", action="store_true", help=_("JSON for scripts"))
    _key_file(p)
    p = commands.add_sub("audit", "checkpoint", cmd_checkpoint,
                         _("sign the audit chain's head and row counts now (the agent does it every 15 minutes)"))
    p.add_argument("--init-key", action="store_true",
                   help=_("create the audit key on this machine first (kept readable by its owner only)"))
    _key_file(p)
    p = commands.add_sub("audit", "prune", cmd_prune,
                         _("delete audit and change rows older than the retention period (at least 180 days)"))
    p.add_argument("--keep-days", type=int, default=MIN_RETENTION_DAYS,
                   help=_("keep this many days (at least 180)"))


def _key_file(p: object) -> None:
    p.add_argument("--key-file", type=Path, default=None,  # type: ignore[attr-defined]
                   help=_("the audit key file (default: audit-checkpoint.key in the config folder; "
                          "env DISPATCH_AUDIT_KEY_FILE)"))


def cmd_verify(ctx: CliContext) -> int:
    from dispatch_console.kernel import audit

    key = audit.load_key(ctx.args.key_file)
    result = audit.verify_as(ctx.database(), ctx.actor(), key)
    if ctx.args.json:
        print(json.dumps({"ok": result.ok, "rows_checked": result.rows_checked,
                          "first_bad_id": result.first_bad_id, "kind": result.kind,
                          "checkpoint_id": result.checkpoint_id, "since_checkpoint_id": result.since_checkpoint_id,
                          "checkpoints_checked": result.checkpoints_checked,
                          "signatures_checked": result.signatures_checked,
                          "problem": result.problem}, ensure_ascii=False))
    else:
        print(result.describe(), file=sys.stdout if result.ok else sys.stderr)
    return EXIT_OK if result.ok else EXIT_REJECTED


def cmd_checkpoint(ctx: CliContext) -> int:
    from dispatch_console.kernel import audit

    actor = ctx.actor()
    require(actor, "audit.verify")
    key = audit.load_key(ctx.args.key_file)
    if key is None and ctx.args.init_key:
        key = audit.create_key(ctx.args.key_file)
        print(_("Created the audit key {path}: keep a copy in a safe place; without it no checkpoint "
                "can be verified.").format(path=key.path))
    if key is None:
        print(_("No audit key on this machine ({path}): run audit checkpoint --init-key on the agent's "
                "machine.").format(path=ctx.args.key_file or audit.key_path()), file=sys.stderr)
        return EXIT_REJECTED
    cp = audit.checkpoint_as(ctx.database(), actor, key)
    print(_("Checkpoint {id}: audit row {head} ({rows} rows), change_log {changes} rows, signed.").format(
        id=cp.id, head=cp.audit_head_id, rows=cp.audit_rows, changes=cp.change_rows))
    return EXIT_OK


def cmd_prune(ctx: CliContext) -> int:
    from dispatch_console.kernel import audit

    result = audit.prune(ctx.database(), ctx.actor(), ctx.args.keep_days)
    print(_("Pruned {audit} audit rows and {changes} change rows older than {days} days.").format(
        audit=result.audit_rows, changes=result.change_rows, days=ctx.args.keep_days))
    return EXIT_OK
