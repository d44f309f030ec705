"""Reading cases: the board's rows, one case in full, what falls due, repeat parties.

Everything comes back as frozen dataclasses; phones and ID numbers are masked (the full value is
asked of :func:`dispatch_console.cases.service.reveal_party`, which audits the viewing). "Now"
is the database clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, Select, and_, func, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session, aliased

from db.base import UTCDateTime
from db.engine import Database, db_now
from db.models import (
    Area,
    Case,
    CaseEvent,
    CaseIncident,
    CaseParty,
    CaseSession,
    CaseTerm,
    CaseVisit,
    Incident,
    Timer,
    Unit,
    User,
)
from dispatch_console.cases import policy
from dispatch_console.cases.parties import mask_id
from dispatch_console.cases.records import find_case_id
from dispatch_console.cases.vocabulary import DEADLINE_LABELS, OPEN_CASE_STATUSES, TIMER_KINDS, label
from dispatch_console.kernel.audit import mask_phone
from dispatch_console.kernel.errors import NotFound
from dispatch_console.kernel.i18n import _

MAX_ROWS = 5000


@dataclass(frozen=True)
class CaseRow:
    id: int
    number: str
    kind: str
    subtype: str | None
    title: str
    status: str
    grid_id: int | None
    grid_name: str | None
    risk: str
    may_escalate: bool
    unit_id: int | None
    unit_name: str | None
    responsible_person: str | None
    owner_user_id: int | None
    created_at: datetime
    step_due_at: datetime | None
    next_visit_at: datetime | None
    overdue: bool
    reopen_count: int
    version: int

    @property
    def next_due_at(self) -> datetime | None:
        dues = [d for d in (self.step_due_at, self.next_visit_at) if d is not None]
        return min(dues) if dues else None


@dataclass(frozen=True)
class CaseQuery:
    kind: str | None = None
    open_only: bool = True
    overdue: bool = False
    owner_user_id: int | None = None
    unit_id: int | None = None
    grid_id: int | None = None
    visits_due_within: timedelta | None = None   # follow-ups due from now to now + this
    month: tuple[int, int] | None = None          # registered in (year, month), local time
    include_drill: bool = False
    limit: int = 500


@dataclass(frozen=True)
class PartyRow:
    id: int
    role: str
    name: str
    phone: str | None       # masked
    id_number: str | None   # masked
    repeat_cases: tuple[str, ...]   # numbers of other cases with the same phone or ID in the policy's window


@dataclass(frozen=True)
class SessionRow:
    held_at: datetime
    place: str | None
    mediator: str
    mediator_org: str
    attendees: str | None
    summary: str | None


@dataclass(frozen=True)
class TermRow:
    text: str
    due_at: datetime | None


@dataclass(frozen=True)
class VisitRow:
    id: int
    due_at: datetime
    days: int
    state: str
    assignee: str | None
    missed: bool
    visited_at: datetime | None
    result: str | None
    satisfaction: str | None
    note: str | None
    version: int


@dataclass(frozen=True)
class DeadlineRow:
    kind: str
    label: str
    due_at: datetime
    state: str   # pending | fired | cancelled
    fired_at: datetime | None


@dataclass(frozen=True)
class EventRow:
    at: datetime
    kind: str
    who: str | None
    note: str | None


@dataclass(frozen=True)
class IncidentLink:
    id: int
    number: str
    category: str
    status: str


@dataclass(frozen=True)
class CaseDetail:
    row: CaseRow
    description: str | None
    opened_by: str
    outcome: str | None
    referral: str | None
    agreement_text: str | None
    agreement_at: datetime | None
    judicial_confirmed_at: datetime | None
    registered_at: datetime | None
    accepted_at: datetime | None
    replied_at: datetime | None
    reply_text: str | None
    extension_days: int
    extension_reason: str | None
    extension_approver: str | None
    closed_at: datetime | None
    close_note: str | None
    parties: tuple[PartyRow, ...]
    incidents: tuple[IncidentLink, ...]
    sessions: tuple[SessionRow, ...]
    terms: tuple[TermRow, ...]
    visits: tuple[VisitRow, ...]
    deadlines: tuple[DeadlineRow, ...]
    timeline: tuple[EventRow, ...]
    now: datetime


def _next_visit() -> ScalarSelect[datetime]:
    return (select(func.min(CaseVisit.due_at)).where(CaseVisit.case_id == Case.id, CaseVisit.state == "due")
            .correlate(Case).scalar_subquery())


def _base(now: datetime) -> Select:  # type: ignore[type-arg]
    """The board's columns only (no ORM objects: a page of 500 rows is read as plain tuples)."""
    grid = aliased(Area)
    return (select(Case.id, Case.number, Case.kind, Case.subtype, Case.title, Case.status, Case.grid_id,
                   grid.name.label("grid_name"), Case.risk, Case.may_escalate, Case.responsible_unit_id,
                   Unit.name.label("unit_name"), Case.responsible_person, Case.owner_user_id, Case.created_at,
                   Case.step_due_at, _next_visit().label("next_visit_at"), Case.reopen_count, Case.version)
            .outerjoin(grid, grid.id == Case.grid_id)
            .outerjoin(Unit, Unit.id == Case.responsible_unit_id))


def _overdue_clause(now: datetime) -> ColumnElement[bool]:
    # the late visits are found from their own index (state, due_at), not probed case by case
    late_visit = Case.id.in_(select(CaseVisit.case_id).where(CaseVisit.state == "due", CaseVisit.due_at < now))
    return or_(and_(Case.step_due_at.is_not(None), Case.step_due_at < now), late_visit)


_AWARE = UTCDateTime()


def _row(r: Any, now: datetime) -> CaseRow:
    # the scalar subquery's value bypasses the column type (naive on SQLite): made aware here
    visit_at = _AWARE.process_result_value(r.next_visit_at, None) if r.next_visit_at is not None else None  # type: ignore[arg-type]
    overdue = bool((r.step_due_at is not None and r.step_due_at < now) or (visit_at is not None and visit_at < now))
    return CaseRow(r.id, r.number, r.kind, r.subtype, r.title, r.status, r.grid_id, r.grid_name, r.risk,
                   r.may_escalate, r.responsible_unit_id, r.unit_name, r.responsible_person, r.owner_user_id,
                   r.created_at, r.step_due_at, visit_at, overdue, r.reopen_count, r.version)


def query_in(s: Session, q: CaseQuery, now: datetime) -> list[CaseRow]:
    stmt = _base(now)
    if q.kind:
        stmt = stmt.where(Case.kind == q.kind)
    if q.open_only:
        stmt = stmt.where(Case.status.in_(OPEN_CASE_STATUSES))
    if not q.include_drill:
        stmt = stmt.where(Case.is_drill.is_(False))
    if q.owner_user_id is not None:
        stmt = stmt.where(Case.owner_user_id == q.owner_user_id)
    if q.unit_id is not None:
        stmt = stmt.where(Case.responsible_unit_id == q.unit_id)
    if q.grid_id is not None:
        stmt = stmt.where(Case.grid_id == q.grid_id)
    if q.overdue:
        stmt = stmt.where(_overdue_clause(now))
    if q.visits_due_within is not None:  # driven from the visits due (their index), as the overdue view
        stmt = stmt.where(Case.id.in_(select(CaseVisit.case_id).where(
            CaseVisit.state == "due", CaseVisit.due_at <= now + q.visits_due_within)))
    if q.month is not None:
        from dispatch_console.kernel.timefmt import LOCAL_TZ

        year, month = q.month
        start = datetime(year, month, 1, tzinfo=LOCAL_TZ)
        end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=LOCAL_TZ)
        stmt = stmt.where(Case.registered_at >= start, Case.registered_at < end)
    stmt = stmt.order_by(Case.created_at.desc(), Case.id.desc()).limit(max(1, min(q.limit, MAX_ROWS)))
    return [_row(r, now) for r in s.execute(stmt).all()]


def list_cases(db: Database, q: CaseQuery | None = None) -> list[CaseRow]:
    with db.read() as s:
        return query_in(s, q or CaseQuery(), db_now(s))


def rows_by_ids(db: Database, ids: list[int]) -> dict[int, CaseRow]:
    """The board's rows for these cases (refreshed by id from the change feed); missing ones are absent."""
    if not ids:
        return {}
    with db.read() as s:
        now = db_now(s)
        stmt = _base(now).where(Case.id.in_(ids[:MAX_ROWS]))
        return {r.id: _row(r, now) for r in s.execute(stmt).all()}


def find_case(db: Database, number: str) -> int:
    with db.read() as s:
        return find_case_id(s, number)


def repeat_cases(s: Session, case_id: int, phone: str | None, id_number: str | None, now: datetime) -> tuple[str, ...]:
    """Other cases of the last ``repeat_party_days`` with a party of the same phone or ID number."""
    match = [c == v for c, v in ((CaseParty.phone, phone), (CaseParty.id_number, id_number)) if v]
    if not match:
        return ()
    since = now - timedelta(days=policy.cases().repeat_party_days)
    rows = s.execute(select(Case.number).join(CaseParty, CaseParty.case_id == Case.id)
                     .where(or_(*match), Case.id != case_id, Case.created_at >= since)
                     .group_by(Case.number).order_by(Case.number).limit(20)).scalars()
    return tuple(str(n) for n in rows)


def get_case(db: Database, case_id: int) -> CaseDetail:
    with db.read() as s:
        now = db_now(s)
        found = s.execute(_base(now).where(Case.id == case_id)).first()
        case = s.get(Case, case_id)
        if found is None or case is None:
            raise NotFound(_("No case with id {id}.").format(id=case_id))
        row = _row(found, now)
        parties = tuple(
            PartyRow(p.id, p.role, p.name, mask_phone(p.phone), mask_id(p.id_number),
                     repeat_cases(s, case_id, p.phone, p.id_number, now))
            for p in s.execute(select(CaseParty).where(CaseParty.case_id == case_id).order_by(CaseParty.id)).scalars())
        incidents = tuple(IncidentLink(i.id, i.number, i.category, i.status) for i in s.execute(
            select(Incident).join(CaseIncident, CaseIncident.incident_id == Incident.id)
            .where(CaseIncident.case_id == case_id).order_by(Incident.id)).scalars())
        sessions = tuple(SessionRow(x.held_at, x.place, x.mediator, x.mediator_org, x.attendees, x.summary)
                         for x in s.execute(select(CaseSession).where(CaseSession.case_id == case_id)
                                            .order_by(CaseSession.held_at, CaseSession.id)).scalars())
        terms = tuple(TermRow(t.text, t.due_at) for t in s.execute(
            select(CaseTerm).where(CaseTerm.case_id == case_id).order_by(CaseTerm.id)).scalars())
        visits = tuple(VisitRow(v.id, v.due_at, v.days, v.state, v.assignee_name, v.missed_at is not None,
                                v.visited_at, v.result, v.satisfaction, v.note, v.version)
                       for v in s.execute(select(CaseVisit).where(CaseVisit.case_id == case_id)
                                          .order_by(CaseVisit.due_at, CaseVisit.id)).scalars())
        deadlines = tuple(
            DeadlineRow(t.kind, label(DEADLINE_LABELS, t.kind), t.due_at,
                        "cancelled" if t.cancelled_at else "fired" if t.fired_at else "pending", t.fired_at)
            for t in s.execute(select(Timer).where(Timer.case_id == case_id, Timer.kind.in_(TIMER_KINDS))
                               .order_by(Timer.due_at, Timer.id)).scalars())
        timeline = tuple(EventRow(e.at, e.kind, e.username, e.note) for e in s.execute(
            select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.at, CaseEvent.id)).scalars())
        return CaseDetail(row, case.description, case.opened_by, case.outcome, case.referral, case.agreement_text,
                          case.agreement_at, case.judicial_confirmed_at, case.registered_at, case.accepted_at,
                          case.replied_at, case.reply_text, case.extension_days, case.extension_reason,
                          case.extension_approver, case.closed_at, case.close_note, parties, incidents, sessions,
                          terms, visits, deadlines, timeline, now)


@dataclass(frozen=True)
class DueItem:
    """A follow-up visit or petition deadline falling due in a window (for the handover)."""

    case_id: int
    number: str
    title: str
    what: str
    due_at: datetime
    who: str | None


def due_before(s: Session, end: datetime) -> list[DueItem]:
    """Follow-ups and petition deadlines due before ``end`` — overdue ones included: still to do — by time."""
    out: list[DueItem] = []
    visits = s.execute(select(Case.id, Case.number, Case.title, CaseVisit.due_at, CaseVisit.days,
                              CaseVisit.assignee_name)
                       .join(CaseVisit, CaseVisit.case_id == Case.id)
                       .where(CaseVisit.state == "due", CaseVisit.due_at < end, Case.is_drill.is_(False))
                       .order_by(CaseVisit.due_at).limit(500)).all()
    for v in visits:
        out.append(DueItem(v.id, v.number, v.title, _("{days}-day follow-up visit").format(days=v.days),
                           v.due_at, v.assignee_name))
    steps = s.execute(select(Case.id, Case.number, Case.title, Case.status, Case.step_due_at, Case.responsible_person)
                      .where(Case.step_due_at.is_not(None), Case.step_due_at < end, Case.is_drill.is_(False),
                             Case.status.in_(OPEN_CASE_STATUSES))
                      .order_by(Case.step_due_at).limit(500)).all()
    kind_of = {"registered": "petition_accept", "accepted": "petition_conclude", "review": "petition_review",
               "re_review": "petition_re_review"}
    for c in steps:
        out.append(DueItem(c.id, c.number, c.title, label(DEADLINE_LABELS, kind_of.get(c.status, "")),
                           c.step_due_at, c.responsible_person))
    return sorted(out, key=lambda d: (d.due_at, d.number))


def owner_name(db: Database, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    with db.read() as s:
        return s.execute(select(User.display_name).where(User.id == user_id)).scalar()


@dataclass(frozen=True)
class BoardChoices:
    """What the board's "by unit" and "by grid" views offer (units and grids that have open cases)."""

    units: tuple[tuple[int, str], ...]
    grids: tuple[tuple[int, str], ...]


def board_choices(db: Database) -> BoardChoices:
    with db.read() as s:
        units = s.execute(select(Unit.id, Unit.name).join(Case, Case.responsible_unit_id == Unit.id)
                          .where(Case.status.in_(OPEN_CASE_STATUSES)).group_by(Unit.id, Unit.name)
                          .order_by(Unit.name).limit(500)).all()
        grids = s.execute(select(Area.id, Area.name).join(Case, Case.grid_id == Area.id)
                          .where(Case.status.in_(OPEN_CASE_STATUSES)).group_by(Area.id, Area.name)
                          .order_by(Area.name).limit(500)).all()
        return BoardChoices(tuple((int(u.id), str(u.name)) for u in units),
                            tuple((int(g.id), str(g.name)) for g in grids))


@dataclass(frozen=True)
class GridCases:
    """One grid's open cases, for the map's case mode: how many, how many high risk or 可能激化."""

    grid_id: int
    open: int
    high_risk: int
    may_escalate: int

    @property
    def emphasised(self) -> bool:
        return bool(self.high_risk or self.may_escalate)


@dataclass(frozen=True)
class CaseGridCounts:
    grids: tuple[GridCases, ...]
    unplaced: int  # open cases with no grid (not on the map; said in the legend's count)

    @property
    def total(self) -> int:
        return sum(g.open for g in self.grids) + self.unplaced

    def as_op(self, on: bool = True) -> dict[str, Any]:
        return {"op": "case_grids", "on": on, "total": self.total, "unplaced": self.unplaced,
                "grids": {str(g.grid_id): {"open": g.open, "high": g.high_risk, "escalate": g.may_escalate}
                          for g in self.grids}}


def grid_case_counts(db: Database) -> CaseGridCounts:
    """Open cases per grid (drills left out), with the high-risk and 可能激化 ones counted apart."""
    high = func.sum(sql_case((Case.risk == "high", 1), else_=0))
    escalate = func.sum(sql_case((Case.may_escalate.is_(True), 1), else_=0))
    with db.read() as s:
        rows = s.execute(select(Case.grid_id, func.count(Case.id), high, escalate)
                         .where(Case.status.in_(OPEN_CASE_STATUSES), Case.is_drill.is_(False))
                         .group_by(Case.grid_id).order_by(Case.grid_id).limit(MAX_ROWS)).all()
    grids = tuple(GridCases(int(g), int(n), int(h or 0), int(e or 0)) for g, n, h, e in rows if g is not None)
    unplaced = sum(int(n) for g, n, _h, _e in rows if g is None)
    return CaseGridCounts(grids, unplaced)
