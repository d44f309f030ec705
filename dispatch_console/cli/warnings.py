"""``dispatch-console warnings list | handle | dismiss | respond``: the early warnings from the command line."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from dispatch_console.cli import EXIT_OK, CliContext, Commands
from dispatch_console.kernel.i18n import _

if TYPE_CHECKING:
    from dispatch_console.warnings import CapSummary, WarningRow


def register(commands: Commands) -> None:
    commands.group("warnings", _("early warnings: the rules' and the official (CAP) ones"))
    p = commands.add_sub("warnings", "list", cmd_list,
                         _("every warning, official CAP warnings included, newest first"))
    p.add_argument("--open", action="store_true", help=_("only warnings not yet handled or dismissed"))
    p.add_argument("--json", action="store_true", help=_("JSON Lines for machines"))
    p.add_argument("--limit", type=int, default=500, help=_("at most this many (default 500)"))
    for name, handler, help_text, note_help in (
        ("handle", cmd_handle, _("mark a warning handled, with what was done"), _("what was done")),
        ("dismiss", cmd_dismiss, _("dismiss a warning, with the reason"), _("why it is dismissed")),
    ):
        p = commands.add_sub("warnings", name, handler, help_text)
        p.add_argument("id", type=int, metavar="ID", help=_("the warning's number"))
        p.add_argument("--note", required=True, help=note_help)
    p = commands.add_sub("warnings", "respond", cmd_respond,
                         _("record the incident that starts an official warning's checklist"))
    p.add_argument("id", type=int, metavar="ID", help=_("the warning's number"))


def _cap_json(c: CapSummary | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {"identifier": c.identifier, "sender": c.sender, "sent": c.sent, "msg_type": c.msg_type,
            "event": c.event, "headline": c.headline, "colour": c.colour, "areas": list(c.areas),
            "covers_street": c.covers_street, "state": c.state, "expires": c.expires, "messages": c.messages}


def _row_json(w: WarningRow) -> dict[str, Any]:
    return {"id": w.id, "kind": "warning", "rule": w.rule, "level": w.level, "state": w.state,
            "title": w.title, "body": w.body, "target_role": w.target_role, "unit_kind": w.unit_kind,
            "sensitive_period": w.sensitive_period, "checklist": w.checklist_code, "raised_at": w.raised_at,
            "raised_by": w.raised_by, "seen_at": w.seen_at, "seen_by": w.seen_by, "closed_at": w.closed_at,
            "closed_by": w.closed_by, "note": w.note, "incidents": list(w.incident_numbers),
            "cases": list(w.case_numbers), "response_incident_id": w.response_incident_id, "cap": _cap_json(w.cap)}


def cmd_list(ctx: CliContext) -> int:
    from dispatch_console import warnings
    from dispatch_console.kernel.changes import to_jsonable
    from dispatch_console.kernel.roles import role_label
    from dispatch_console.kernel.timefmt import fmt_local

    db = ctx.database()
    rows = warnings.list_warnings(db, open_only=ctx.args.open, limit=ctx.args.limit)
    # official messages that raised no warning (elsewhere, an exercise, cancelled …) are listed too
    warned = {(w.cap.sender, w.cap.identifier) for w in rows if w.cap is not None}
    others = [] if ctx.args.open else [c for c in warnings.cap_messages(db, limit=ctx.args.limit)
                                       if (c.sender, c.identifier) not in warned]
    if ctx.args.json:
        for w in rows:
            print(json.dumps(to_jsonable(_row_json(w)), ensure_ascii=False))
        for c in others:
            print(json.dumps(to_jsonable({"id": None, "kind": "cap", "cap": _cap_json(c)}), ensure_ascii=False))
        return EXIT_OK
    for w in rows:
        print(f"#{w.id} [{w.state_label}] {w.rule_label} · {w.level} → {role_label(w.target_role)}"
              f"  {fmt_local(w.raised_at)}")
        print(f"    {w.title}")
        if w.cap is not None:
            c = w.cap
            print("    " + _("CAP {identifier} from {sender}: {state}; covers {areas}").format(
                identifier=c.identifier, sender=c.sender, state=c.state_label, areas="、".join(c.areas) or "-"))
        if w.incident_numbers:
            print("    " + _("Incidents: {numbers}").format(numbers=", ".join(w.incident_numbers[:20])))
        if w.case_numbers:
            print("    " + _("Cases: {numbers}").format(numbers=", ".join(w.case_numbers[:20])))
        if w.note:
            print("    " + _("Note: {note}").format(note=w.note))
    for c in others:
        where = _("covers the street") if c.covers_street else _("elsewhere")
        print(f"CAP {c.identifier} ({c.sender}) [{c.state_label}] {where}: {c.headline or c.event or ''}")
    if not rows and not others:
        print(_("No warnings."))
    return EXIT_OK


def _note_change(ctx: CliContext, dismiss: bool) -> int:
    from dispatch_console import warnings

    change = warnings.dismiss if dismiss else warnings.handle
    row = change(ctx.database(), ctx.actor(), ctx.args.id, ctx.args.note)
    print(_("Warning {id}: {state}.").format(id=row.id, state=row.state_label))
    return EXIT_OK


def cmd_handle(ctx: CliContext) -> int:
    return _note_change(ctx, dismiss=False)


def cmd_dismiss(ctx: CliContext) -> int:
    return _note_change(ctx, dismiss=True)


def cmd_respond(ctx: CliContext) -> int:
    from dispatch_console import warnings

    row = warnings.start_response(ctx.database(), ctx.actor(), ctx.args.id)
    print(_("Incident {number} records the response; its checklist has started.").format(number=row.number))
    return EXIT_OK
