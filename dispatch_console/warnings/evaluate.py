"""The warning rules, evaluated incrementally from the change feed in the timer engine's process.

:func:`evaluate_pending` reads ``change_log`` after the rules' cursor (``warning_cursor``), takes
each incident (and case) created or changed since, evaluates the rules of ``policies/warning.toml`` for it
and moves the cursor — all in one write transaction under the writers' lock. So the agent and
every console carrying a timer engine may run it at once: the first to take the lock evaluates
a change, the others find the cursor past it. The warning's unique ``episode_key`` is the
second guard. Drills are never evaluated and never counted.

The rules (each a frozen value of :mod:`dispatch_console.warnings.rules`):

- repeat reports: the same phone (digits) or address (normalised) ``threshold`` times within
  ``window``; a later report while the episode's warning is younger than the window joins it;
- grid surge and category surge: reports in the last ``window`` against the daily mean of the
  ``baseline`` before it, Poisson upper tail below ``p_value`` and at least ``min_count`` (judged
  only once the street has recorded for about the whole baseline). The baseline's whole local
  days are summed from ``incident_day_count`` (kept by triggers on ``incident``, migration 0023),
  only its two partial days and the window counted from the incidents (:class:`Span`);
- group incidents: people involved at or above each tier, once per incident and tier;
- the case rules (:mod:`dispatch_console.warnings.case_rules`): a party in a dispute and in a
  petition within a window, a case flagged 可能激化;
- sensitive periods: an incident of the sensitive categories notifies one level higher.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Date, Integer, String, bindparam, func, literal, select, type_coerce, update
from sqlalchemy.orm import Session

from db.base import UTCDateTime
from db.engine import Database, db_now
from db.models import (
    Area,
    Case,
    ChangeLog,
    EarlyWarning,
    Incident,
    IncidentDayCount,
    WarningCursor,
    WarningSubject,
)
from dispatch_console.kernel import transient
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.audit import mask_phone
from dispatch_console.kernel.categories import load_catalog
from dispatch_console.kernel.changes import serialise_writers
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.timefmt import LOCAL_TZ
from dispatch_console.warnings import case_rules
from dispatch_console.warnings.board import link_incidents, raise_warning
from dispatch_console.warnings.keys import address_key, period_title, phone_key
from dispatch_console.warnings.rules import (
    Notify,
    RepeatRule,
    SurgeRule,
    WarningPolicy,
    current_policy,
    poisson_upper_tail,
)

if TYPE_CHECKING:
    from dispatch_console.timers.engine import TimerEngine

log = logging.getLogger(__name__)

CURSOR = "rules"
BATCH = 500
EVALUATE_EVERY_S = 2.0


# ---------------------------------------------------------------------------------------------
# The cursor.


def _cursor(session: Session) -> WarningCursor | None:
    return session.get(WarningCursor, CURSOR)


def _start(session: Session, policy: WarningPolicy, now: datetime) -> None:
    """First run on a database: start at the present, with the repeat rules' window filled in.

    History is not turned into a flood of old warnings; but the reports of the last window are
    written as subjects, so the third call from one phone tomorrow counts the two of last week.
    """
    latest = int(session.execute(select(func.coalesce(func.max(ChangeLog.seq), 0))).scalar_one())
    since = now - max(policy.repeat_phone.window, policy.repeat_address.window)
    for inc in session.execute(select(Incident).where(Incident.created_at >= since,
                                                      Incident.is_drill.is_(False))).scalars():
        _write_subjects(session, inc)
    session.add(WarningCursor(name=CURSOR, seq=latest, updated_at=now))
    session.flush()


def evaluate_pending(db: Database, station: str, *, policy: WarningPolicy | None = None,
                     batch: int = BATCH) -> list[int]:
    """Evaluate the incidents changed since the cursor; returns the ids of warnings raised now."""
    with db.read() as s:
        # the cursor and the feed's end in one round trip (this runs every two seconds everywhere)
        seen, latest = s.execute(select(
            select(WarningCursor.seq).where(WarningCursor.name == CURSOR).scalar_subquery(),
            select(func.coalesce(func.max(ChangeLog.seq), 0)).scalar_subquery())).one()
        if seen is not None and int(seen) >= int(latest or 0):
            return []  # the usual case: nothing new, no write transaction
    policy = policy or current_policy()
    actor = Actor.system(station)
    raised: list[int] = []
    with db.write() as s:
        serialise_writers(s)
        # the first run on this database (or it was begun meanwhile: look again under the lock)
        if seen is None and _cursor(s) is None:
            _start(s, policy, db_now(s))
            return []
        # the changes after the cursor, the cursor read in the same statement (under the lock,
        # so no other evaluator moves it meanwhile), and the database clock: the moment every
        # warning of this evaluation is raised at (one reading, not one statement per warning)
        after = select(WarningCursor.seq).where(WarningCursor.name == CURSOR).scalar_subquery()
        rows = s.execute(select(ChangeLog.seq, ChangeLog.entity, ChangeLog.entity_id, ChangeLog.op, ChangeLog.at,
                                _clock(s).label("now"))
                         .where(ChangeLog.seq > after).order_by(ChangeLog.seq).limit(batch)).all()
        if not rows:
            return []
        now: datetime = rows[0].now
        todo: dict[int, bool] = {}  # incident id → created in this batch
        cases: dict[int, list[case_rules.CaseChange]] = {}  # case id → its changes in this batch
        for r in rows:
            if r.entity == "incident" and r.entity_id is not None and r.op in ("create", "update"):
                todo[int(r.entity_id)] = todo.get(int(r.entity_id), False) or r.op == "create"
            elif r.entity == "case" and r.entity_id is not None and r.op in case_rules.CASE_OPS:
                cases.setdefault(int(r.entity_id), []).append(case_rules.CaseChange(int(r.seq), r.op, r.at))
        # the batch's incidents and cases by their keys, one statement each (a join with the feed's
        # rows cost more to plan than these cost to run)
        found = {inc.id: inc for inc in s.execute(select(Incident).where(Incident.id.in_(sorted(todo)))).scalars()} \
            if todo else {}
        found_cases = {c.id: c for c in s.execute(select(Case).where(Case.id.in_(sorted(cases)))).scalars()} \
            if cases else {}
        for incident_id, created in todo.items():  # in the order of the feed
            inc = found.get(incident_id)
            if inc is not None and not inc.is_drill:
                raised.extend(evaluate_incident(s, actor, inc, policy, created=created, now=now))
        for case_id, changes in cases.items():
            case = found_cases.get(case_id)
            if case is not None:
                raised.extend(case_rules.evaluate_case(s, actor, case, changes, policy))
        # updated_at: the moment of the last change evaluated (no clock read for it)
        s.execute(update(WarningCursor).where(WarningCursor.name == CURSOR)
                  .values(seq=int(rows[-1].seq), updated_at=rows[-1].at))
    return raised


def _clock(session: Session) -> Any:
    """:func:`db.engine.db_now` as a column of another statement (clock_timestamp(): after the lock)."""
    if session.get_bind().dialect.name == "postgresql":
        return type_coerce(func.clock_timestamp(), UTCDateTime())
    return type_coerce(func.strftime("%Y-%m-%d %H:%M:%f", "now"), UTCDateTime())


# ---------------------------------------------------------------------------------------------
# The rules for one incident.


def _write_subjects(session: Session, inc: Incident) -> None:
    for kind, key in (("phone", phone_key(inc.reporter_phone)), ("address", address_key(inc.address))):
        if key is not None:
            session.add(WarningSubject(kind=kind, key=key, incident_id=inc.id, at=inc.created_at))
    session.flush()


def _notify(policy: WarningPolicy, base: Notify, inc: Incident) -> tuple[Notify, str | None]:
    period = policy.period_at(inc.created_at)
    if period is not None and inc.category in policy.sensitive_categories:
        return base.one_higher(), period.name
    return base, None


def evaluate_incident(session: Session, actor: Actor, inc: Incident, policy: WarningPolicy, *,
                      created: bool, now: datetime | None = None) -> list[int]:
    """The rules for one incident, in as few round trips as the rules allow: every statement waits
    for the database once, and on a busy server that wait, not the work, was most of the time.
    A new incident's subjects are written, then one statement (:func:`_facts`) reads every count
    and every episode in progress; only a warning to raise or to join costs more."""
    raised: list[int] = []
    if created:
        _write_subjects(session, inc)
        repeats = [Repeat(kind, rule, key) for kind, rule, key in (
            ("phone", policy.repeat_phone, phone_key(inc.reporter_phone)),
            ("address", policy.repeat_address, address_key(inc.address))) if key is not None and rule.enabled]
        surges: list[Surge] = []
        if inc.grid_id is not None and policy.grid_surge.enabled:
            surges.append(Surge("grid_surge", policy.grid_surge, Incident.grid_id == inc.grid_id, str(inc.grid_id)))
        if policy.category_surge.enabled:
            surges.append(Surge("category_surge", policy.category_surge, Incident.category == inc.category,
                                inc.category))
        if repeats or surges:
            facts = _facts(session, inc, repeats, surges)
            for repeat, (count, running) in zip(repeats, facts.repeats, strict=True):
                raised.extend(_repeat(session, actor, inc, policy, repeat, count, running, now))
            for surge, (k, before, running) in zip(surges, facts.surges, strict=True):
                raised.extend(_surge(session, actor, inc, policy, surge, k, before, running, facts.first, now))
    if policy.group_enabled and inc.people_count:
        raised.extend(_group(session, actor, inc, policy, now))
    return raised


@dataclass(frozen=True)
class Repeat:
    kind: str  # phone | address
    rule: RepeatRule
    key: str

    @property
    def prefix(self) -> str:
        return f"repeat_{self.kind}:{self.key}:"


@dataclass(frozen=True)
class Surge:
    name: str  # grid_surge | category_surge
    rule: SurgeRule
    where: ColumnElement[bool]
    subject: str

    @property
    def prefix(self) -> str:
        return f"{self.name}:{self.subject}:"

    @property
    def kind(self) -> str:
        """Its rows in ``incident_day_count``."""
        return "grid" if self.name == "grid_surge" else "category"


@dataclass(frozen=True)
class Facts:
    repeats: tuple[tuple[int, int | None], ...]  # per repeat rule: reports in the window, episode running
    surges: tuple[tuple[int, int, int | None], ...]  # per surge rule: in the window, in the baseline, running
    first: datetime | None  # the street's first report (not a drill)


def _like_prefix(prefix: str) -> str:
    return prefix + "%"


def _running(pattern: Any, since: Any) -> Any:
    """The episode's warning still running (as :func:`keys.ongoing`), as a scalar subquery:
    ``pattern`` is the episode's prefix and ``%`` (:func:`_like_prefix`)."""
    return (select(func.max(EarlyWarning.id))
            .where(EarlyWarning.episode_key.like(pattern), EarlyWarning.raised_at >= since).scalar_subquery())


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), LOCAL_TZ).astimezone(UTC)


@dataclass(frozen=True)
class Span:
    """How a surge's baseline (``low``, ``high``] and window (``high``, ``t``] are read.

    The local days wholly inside the baseline (``first_day`` to ``last_day``) from their rows of
    ``incident_day_count``; the rest from the incident index: the baseline's partial first day
    (``low``, ``head_end``) and, in one range, its partial last day and the window
    [``tail_start``, ``t``]. Without a whole day inside (a baseline of about a day), all of
    (``low``, ``t``] from the index.
    """

    low: datetime
    high: datetime
    t: datetime
    first_day: date | None
    last_day: date | None

    @classmethod
    def of(cls, rule: SurgeRule, t: datetime) -> Span:
        high = t - rule.window
        low = high - rule.baseline
        first_day = low.astimezone(LOCAL_TZ).date() + timedelta(days=1)
        last_day = high.astimezone(LOCAL_TZ).date() - timedelta(days=1)
        if first_day > last_day:
            return cls(low, high, t, None, None)
        return cls(low, high, t, first_day, last_day)

    @property
    def head_end(self) -> datetime:
        assert self.first_day is not None
        return _day_start(self.first_day)

    @property
    def tail_start(self) -> datetime:
        if self.last_day is None:
            return self.low
        return _day_start(self.last_day + timedelta(days=1))


def _at(name: str) -> Any:
    return bindparam(name, type_=UTCDateTime())


_STATEMENTS: dict[tuple[Any, ...], Any] = {}


def _facts_statement(shape: tuple[Any, ...]) -> Any:
    """The facts statement of one shape (which repeat kinds, which surges, with whole days or not),
    its values as bound parameters: built and compiled once, not once per incident (building the
    dozen subqueries cost more than the database took to run them)."""
    found = _STATEMENTS.get(shape)
    if found is not None:
        return found
    repeat_kinds, surge_shapes = shape
    columns: list[Any] = []
    for n, _kind in enumerate(repeat_kinds):
        columns.append(select(func.count()).select_from(WarningSubject)
                       .join(Incident, Incident.id == WarningSubject.incident_id)
                       .where(WarningSubject.kind == bindparam(f"r{n}_kind", type_=String()),
                              WarningSubject.key == bindparam(f"r{n}_key", type_=String()),
                              WarningSubject.at > _at(f"r{n}_since"), WarningSubject.at <= _at("t"),
                              Incident.merged_into_id.is_(None), Incident.is_drill.is_(False)).scalar_subquery())
        columns.append(_running(bindparam(f"r{n}_prefix", type_=String()), _at(f"r{n}_since")))
    counted = (Incident.is_drill.is_(False), Incident.merged_into_id.is_(None))
    for n, (name, whole_days) in enumerate(surge_shapes):
        where = (Incident.grid_id == bindparam(f"s{n}_grid", type_=Integer())) if name == "grid_surge" \
            else (Incident.category == bindparam(f"s{n}_category", type_=String()))
        # the window; the baseline's partial last day (or, without a whole day, all of it)
        columns.append(select(func.count()).where(
            where, Incident.created_at > _at(f"s{n}_high"), Incident.created_at <= _at("t"), *counted)
            .scalar_subquery())
        columns.append(select(func.count()).where(
            where, Incident.created_at >= _at(f"s{n}_tail"), Incident.created_at > _at(f"s{n}_low"),
            Incident.created_at <= _at(f"s{n}_high"), *counted).scalar_subquery())
        if whole_days:  # the partial first day; the whole days between
            columns.append(select(func.count()).where(
                where, Incident.created_at > _at(f"s{n}_low"), Incident.created_at < _at(f"s{n}_head"), *counted)
                .scalar_subquery())
            columns.append(select(func.coalesce(func.sum(IncidentDayCount.count), 0)).where(
                IncidentDayCount.kind == bindparam(f"s{n}_kind", type_=String()),
                IncidentDayCount.subject == bindparam(f"s{n}_subject", type_=String()),
                IncidentDayCount.day >= bindparam(f"s{n}_first", type_=Date()),
                IncidentDayCount.day <= bindparam(f"s{n}_last", type_=Date())).scalar_subquery())
        else:
            columns.extend((literal(0), literal(0)))
        columns.append(_running(bindparam(f"s{n}_prefix", type_=String()), _at(f"s{n}_since")))
    # the oldest report by the created_at index (min() with the drill filter scanned the drill index;
    # and SQLite, given the drill flag bare, took the drill index and sorted every report: 100 ms
    # at 100,000 incidents. Wrapped in coalesce() the flag is a filter on the created_at index walk)
    columns.append(select(Incident.created_at).where(func.coalesce(Incident.is_drill, True).is_(False))
                   .order_by(Incident.created_at).limit(1).scalar_subquery())
    statement = select(*columns)
    if len(_STATEMENTS) > 64:  # a handful of shapes in practice (policies with other windows keep theirs)
        _STATEMENTS.clear()
    _STATEMENTS[shape] = statement
    return statement


def _facts(session: Session, inc: Incident, repeats: list[Repeat], surges: list[Surge]) -> Facts:
    """Every count the rules need for one new incident, in one statement of scalar subqueries.

    Repeat reports by ``ix_warning_subject_kind_key_at``. Each surge: its window and the ends of
    its baseline by one range of ``ix_incident_grid_created`` / ``ix_incident_category_created``
    each (never the table: the index holds the drill and merge columns it filters on), the whole
    days between from ``incident_day_count`` (at most the baseline's days, one row each), as
    :class:`Span` says. The street's first report by the created_at index.
    """
    t = inc.created_at
    params: dict[str, Any] = {"t": t}
    for n, r in enumerate(repeats):
        params.update({f"r{n}_kind": r.kind, f"r{n}_key": r.key, f"r{n}_since": t - r.rule.window,
                       f"r{n}_prefix": _like_prefix(r.prefix)})
    shapes = []
    for n, g in enumerate(surges):
        span = Span.of(g.rule, t)
        whole_days = span.first_day is not None and span.last_day is not None
        shapes.append((g.name, whole_days))
        params.update({f"s{n}_high": span.high, f"s{n}_low": span.low, f"s{n}_tail": span.tail_start,
                       f"s{n}_prefix": _like_prefix(g.prefix), f"s{n}_since": t - g.rule.window})
        params[f"s{n}_grid" if g.name == "grid_surge" else f"s{n}_category"] = \
            int(g.subject) if g.name == "grid_surge" else g.subject
        if whole_days:
            params.update({f"s{n}_head": span.head_end, f"s{n}_kind": g.kind, f"s{n}_subject": g.subject,
                           f"s{n}_first": span.first_day, f"s{n}_last": span.last_day})
    statement = _facts_statement((tuple(r.kind for r in repeats), tuple(shapes)))
    row = tuple(session.execute(statement, params).one())
    n_rep = 2 * len(repeats)
    surge_facts = []
    for n in range(len(surges)):
        recent, tail, head, days, running = row[n_rep + 5 * n:n_rep + 5 * n + 5]
        surge_facts.append((int(recent or 0), int(tail or 0) + int(head or 0) + int(days or 0), running))
    return Facts(
        repeats=tuple((int(row[2 * n] or 0), row[2 * n + 1]) for n in range(len(repeats))),
        surges=tuple(surge_facts),
        first=row[-1],
    )


def _repeat(session: Session, actor: Actor, inc: Incident, policy: WarningPolicy, repeat: Repeat, count: int,
            running: int | None, now: datetime | None) -> list[int]:
    kind, rule, key = repeat.kind, repeat.rule, repeat.key
    if count < rule.threshold:
        return []
    name, prefix = f"repeat_{kind}", repeat.prefix
    if running is not None:
        link_incidents(session, running, [inc.id])
        return []
    since = inc.created_at - rule.window
    ids = list(session.execute(
        select(WarningSubject.incident_id).join(Incident, Incident.id == WarningSubject.incident_id)
        .where(WarningSubject.kind == kind, WarningSubject.key == key, WarningSubject.at > since,
               WarningSubject.at <= inc.created_at, Incident.merged_into_id.is_(None), Incident.is_drill.is_(False))
        .order_by(WarningSubject.at, WarningSubject.incident_id)).scalars())
    notify, period = _notify(policy, rule.notify, inc)
    days = round(rule.window / timedelta(days=1))
    if kind == "phone":
        title = _("Repeat caller: {phone} reported {n} times in {days} days").format(
            phone=mask_phone(key) or key, n=len(ids), days=days)
    else:
        title = _("Repeat address: {address} reported {n} times in {days} days").format(
            address=inc.address or key, n=len(ids), days=days)
    out = raise_warning(session, actor, rule=name, episode_key=prefix + str(inc.id), level=notify.level,
                        target_role=notify.role, unit_kind=notify.unit, title=period_title(title, period),
                        body=None, incident_ids=ids, sensitive_period=period,
                        details={"count": len(ids), "window_days": days}, at=now)
    return [out.warning_id] if out.new else []


def _surge(session: Session, actor: Actor, inc: Incident, policy: WarningPolicy, surge: Surge, k: int,
           before: int, running: int | None, first: datetime | None, now: datetime | None) -> list[int]:
    name, rule, where, subject = surge.name, surge.rule, surge.where, surge.subject
    t = inc.created_at
    recent = (Incident.created_at > t - rule.window, Incident.created_at <= t)
    common = (where, Incident.is_drill.is_(False), Incident.merged_into_id.is_(None))
    if k < rule.min_count:
        return []
    # a mean needs its whole baseline: on a street recording for less than that (a new deployment),
    # every third report would look like a surge against a mean of nothing
    if first is None or first > t - rule.window - rule.baseline + timedelta(days=1):
        return []
    expected = before / (rule.baseline / timedelta(days=1)) * (rule.window / timedelta(days=1))
    p = poisson_upper_tail(k, expected)
    if p >= rule.p_value:
        return []
    prefix = surge.prefix
    if running is not None:
        link_incidents(session, running, [inc.id])
        return []
    ids = list(session.execute(select(Incident.id).where(*common, *recent).order_by(Incident.created_at)
                               .limit(200)).scalars())
    notify, period = _notify(policy, rule.notify, inc)
    hours = round(rule.window / timedelta(hours=1))
    if name == "grid_surge":
        grid = session.get(Area, inc.grid_id)
        title = _("Surge in {grid}: {n} reports in {hours} h (usually {mean:.1f})").format(
            grid=grid.name if grid else subject, n=k, hours=hours, mean=expected)
    else:
        title = _("Surge of {category}: {n} reports in {hours} h across the street (usually {mean:.1f})").format(
            category=load_catalog().category_label(inc.category), n=k, hours=hours, mean=expected)
    out = raise_warning(session, actor, rule=name, episode_key=prefix + str(inc.id), level=notify.level,
                        target_role=notify.role, unit_kind=notify.unit, title=period_title(title, period),
                        body=None, incident_ids=ids, sensitive_period=period,
                        details={"count": k, "expected": round(expected, 3), "p": p}, at=now)
    return [out.warning_id] if out.new else []


def _group(session: Session, actor: Actor, inc: Incident, policy: WarningPolicy,
           now: datetime | None = None) -> list[int]:
    raised: list[int] = []
    for tier in policy.group_tiers:
        if (inc.people_count or 0) < tier.people:
            continue
        notify, period = _notify(policy, tier.notify, inc)
        title = _("Group incident {number}: {people} people involved (at least {tier})").format(
            number=inc.number, people=inc.people_count, tier=tier.people)
        out = raise_warning(session, actor, rule="group_incident", episode_key=f"group_incident:{inc.id}:{tier.people}",
                            level=notify.level, target_role=notify.role, unit_kind=notify.unit,
                            title=period_title(title, period), body=(inc.description or "")[:500],
                            incident_ids=[inc.id], sensitive_period=period,
                            details={"people": inc.people_count, "tier": tier.people}, at=now)
        if out.new:
            raised.append(out.warning_id)
    return raised


# ---------------------------------------------------------------------------------------------
# On the timer engine.


def attach(engine: TimerEngine) -> None:
    """Timer engine companion: evaluate the rules over what the change feed brought, every few seconds."""

    def run() -> None:
        try:
            evaluate_pending(engine.db, engine.station)
        except Exception as exc:
            if transient.is_transient(exc):  # the engine's own outage line tells of a database away
                log.info("warning rules wait for the database on %s: %s", engine.station, exc)
            else:
                log.exception("warning rules could not be evaluated on %s", engine.station)

    engine.add_job(run, "interval", job_id="warning-rules", seconds=EVALUATE_EVERY_S,
                   next_run_time=datetime.now(UTC))
