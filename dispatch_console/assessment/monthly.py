"""The monthly assessment (目标管理考核) and tracing responsibility back (责任倒查).

For the incidents recorded in a calendar month (local time, Asia/Shanghai; drills never count),
per community, per grid and per unit sent, against the escalation policy's targets of each
incident's severity:

- **counts**; for each target (受理 ack, 派遣 dispatch, 到场 arrive, 办结 resolve) the **on-time
  rate** — met ÷ (met + breached), where an incident still short of its step counts as breached
  once its deadline has passed at the moment of the report and as pending (left out) before —
  and the **90th percentile** of the times taken (nearest rank: the smallest time at least 90 %
  of the measured incidents took no longer than);
- **information-reporting deadlines** (首报 30 min by phone, 1 h written, 续报, 终报): the
  checklist's reporting steps, met when ticked by their due time;
- **every breached deadline** with who held the incident at the moment it breached, read from
  the audit log: whoever recorded it, then whoever acknowledged it, then whoever it was handed
  over to (``owner_user_id`` in the audited row), the last of these at or before the breach.

For a unit the arrive target is measured from the incident's recording to that unit's arrival.

Per category × severity, the run cards' proposals against what was sent (``protocols.compare``,
the same verdicts as the drill after-action report): incidents with a proposal, accepted
unchanged, changed (with the units added and removed), dispatched without a proposal.

The follow-up visits (回访) due in the period, on time, late or missed, and the satisfaction asked,
per unit, community and grid of the case (``visits``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import Area, Assignment, AuditLog, ChecklistItem, DispatchProposal, Incident, Unit, User
from dispatch_console.assessment.visits import Visits, VisitStats, follow_up_visits
from dispatch_console.escalation.service import EscalationPolicy, policy
from dispatch_console.kernel.errors import ValidationError
from dispatch_console.kernel.i18n import N_, _
from dispatch_console.kernel.timefmt import LOCAL_TZ
from dispatch_console.protocols.compare import DispatchComparison, compare_dispatch

TARGETS: dict[str, str] = {
    "ack": N_("Acknowledge"),
    "dispatch": N_("Dispatch"),
    "arrive": N_("Arrive"),
    "resolve": N_("Resolve"),
}
_REACHED = {"ack": "acknowledged_at", "dispatch": "dispatched_at", "arrive": "on_scene_at", "resolve": "resolved_at"}
_COLUMNS = (Incident.id, Incident.number, Incident.category, Incident.severity, Incident.grid_id, Incident.created_at,
            Incident.acknowledged_at, Incident.dispatched_at, Incident.on_scene_at, Incident.resolved_at,
            Incident.owner_user_id, Incident.created_by)
_COLUMN_OF = {kind: [c.key for c in _COLUMNS].index(column) for kind, column in _REACHED.items()}


def p90(values: Iterable[float]) -> float | None:
    """The nearest-rank 90th percentile (None for no values)."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[max(math.ceil(0.9 * len(ordered)) - 1, 0)]


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """``2026-11`` (a month) or ``2026-Q4`` (a quarter) → its first instant and the next period's
    first instant, local time, as UTC."""
    text = month.strip().upper()
    try:
        year_s, part = text.split("-")
        year = int(year_s)
        if part.startswith("Q"):
            quarter = int(part[1:])
            if not 1 <= quarter <= 4:
                raise ValueError(part)
            first_month, months = quarter * 3 - 2, 3
        else:
            first_month, months = int(part), 1
        first = date(year, first_month, 1)
    except ValueError:
        raise ValidationError(_("{month} is not a month or a quarter (write YYYY-MM or YYYY-Qn).").format(
            month=month), "month") from None
    if not 2000 <= year <= 2100:
        raise ValidationError(_("{month} is outside the years 2000–2100.").format(month=month), "month")
    after = first_month - 1 + months
    nxt = date(year + after // 12, after % 12 + 1, 1)
    start = datetime(first.year, first.month, 1, tzinfo=LOCAL_TZ).astimezone(UTC)
    end = datetime(nxt.year, nxt.month, 1, tzinfo=LOCAL_TZ).astimezone(UTC)
    return start, end


@dataclass
class TargetStats:
    met: int = 0
    breached: int = 0
    pending: int = 0
    seconds: list[float] = field(default_factory=list)

    @property
    def on_time_rate(self) -> float | None:
        judged = self.met + self.breached
        return self.met / judged if judged else None

    @property
    def p90_seconds(self) -> float | None:
        return p90(self.seconds)

    def add(self, taken: float | None, limit: float, elapsed: float) -> str:
        """One incident's step: taken (seconds) or None if not reached; elapsed since the start now."""
        if taken is not None:
            self.seconds.append(taken)
            if taken <= limit:
                self.met += 1
                return "met"
            self.breached += 1
            return "breached"
        if elapsed > limit:
            self.breached += 1
            return "breached"
        self.pending += 1
        return "pending"

    def as_dict(self) -> dict[str, Any]:
        return {"met": self.met, "breached": self.breached, "pending": self.pending,
                "on_time_rate": self.on_time_rate, "p90_seconds": self.p90_seconds}


@dataclass
class GroupRow:
    level: str  # street | community | grid | unit
    name: str
    incidents: int = 0
    targets: dict[str, TargetStats] = field(default_factory=lambda: {k: TargetStats() for k in TARGETS})
    reports: TargetStats = field(default_factory=TargetStats)

    def as_dict(self) -> dict[str, Any]:
        return {"level": self.level, "name": self.name, "incidents": self.incidents,
                "targets": {k: v.as_dict() for k, v in self.targets.items()}, "reports": self.reports.as_dict()}


@dataclass(frozen=True)
class Breach:
    incident_id: int
    number: str
    severity: int
    target: str            # ack | dispatch | arrive | resolve | a reporting step's key
    label: str
    due_at: datetime
    reached_at: datetime | None
    holder: str | None
    community: str | None
    grid: str | None
    unit: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"incident": self.number, "severity": self.severity, "target": self.target, "label": self.label,
                "due_at": self.due_at.isoformat(), "reached_at": self.reached_at.isoformat() if self.reached_at
                else None, "holder": self.holder, "community": self.community, "grid": self.grid,
                "unit": self.unit}


@dataclass
class ProposalStats:
    """The run cards' proposals against what was sent, for one category × severity."""

    category: str
    severity: int
    incidents: int = 0
    with_proposal: int = 0
    accepted: int = 0
    changed: int = 0
    units_added: int = 0
    units_removed: int = 0
    without: int = 0      # units sent, no proposal
    not_sent: int = 0     # nothing sent at all

    def add(self, c: DispatchComparison) -> None:
        self.incidents += 1
        self.with_proposal += c.has_proposal
        self.accepted += c.verdict == "accepted"
        self.changed += c.verdict == "changed"
        self.units_added += len(c.added)
        self.units_removed += len(c.removed)
        self.without += c.verdict == "without"
        self.not_sent += c.verdict == "none"

    def add_without_proposal(self, sent: bool) -> None:
        """An incident no run card proposed for: what :meth:`add` counts of its comparison
        (verdict ``without`` when units were sent, else ``none``; nothing added or removed)."""
        self.incidents += 1
        self.without += sent
        self.not_sent += not sent

    def as_dict(self) -> dict[str, Any]:
        return {"category": self.category, "severity": self.severity, "incidents": self.incidents,
                "with_proposal": self.with_proposal, "accepted": self.accepted, "changed": self.changed,
                "units_added": self.units_added, "units_removed": self.units_removed, "without": self.without,
                "not_sent": self.not_sent}


@dataclass
class Assessment:
    month: str
    start: datetime
    end: datetime
    made_at: datetime
    street: GroupRow
    by_severity: dict[int, GroupRow]
    communities: list[GroupRow]
    grids: list[GroupRow]
    units: list[GroupRow]
    breaches: list[Breach]
    proposals: list[ProposalStats] = field(default_factory=list)  # by category, then severity
    visits: Visits = field(default_factory=lambda: Visits(VisitStats("street", ""), [], [], []))

    def as_dict(self) -> dict[str, Any]:
        return {"month": self.month, "from": self.start.isoformat(), "to": self.end.isoformat(),
                "made_at": self.made_at.isoformat(), "street": self.street.as_dict(),
                "by_severity": {str(k): v.as_dict() for k, v in sorted(self.by_severity.items())},
                "communities": [r.as_dict() for r in self.communities], "grids": [r.as_dict() for r in self.grids],
                "units": [r.as_dict() for r in self.units], "breaches": [b.as_dict() for b in self.breaches],
                "proposals": [p.as_dict() for p in self.proposals], "visits": self.visits.as_dict()}


# ---------------------------------------------------------------------------------------------
# Who held the incident (责任倒查).


class Holders:
    """Who held each incident over time, from its audited rows (read once per report).

    ``incidents`` is a query of the incidents' ids (the report's own selection, read by the
    database beside the audit log: no list of tens of thousands of ids sent back to it)."""

    def __init__(self, session: Session, incidents: Any) -> None:
        self.events: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
        users = dict(session.execute(select(User.id, User.display_name)).all())
        by_name = dict(session.execute(select(User.username, User.display_name)).all())
        owners: dict[int, Any] = {}
        rows = session.execute(
            select(AuditLog.entity_id, AuditLog.at, AuditLog.action, AuditLog.username, AuditLog.user_id,
                   AuditLog.after).where(AuditLog.entity == "incident", AuditLog.entity_id.in_(incidents))
            .order_by(AuditLog.id)).all()
        for r in rows:
            iid = int(r.entity_id)
            who: str | None = None
            owner = (r.after or {}).get("owner_user_id") if isinstance(r.after, dict) else None
            if owner is not None and owner != owners.get(iid):
                owners[iid] = owner
                who = users.get(owner, str(owner))
            elif r.action in ("incident.create", "incident.acknowledged"):
                who = users.get(r.user_id) if r.user_id is not None else by_name.get(r.username, r.username)
                who = who or r.username
            if who:
                self.events[iid].append((r.at, who))

    def at(self, incident_id: int, moment: datetime) -> str | None:
        holder = None
        for when, who in self.events.get(incident_id, []):
            if when <= moment:
                holder = who
            else:
                break
        return holder


# ---------------------------------------------------------------------------------------------
# The computation.


def _seconds(a: datetime | None, b: datetime) -> float | None:
    return None if a is None else max((a - b).total_seconds(), 0.0)


def _merge(into: TargetStats, part: TargetStats) -> None:
    into.met += part.met
    into.breached += part.breached
    into.pending += part.pending
    into.seconds.extend(part.seconds)


def _roll_up(into: GroupRow, cell: GroupRow) -> None:
    """Add one cell's figures (the incidents of one severity in one grid) to a group's."""
    into.incidents += cell.incidents
    for kind, stats in cell.targets.items():
        _merge(into.targets[kind], stats)
    _merge(into.reports, cell.reports)


def assess(db: Database, month: str, *, escalation: EscalationPolicy | None = None) -> Assessment:
    start, end = month_bounds(month)
    return assess_between(db, month, start, end, escalation=escalation)


def assess_between(db: Database, label: str, start: datetime, end: datetime, *,
                   escalation: EscalationPolicy | None = None) -> Assessment:
    """The assessment of the incidents recorded in ``[start, end)`` (a week's duty report uses it).

    Each incident's steps are judged once, into the cell of its severity and grid; the street, the
    severities, the communities and the grids are then the sums of their cells (the counts added,
    the times measured gathered for the percentile). The units sent, the checklist's reporting
    steps and the audited rows are read for the period's incidents as one selection each, by the
    database, never as lists of ids.
    """
    rules = escalation or policy()
    counted = (Incident.created_at >= start, Incident.created_at < end, Incident.is_drill.is_(False),
               Incident.merged_into_id.is_(None), Incident.status != "cancelled")
    chosen = select(Incident.id).where(*counted)
    with db.read() as s:
        now = db_now(s)
        # the columns the figures read, not ORM objects: a month of a busy street is tens of thousands
        incidents = s.execute(select(*_COLUMNS).where(*counted).order_by(Incident.created_at, Incident.id)).all()
        areas: dict[int, tuple[str, int | None]] = {int(a.id): (a.name, a.parent_id) for a in s.execute(
            select(Area.id, Area.name, Area.parent_id).where(Area.level.in_(("community", "grid"))))}
        units = dict(s.execute(select(Unit.id, Unit.name)).all())
        sent: dict[int, list[Any]] = defaultdict(list)
        reports: dict[int, list[Any]] = defaultdict(list)
        for a in s.execute(select(Assignment.incident_id, Assignment.unit_id, Assignment.arrived_at).where(
                Assignment.incident_id.in_(chosen), Assignment.unit_id.is_not(None)).order_by(Assignment.id)):
            sent[a.incident_id].append(a)
        for item in s.execute(select(ChecklistItem.incident_id, ChecklistItem.due_at, ChecklistItem.done_at,
                                     ChecklistItem.step_key, ChecklistItem.text).where(
                ChecklistItem.incident_id.in_(chosen), ChecklistItem.report_kind.is_not(None),
                ChecklistItem.due_at.is_not(None)).order_by(ChecklistItem.id)):
            reports[item.incident_id].append(item)
        holders = Holders(s, chosen)
        # the run cards' comparisons of the incidents proposed for (the others: sent or not, below)
        compared = compare_dispatch(s, list(s.execute(select(DispatchProposal.incident_id).where(
            DispatchProposal.incident_id.in_(chosen)).distinct()).scalars()))
        # an incident without audited rows (a database seeded in bulk): its owner, else who recorded it
        people = dict(s.execute(select(User.id, User.display_name)).all())
        visits = follow_up_visits(s, start, end, now)
    cells: dict[tuple[int, int | None], GroupRow] = {}
    unit_rows: dict[int, GroupRow] = {}
    breaches: list[Breach] = []
    proposals: dict[tuple[str, int], ProposalStats] = {}
    labels = {kind: _(name) for kind, name in TARGETS.items()}
    # an area's community and grid names, as a breach names them (a grid's parent community)
    places: dict[int | None, tuple[str | None, str | None]] = {None: (None, None)}
    for area_id, (name, parent) in areas.items():
        places[area_id] = (areas[parent][0] if parent is not None and parent in areas else None, name)
    # per severity, its targets in the policy's order: (kind, limit, limit in seconds, the column)
    steps = {severity: [(kind, limit, limit.total_seconds(), _COLUMN_OF[kind]) for kind, limit in p.targets.items()]
             for severity, p in rules.severities.items()}
    for inc in incidents:
        row_values = tuple(inc)
        iid, severity, created = row_values[0], row_values[3], row_values[5]
        stats = proposals.get((inc.category, severity))
        if stats is None:
            stats = proposals[(inc.category, severity)] = ProposalStats(inc.category, severity)
        comparison = compared.get(iid)
        if comparison is not None:
            stats.add(comparison)
        else:
            stats.add_without_proposal(iid in sent)
        grid_id = inc.grid_id if inc.grid_id in areas else None
        where = places[grid_id]
        key = (severity, grid_id)
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = GroupRow("cell", "")
        cell.incidents += 1
        targets = rules.for_severity(severity).targets
        elapsed = (now - created).total_seconds()
        fallback = people.get(inc.owner_user_id or inc.created_by or 0)
        judged = cell.targets
        for kind, limit_td, limit_s, column in steps[severity]:
            # TargetStats.add, written out: the step judged for tens of thousands of incidents
            reached = row_values[column]
            judging = judged[kind]
            if reached is None:
                late = elapsed > limit_s
                if late:
                    judging.breached += 1
                else:
                    judging.pending += 1
            else:
                taken = (reached - created).total_seconds()
                if taken < 0.0:  # as _seconds: reached before it was recorded counts as no time
                    taken = 0.0
                judging.seconds.append(taken)
                late = taken > limit_s
                if late:
                    judging.breached += 1
                else:
                    judging.met += 1
            if late:
                due = created + limit_td
                breaches.append(Breach(iid, inc.number, severity, kind, labels[kind], due, reached,
                                       holders.at(iid, due) or fallback, *where))
        arrive = targets.get("arrive")
        for a in sent.get(inc.id, ()):
            row = unit_rows.get(a.unit_id)
            if row is None:
                row = unit_rows[a.unit_id] = GroupRow("unit", units.get(a.unit_id, str(a.unit_id)))
            row.incidents += 1
            if arrive is not None:
                taken = _seconds(a.arrived_at, created)
                if row.targets["arrive"].add(taken, arrive.total_seconds(), elapsed) == "breached":
                    due = created + arrive
                    breaches.append(Breach(inc.id, inc.number, inc.severity, "arrive", labels["arrive"], due,
                                           a.arrived_at, holders.at(inc.id, due) or fallback, *where,
                                           unit=units.get(a.unit_id)))
        for item in reports.get(inc.id, ()):
            limit = (item.due_at - created).total_seconds()
            if cell.reports.add(_seconds(item.done_at, created), limit, elapsed) == "breached":
                breaches.append(Breach(inc.id, inc.number, inc.severity, item.step_key, item.text[:60],
                                       item.due_at, item.done_at, holders.at(inc.id, item.due_at) or fallback,
                                       *where))
    # the groups, each the sum of its cells (in the order the incidents first named them)
    street = GroupRow("street", _("The street"))
    severities: dict[int, GroupRow] = {}
    communities: dict[int, GroupRow] = {}
    grids: dict[int, GroupRow] = {}
    for (severity, grid_id), cell in cells.items():
        if severity not in severities:
            severities[severity] = GroupRow("severity", str(severity))
        groups = [street, severities[severity]]
        if grid_id is not None:
            name, parent = areas[grid_id]
            if parent is not None and parent in areas:
                if parent not in communities:
                    communities[parent] = GroupRow("community", areas[parent][0])
                groups.append(communities[parent])
            if grid_id not in grids:
                grids[grid_id] = GroupRow("grid", name)
            groups.append(grids[grid_id])
        for group in groups:
            _roll_up(group, cell)
    breaches.sort(key=attrgetter("due_at", "number", "target"))
    return Assessment(label, start, end, now, street, severities,
                      sorted(communities.values(), key=lambda r: r.name), sorted(grids.values(), key=lambda r: r.name),
                      sorted(unit_rows.values(), key=lambda r: r.name), breaches,
                      [proposals[k] for k in sorted(proposals)], visits)
