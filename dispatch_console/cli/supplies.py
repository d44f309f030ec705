"""``dispatch-console supplies …``: emergency supplies — stock, movements, depots, spreadsheets.

``list`` shows what each depot holds (``--json`` for machines; below-minimum lines marked);
``move`` records 入库 (receive), 出库 (issue, to an incident), 调拨 (transfer) or 盘点 (count, with
a reason); ``ledger`` lists the movements; ``export`` and ``import`` write and read the stock
spreadsheet (import names every bad row and stores the good ones). ``depots`` and ``add-depot``
list and create the depots.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from dispatch_console.cli import EXIT_OK, EXIT_REJECTED, CliContext, Commands
from dispatch_console.kernel.i18n import _

KIND_NAMES = {"receive": "receive", "in": "receive", "入库": "receive", "issue": "issue", "out": "issue",
              "出库": "issue", "transfer": "transfer", "调拨": "transfer", "count": "count", "盘点": "count"}


def register(commands: Commands) -> None:
    commands.group("supplies", _("emergency supplies: depots, stock and the stock ledger"))
    p = commands.add_sub("supplies", "list", cmd_list, _("what each depot holds"))
    p.add_argument("--depot", help=_("only this depot (code or name)"))
    p.add_argument("--below", action="store_true", help=_("only what is below its minimum"))
    p.add_argument("--json", action="store_true", help=_("print JSON"))
    p = commands.add_sub("supplies", "move", cmd_move,
                         _("record a receipt, an issue, a transfer or a stock count"))
    p.add_argument("kind", choices=sorted(KIND_NAMES), metavar="KIND",
                   help=_("receive (入库), issue (出库), transfer (调拨) or count (盘点)"))
    p.add_argument("depot", help=_("the depot (code or name)"))
    p.add_argument("item", help=_("the item (code, name or alias)"))
    p.add_argument("quantity", type=int, help=_("how many (for a count: how many were counted)"))
    p.add_argument("--incident", help=_("the incident the supplies are issued to"))
    p.add_argument("--to", dest="to_depot", help=_("the depot a transfer goes to"))
    p.add_argument("--reason", help=_("why (required for a count)"))
    p = commands.add_sub("supplies", "ledger", cmd_ledger, _("the stock movements, the newest first"))
    p.add_argument("--depot", help=_("only this depot (code or name)"))
    p.add_argument("--limit", type=int, default=100, help=_("at most this many lines"))
    p.add_argument("--json", action="store_true", help=_("print JSON"))
    p = commands.add_sub("supplies", "export", cmd_export, _("write the stock to a spreadsheet (.xlsx)"))
    p.add_argument("file")
    p = commands.add_sub("supplies", "import", cmd_import,
                         _("bring the stock to what a spreadsheet says (a count line per change)"))
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help=_("print JSON"))
    p = commands.add_sub("supplies", "depots", cmd_depots, _("list the depots"))
    p.add_argument("--json", action="store_true", help=_("print JSON"))
    p = commands.add_sub("supplies", "add-depot", cmd_add_depot, _("add a depot"))
    p.add_argument("code")
    p.add_argument("name")
    p.add_argument("--community", help=_("the community it belongs to (code or name)"))
    p.add_argument("--address")
    p.add_argument("--lon", type=float)
    p.add_argument("--lat", type=float)
    p.add_argument("--contact")
    p.add_argument("--phone")


def _catalogue(ctx: CliContext) -> Any:
    from dispatch_console.supplies import load_catalogue

    catalogue, errors = load_catalogue(ctx.resources)
    for error in errors:
        print(str(error), file=sys.stderr)
    return catalogue


def cmd_list(ctx: CliContext) -> int:
    from dispatch_console.supplies import list_depots
    from dispatch_console.supplies import stock_levels as stock

    db = ctx.database()
    ids = None
    if ctx.args.depot:
        ids = [d.id for d in list_depots(db) if ctx.args.depot in (d.code, d.name)]
        if not ids:
            print(_("No depot {key}.").format(key=ctx.args.depot), file=sys.stderr)
            return EXIT_REJECTED
    rows = [r for r in stock(db, _catalogue(ctx), depot_ids=ids) if r.below_minimum or not ctx.args.below]
    if ctx.args.json:
        print(json.dumps([{"depot": r.depot, "community": r.community, "item": r.item, "name": r.name,
                           "quantity": r.quantity, "unit": r.unit, "minimum": r.minimum,
                           "below_minimum": r.below_minimum} for r in rows], ensure_ascii=False, indent=2))
        return EXIT_OK
    for r in rows:
        mark = "  " + _("below minimum {n}").format(n=r.minimum) if r.below_minimum else ""
        print(f"{r.depot:24} {r.name:10} {r.quantity:>8} {r.unit}{mark}")
    return EXIT_OK


def cmd_move(ctx: CliContext) -> int:
    from dispatch_console.supplies import move_stock as move

    actor = ctx.actor()
    rows = move(ctx.database(), actor, _catalogue(ctx), kind=KIND_NAMES[ctx.args.kind], depot=ctx.args.depot,
                item=ctx.args.item, quantity=ctx.args.quantity, incident=ctx.args.incident,
                to_depot=ctx.args.to_depot, reason=ctx.args.reason)
    for r in rows:
        print(_("{depot}: {kind} {quantity:+d} {item}, balance {balance}").format(
            depot=r.depot, kind=r.kind_label, quantity=r.quantity, item=r.item, balance=r.balance))
    return EXIT_OK


def cmd_ledger(ctx: CliContext) -> int:
    from dispatch_console.kernel.timefmt import fmt_local
    from dispatch_console.supplies import stock_ledger as ledger

    lines = ledger(ctx.database(), depot=ctx.args.depot, limit=max(1, min(ctx.args.limit, 10000)))
    if ctx.args.json:
        print(json.dumps([{"id": m.id, "at": m.at.isoformat(), "depot": m.depot, "item": m.item, "kind": m.kind,
                           "quantity": m.quantity, "balance": m.balance, "incident": m.incident_number,
                           "other_depot": m.other_depot, "reason": m.reason, "user": m.username} for m in lines],
                         ensure_ascii=False, indent=2))
        return EXIT_OK
    for m in lines:
        extra = " ".join(x for x in (m.incident_number, m.other_depot, m.reason) if x)
        print(f"{fmt_local(m.at)}  {m.depot:20} {m.kind_label:6} {m.item:14} {m.quantity:+7d} = {m.balance:<7} "
              f"{m.username or ''}  {extra}")
    return EXIT_OK


def cmd_export(ctx: CliContext) -> int:
    from dispatch_console.supplies import export_stock

    n = export_stock(ctx.database(), _catalogue(ctx), ctx.args.file)
    print(_("{n} rows written to {file}.").format(n=n, file=ctx.args.file))
    return EXIT_OK


def cmd_import(ctx: CliContext) -> int:
    from dispatch_console.supplies import import_stock

    actor = ctx.actor()
    result = import_stock(ctx.database(), actor, _catalogue(ctx), ctx.args.file)
    if ctx.args.json:
        print(json.dumps({"stored": result.stored, "unchanged": result.unchanged,
                          "rejected": [{"row": e.row, "reason": e.reason} for e in result.rejected]},
                         ensure_ascii=False, indent=2))
    else:
        for error in result.rejected:
            print(str(error), file=sys.stderr)
        print(_("{stored} rows stored, {same} unchanged, {bad} rejected.").format(
            stored=result.stored, same=result.unchanged, bad=len(result.rejected)))
    return EXIT_REJECTED if result.rejected else EXIT_OK


def cmd_depots(ctx: CliContext) -> int:
    from dispatch_console.supplies import list_depots

    depots = list_depots(ctx.database())
    if ctx.args.json:
        print(json.dumps([{"code": d.code, "name": d.name, "community": d.community, "address": d.address,
                           "lon": d.lon, "lat": d.lat, "contact": d.contact_name, "phone": d.phone} for d in depots],
                         ensure_ascii=False, indent=2))
        return EXIT_OK
    for d in depots:
        print(f"{d.code:12} {d.name:24} {d.community or '':10} {d.contact_name or ''} {d.phone or ''}")
    return EXIT_OK


def cmd_add_depot(ctx: CliContext) -> int:
    from dispatch_console.supplies import add_depot, community_id

    actor = ctx.actor()
    db = ctx.database()
    args = ctx.args
    depot = add_depot(db, actor, code=args.code, name=args.name,
                      community_id=community_id(db, args.community) if args.community else None,
                      address=args.address, lon=args.lon, lat=args.lat, contact_name=args.contact, phone=args.phone)
    print(_("Depot {name} ({code}) added.").format(name=depot.name, code=depot.code))
    return EXIT_OK


# ---------------------------------------------------------------------------------------------
# Shelters.


def register_shelters(commands: Commands) -> None:
    commands.group("shelters", _("emergency shelters: capacity, status and the people in them"))
    p = commands.add_sub("shelters", "list", cmd_shelters, _("the shelters with occupancy and free places"))
    p.add_argument("--json", action="store_true", help=_("print JSON"))
    p = commands.add_sub("shelters", "add", cmd_add_shelter, _("add a shelter"))
    p.add_argument("code")
    p.add_argument("name")
    p.add_argument("capacity", type=int)
    p.add_argument("--community", help=_("the community it belongs to (code or name)"))
    p.add_argument("--address")
    p.add_argument("--lon", type=float)
    p.add_argument("--lat", type=float)
    p.add_argument("--contact")
    p.add_argument("--phone")
    for name, help_text in (("open", _("open a shelter")), ("close", _("close an empty shelter"))):
        p = commands.add_sub("shelters", name, cmd_shelter_status, help_text)
        p.add_argument("shelter", help=_("code or name"))
        p.set_defaults(status="open" if name == "open" else "closed")
    for name, help_text in (("arrive", _("record people arriving")), ("leave", _("record people leaving"))):
        p = commands.add_sub("shelters", name, cmd_shelter_people, help_text)
        p.add_argument("shelter", help=_("code or name"))
        p.add_argument("people", type=int)
        p.add_argument("--incident", help=_("the incident they come from"))
        p.add_argument("--note")
        p.set_defaults(sign=1 if name == "arrive" else -1)
    p = commands.add_sub("shelters", "nearest", cmd_nearest, _("the nearest open shelters with free places"))
    p.add_argument("number", help=_("the incident's number"))
    p.add_argument("--json", action="store_true", help=_("print JSON"))


def _shelter_json(r: Any) -> dict[str, Any]:
    return {"code": r.code, "name": r.name, "community": r.community, "address": r.address, "lon": r.lon,
            "lat": r.lat, "capacity": r.capacity, "occupancy": r.occupancy, "free": r.free, "status": r.status,
            "contact": r.contact_name, "phone": r.phone}


def _shelter_line(r: Any) -> str:
    return _("{code:10} {name:20} {status:4} {occupancy}/{capacity} ({free} free)  {contact} {phone}").format(
        code=r.code, name=r.name, status=r.status_label, occupancy=r.occupancy, capacity=r.capacity, free=r.free,
        contact=r.contact_name or "", phone=r.phone or "")


def cmd_shelters(ctx: CliContext) -> int:
    from dispatch_console.supplies import list_shelters

    rows = list_shelters(ctx.database())
    if ctx.args.json:
        print(json.dumps([_shelter_json(r) for r in rows], ensure_ascii=False, indent=2))
    else:
        for r in rows:
            print(_shelter_line(r))
    return EXIT_OK


def cmd_add_shelter(ctx: CliContext) -> int:
    from dispatch_console.supplies import add_shelter, community_id

    actor = ctx.actor()
    db = ctx.database()
    a = ctx.args
    row = add_shelter(db, actor, code=a.code, name=a.name, capacity=a.capacity,
                      community_id=community_id(db, a.community) if a.community else None, address=a.address,
                      lon=a.lon, lat=a.lat, contact_name=a.contact, phone=a.phone)
    print(_shelter_line(row))
    return EXIT_OK


def cmd_shelter_status(ctx: CliContext) -> int:
    from dispatch_console.supplies import set_shelter_status as set_status

    actor = ctx.actor()
    print(_shelter_line(set_status(ctx.database(), actor, ctx.args.shelter, ctx.args.status)))
    return EXIT_OK


def cmd_shelter_people(ctx: CliContext) -> int:
    from dispatch_console.supplies import record_people

    actor = ctx.actor()
    row = record_people(ctx.database(), actor, ctx.args.shelter, ctx.args.sign * abs(ctx.args.people),
                        incident=ctx.args.incident, note=ctx.args.note)
    print(_shelter_line(row))
    return EXIT_OK


def cmd_nearest(ctx: CliContext) -> int:
    from dispatch_console.supplies import nearest_open

    near = nearest_open(ctx.database(), ctx.args.number)
    if ctx.args.json:
        print(json.dumps([{**_shelter_json(n.shelter), "distance_m": round(n.distance_m)} for n in near],
                         ensure_ascii=False, indent=2))
        return EXIT_OK
    if not near:
        print(_("No open shelter has free places."), file=sys.stderr)
        return EXIT_REJECTED
    for n in near:
        print(f"{n.distance_m / 1000:5.1f} km  " + _shelter_line(n.shelter))
    return EXIT_OK
