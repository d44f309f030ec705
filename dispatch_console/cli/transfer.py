"""``dispatch-console transfer send | inbox | accept | refuse | list | poll``: cross-region transfer (跨区域联动)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dispatch_console.cli import EXIT_OK, EXIT_REJECTED, CliContext, Commands
from dispatch_console.kernel.i18n import _

if TYPE_CHECKING:
    from dispatch_console.transfers import TransferConfig, TransferRow


def register(commands: Commands) -> None:
    commands.group("transfer", _("cross-region transfer: hand an incident to another duty room, with a receipt"))
    p = commands.add_sub("transfer", "send", cmd_send,
                         _("send an incident or a case to another duty room (policies/transfers.toml); "
                           "the receipt deadline starts"))
    p.add_argument("number", metavar="NUMBER", help=_("the incident's number, or a case's (TYJ-…, TYX-…)"))
    p.add_argument("--to", required=True, metavar="ROOM", help=_("the duty room's code"))
    p.add_argument("--note", help=_("a note for the other duty room"))
    p = commands.add_sub("transfer", "inbox", cmd_inbox, _("incoming transfers, awaiting a decision first"))
    p.add_argument("--pending", action="store_true", help=_("only those awaiting a decision"))
    p.add_argument("--json", action="store_true", help=_("JSON Lines for machines"))
    p = commands.add_sub("transfer", "list", cmd_list, _("outgoing transfers and what became of them"))
    p.add_argument("--json", action="store_true", help=_("JSON Lines for machines"))
    for name, handler, help_text in (
        ("accept", cmd_accept,
         _("accept an incoming transfer: a local incident or case linked to the sender's number")),
        ("refuse", cmd_refuse, _("refuse an incoming transfer; the sender is told why")),
    ):
        p = commands.add_sub("transfer", name, handler, help_text)
        p.add_argument("id", type=int, metavar="ID", help=_("the transfer's number (transfer inbox)"))
        p.add_argument("--note", help=_("a note for the sender"))
    p = commands.add_sub("transfer", "exchange-setup", cmd_exchange_setup,
                         _("make the exchange with a duty room ready: its PostgreSQL table, or the folders"))
    p.add_argument("room", metavar="ROOM", help=_("the duty room's code"))
    commands.add_sub("transfer", "poll", cmd_poll,
                     _("read the exchange folder once and deliver what waits (the timer engine does it on its own)"))


def _print(rows: Sequence[TransferRow], as_json: bool) -> None:
    from dispatch_console.kernel.timefmt import fmt_local

    for r in rows:
        if as_json:
            print(json.dumps(r.as_json(), ensure_ascii=False))
            continue
        theirs = r.receiver_number if r.direction == "out" else r.sender_number
        ours = r.sender_number if r.direction == "out" else r.receiver_number
        print(f"#{r.id} [{r.status_text}] {r.peer_name}  {_('ours')} {ours or '-'} · {_('theirs')} {theirs or '-'}"
              f"  {fmt_local(r.updated_at)}")
        if r.description:
            print(f"    {r.description[:120]}")
        if r.reason and r.status in ("refused", "rejected"):
            print("    " + _("Reason: {reason}").format(reason=r.reason))
        elif r.reason:
            print("    " + _("Note: {note}").format(note=r.reason))


def cmd_send(ctx: CliContext) -> int:
    from dispatch_console import transfers

    row = transfers.send(ctx.database(), ctx.actor(), ctx.args.number, ctx.args.to, note=ctx.args.note,
                       cfg=_cfg(ctx))
    print(_("Transfer {id}: {number} sent to {room}; awaiting receipt.").format(
        id=row.id, number=row.sender_number, room=row.peer_name))
    return EXIT_OK


def cmd_inbox(ctx: CliContext) -> int:
    from dispatch_console import transfers

    cfg = _cfg(ctx)
    db = ctx.database()
    transfers.poll(db, ctx.station, cfg)
    _print(transfers.inbox(db, cfg=cfg, pending_only=ctx.args.pending), ctx.args.json)
    return EXIT_OK


def cmd_list(ctx: CliContext) -> int:
    from dispatch_console import transfers

    cfg = _cfg(ctx)
    db = ctx.database()
    transfers.poll(db, ctx.station, cfg)
    _print(transfers.list_transfers(db, direction="out", cfg=cfg), ctx.args.json)
    return EXIT_OK


def cmd_accept(ctx: CliContext) -> int:
    from dispatch_console import transfers

    row = transfers.accept(ctx.database(), ctx.actor(), ctx.args.id, note=ctx.args.note, cfg=_cfg(ctx))
    text = (_("Transfer {id} accepted: case {ours} (their number {theirs}).") if row.subject == "case"
            else _("Transfer {id} accepted: incident {ours} (their number {theirs})."))
    print(text.format(id=row.id, ours=row.receiver_number, theirs=row.sender_number))
    return EXIT_OK


def cmd_refuse(ctx: CliContext) -> int:
    from dispatch_console import transfers

    row = transfers.refuse(ctx.database(), ctx.actor(), ctx.args.id, note=ctx.args.note, cfg=_cfg(ctx))
    print(_("Transfer {id} refused; {room} is told.").format(id=row.id, room=row.peer_name))
    return EXIT_OK


def cmd_exchange_setup(ctx: CliContext) -> int:
    from dispatch_console import transfers
    from dispatch_console.transfers import ExchangeUnavailable

    try:
        where = transfers.setup_exchange(ctx.database(), ctx.actor(), ctx.args.room, _cfg(ctx))
    except ExchangeUnavailable as exc:
        print(_("The exchange is not ready: {problem}").format(problem=exc), file=sys.stderr)
        return EXIT_REJECTED
    print(_("The exchange with {room} is ready: {where}").format(room=ctx.args.room, where=where))
    return EXIT_OK


def cmd_poll(ctx: CliContext) -> int:
    from dispatch_console import transfers

    report = transfers.poll(ctx.database(), ctx.station, _cfg(ctx))
    for problem in report.unreachable:
        print(problem, file=sys.stderr)
    for t in report.taken:
        if t.status == "refused":
            print(_("{file}: refused: {reason}").format(file=t.file, reason=t.reason), file=sys.stderr)
    print(_("{taken} taken, {dup} taken already, {refused} refused; {sent} packages delivered.").format(
        taken=report.count("taken"), dup=report.count("duplicate"), refused=report.count("refused"),
        sent=report.delivered))
    return EXIT_REJECTED if report.count("refused") or report.unreachable else EXIT_OK


def _cfg(ctx: CliContext) -> TransferConfig:
    from dispatch_console import transfers

    return transfers.load_config(ctx.resources)
