"""``dispatch-console grids list | import | locate``: the jurisdiction from the command line."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from dispatch_console.cli import EXIT_OK, EXIT_REJECTED, CliContext, Commands
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.places import LEVELS

if TYPE_CHECKING:
    from dispatch_console import jurisdiction


def register(commands: Commands) -> None:
    commands.group("grids", _("the jurisdiction: communities, grids and their staff"))
    p = commands.add_sub("grids", "list", cmd_list,
                         _("the jurisdiction tree with each grid's three staff (一格三员)"))
    p.add_argument("--json", action="store_true", help=_("print JSON"))
    p = commands.add_sub("grids", "import", cmd_import, _("import boundaries from a GeoJSON file"))
    p.add_argument("file", metavar="FILE.geojson", help=_("GeoJSON FeatureCollection of polygons"))
    p.add_argument("--level", choices=LEVELS, default="grid", help=_("what the features are"))
    p.add_argument("--name-prop", default="name", metavar="PROP",
                   help=_("the feature property that holds the name (default: name)"))
    p.add_argument("--parent", metavar="NAME",
                   help=_("the area the features belong to (default: the one that contains each)"))
    p = commands.add_sub("grids", "locate", cmd_locate, _("which grid, community, street and district hold a point"))
    p.add_argument("lon", type=float, metavar="LON", help=_("longitude"))
    p.add_argument("lat", type=float, metavar="LAT", help=_("latitude"))
    p.add_argument("--json", action="store_true", help=_("print JSON"))


def _tree_json(rows: list[jurisdiction.CommunityRow]) -> list[dict[str, Any]]:
    return [
        {
            "id": c.id, "code": c.code, "name": c.name, "kind": c.kind, "street": c.street,
            "grids": [
                {"id": g.id, "code": g.code, "name": g.name,
                 "staff": [{"role": s.role, "name": s.name, "phone": s.phone} for s in g.staff]}
                for g in c.grids
            ],
        }
        for c in rows
    ]


def cmd_list(ctx: CliContext) -> int:
    from dispatch_console import jurisdiction

    rows = jurisdiction.tree(ctx.database())
    if ctx.args.json:
        print(json.dumps(_tree_json(rows), ensure_ascii=False, indent=2))
        return EXIT_OK
    if not rows:
        print(_("No communities yet: import boundaries or run db seed-demo."))
    for c in rows:
        kind = f" ({c.kind_label})" if c.kind_label else ""
        print(f"{c.code} {c.name}{kind}")
        for g in c.grids:
            print(f"  {g.code} {g.name}")
            for s in g.staff:
                print(f"    {s.role_label}: {s.name} {s.phone or ''}".rstrip())
    return EXIT_OK


def cmd_import(ctx: CliContext) -> int:
    from dispatch_console import jurisdiction

    args = ctx.args
    report = jurisdiction.import_geojson(ctx.database(), ctx.actor(), args.file, args.level,
                                         name_prop=args.name_prop, parent_name=args.parent)
    for error in report.errors:
        print(_("feature {n}: {reason}").format(n=error.index, reason=error.reason), file=sys.stderr)
    print(report.describe())
    return EXIT_REJECTED if report.errors else EXIT_OK


def cmd_locate(ctx: CliContext) -> int:
    from dispatch_console import jurisdiction

    where = jurisdiction.locate(ctx.database(), ctx.args.lon, ctx.args.lat)
    if ctx.args.json:
        print(json.dumps(where.as_dict(), ensure_ascii=False, indent=2))
    elif where.found:
        for label, ref in ((_("Grid"), where.grid), (_("Community"), where.community),
                           (_("Street"), where.street), (_("District"), where.district)):
            if ref is not None:
                print(f"{label}: {ref.name} ({ref.code})")
    if not where.found:
        print(_("No known area contains {lon}, {lat}.").format(lon=ctx.args.lon, lat=ctx.args.lat),
              file=sys.stderr)
        return EXIT_REJECTED
    return EXIT_OK
