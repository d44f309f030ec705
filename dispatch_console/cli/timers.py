"""``dispatch-console timers list [--json] [--pending|--fired]``: deadlines and who fired them."""

from __future__ import annotations

import json

from dispatch_console.cli import EXIT_OK, CliContext, Commands
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.timefmt import fmt_duration, fmt_local


def register(commands: Commands) -> None:
    commands.group("timers", _("deadlines and escalation timers"))
    p = commands.add_sub("timers", "list", cmd_list, _("pending and fired timers with who fired them"))
    which = p.add_mutually_exclusive_group()
    which.add_argument("--pending", action="store_true", help=_("only timers still waiting"))
    which.add_argument("--fired", action="store_true", help=_("only timers that fired"))
    p.add_argument("--limit", type=int, default=500, help=_("at most this many (default 500)"))
    p.add_argument("--json", action="store_true", help=_("JSON Lines for machines"))


def cmd_list(ctx: CliContext) -> int:
    from dispatch_console.kernel.changes import to_jsonable
    from dispatch_console.timers import kind_label, list_timers

    state = "pending" if ctx.args.pending else "fired" if ctx.args.fired else None
    rows = list_timers(ctx.database(), state=state, limit=ctx.args.limit)
    if ctx.args.json:
        for r in rows:
            print(json.dumps(to_jsonable({
                "id": r.id, "kind": r.kind, "state": r.state, "incident_id": r.incident_id,
                "incident_number": r.incident_number, "step": r.step, "target_role": r.target_role,
                "due_at": r.due_at, "fired_at": r.fired_at, "fired_by": r.fired_by, "late_ms": r.late_ms,
                "cancelled_at": r.cancelled_at, "cancel_reason": r.cancel_reason, "is_drill": r.is_drill,
            }), ensure_ascii=False))
        return EXIT_OK
    states = {"pending": _("waiting"), "fired": _("fired"), "cancelled": _("cancelled")}
    header = [_("Kind"), _("Incident"), _("Step"), _("Due"), _("State"), _("Fired"), _("Late"), _("Fired by")]
    table = [header]
    for r in rows:
        table.append([
            kind_label(r.kind) + (" " + _("(drill)") if r.is_drill else ""),
            r.incident_number or "-", str(r.step + 1), fmt_local(r.due_at), states[r.state],
            fmt_local(r.fired_at) or "-", fmt_duration(r.late_ms / 1000) if r.late_ms is not None else "-",
            r.fired_by or "-",
        ])
    widths = [max(_width(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=True)).rstrip())
    if not rows:
        print(_("No timers."))
    return EXIT_OK


def _width(text: str) -> int:
    """Columns on a terminal: CJK characters take two."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
