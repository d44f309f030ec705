"""Shared set-up for the handover tests: a night shift handing over to the day shift."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from db.engine import Database
from dispatch_console import rosters as roster
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.timefmt import local
from dispatch_console.users.accounts import actor_for, create_user
from support.roster_fixtures import DAY, duty_room, staff_shift


@dataclass
class Handover:
    outgoing: int  # shift ids
    incoming: int
    wang: Actor  # outgoing leader (night)
    li: Actor  # incoming leader (day)
    zhang: Actor  # outgoing officer
    chen: Actor  # incoming officer


def account(db: Database, system: Actor, username: str, role: str, person_id: int, station: str) -> Actor:
    with db.write() as s:
        user = create_user(s, system, username=username, password="pw", role=role, display_name=username,
                           person_id=person_id)
        return actor_for(user, station)


def two_shifts(db: Database, system: Actor, outgoing: tuple[date, str], incoming: tuple[date, str]) -> Handover:
    """The outgoing shift (王强 leading, 张伟 and 刘洋) and the incoming one (李娜, 陈静, 赵磊)."""
    room = duty_room(db, system)
    roster.ensure_shifts(db, system, min(outgoing[0], incoming[0]), max(outgoing[0], incoming[0]))
    out = staff_shift(db, system, outgoing[0], outgoing[1], room["王强"], room["张伟"], room["刘洋"])
    into = staff_shift(db, system, incoming[0], incoming[1], room["李娜"], room["陈静"], room["赵磊"])
    return Handover(
        out, into,
        account(db, system, "wang", "shift_leader", room["王强"], "值班台1"),
        account(db, system, "li", "shift_leader", room["李娜"], "值班台2"),
        account(db, system, "zhang", "duty_officer", room["张伟"], "值班台1"),
        account(db, system, "chen", "duty_officer", room["陈静"], "值班台2"),
    )


def night_to_day(db: Database, system: Actor) -> Handover:
    """Night shift of DAY (20:00–08:00 Asia/Shanghai) handing over to the day shift of DAY + 1."""
    return two_shifts(db, system, (DAY, "night"), (DAY + timedelta(days=1), "day"))


def now_to_next(db: Database, system: Actor) -> Handover:
    """The shift running at the database time handing over to the one after it."""
    today = local(db.now()).date()
    plan = [(today - timedelta(days=1), "night"), (today, "day"), (today, "night"), (today + timedelta(days=1), "day")]
    bounds = {(d, c): roster.shift_bounds(start, 720, "Asia/Shanghai", d)
              for d, c in plan for start in [("08:00" if c == "day" else "20:00")]}
    now = db.now()
    i = next(k for k, key in enumerate(plan) if bounds[key][0] <= now < bounds[key][1])
    return two_shifts(db, system, plan[i], plan[i + 1])


def incident(db: Database, actor: Actor, severity: int, text: str, *, drill: bool = False,
             acknowledge: bool = False) -> incidents.IncidentRow:
    draft = IncidentDraft(category="fire", severity=severity, source="hotline_12345", description=text,
                          address="桃源街道 平山社区 7 号", is_drill=drill)
    row = incidents.create_incident(db, actor, draft).row
    if acknowledge:
        row = incidents.acknowledge(db, actor, row.id, row.version)
    return row


def policy_folder(tmp_path: Path, **values: str) -> Path:
    """A config folder whose policies/handover.toml overrides the shipped durations."""
    folder = tmp_path / "site"
    (folder / "policies").mkdir(parents=True)
    shipped = (Path(__file__).resolve().parents[2] / "resources" / "policies" / "handover.toml").read_text("utf-8")
    lines = [ln for ln in shipped.splitlines() if ln.split("=")[0].strip() not in values]
    head = "\n".join(f'{k} = "{v}"' for k, v in values.items())
    (folder / "policies" / "handover.toml").write_text(head + "\n" + "\n".join(lines) + "\n", "utf-8")
    return folder
