"""The situation (研判) figures: reports per day by category, open incidents by age, response p90
against the targets per severity, warnings by rule, and the shelters (open / full / closed, the
people in them, free places — per shelter and in total). Drills never count.

Read in a few grouped queries over the chosen window (30, 90 or 365 days up to the database
clock, or any range of at most 366 local dates for ``report situation``); the days are local dates
(Asia/Shanghai). Open incidents and cases by age are as they stand at the database clock.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, text
from sqlalchemy.orm import Session

from db.base import UTCDateTime
from db.engine import Database, db_now
from db.models import OPEN_STATUSES, Case, EarlyWarning, Incident, WarningIncident
from dispatch_console.assessment.monthly import TARGETS
from dispatch_console.cases.vocabulary import OPEN_CASE_STATUSES
from dispatch_console.escalation.service import EscalationPolicy, policy
from dispatch_console.incidents.queue import ExactScope
from dispatch_console.kernel.categories import load_catalog
from dispatch_console.kernel.errors import ValidationError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.timefmt import LOCAL_TZ
from dispatch_console.supplies.shelters import ShelterRow, list_shelters
from dispatch_console.warnings.board import CASES_KEY, RULES

WINDOWS = (30, 90, 365)
MAX_DAYS = 366  # a report's range: a leap year at most
WORK_MEM = "64MB"  # PostgreSQL's memory for one sort of this read (the server's default is 4 MB)
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
    open_cases_by_age: dict[str, int] = field(default_factory=lambda: {name: 0 for name, _d in AGES})
    made_at: datetime | None = None

    @property
    def total(self) -> int:
        return sum(sum(v) for v in self.per_day.values())


def situation(db: Database, days: int = 30, *, escalation: EscalationPolicy | None = None) -> Situation:
    """The last ``days`` days (30, 90 or 365) up to today, local dates."""
    if days not in WINDOWS:
        raise ValidationError(_("The window is 30, 90 or 365 days."), "days")
    with db.read() as s:
        today = db_now(s).astimezone(LOCAL_TZ).date()
    return situation_between(db, today - timedelta(days=days - 1), today, escalation=escalation)


def check_range(first: date, last: date) -> None:
    """A range of local dates the reports accept: not reversed, at most :data:`MAX_DAYS` days."""
    if last < first:
        raise ValidationError(_("The range ends ({last}) before it begins ({first}).").format(
            first=first.isoformat(), last=last.isoformat()), "to")
    if (last - first).days + 1 > MAX_DAYS:
        raise ValidationError(_("The range {first} to {last} is {n} days; at most {max} days.").format(
            first=first.isoformat(), last=last.isoformat(), n=(last - first).days + 1, max=MAX_DAYS), "to")
    if not (2000 <= first.year <= 2100 and 2000 <= last.year <= 2100):
        raise ValidationError(_("The range is outside the years 2000–2100."), "from")


def parse_day(text: str, name: str) -> date:
    """``YYYY-MM-DD`` → a date, or one line saying what is wrong."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(_("{value} is not a date (write YYYY-MM-DD).").format(value=text), name) from None


def local_start(day: date) -> datetime:
    """The first instant of a local date, as UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ).astimezone(UTC)


def seconds_between(session: Session, later: Any, earlier: Any) -> Any:
    """SQL: seconds from ``earlier`` to ``later`` (NULL when either is NULL), on both backends."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.date_part("epoch", later - earlier)  # double precision (EXTRACT gives numeric, slower)


def local_day(session: Session, column: Any) -> Any:
    """SQL: the local date (Asia/Shanghai, UTC+8 all year) of a UTC time (``YYYY-MM-DD`` as text)."""
    if session.get_bind().dialect.name == "sqlite":
        return func.date(column, "+8 hours")
    return func.date(func.timezone("Asia/Shanghai", column))  # a date; str() of it is YYYY-MM-DD


def counted_between(start: datetime, end: datetime) -> tuple[Any, ...]:
    """SQL: the reports the figures count, recorded in ``start`` ≤ created_at < ``end``: not
    drills, not merged away."""
    return (Incident.created_at >= start, Incident.created_at < end, Incident.is_drill.is_(False),
            Incident.merged_into_id.is_(None))


def responded(counted: tuple[Any, ...]) -> tuple[Any, ...]:
    """SQL: of the ``counted`` reports, those whose response times the figure measures (not cancelled)."""
    return (*counted, Incident.status != "cancelled")


def step_seconds(session: Session, kind: str) -> Any:
    """SQL: the seconds from an incident's recording to its step ``kind`` (ack, dispatch, arrive,
    resolve); NULL while the step is not reached, 0 for a step recorded before the report (a
    backdated report)."""
    taken = seconds_between(session, getattr(Incident, _REACHED[kind]), Incident.created_at)
    return case((taken < 0, 0.0), else_=taken)


def elapsed_seconds(session: Session, now: datetime) -> Any:
    """SQL: the seconds from an incident's recording to ``now`` (the figure's moment)."""
    return seconds_between(session, literal(now, UTCDateTime()), Incident.created_at)


def is_late(taken: Any, elapsed: Any, limit: Any) -> Any:
    """SQL: a step late against ``limit`` seconds — reached after it, or not reached and
    ``elapsed`` past it (NULL, not late, where there is no limit)."""
    return or_(taken > limit, and_(taken.is_(None), elapsed > limit))


def raised_between(start: datetime, end: datetime) -> tuple[Any, ...]:
    """SQL: the warnings the figures count, raised in ``start`` ≤ raised_at < ``end``."""
    return (EarlyWarning.raised_at >= start, EarlyWarning.raised_at < end)


def situation_between(db: Database, first: date, last: date, *,
                      escalation: EscalationPolicy | None = None) -> Situation:
    """The figures of the reports recorded on the local dates ``first`` … ``last``; what is open
    (incidents, cases) and the shelters as they stand now.

    Aggregated in SQL: the reports per day and category are grouped by the database, the response
    times come back as seconds (one row of numbers per incident), never as ORM rows.
    """
    check_range(first, last)
    rules = escalation or policy()
    start, end = local_start(first), local_start(last + timedelta(days=1))
    counted = counted_between(start, end)
    with db.read() as s:
        if s.get_bind().dialect.name == "postgresql":
            # the window's times (a year of a busy street: a few hundred thousand rows) are
            # materialised and sorted for the percentiles: in memory, not in temporary files
            s.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
        now = db_now(s)
        day = local_day(s, Incident.created_at)
        grouped = s.execute(select(day, Incident.category, func.count()).where(*counted)
                            .group_by(day, Incident.category)).all()
        response = _response(s, rules, now, counted)
        open_rows = s.execute(select(seconds_between(s, literal(now, UTCDateTime()), Incident.created_at)).where(
            Incident.status.in_(OPEN_STATUSES), Incident.is_drill.is_(False))).scalars().all()
        open_cases = s.execute(select(seconds_between(s, literal(now, UTCDateTime()), Case.created_at)).where(
            Case.status.in_(OPEN_CASE_STATUSES), Case.is_drill.is_(False))).scalars().all()
        by_rule = dict(s.execute(select(EarlyWarning.rule, func.count()).where(
            *raised_between(start, end)).group_by(EarlyWarning.rule)).all())
    days = (last - first).days + 1
    index = {(first + timedelta(days=n)).isoformat(): n for n in range(days)}
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * days)
    for day_text, category, n in grouped:
        at = index.get(str(day_text))
        if at is not None:
            counts[category][at] += int(n)
    return Situation(tuple(first + timedelta(days=n) for n in range(days)),
                     {k: tuple(v) for k, v in sorted(counts.items())}, _by_age(open_rows), response,
                     {str(k): int(v) for k, v in by_rule.items()}, Shelters(tuple(list_shelters(db))),
                     open_cases_by_age=_by_age(open_cases), made_at=now)


def _response(s: Session, rules: EscalationPolicy, now: datetime, counted: tuple[Any, ...]
              ) -> dict[int, dict[str, Response]]:
    """Per severity and target: met, breached and the nearest-rank 90th percentile.

    A step reached within its target is met; reached late, or not reached and its deadline passed
    by ``now``, is breached; not reached and not yet due is left out. The 90th percentile is the
    nearest rank, as :func:`monthly.p90` — the ``ceil(0.9 n)``-th of the ``n`` times measured.
    The times are computed by the database, once per incident. PostgreSQL counts and takes
    ``percentile_disc(0.9)`` in one grouped query; SQLite has no percentile (and a ``row_number()``
    window sorts slower than Python sorts the same numbers), so there the times come back as plain
    numbers in one pass, are sorted per severity and target, and counted by bisection.
    """
    columns = [Incident.severity.label("severity"), elapsed_seconds(s, now).label("elapsed")]
    for kind in _REACHED:
        columns.append(step_seconds(s, kind).label(kind))
    # computed once per incident (a CTE the planner must not inline: every CASE below reads them)
    sub = select(*columns).where(*responded(counted)).cte("times").prefix_with("MATERIALIZED")
    limits = {kind: {sev: p.targets[kind].total_seconds() for sev, p in rules.severities.items() if kind in p.targets}
              for kind in TARGETS}
    counts: dict[int, list[Any]] = {}  # severity → met, breached per target, in TARGETS order
    p90s: dict[tuple[int, str], float] = {}
    if s.get_bind().dialect.name == "postgresql":
        aggregates: list[Any] = [sub.c.severity]
        for kind in TARGETS:
            limit = case(limits[kind], value=sub.c.severity, else_=None) if limits[kind] else literal(None)
            taken = sub.c[kind]
            aggregates += [func.sum(case((taken <= limit, 1), else_=0)),
                           func.sum(case((is_late(taken, sub.c.elapsed, limit), 1), else_=0))]
        # the percentiles in the same pass: percentile_disc is the nearest rank
        aggregates += [func.percentile_disc(0.9).within_group(sub.c[kind]) for kind in TARGETS]
        for r in s.execute(select(*aggregates).group_by(sub.c.severity)):
            severity = int(r[0])
            counts[severity] = list(r[1:1 + 2 * len(TARGETS)])
            for n, kind in enumerate(TARGETS):
                value = r[1 + 2 * len(TARGETS) + n]
                if value is not None:
                    p90s[(severity, kind)] = float(value)
    else:  # SQLite: one pass bringing the numbers back; sorted here, counted by bisection
        rows = s.execute(select(sub.c.severity, sub.c.elapsed, *(sub.c[kind] for kind in TARGETS))).all()
        if rows:
            severities, elapsed, *by_kind = zip(*rows, strict=True)
            for n, kind in enumerate(TARGETS):
                reached: dict[int, list[float]] = defaultdict(list)
                waiting: dict[int, list[float]] = defaultdict(list)
                for severity, since, taken in zip(severities, elapsed, by_kind[n], strict=True):
                    if taken is None:
                        waiting[severity].append(since)
                    else:
                        reached[severity].append(taken)
                for severity in set(severities):
                    row = counts.setdefault(int(severity), [0] * (2 * len(TARGETS)))
                    bound = limits[kind].get(int(severity))
                    ordered = sorted(reached.get(severity, []))
                    if ordered:
                        p90s[(int(severity), kind)] = float(ordered[max(-(-9 * len(ordered) // 10) - 1, 0)])
                    if bound is None:
                        continue
                    met = bisect_right(ordered, bound)
                    row[2 * n] = met
                    row[2 * n + 1] = len(ordered) - met + sum(1 for e in waiting.get(severity, []) if e > bound)
    response: dict[int, dict[str, Response]] = {}
    for severity in sorted(counts):
        row = counts[severity]
        per: dict[str, Response] = {}
        for n, kind in enumerate(TARGETS):
            if severity not in limits[kind]:
                continue
            met, breached = int(row[2 * n] or 0), int(row[2 * n + 1] or 0)
            per[kind] = Response(p90s.get((severity, kind)), limits[kind][severity],
                                 met / (met + breached) if met + breached else None)
        response[severity] = per
    return response


def _by_age(ages_s: Iterable[float | None]) -> dict[str, int]:
    ages: Counter[str] = Counter({name: 0 for name, _d in AGES})
    for seconds in ages_s:
        ages[age_bucket(timedelta(seconds=float(seconds or 0.0)))] += 1
    return dict(ages)


def age_bucket(age: timedelta) -> str:
    """The open-by-age bar an incident of this age falls in (compared as durations: exact)."""
    return next(name for name, limit in AGES if limit is None or age < timedelta(days=limit))


# ---------------------------------------------------------------------------------------------
# What a bar stands for: the queue's "exactly these incidents" (the same criteria as the counts).


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), LOCAL_TZ)


def days_text(first: date, last: date) -> str:
    """A day or a range of local days as a bar's label says it: ``12-07`` or ``11-08–12-07``."""
    return first.strftime("%m-%d") if last == first else f"{first:%m-%d}–{last:%m-%d}"


def reports_scope(category: str, first: date, last: date | None = None) -> ExactScope:
    """The reports of ``category`` recorded on the local days ``first``..``last`` (one bar of the
    reports per day, or several): not drills, not merged away — as :func:`situation` counts them."""
    last = last or first
    catalog = load_catalog()
    return ExactScope(label=_("{category} reported on {days}").format(
        category=catalog.category_label(category), days=days_text(first, last)), category=category,
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


def minutes_text(seconds: float) -> str:
    """Seconds as minutes, to a tenth at most: ``5``, ``1.5``, ``12.3``."""
    return f"{round(seconds / 60, 1):g}"


def response_where(session: Session, *, severity: int, kind: str, start: datetime, end: datetime,
                   late: tuple[float, datetime] | None = None) -> list[Any]:
    """SQL: the incidents a bar of the response figure is computed from — the reports of
    ``severity`` recorded in ``start`` ≤ created_at < ``end`` (:func:`responded`) whose step
    ``kind`` is measured (:func:`step_seconds`), the times of its p90; with ``late`` (the target
    in seconds, the figure's moment), those that breached it instead (:func:`is_late`: reached
    late, or not reached and overdue then) — the terms :func:`_response` counts with."""
    taken = step_seconds(session, kind)
    where = [*responded(counted_between(start, end)), Incident.severity == severity]
    if late is None:
        where.append(taken.is_not(None))
    else:
        target_s, now = late
        where.append(is_late(taken, elapsed_seconds(session, now), target_s))
    return where


def _step_label(kind: str) -> str:
    if kind not in _REACHED:
        raise ValidationError(_("No such step: {kind}").format(kind=kind), "kind")
    return _(TARGETS[kind])


def response_scope(severity: int, kind: str, first: date, last: date) -> ExactScope:
    """A p90 bar of the response figure: every report of ``severity`` recorded on the local days
    ``first``..``last`` with the step ``kind`` measured — the times its p90 is taken from."""
    step = _step_label(kind)
    start, end = local_start(first), local_start(last + timedelta(days=1))
    return ExactScope(label=_("Severity {severity}, {step} recorded, reported on {days}").format(
        severity=severity, step=step, days=days_text(first, last)),
        where=partial(response_where, severity=severity, kind=kind, start=start, end=end))


def late_scope(severity: int, kind: str, first: date, last: date, target_s: float, now: datetime) -> ExactScope:
    """The target bar beside it: those reports that breached the target of ``target_s`` seconds
    as the figure counted at ``now`` (its moment) — the step reached late, or not reached and overdue."""
    step = _step_label(kind)
    start, end = local_start(first), local_start(last + timedelta(days=1))
    return ExactScope(label=_("Severity {severity}, {step} later than the {target} min target, reported on "
                              "{days}").format(severity=severity, step=step, target=minutes_text(target_s),
                                               days=days_text(first, last)),
                      where=partial(response_where, severity=severity, kind=kind, start=start, end=end,
                                    late=(target_s, now)))


def warned_where(_session: Session, *, rule: str, start: datetime, end: datetime) -> list[Any]:
    """SQL: the incidents linked to the warnings of ``rule`` raised in ``start`` ≤ raised_at <
    ``end`` (:func:`raised_between`, as the warnings by rule count them): those that raised one,
    and those started in answer to one (an official warning's response); not drills."""
    warned = (EarlyWarning.rule == rule, *raised_between(start, end))
    linked = (select(WarningIncident.incident_id)
              .join(EarlyWarning, EarlyWarning.id == WarningIncident.warning_id).where(*warned))
    answered = select(EarlyWarning.response_incident_id).where(*warned, EarlyWarning.response_incident_id.is_not(None))
    return [or_(Incident.id.in_(linked), Incident.id.in_(answered)), Incident.is_drill.is_(False)]


def warnings_scope(rule: str, first: date, last: date) -> ExactScope:
    """A bar of the warnings by rule: the incidents its warnings (raised on the local days
    ``first``..``last``) link to."""
    start, end = local_start(first), local_start(last + timedelta(days=1))
    label = _("Linked to the “{rule}” warnings raised on {days}").format(
        rule=_(RULES.get(rule, rule)), days=days_text(first, last))
    return ExactScope(label=label, where=partial(warned_where, rule=rule, start=start, end=end))


@dataclass(frozen=True)
class RuleLinks:
    """What the warnings of one rule in the window link to: incidents (those :func:`warnings_scope`
    shows) and cases (a rule over the cases may link no incident at all)."""

    incidents: int
    cases: int


def warning_links(db: Database, first: date, last: date) -> dict[str, RuleLinks]:
    """Per rule with warnings raised on the local days ``first``..``last``: the incidents and
    the cases they link to (distinct)."""
    start, end = local_start(first), local_start(last + timedelta(days=1))
    out: dict[str, RuleLinks] = {}
    with db.read() as s:
        cases: dict[str, set[int]] = defaultdict(set)
        for rule, details in s.execute(select(EarlyWarning.rule, EarlyWarning.details).where(
                *raised_between(start, end))):
            cases[str(rule)].update(int(c) for c in (details or {}).get(CASES_KEY, []))
        for rule in sorted(cases):
            n = s.execute(select(func.count(Incident.id)).where(
                *warned_where(s, rule=rule, start=start, end=end))).scalar_one()
            out[rule] = RuleLinks(int(n), len(cases[rule]))
    return out
