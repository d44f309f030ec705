"""``dispatch-console protocols list | validate | propose``: question sets and run cards in force.

``validate`` reads every question set and the run cards (the site's config folder laid over the
shipped files) and names each broken file with its line; exit code 1 when one is broken.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from dispatch_console.cli import EXIT_OK, EXIT_REJECTED, CliContext, Commands
from dispatch_console.kernel.i18n import _


def register(commands: Commands) -> None:
    commands.group("protocols", _("call-taking questions and recommended forces"))
    p = commands.add_sub("protocols", "list", cmd_list, _("list the question sets and run cards in force"))
    p.add_argument("--json", action="store_true", help=_("print JSON"))
    p = commands.add_sub("protocols", "validate", cmd_validate, _("check the question sets and the run cards"))
    p.add_argument("--json", action="store_true", help=_("print JSON"))
    p = commands.add_sub("protocols", "propose", cmd_propose,
                         _("the units the run card proposes for an incident, the nearest first"))
    p.add_argument("number", help=_("the incident's number"))
    p.add_argument("--json", action="store_true", help=_("print JSON"))


def _load(ctx: CliContext) -> tuple[Any, Any, list[Any]]:
    from dispatch_console.kernel.categories import load_catalog
    from dispatch_console.protocols import load_run_cards, load_sets

    codes = load_catalog(ctx.resources).category_codes
    sets, errors = load_sets(ctx.resources, codes)
    cards, card_errors = load_run_cards(ctx.resources, codes)
    return sets, cards, errors + card_errors


def cmd_list(ctx: CliContext) -> int:
    sets, cards, errors = _load(ctx)
    if ctx.args.json:
        print(json.dumps({
            "sets": [{"code": q.code, "name": q.name, "version": q.version, "path": q.path,
                      "categories": list(q.categories), "fallback": q.fallback, "questions": len(q.questions)}
                     for q in sets],
            "run_cards": None if cards is None else [
                {"category": c.category, "severities": list(c.severities), "name": c.name,
                 "units": dict(c.units), "grid_staff": c.grid_staff} for c in cards.cards],
            "errors": [e.as_dict() for e in errors]}, ensure_ascii=False, indent=2))
    else:
        for q in sets:
            print(_("{code:16} {name} v{version}  {n} questions  for: {cats}  ({path})").format(
                code=q.code, name=q.name, version=q.version, n=len(q.questions),
                cats=_("every category") if q.fallback else ",".join(q.categories), path=q.path))
        for c in (cards.cards if cards else ()):
            units = ", ".join(f"{k}×{n}" for k, n in c.units)
            print(_("run card {name}: {units}, grid staff ×{staff}").format(name=c.name, units=units or "—",
                                                                          staff=c.grid_staff))
    for error in errors:
        print(str(error), file=sys.stderr)
    return EXIT_REJECTED if errors else EXIT_OK


def cmd_validate(ctx: CliContext) -> int:
    sets, cards, errors = _load(ctx)
    if ctx.args.json:
        print(json.dumps({"ok": not errors, "sets": len(sets), "run_cards": cards is not None,
                          "errors": [e.as_dict() for e in errors]}, ensure_ascii=False, indent=2))
    else:
        for error in errors:
            print(str(error), file=sys.stderr)
        print(_("{n} question sets valid, {e} errors.").format(n=len(sets), e=len(errors)))
    return EXIT_REJECTED if errors else EXIT_OK


def cmd_propose(ctx: CliContext) -> int:
    from dispatch_console.incidents import get_incident
    from dispatch_console.protocols import propose

    _sets, cards, errors = _load(ctx)
    if cards is None:
        for error in errors:
            print(str(error), file=sys.stderr)
        return EXIT_REJECTED
    db = ctx.database()
    row = get_incident(db, ctx.args.number).row
    proposal = propose(db, cards, row.id)
    if proposal is None:
        print(_("No run card fits {number}.").format(number=row.number), file=sys.stderr)
        return EXIT_REJECTED
    if ctx.args.json:
        print(json.dumps(proposal.as_dict(), ensure_ascii=False, indent=2))
        return EXIT_OK
    print(_("{number}: run card {card}").format(number=row.number, card=proposal.card))
    for line in proposal.lines:
        names = ", ".join(
            f"{c.name} ({c.distance_m / 1000:.1f} km)" if c.distance_m is not None else c.name for c in line.proposed)
        short = _(" — {n} short").format(n=line.short) if line.short else ""
        print(f"  {line.label} ×{line.wanted}: {names or '—'}{short}")
    for p in proposal.staff:
        print(f"  {p.role_label}: {p.name}")
    return EXIT_OK
