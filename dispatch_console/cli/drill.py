"""``dispatch-console drill list | validate | run | report``: emergency drills from the command line.

``drill run SCENARIO.toml --speed 60`` starts a run and drives it (injects, the drill clock, the
drill's timers) until its duration has passed; officers work the injects at their consoles.
Ctrl+C aborts the run. ``drill report RUN_ID`` prints the after-action report with the earlier
runs of the same scenario; ``--json`` prints it for machines.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from dispatch_console.cli import EXIT_OK, EXIT_REJECTED, CliContext, Commands, UsageError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.timefmt import fmt_local

if TYPE_CHECKING:
    from dispatch_console.drills import Scenario


def register(commands: Commands) -> None:
    commands.group("drill", _("emergency drills: scenarios, runs and after-action reports"))
    p = commands.add_sub("drill", "list", cmd_list, _("the drill scenarios and the latest runs"))
    p.add_argument("--json", action="store_true", help=_("print JSON"))
    p = commands.add_sub("drill", "validate", cmd_validate, _("check drill scenario files"))
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help=_("scenario files (TOML)"))
    p = commands.add_sub("drill", "run", cmd_run, _("run a drill scenario on the accelerated drill clock"))
    p.add_argument("scenario", metavar="SCENARIO", help=_("a scenario file, or the code of a shipped scenario"))
    p.add_argument("--speed", type=float, default=1.0, help=_("drill clock speed (60 = a minute per second)"))
    p.add_argument("--interval", type=float, default=0.2, help=_("seconds between steps of the drill clock"))
    p = commands.add_sub("drill", "report", cmd_report, _("the after-action report of a drill run"))
    p.add_argument("run_id", type=int, metavar="RUN_ID", help=_("the drill run's id"))
    p.add_argument("--json", action="store_true", help=_("print JSON"))


def find_scenario(ctx: CliContext, name: str) -> Scenario:
    from dispatch_console.drills import load_scenario, shipped_scenarios

    path = Path(name)
    if path.suffix == ".toml" or path.exists():
        return load_scenario(path, ctx.resources)
    for candidate in shipped_scenarios(ctx.resources):
        scenario = load_scenario(candidate, ctx.resources)
        if name in (scenario.code, candidate.stem):
            return scenario
    raise UsageError(_("No drill scenario {name}; give a file or one of the codes from: drill list").format(
        name=name))


def cmd_list(ctx: CliContext) -> int:
    from dispatch_console import drills
    from dispatch_console.drills import ScenarioError, load_scenario, shipped_scenarios

    scenarios, broken = [], []
    for path in shipped_scenarios(ctx.resources):
        try:
            scenarios.append(load_scenario(path, ctx.resources))
        except ScenarioError as exc:
            broken.extend(exc.problems)
    runs = drills.list_runs(ctx.database(), limit=20)
    if ctx.args.json:
        print(json.dumps({
            "scenarios": [{"code": s.code, "name": s.name, "file": s.source, "injects": len(s.injects),
                           "duration_s": s.duration_s} for s in scenarios],
            "runs": [{"id": r.id, "scenario": r.scenario_code, "status": r.status, "speed": r.speed,
                      "started_at": r.started_at.isoformat(),
                      "ended_at": r.ended_at.isoformat() if r.ended_at else None} for r in runs],
        }, ensure_ascii=False))
    else:
        print(_("Scenarios:"))
        for s in scenarios:
            print(f"  {s.code}  {s.name}  " + _("{count} injects, {minutes} min").format(
                count=len(s.injects), minutes=round(s.duration_s / 60)))
        print(_("Runs:") if runs else _("No drill has been run yet."))
        for r in runs:
            print(f"  #{r.id}  {r.scenario_name}  {r.status_label}  ×{r.speed:g}  {fmt_local(r.started_at)}")
    for problem in broken:
        print(str(problem), file=sys.stderr)
    return EXIT_REJECTED if broken else EXIT_OK


def cmd_validate(ctx: CliContext) -> int:
    from dispatch_console.drills import ScenarioError, load_scenario

    bad = 0
    for path in ctx.args.files:
        try:
            scenario = load_scenario(path, ctx.resources)
        except ScenarioError as exc:
            bad += 1
            for problem in exc.problems:
                print(str(problem), file=sys.stderr)
            continue
        print(_("{file}: ok ({name}, {count} injects)").format(file=path, name=scenario.name,
                                                               count=len(scenario.injects)))
    return EXIT_REJECTED if bad else EXIT_OK


def cmd_run(ctx: CliContext) -> int:
    from dispatch_console import drills
    from dispatch_console.drills import ScenarioError

    try:
        scenario = find_scenario(ctx, ctx.args.scenario)
    except ScenarioError as exc:
        for problem in exc.problems:
            print(str(problem), file=sys.stderr)
        return EXIT_REJECTED
    db = ctx.database()
    actor = ctx.actor()
    run = drills.start_drill(db, actor, scenario, ctx.args.speed)
    print(_("Drill run {id} started: {name} at {speed}× speed.").format(id=run.id, name=scenario.name,
                                                                        speed=f"{run.speed:g}"), flush=True)
    try:
        while True:
            result = drills.tick(db, ctx.station, run.id)
            for key in result.fired:
                clock = drills.fmt_s(scenario.inject(key).at_s)
                print(f"[{clock}] " + _("inject {key}: {title}").format(key=key, title=scenario.inject(key).title),
                      flush=True)
            if result.run is None or not result.run.active:
                break
            time.sleep(max(0.02, ctx.args.interval))
    except KeyboardInterrupt:
        current = drills.get_run(db, run.id)
        if current.active:
            drills.abort_drill(db, actor, run.id, current.version)
        print(_("Drill run {id} aborted.").format(id=run.id))
    report = drills.build_report(db, run.id)
    print(_("Drill run {id} {status}: {met} expected actions met, {missed} missed, {escalations} escalations.")
          .format(id=run.id, status=drills.get_run(db, run.id).status_label, met=report.met, missed=report.missed,
                  escalations=report.escalation_count))
    print(_("Report: dispatch-console drill report {id}").format(id=run.id))
    return EXIT_OK




def cmd_report(ctx: CliContext) -> int:
    from dispatch_console import drills

    db = ctx.database()
    report = drills.build_report(db, ctx.args.run_id)
    runs = drills.compare_runs(db, report.scenario_code)
    if ctx.args.json:
        data = drills.report_json(report)
        data["comparison"] = [{"run_id": r.run_id, "started_at": r.started_at.isoformat(), "speed": r.speed,
                               "status": r.status, "met": r.met, "missed": r.missed, "escalations": r.escalations,
                               "injects": {k: {"acknowledge_s": v[0], "dispatch_s": v[1], "arrive_s": v[2]}
                                           for k, v in r.per_inject.items()}} for r in runs]
        print(json.dumps(data, ensure_ascii=False))
        return EXIT_OK
    for line in drills.report_lines(report, runs):
        print(line)
    return EXIT_OK
