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
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import Area, Assignment, AuditLog, ChecklistItem, Incident, Unit, User
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
    """Who held each incident over time, from its audited rows (read once per report)."""

    def __init__(self, session: Session, incident_ids: list[int]) -> None:
        self.events: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
        users = dict(session.execute(select(User.id, User.display_name)).all())
        by_name = dict(session.execute(select(User.username, User.display_name)).all())
        owners: dict[int, Any] = {}
        for chunk in range(0, len(incident_ids), 500):
            ids = incident_ids[chunk:chunk + 500]
            rows = session.execute(
                select(AuditLog.entity_id, AuditLog.at, AuditLog.action, AuditLog.username, AuditLog.user_id,
                       AuditLog.after).where(AuditLog.entity == "incident", AuditLog.entity_id.in_(ids))
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


def assess(db: Database, month: str, *, escalation: EscalationPolicy | None = None) -> Assessment:
    start, end = month_bounds(month)
    return assess_between(db, month, start, end, escalation=escalation)


def assess_between(db: Database, label: str, start: datetime, end: datetime, *,
                   escalation: EscalationPolicy | None = None) -> Assessment:
    """The assessment of the incidents recorded in ``[start, end)`` (a week's duty report uses it)."""
    rules = escalation or policy()
    with db.read() as s:
        now = db_now(s)
        # the columns the figures read, not ORM objects: a month of a busy street is tens of thousands
        incidents = s.execute(select(*_COLUMNS).where(
            Incident.created_at >= start, Incident.created_at < end, Incident.is_drill.is_(False),
            Incident.merged_into_id.is_(None), Incident.status != "cancelled").order_by(Incident.created_at,
                                                                                      Incident.id)).all()
        ids = [i.id for i in incidents]
        areas = {a.id: a for a in s.execute(select(Area).where(Area.level.in_(("community", "grid")))).scalars()}
        units = dict(s.execute(select(Unit.id, Unit.name)).all())
        sent: dict[int, list[Assignment]] = defaultdict(list)
        reports: dict[int, list[ChecklistItem]] = defaultdict(list)
        for chunk in range(0, len(ids), 500):
            part = ids[chunk:chunk + 500]
            for a in s.execute(select(Assignment).where(Assignment.incident_id.in_(part),
                                                        Assignment.unit_id.is_not(None))).scalars():
                sent[a.incident_id].append(a)
            for item in s.execute(select(ChecklistItem).where(ChecklistItem.incident_id.in_(part),
                                                              ChecklistItem.report_kind.is_not(None),
                                                              ChecklistItem.due_at.is_not(None))).scalars():
                reports[item.incident_id].append(item)
        holders = Holders(s, ids)
        compared = compare_dispatch(s, ids)
        # an incident without audited rows (a database seeded in bulk): its owner, else who recorded it
        people = dict(s.execute(select(User.id, User.display_name)).all())
        fallback = {i.id: people.get(i.owner_user_id or i.created_by or 0) for i in incidents}
        visits = follow_up_visits(s, start, end, now)
    street = GroupRow("street", _("The street"))
    severities: dict[int, GroupRow] = {}
    communities: dict[int, GroupRow] = {}
    grids: dict[int, GroupRow] = {}
    unit_rows: dict[int, GroupRow] = {}
    breaches: list[Breach] = []
    proposals: dict[tuple[str, int], ProposalStats] = {}
    for inc in incidents:
        proposals.setdefault((inc.category, inc.severity), ProposalStats(inc.category, inc.severity)).add(
            compared[inc.id])
        grid = areas.get(inc.grid_id) if inc.grid_id is not None else None
        community = areas.get(grid.parent_id) if grid is not None and grid.parent_id is not None else None
        groups = [street, severities.setdefault(inc.severity, GroupRow("severity", str(inc.severity)))]
        if community is not None:
            groups.append(communities.setdefault(community.id, GroupRow("community", community.name)))
        if grid is not None:
            groups.append(grids.setdefault(grid.id, GroupRow("grid", grid.name)))
        for g in groups:
            g.incidents += 1
        targets = rules.for_severity(inc.severity).targets
        elapsed = (now - inc.created_at).total_seconds()
        where = (community.name if community else None, grid.name if grid else None)
        for kind, limit_td in targets.items():
            limit = limit_td.total_seconds()
            reached = getattr(inc, _REACHED[kind])
            taken = _seconds(reached, inc.created_at)
            outcome = "pending"
            for g in groups:
                outcome = g.targets[kind].add(taken, limit, elapsed)
            if outcome == "breached":
                due = inc.created_at + limit_td
                breaches.append(Breach(inc.id, inc.number, inc.severity, kind, _(TARGETS[kind]), due, reached,
                                       holders.at(inc.id, due) or fallback[inc.id], *where))
        arrive = targets.get("arrive")
        for a in sent.get(inc.id, []):
            assert a.unit_id is not None
            row = unit_rows.setdefault(a.unit_id, GroupRow("unit", units.get(a.unit_id, str(a.unit_id))))
            row.incidents += 1
            if arrive is not None:
                taken = _seconds(a.arrived_at, inc.created_at)
                if row.targets["arrive"].add(taken, arrive.total_seconds(), elapsed) == "breached":
                    due = inc.created_at + arrive
                    breaches.append(Breach(inc.id, inc.number, inc.severity, "arrive", _(TARGETS["arrive"]), due,
                                           a.arrived_at, holders.at(inc.id, due) or fallback[inc.id], *where,
                                           unit=units.get(a.unit_id)))
        for item in reports.get(inc.id, []):
            assert item.due_at is not None
            limit = (item.due_at - inc.created_at).total_seconds()
            taken = _seconds(item.done_at, inc.created_at)
            outcome = "pending"
            for g in groups:
                outcome = g.reports.add(taken, limit, elapsed)
            if outcome == "breached":
                breaches.append(Breach(inc.id, inc.number, inc.severity, item.step_key, item.text[:60],
                                       item.due_at, item.done_at, holders.at(inc.id, item.due_at) or fallback[inc.id],
                                       *where))
    breaches.sort(key=lambda b: (b.due_at, b.number, b.target))
    return Assessment(label, start, end, now, street, severities,
                      sorted(communities.values(), key=lambda r: r.name), sorted(grids.values(), key=lambda r: r.name),
                      sorted(unit_rows.values(), key=lambda r: r.name), breaches,
                      [proposals[k] for k in sorted(proposals)], visits)
