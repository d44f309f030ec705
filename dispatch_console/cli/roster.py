"""``dispatch-console roster import FILE | export FILE --from DAY --to DAY | now [--json] | check``."""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from dispatch_console.cli import EXIT_OK, EXIT_REJECTED, CliContext, Commands, UsageError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.timefmt import fmt_local, local

if TYPE_CHECKING:
    from dispatch_console import rosters


def register(commands: Commands) -> None:
    commands.group("roster", _("duty rosters: import, export, who is on duty"))
    p = commands.add_sub("roster", "import", cmd_import,
                         _("import a roster from .xlsx or .csv (日期, 班次, 岗位, 姓名, 电话)"))
    p.add_argument("file", metavar="FILE")
    p = commands.add_sub("roster", "export", cmd_export, _("export the roster to .xlsx or .csv"))
    p.add_argument("file", metavar="FILE")
    _day_range(p)
    p = commands.add_sub("roster", "now", cmd_now,
                         _("who is on duty at the database's current time, and the next shift"))
    p.add_argument("--json", action="store_true", help=_("JSON for scripts"))
    p = commands.add_sub("roster", "check", cmd_check, _("list the roster's conflicts"))
    _day_range(p)
    p.add_argument("--json", action="store_true", help=_("JSON for scripts"))


def _day_range(p: Any) -> None:
    p.add_argument("--from", dest="from_day", metavar="DAY",
                   help=_("first day (YYYY-MM-DD); default: Monday of this week"))
    p.add_argument("--to", dest="to_day", metavar="DAY", help=_("last day; default: Sunday of next week"))


def _days(ctx: CliContext) -> tuple[date, date]:
    from dispatch_console import rosters

    today = local(ctx.database().now()).date()
    try:
        first = rosters.parse_day(ctx.args.from_day) if ctx.args.from_day else today - timedelta(
            days=today.weekday())
        last = rosters.parse_day(ctx.args.to_day) if ctx.args.to_day else first + timedelta(days=13)
    except ValueError as exc:
        raise UsageError(_("Not a date: {value}").format(value=exc)) from None
    if last < first:
        raise UsageError(_("The last day comes before the first day."))
    return first, last


def cmd_import(ctx: CliContext) -> int:
    from dispatch_console import rosters

    result = rosters.import_roster(ctx.database(), ctx.actor(), ctx.args.file)
    for err in result.rejected:
        print(_("row {row}: {reason}").format(row=err.row, reason=err.reason), file=sys.stderr)
    print(_("{stored} roster rows stored, {rejected} rejected.").format(
        stored=result.stored, rejected=len(result.rejected)))
    return EXIT_OK if result.ok else EXIT_REJECTED


def cmd_export(ctx: CliContext) -> int:
    from dispatch_console import rosters

    first, last = _days(ctx)
    n = rosters.export_roster(ctx.database(), ctx.args.file, first, last)
    print(_("{n} roster rows from {first} to {last} written to {file}.").format(
        n=n, first=first.isoformat(), last=last.isoformat(), file=ctx.args.file))
    return EXIT_OK


def _shift_json(on: rosters.ShiftOnDuty | None) -> dict[str, Any] | None:
    from dispatch_console import rosters

    if on is None:
        return None
    sh = on.shift
    person = [{"name": p.name, "phone": p.phone, "role": p.role} for p in on.people]
    return {"id": sh.id, "day": sh.day, "code": sh.code, "name": sh.name,
            "starts_at": sh.starts_at.isoformat(), "ends_at": sh.ends_at.isoformat(),
            "published": sh.published_at is not None,
            "leaders": [p for p in person if p["role"] == rosters.LEADER_ROLE],
            "officers": [p for p in person if p["role"] != rosters.LEADER_ROLE]}


def _shift_text(title: str, on: rosters.ShiftOnDuty | None) -> list[str]:
    from dispatch_console import rosters

    if on is None:
        return [_("{when}: {shift}").format(when=title, shift=_("no shift on the roster"))]
    lines = [_("{when}: {shift}").format(when=title, shift=rosters.describe_shift(on.shift))]
    for p in on.people:
        lines.append(f"  {rosters.role_label(p.role)}  {p.name}  {p.phone or ''}".rstrip())
    if not on.people:
        lines.append("  " + _("nobody rostered"))
    return lines


def cmd_now(ctx: CliContext) -> int:
    from dispatch_console import rosters

    duty = rosters.now_on_duty(ctx.database())
    if ctx.args.json:
        print(json.dumps({"at": duty.at.isoformat(), "current": _shift_json(duty.current),
                          "next": _shift_json(duty.next)}, ensure_ascii=False))
    else:
        print(_("On duty at {time}").format(time=fmt_local(duty.at, "%Y-%m-%d %H:%M")))
        print("\n".join(_shift_text(_("Now"), duty.current) + _shift_text(_("Next"), duty.next)))
    return EXIT_OK


def cmd_check(ctx: CliContext) -> int:
    from dispatch_console import rosters

    first, last = _days(ctx)
    found = rosters.conflicts(ctx.database(), first, last, resources=ctx.resources)
    if ctx.args.json:
        print(json.dumps([{"kind": c.kind, "shift_id": c.shift_id, "person_id": c.person_id,
                           "message": c.message} for c in found], ensure_ascii=False))
    else:
        for c in found:
            print(c.message)
        print(_("{n} conflicts from {first} to {last}.").format(
            n=len(found), first=first.isoformat(), last=last.isoformat()))
    return EXIT_REJECTED if found else EXIT_OK
