"""The weekly and monthly duty-room work report (值班工作报告): what the duty room did in a week
(ISO week, ``2026-W48``) or a month (``2026-11``), beside the period before it.

Its figures, all local time (Asia/Shanghai) and never counting drills:

- totals for the period and the previous one: incidents, cases opened and closed, follow-up
  visits due and done, warnings raised;
- incidents by category and by community, this period beside the previous one;
- the situation of the period (reports per day, response 90th percentiles against the targets,
  warnings by rule, what is open by age, shelters) — :func:`situation.situation_between`;
- the assessment of the period (breaches and who held them, follow-up visits and satisfaction) —
  :func:`monthly.assess_between`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.engine import Database
from db.models import Area, Case, EarlyWarning, Incident
from dispatch_console.assessment.monthly import Assessment, assess_between, month_bounds
from dispatch_console.assessment.situation import Situation, situation_between
from dispatch_console.assessment.visits import follow_up_visits
from dispatch_console.escalation.service import EscalationPolicy
from dispatch_console.kernel.errors import ValidationError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.timefmt import LOCAL_TZ


@dataclass(frozen=True)
class Period:
    kind: str        # week | month
    label: str       # 2026-W48 | 2026-11
    first: date      # its first local date
    last: date       # its last local date

    @property
    def start(self) -> datetime:
        return datetime(self.first.year, self.first.month, self.first.day, tzinfo=LOCAL_TZ).astimezone(UTC)

    @property
    def end(self) -> datetime:
        nxt = self.last + timedelta(days=1)
        return datetime(nxt.year, nxt.month, nxt.day, tzinfo=LOCAL_TZ).astimezone(UTC)

    def previous(self) -> Period:
        if self.kind == "week":
            first = self.first - timedelta(days=7)
            year, week, _day = first.isocalendar()
            return Period("week", f"{year}-W{week:02d}", first, first + timedelta(days=6))
        last = self.first - timedelta(days=1)
        return month_period(f"{last.year}-{last.month:02d}")


def week_period(text: str) -> Period:
    """``2026-W48`` (ISO 8601 week, Monday to Sunday) → the period, or one line saying what is wrong."""
    raw = text.strip().upper()
    try:
        year_s, week_s = raw.split("-W")
        year, week = int(year_s), int(week_s)
        first = date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValidationError(_("{week} is not a week (write YYYY-Www, e.g. 2026-W48).").format(week=text),
                              "week") from None
    if not 2000 <= year <= 2100:
        raise ValidationError(_("{week} is outside the years 2000–2100.").format(week=text), "week")
    return Period("week", f"{year}-W{week:02d}", first, first + timedelta(days=6))


def month_period(text: str) -> Period:
    """``2026-11`` → the period (``month_bounds`` checks it; a quarter is not a duty report's)."""
    if "Q" in text.upper():
        raise ValidationError(_("{month} is not a month (write YYYY-MM).").format(month=text), "month")
    start, end = month_bounds(text)
    first = start.astimezone(LOCAL_TZ).date()
    last = end.astimezone(LOCAL_TZ).date() - timedelta(days=1)
    return Period("month", f"{first.year}-{first.month:02d}", first, last)


@dataclass(frozen=True)
class Totals:
    incidents: int
    cases_opened: int
    cases_closed: int
    visits_due: int
    visits_done: int
    warnings: int

    def as_dict(self) -> dict[str, int]:
        return {"incidents": self.incidents, "cases_opened": self.cases_opened, "cases_closed": self.cases_closed,
                "visits_due": self.visits_due, "visits_done": self.visits_done, "warnings": self.warnings}


@dataclass(frozen=True)
class DutyReport:
    period: Period
    previous: Period
    totals: Totals
    previous_totals: Totals
    by_category: dict[str, tuple[int, int]]    # category → (this period, the previous)
    by_community: dict[str, tuple[int, int]]   # community name → (this period, the previous); "" none
    situation: Situation
    assessment: Assessment

    def as_dict(self) -> dict[str, Any]:
        s = self.situation
        return {
            "period": {"kind": self.period.kind, "label": self.period.label, "first": self.period.first.isoformat(),
                       "last": self.period.last.isoformat()},
            "previous": {"label": self.previous.label, "first": self.previous.first.isoformat(),
                         "last": self.previous.last.isoformat()},
            "totals": self.totals.as_dict(), "previous_totals": self.previous_totals.as_dict(),
            "by_category": {k: {"this": a, "previous": b} for k, (a, b) in self.by_category.items()},
            "by_community": {k: {"this": a, "previous": b} for k, (a, b) in self.by_community.items()},
            "per_day": {k: list(v) for k, v in s.per_day.items()},
            "response": {str(sev): {k: {"p90_s": r.p90_s, "target_s": r.target_s, "on_time_rate": r.on_time_rate}
                                    for k, r in per.items()} for sev, per in s.response.items()},
            "warnings_by_rule": s.warnings_by_rule,
            "open_incidents_by_age": s.open_by_age, "open_cases_by_age": s.open_cases_by_age,
            "breaches": [b.as_dict() for b in self.assessment.breaches],
            "visits": self.assessment.visits.as_dict(),
        }


def _counts(s: Session, period: Period) -> tuple[Totals, Counter[str], Counter[str]]:
    start, end = period.start, period.end
    counted = (Incident.created_at >= start, Incident.created_at < end, Incident.is_drill.is_(False),
               Incident.merged_into_id.is_(None), Incident.status != "cancelled")
    categories: Counter[str] = Counter(dict(s.execute(
        select(Incident.category, func.count()).where(*counted).group_by(Incident.category)).all()))
    grids = dict(s.execute(select(Area.id, Area.parent_id).where(Area.level == "grid")).all())
    names = dict(s.execute(select(Area.id, Area.name).where(Area.level == "community")).all())
    communities: Counter[str] = Counter()
    for grid_id, n in s.execute(select(Incident.grid_id, func.count()).where(*counted).group_by(Incident.grid_id)):
        parent = grids.get(grid_id) if grid_id is not None else None
        communities[names.get(parent, "") if parent is not None else ""] += int(n)
    cases = (Case.is_drill.is_(False),)
    opened = s.execute(select(func.count()).select_from(Case).where(
        *cases, Case.created_at >= start, Case.created_at < end)).scalar_one()
    closed = s.execute(select(func.count()).select_from(Case).where(
        *cases, Case.closed_at >= start, Case.closed_at < end)).scalar_one()
    warnings = s.execute(select(func.count()).select_from(EarlyWarning).where(
        EarlyWarning.raised_at >= start, EarlyWarning.raised_at < end)).scalar_one()
    visits = follow_up_visits(s, start, end, end).street  # judged at the period's end
    return (Totals(sum(categories.values()), int(opened), int(closed), visits.due, visits.on_time + visits.late,
                   int(warnings)), categories, communities)


def duty_report(db: Database, *, week: str | None = None, month: str | None = None,
                escalation: EscalationPolicy | None = None) -> DutyReport:
    if (week is None) == (month is None):
        raise ValidationError(_("Give a week or a month."), "period")
    period = week_period(week) if week is not None else month_period(month or "")
    previous = period.previous()
    with db.read() as s:
        totals, categories, communities = _counts(s, period)
        before, categories_before, communities_before = _counts(s, previous)
    by_category = {k: (categories.get(k, 0), categories_before.get(k, 0))
                   for k in sorted(set(categories) | set(categories_before))}
    by_community = {k: (communities.get(k, 0), communities_before.get(k, 0))
                    for k in sorted(set(communities) | set(communities_before))}
    figures = situation_between(db, period.first, period.last, escalation=escalation)
    assessment = assess_between(db, period.label, period.start, period.end, escalation=escalation)
    return DutyReport(period, previous, totals, before, by_category, by_community, figures, assessment)
