"""The situation (研判) figures: reports per day by category, open incidents by age, response p90
against the targets per severity, warnings by rule, and the shelters (open / full / closed, the
people in them, free places — per shelter and in total). Drills never count.

Read in a few grouped queries over the chosen window (30, 90 or 365 days up to the database
clock); the days are local dates (Asia/Shanghai).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from db.engine import Database, db_now
from db.models import OPEN_STATUSES, EarlyWarning, Incident
from dispatch_console.assessment.monthly import TARGETS, TargetStats
from dispatch_console.escalation.service import EscalationPolicy, policy
from dispatch_console.incidents.queue import ExactScope
from dispatch_console.kernel.categories import load_catalog
from dispatch_console.kernel.errors import ValidationError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.timefmt import LOCAL_TZ
from dispatch_console.supplies.shelters import ShelterRow, list_shelters

WINDOWS = (30, 90, 365)
AGES = (("<1d", 1), ("1-3d", 3), ("3-7d", 7), (">7d", None))
_REACHED = {"ack": "acknowledged_at", "dispatch": "dispatched_at", "arrive": "on_scene_at", "resolve": "resolved_at"}


@dataclass(frozen=True)
class Response:
    p90_s: float | None
    target_s: float
    on_time_rate: float | None


@dataclass(frozen=True)
class Shelters:
    """The shelters as they stand now; free places count in open shelters only (a closed one takes
    nobody until it is opened, a full one has none)."""

    rows: tuple[ShelterRow, ...] = ()

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)

    @property
    def people(self) -> int:
        return sum(r.occupancy for r in self.rows)

    @property
    def capacity(self) -> int:
        return sum(r.capacity for r in self.rows)

    @property
    def free(self) -> int:
        return sum(r.free for r in self.rows if r.status == "open")


@dataclass(frozen=True)
class Situation:
    days: tuple[date, ...]
    per_day: dict[str, tuple[int, ...]]           # category → reports on each day
    open_by_age: dict[str, int]                    # "<1d", "1-3d", "3-7d", ">7d"
    response: dict[int, dict[str, Response]]       # severity → target → p90 and the policy's target
    warnings_by_rule: dict[str, int]
    shelters: Shelters = Shelters()
    now: datetime | None = None  # the database time the figures were read at (the ages' moment)

    @property
    def total(self) -> int:
        return sum(sum(v) for v in self.per_day.values())


def situation(db: Database, days: int = 30, *, escalation: EscalationPolicy | None = None) -> Situation:
    if days not in WINDOWS:
        raise ValidationError(_("The window is 30, 90 or 365 days."), "days")
    rules = escalation or policy()
    with db.read() as s:
        now = db_now(s)
        today = now.astimezone(LOCAL_TZ).date()
        first = today - timedelta(days=days - 1)
        since = (now - timedelta(days=days + 1))
        rows = s.execute(select(Incident.created_at, Incident.category, Incident.severity, Incident.status,
                                Incident.acknowledged_at, Incident.dispatched_at, Incident.on_scene_at,
                                Incident.resolved_at).where(Incident.created_at >= since,
                                                            Incident.is_drill.is_(False),
                                                            Incident.merged_into_id.is_(None))).all()
        open_rows = s.execute(select(Incident.created_at).where(Incident.status.in_(OPEN_STATUSES),
                                                                Incident.is_drill.is_(False))).scalars().all()
        by_rule = dict(s.execute(select(EarlyWarning.rule, func.count()).where(
            EarlyWarning.raised_at >= now - timedelta(days=days)).group_by(EarlyWarning.rule)).all())
    index = {first + timedelta(days=n): n for n in range(days)}
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * days)
    stats: dict[int, dict[str, TargetStats]] = defaultdict(lambda: {k: TargetStats() for k in TARGETS})
    for r in rows:
        n = index.get(r.created_at.astimezone(LOCAL_TZ).date())
        if n is None:
            continue
        counts[r.category][n] += 1
        if r.status == "cancelled":
            continue
        targets = rules.for_severity(r.severity).targets
        elapsed = (now - r.created_at).total_seconds()
        for kind, limit in targets.items():
            reached = getattr(r, _REACHED[kind])
            taken = None if reached is None else max((reached - r.created_at).total_seconds(), 0.0)
            stats[r.severity][kind].add(taken, limit.total_seconds(), elapsed)
    ages: Counter[str] = Counter({name: 0 for name, _d in AGES})
    for created in open_rows:
        ages[age_bucket(now - created)] += 1
    response = {sev: {kind: Response(st.p90_seconds, rules.for_severity(sev).targets[kind].total_seconds(),
                                     st.on_time_rate)
                      for kind, st in per.items() if kind in rules.for_severity(sev).targets}
                for sev, per in sorted(stats.items())}
    return Situation(tuple(index), {k: tuple(v) for k, v in sorted(counts.items())}, dict(ages), response,
                     {str(k): int(v) for k, v in by_rule.items()}, Shelters(tuple(list_shelters(db))), now)


def age_bucket(age: timedelta) -> str:
    """The open-by-age bar an incident of this age falls in (compared as durations: exact)."""
    return next(name for name, limit in AGES if limit is None or age < timedelta(days=limit))


# ---------------------------------------------------------------------------------------------
# What a bar stands for: the queue's "exactly these incidents" (the same criteria as the counts).


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), LOCAL_TZ)


def reports_scope(category: str, first: date, last: date | None = None) -> ExactScope:
    """The reports of ``category`` recorded on the local days ``first``..``last`` (one bar of the
    reports per day, or several): not drills, not merged away — as :func:`situation` counts them."""
    last = last or first
    catalog = load_catalog()
    when = first.strftime("%m-%d") if last == first else f"{first:%m-%d}–{last:%m-%d}"
    return ExactScope(label=_("{category} reported on {days}").format(
        category=catalog.category_label(category), days=when), category=category,
        created_from=local_midnight(first), created_before=local_midnight(last + timedelta(days=1)),
        include_drill=False, include_merged=False)


def age_scope(bucket: str, now: datetime) -> ExactScope:
    """The open incidents (not drills) whose age at ``now`` falls in the bar ``bucket``."""
    limits = dict(AGES)
    if bucket not in limits:
        raise ValidationError(_("No such age: {bucket}").format(bucket=bucket), "bucket")
    names = [name for name, _d in AGES]
    upper = limits[bucket]
    previous = names.index(bucket) - 1
    lower = limits[names[previous]] if previous >= 0 else None
    # age < upper ⇔ created_at > now − upper; age ≥ lower ⇔ created_at ≤ now − lower
    return ExactScope(label=_("Open for {age}").format(age=bucket), open_only=True, include_drill=False,
                      created_after=now - timedelta(days=upper) if upper is not None else None,
                      created_until=now - timedelta(days=lower) if lower is not None else None)
