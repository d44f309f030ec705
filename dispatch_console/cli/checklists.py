"""``dispatch-console checklists list | validate``: the templates and reporting policy in force.

Both read the shipped files with the site's config folder laid over them and report every broken
file with its line; the exit code is 1 when any file is broken, so a site can check its changes
before the consoles load them.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from dispatch_console.cli import EXIT_OK, EXIT_REJECTED, CliContext, Commands
from dispatch_console.kernel.i18n import _

if TYPE_CHECKING:
    from dispatch_console import checklists


def register(commands: Commands) -> None:
    commands.group("checklists", _("emergency-response checklist templates"))
    p = commands.add_sub("checklists", "list", cmd_list, _("list the checklist templates in force"))
    p.add_argument("--json", action="store_true", help=_("print JSON"))
    p = commands.add_sub("checklists", "validate", cmd_validate,
                         _("check the checklist templates and the reporting policy"))
    p.add_argument("--json", action="store_true", help=_("print JSON"))


def _load(ctx: CliContext) -> tuple[list[checklists.Template], checklists.ReportingPolicy | None,
                                    list[checklists.TemplateError]]:
    from dispatch_console import checklists

    templates, errors = checklists.load_templates(ctx.resources)
    policy, policy_errors = checklists.load_reporting_policy(ctx.resources)
    return templates, policy, errors + policy_errors


def _template_json(t: checklists.Template) -> dict[str, Any]:
    return {
        "code": t.code, "name": t.name, "version": t.version, "hash": t.content_hash, "path": t.path,
        "fallback": t.fallback,
        "match": [{"categories": list(r.categories), "severities": list(r.severities),
                   "keywords": list(r.keywords), "min_people": r.min_people} for r in t.rules],
        "steps": [s.as_dict() for s in t.steps],
    }


def _policy_json(p: checklists.ReportingPolicy | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {"version": p.version, "hash": p.content_hash, "path": p.path,
            "levels": [{"name": lv.name, "severities": list(lv.severities),
                        "steps": [s.as_dict() for s in lv.steps]} for lv in p.levels]}


def _print_errors(errors: list[checklists.TemplateError]) -> None:
    for error in errors:
        print(str(error), file=sys.stderr)


def cmd_list(ctx: CliContext) -> int:
    templates, policy, errors = _load(ctx)
    if ctx.args.json:
        print(json.dumps({"templates": [_template_json(t) for t in templates], "reporting": _policy_json(policy),
                          "errors": [e.as_dict() for e in errors]}, ensure_ascii=False, indent=2))
    else:
        for t in templates:
            if t.fallback:
                match = _("generic")
            else:
                match = " | ".join(
                    " ".join(filter(None, [",".join(r.categories), "/".join(r.keywords),
                                           ",".join(str(s) for s in r.severities),
                                           f">={r.min_people}" if r.min_people else ""]))
                    for r in t.rules)
            print(_("{code:16} {name} v{version}  {n} steps  match: {match}  ({path})").format(
                code=t.code, name=t.name, version=t.version, n=len(t.steps), match=match, path=t.path))
        if policy is not None:
            for lv in policy.levels:
                deadlines = ", ".join(
                    f"{s.key} {int(s.deadline_minutes)}m" if s.deadline_minutes else s.key for s in lv.steps)
                print(_("reporting v{version} severity {sev}: {steps}").format(
                    version=policy.version, sev=",".join(str(s) for s in lv.severities), steps=deadlines))
    _print_errors(errors)
    return EXIT_REJECTED if errors else EXIT_OK


def cmd_validate(ctx: CliContext) -> int:
    templates, policy, errors = _load(ctx)
    if ctx.args.json:
        print(json.dumps({"ok": not errors, "templates": len(templates),
                          "reporting": policy.path if policy else None,
                          "errors": [e.as_dict() for e in errors]}, ensure_ascii=False, indent=2))
    else:
        _print_errors(errors)
        print(_("{n} templates valid, {e} errors.").format(n=len(templates), e=len(errors)))
    return EXIT_REJECTED if errors else EXIT_OK
