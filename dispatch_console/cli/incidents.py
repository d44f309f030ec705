"""``dispatch-console incidents list | show | ack | dispatch | on-scene | note | resolve | close …``.

Text for people, ``--json`` for machines. The write commands act on the incident as it is now
(they read its current version first), for scripts and tests.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dispatch_console.cli import EXIT_OK, CliContext, Commands
from dispatch_console.kernel.errors import NotFound
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.text import summary
from dispatch_console.kernel.timefmt import fmt_local

if TYPE_CHECKING:
    from dispatch_console.incidents import IncidentDetail, IncidentRow
    from dispatch_console.kernel.categories import Catalog


def register(commands: Commands) -> None:
    commands.group("incidents", _("the incident queue: list, show and act on incidents"))
    p = commands.add_sub("incidents", "list", cmd_list, _("list incidents, most severe and oldest first"))
    p.add_argument("--open", action="store_true", help=_("only open incidents"))
    p.add_argument("--json", action="store_true", help=_("JSON for machines"))
    p.add_argument("--limit", type=int, default=200, help=_("at most this many (default 200)"))
    p.add_argument("--offset", type=int, default=0, help=_("skip this many first"))
    p.add_argument("--search", default=None, help=_("text in number, description, address or reporter"))
    p.add_argument("--status", action="append", default=[], help=_("only this status (repeatable)"))
    p = commands.add_sub("incidents", "show", cmd_show, _("one incident with its timeline and assignments"))
    p.add_argument("number")
    p.add_argument("--json", action="store_true", help=_("JSON for machines"))
    for name, handler, text in (
        ("ack", cmd_ack, _("acknowledge an incident (you become its owner)")),
        ("on-scene", cmd_on_scene, _("mark a dispatched incident on scene")),
        ("resolve", cmd_resolve, _("resolve an incident (its units are released)")),
        ("close", cmd_close, _("close (file) a resolved incident")),
        ("reopen", cmd_reopen, _("reopen a resolved or closed incident")),
    ):
        p = commands.add_sub("incidents", name, handler, text)
        p.add_argument("number")
        p.add_argument("--note", default=None, help=_("a note for the timeline"))
    p = commands.add_sub("incidents", "dispatch", cmd_dispatch, _("send units to an incident"))
    p.add_argument("number")
    p.add_argument("--unit", action="append", required=True, metavar="CODE", help=_("unit code (repeatable)"))
    p = commands.add_sub("incidents", "note", cmd_note, _("add a note to an incident's timeline"))
    p.add_argument("number")
    p.add_argument("text")
    p = commands.add_sub("incidents", "merge", cmd_merge, _("cancel an incident as a duplicate of another"))
    p.add_argument("number")
    p.add_argument("--into", required=True, metavar="NUMBER", help=_("the incident it duplicates"))
    p.add_argument("--note", default=None, help=_("a note for the timeline"))


def row_json(row: IncidentRow, catalog: Catalog) -> dict[str, Any]:
    from dispatch_console.kernel.changes import to_jsonable

    data: dict[str, Any] = to_jsonable(dataclasses.asdict(row))
    data.update(category_label=catalog.category_label(row.category), source_label=catalog.source_label(row.source),
                severity_label=catalog.severity_label(row.severity), status_label=catalog.status_label(row.status))
    return data


def detail_json(detail: IncidentDetail, catalog: Catalog) -> dict[str, Any]:
    from dispatch_console.kernel.changes import to_jsonable

    data: dict[str, Any] = to_jsonable(dataclasses.asdict(detail))
    data["row"] = row_json(detail.row, catalog)
    data["timeline"] = data.pop("events")
    return data


def _one_line(text: str | None, width: int) -> str:
    return summary(text, width)


def cmd_list(ctx: CliContext) -> int:
    from dispatch_console import incidents
    from dispatch_console.kernel.categories import load_catalog

    catalog = load_catalog(ctx.resources)
    query = incidents.QueueQuery(open_only=ctx.args.open, limit=ctx.args.limit, offset=ctx.args.offset,
                                 text=ctx.args.search, statuses=tuple(ctx.args.status))
    page = incidents.query_incidents(ctx.database(), query)
    if ctx.args.json:
        json.dump({"total": page.total, "incidents": [row_json(r, catalog) for r in page.rows]},
                  sys.stdout, ensure_ascii=False, indent=2)
        print()
        return EXIT_OK
    for r in page.rows:
        print("  ".join((
            r.number, catalog.severity_label(r.severity), catalog.status_label(r.status),
            catalog.category_label(r.category), r.grid_name or "-", fmt_local(r.created_at, "%m-%d %H:%M"),
            _one_line(r.description, 40),
        )))
    print(_("{shown} of {total} incidents").format(shown=len(page.rows), total=page.total))
    return EXIT_OK


def cmd_show(ctx: CliContext) -> int:
    from dispatch_console import incidents
    from dispatch_console.kernel.categories import load_catalog

    catalog = load_catalog(ctx.resources)
    d = incidents.get_incident(ctx.database(), ctx.args.number)
    if ctx.args.json:
        json.dump(detail_json(d, catalog), sys.stdout, ensure_ascii=False, indent=2)
        print()
        return EXIT_OK
    r = d.row
    print(f"{r.number}  {catalog.status_label(r.status)}  {catalog.severity_label(r.severity)}  "
          f"{catalog.category_label(r.category)}  {catalog.source_label(r.source)}")
    for label, value in (
        (_("Grid"), " / ".join(x for x in (r.community_name, r.grid_name) if x)),
        (_("Address"), r.address),
        (_("Reporter"), " ".join(x for x in (r.reporter_name, r.reporter_phone) if x)),
        (_("Owner"), r.owner_name),
        (_("Recorded"), fmt_local(r.created_at)),
        (_("Merged into"), d.merged_into_number),
    ):
        if value:
            print(f"{label}: {value}")
    print(r.description)
    print(_("Timeline:"))
    for e in d.events:
        print(f"  {fmt_local(e.at)}  {e.kind}  {e.username or ''}@{e.station or ''}  {_one_line(e.note, 80)}")
    if d.assignments:
        print(_("Assignments:"))
        for a in d.assignments:
            state = _("released {at}").format(at=fmt_local(a.released_at)) if a.released_at else a.status
            print(f"  {a.name}  {fmt_local(a.assigned_at)}  {state}")
    if d.checklist:
        print(_("Checklist: {done}/{total}").format(done=r.checklist_done, total=r.checklist_total))
        for c in d.checklist:
            print(f"  [{'x' if c.done_at else ' '}] {_one_line(c.text, 80)}")
    return EXIT_OK


def _act(ctx: CliContext, action: Callable[[Any, Any, int, int], IncidentRow]) -> int:
    from dispatch_console import incidents
    from dispatch_console.kernel.categories import load_catalog

    actor = ctx.actor()
    db = ctx.database()
    current = incidents.get_incident(db, ctx.args.number).row
    row = action(db, actor, current.id, current.version)
    catalog = load_catalog(ctx.resources)
    print(f"{row.number}: {catalog.status_label(row.status)}")
    return EXIT_OK


def cmd_ack(ctx: CliContext) -> int:
    from dispatch_console import incidents

    return _act(ctx, incidents.acknowledge)


def cmd_on_scene(ctx: CliContext) -> int:
    from dispatch_console import incidents

    return _act(ctx, incidents.mark_on_scene)


def cmd_resolve(ctx: CliContext) -> int:
    from dispatch_console import incidents

    return _act(ctx, lambda db, a, i, v: incidents.resolve(db, a, i, v, ctx.args.note))


def cmd_close(ctx: CliContext) -> int:
    from dispatch_console import incidents

    return _act(ctx, lambda db, a, i, v: incidents.close(db, a, i, v, ctx.args.note))


def cmd_reopen(ctx: CliContext) -> int:
    from dispatch_console import incidents

    return _act(ctx, lambda db, a, i, v: incidents.reopen(db, a, i, v, ctx.args.note))


def cmd_merge(ctx: CliContext) -> int:
    from dispatch_console import incidents

    return _act(ctx, lambda db, a, i, v: incidents.merge_duplicate(db, a, i, v, ctx.args.into, ctx.args.note))


def cmd_dispatch(ctx: CliContext) -> int:
    from dispatch_console import incidents

    by_code = {u.code: u.id for u in incidents.list_units(ctx.database())}
    missing = [c for c in ctx.args.unit if c not in by_code]
    if missing:
        raise NotFound(_("Unknown unit code(s): {codes}.").format(codes=", ".join(missing)))
    ids = [by_code[c] for c in ctx.args.unit]
    return _act(ctx, lambda db, a, i, v: incidents.assign(db, a, i, v, unit_ids=ids))


def cmd_note(ctx: CliContext) -> int:
    from dispatch_console import incidents

    actor = ctx.actor()
    db = ctx.database()
    current = incidents.get_incident(db, ctx.args.number).row
    incidents.add_note(db, actor, current.id, ctx.args.text)
    print(_("{number}: note added").format(number=current.number))
    return EXIT_OK
