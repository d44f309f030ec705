"""Follow-up visits (回访) in the assessment: on time, late, missed, and the satisfaction asked.

For the visits due in the period (local time; cancelled visits and drills' cases never count),
per unit responsible for the case, per community and per grid of the case:

- **due**: the visits whose due time falls in the period;
- **on time**: visited at or before the due time; **late**: visited after it; **missed**: not
  visited and the due time has passed at the moment of the report; **pending**: not visited, not
  yet due. The on-time rate is on time ÷ (on time + late + missed);
- **satisfaction** of the visits done: 满意 (satisfied), 基本满意 (basically), 不满意
  (dissatisfied), and the rate (满意 + 基本满意) ÷ the visits where it was answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Area, Case, CaseVisit, Unit
from dispatch_console.kernel.i18n import _

SATISFACTION_KEYS = ("satisfied", "basically", "dissatisfied")


@dataclass
class VisitStats:
    level: str  # street | community | grid | unit
    name: str
    due: int = 0
    on_time: int = 0
    late: int = 0
    missed: int = 0
    pending: int = 0
    satisfied: int = 0
    basically: int = 0
    dissatisfied: int = 0

    @property
    def answered(self) -> int:
        return self.satisfied + self.basically + self.dissatisfied

    @property
    def on_time_rate(self) -> float | None:
        judged = self.on_time + self.late + self.missed
        return self.on_time / judged if judged else None

    @property
    def satisfaction_rate(self) -> float | None:
        return (self.satisfied + self.basically) / self.answered if self.answered else None

    def add(self, due_at: datetime, visited_at: datetime | None, satisfaction: str | None, now: datetime) -> None:
        self.due += 1
        if visited_at is None:
            if due_at <= now:
                self.missed += 1
            else:
                self.pending += 1
        elif visited_at <= due_at:
            self.on_time += 1
        else:
            self.late += 1
        if visited_at is not None and satisfaction in SATISFACTION_KEYS:
            setattr(self, satisfaction, getattr(self, satisfaction) + 1)

    def as_dict(self) -> dict[str, Any]:
        return {"level": self.level, "name": self.name, "due": self.due, "on_time": self.on_time, "late": self.late,
                "missed": self.missed, "pending": self.pending, "on_time_rate": self.on_time_rate,
                "satisfied": self.satisfied, "basically": self.basically, "dissatisfied": self.dissatisfied,
                "answered": self.answered, "satisfaction_rate": self.satisfaction_rate}


@dataclass
class Visits:
    street: VisitStats
    units: list[VisitStats]
    communities: list[VisitStats]
    grids: list[VisitStats]

    def rows(self) -> list[VisitStats]:
        """The street, then the communities, the grids and the units (the tables' order)."""
        return [self.street, *self.communities, *self.grids, *self.units]

    def as_dict(self) -> dict[str, Any]:
        return {"street": self.street.as_dict(), "communities": [r.as_dict() for r in self.communities],
                "grids": [r.as_dict() for r in self.grids], "units": [r.as_dict() for r in self.units]}


def follow_up_visits(session: Session, start: datetime, end: datetime, now: datetime) -> Visits:
    """The visits due in ``[start, end)`` as they stand at ``now`` (the database clock)."""
    rows = session.execute(
        select(CaseVisit.due_at, CaseVisit.visited_at, CaseVisit.satisfaction, Case.grid_id,
               Case.responsible_unit_id)
        .join(Case, Case.id == CaseVisit.case_id)
        .where(CaseVisit.due_at >= start, CaseVisit.due_at < end, CaseVisit.state != "cancelled",
               Case.is_drill.is_(False))).all()
    areas = {a.id: (a.name, a.parent_id, a.level) for a in session.execute(
        select(Area.id, Area.name, Area.parent_id, Area.level).where(Area.level.in_(("community", "grid"))))}
    unit_names = dict(session.execute(select(Unit.id, Unit.name)).all())
    street = VisitStats("street", _("The street"))
    communities: dict[int, VisitStats] = {}
    grids: dict[int, VisitStats] = {}
    units: dict[int, VisitStats] = {}
    for due_at, visited_at, satisfaction, grid_id, unit_id in rows:
        groups = [street]
        grid = areas.get(grid_id) if grid_id is not None else None
        if grid_id is not None and grid is not None and grid[2] == "grid":
            groups.append(grids.setdefault(grid_id, VisitStats("grid", grid[0])))
            parent_id = grid[1]
            community = areas.get(parent_id) if parent_id is not None else None
            if parent_id is not None and community is not None:
                groups.append(communities.setdefault(parent_id, VisitStats("community", community[0])))
        if unit_id is not None:
            groups.append(units.setdefault(unit_id, VisitStats("unit", unit_names.get(unit_id, str(unit_id)))))
        for g in groups:
            g.add(due_at, visited_at, satisfaction, now)

    def by_name(d: dict[int, VisitStats]) -> list[VisitStats]:
        return sorted(d.values(), key=lambda r: r.name)

    return Visits(street, by_name(units), by_name(communities), by_name(grids))
