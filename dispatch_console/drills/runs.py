"""Reading drill runs: one run by id, the scenario exactly as the run got it, status labels.

Both the director's controls (:mod:`dispatch_console.drills.service`) and the after-action
report (:mod:`dispatch_console.drills.report`) read runs through here.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from db.engine import Database
from db.models import DrillRun
from dispatch_console.drills.scenario import Scenario, parse_scenario
from dispatch_console.kernel.errors import NotFound
from dispatch_console.kernel.i18n import N_, _

STATUS_LABELS = {"running": N_("running"), "paused": N_("paused"), "finished": N_("finished"),
                 "aborted": N_("aborted")}


def load_run(session: Session, run_id: int) -> DrillRun:
    run = session.get(DrillRun, run_id)
    if run is None:
        raise NotFound(_("No drill run with id {id}.").format(id=run_id))
    return run


def scenario_of(db: Database, run_id: int) -> Scenario:
    """The scenario exactly as the run got it."""
    with db.read() as s:
        run = load_run(s, run_id)
        data = {k: v for k, v in (run.scenario or {}).items() if not k.startswith("_")}
        return parse_scenario(data, str((run.scenario or {}).get("_source", run.scenario_code)))
