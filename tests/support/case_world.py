"""A small world for the cases tests (no Qt): one community, two grids with their staff, units.

``shorten(tmp_path)`` writes a config folder whose petition.toml and cases.toml make every
deadline seconds long, and points the cases policy at it; ``advance(db, seconds)`` lets time pass
for the pending timers (their due times move closer), as the escalation tests do.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from db.engine import Database
from db.models import Area, Campaign, CampaignGrid, Case, CaseVisit, GridStaff, Person, Timer, Unit
from dispatch_console.cases import policy
from dispatch_console.jurisdiction import import_geojson
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.config import Resources


def _square(lon: float, lat: float, size: float) -> dict[str, Any]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def _feature(name: str, code: str, geometry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"name": name, "code": code}, "geometry": geometry}


def make_case_world(db: Database) -> dict[str, int]:
    """Grids G1 and G2 (G1 with a grid manager 李网格), units SFS (司法所) and XFB (信访办)."""
    system = Actor.system("test")
    import_geojson(db, system, {"type": "FeatureCollection",
                                "features": [_feature("测试社区", "C1", _square(113.90, 22.50, 0.02))]}, "community")
    import_geojson(db, system, {"type": "FeatureCollection", "features": [
        _feature("测试社区第1网格", "G1", _square(113.90, 22.50, 0.01)),
        _feature("测试社区第2网格", "G2", _square(113.91, 22.50, 0.01)),
    ]}, "grid", parent_name="测试社区")
    with db.write() as s:
        grids = {a.code: a.id for a in s.execute(select(Area).where(Area.level == "grid")).scalars()}
        manager = Person(name="李网格", phone="13900000001", active=True)
        s.add(manager)
        s.add_all([Unit(code="SFS", name="桃源司法所", kind="judicial_office", status="available"),
                   Unit(code="XFB", name="桃源信访办", kind="petition_office", status="available")])
        s.flush()
        s.add(GridStaff(grid_id=grids["G1"], person_id=manager.id, role="grid_manager"))
    return grids


SHORT_PETITION = """
accept_within = "15s"
conclude_within = "60s"
max_extension = "30d"
review_request_within = "30s"
review_within = "30s"
re_review_request_within = "30s"
re_review_within = "30s"
escalate_role = "shift_leader"
"""


def shorten(folder: Path, *, petition_toml: str = SHORT_PETITION, cases_toml: str | None = None) -> Resources:
    """A config folder with short deadlines; the cases policy reads it from now on."""
    (folder / "policies").mkdir(parents=True, exist_ok=True)
    (folder / "policies" / "petition.toml").write_text(petition_toml, encoding="utf-8")
    if cases_toml is not None:
        (folder / "policies" / "cases.toml").write_text(cases_toml, encoding="utf-8")
    resources = Resources(folder)
    policy.configure(resources)
    return resources


def advance(db: Database, seconds: float) -> None:
    """Let time pass: pending timers, the cases' times, their visits and the campaigns move ``seconds``
    into the past."""
    back = timedelta(seconds=seconds)
    with db.write() as s:
        for t in s.execute(select(Timer).where(Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))).scalars():
            t.due_at = t.due_at - back
        for c in s.execute(select(Case)).scalars():
            for name in ("created_at", "registered_at", "accepted_at", "replied_at", "agreement_at", "step_due_at"):
                if getattr(c, name) is not None:
                    setattr(c, name, getattr(c, name) - back)
        for v in s.execute(select(CaseVisit).where(CaseVisit.state == "due")).scalars():
            v.due_at = v.due_at - back
        for campaign in s.execute(select(Campaign)).scalars():
            campaign.due_at, campaign.created_at = campaign.due_at - back, campaign.created_at - back
        for line in s.execute(select(CampaignGrid).where(CampaignGrid.reported_at.is_not(None))).scalars():
            line.reported_at = line.reported_at - back if line.reported_at is not None else None
