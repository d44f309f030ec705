"""Reading incidents: the queue page, rows by id, one incident in full, repeat reports, units.

Everything is filtered, searched, sorted and paged in SQL: a page is one query and its total one
more, however many incidents the database holds. Rows are frozen dataclasses that the queue
caches by id and refreshes per changed id from the change feed (:func:`rows_by_ids`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, Select, and_, bindparam, func, literal, or_, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import operators
from sqlalchemy.sql.expression import UnaryExpression

from db.engine import Database, db_now
from db.models import Area, Assignment, ChecklistItem, Incident, IncidentEvent, Person, Unit, User
from dispatch_console.incidents.search import search_filter
from dispatch_console.kernel.categories import OPEN_STATUSES
from dispatch_console.kernel.errors import NotFound
from dispatch_console.kernel.i18n import _

ASSIGNABLE_UNIT_STATUSES = ("available", "returning")


@dataclass(frozen=True)
class IncidentRow:
    """One line of the queue."""

    id: int
    number: str
    category: str
    severity: int
    source: str
    status: str
    description: str
    address: str | None
    lon: float | None
    lat: float | None
    grid_id: int | None
    grid_name: str | None
    community_name: str | None
    reporter_name: str | None
    reporter_phone: str | None
    people_count: int | None
    owner_user_id: int | None
    owner_name: str | None
    units: str  # names of the units and people assigned now, comma-separated
    is_drill: bool
    merged_into_id: int | None
    checklist_done: int
    checklist_total: int
    version: int
    reported_at: datetime | None
    created_at: datetime
    acknowledged_at: datetime | None
    dispatched_at: datetime | None
    on_scene_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    updated_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True)
class TimelineEvent:
    id: int
    at: datetime
    kind: str
    user_id: int | None
    username: str | None
    station: str | None
    note: str | None
    data: dict[str, Any] | None


@dataclass(frozen=True)
class AssignmentRow:
    id: int
    unit_id: int | None
    unit_code: str | None
    unit_name: str | None
    person_id: int | None
    person_name: str | None
    status: str
    assigned_at: datetime
    arrived_at: datetime | None
    released_at: datetime | None

    @property
    def active(self) -> bool:
        return self.released_at is None

    @property
    def name(self) -> str:
        return self.unit_name or self.person_name or "?"


@dataclass(frozen=True)
class ChecklistItemRow:
    id: int
    template_code: str
    step_key: str
    position: int
    text: str
    required: bool
    due_at: datetime | None
    done_at: datetime | None
    report_kind: str | None
    note: str | None


@dataclass(frozen=True)
class IncidentDetail:
    row: IncidentRow
    external_id: str | None
    drill_run_id: int | None
    station: str | None
    created_by_name: str | None
    merged_into_number: str | None
    merged_from: tuple[str, ...]
    events: tuple[TimelineEvent, ...]
    assignments: tuple[AssignmentRow, ...]
    checklist: tuple[ChecklistItemRow, ...]


@dataclass(frozen=True)
class UnitRow:
    id: int
    code: str
    name: str
    kind: str
    status: str
    contact_name: str | None
    phone: str | None
    version: int
    incident_number: str | None  # the incident it is assigned to now, if any


@dataclass(frozen=True)
class ExactScope:
    """"Show exactly these incidents": what a bar of the situation or a grid of the map stands for.

    Criteria, not a list of rows, so the queue stays exact as it pages and as incidents change
    or arrive: the query selects them in SQL like any other filter. The bounds are the figure's
    own: a day of reports is ``created_from <= created_at < created_before`` (local midnights);
    an age bar is ``created_after < created_at <= created_until`` (its ages measured at the
    figure's moment). ``label`` is what the queue shows while the scope holds.

    ``where`` is for a figure whose criteria only its own room can state: it gives that room's
    WHERE terms for the session the queue reads in (the response times of a severity and a step
    are seconds computed as the figure computes them, per database; the incidents a kind of
    warning links to), so the queue selects with the figure's own definition, not a copy of it.
    """

    label: str
    ids: tuple[int, ...] = ()
    category: str | None = None
    grid_id: int | None = None
    created_from: datetime | None = None
    created_before: datetime | None = None
    created_after: datetime | None = None
    created_until: datetime | None = None
    open_only: bool = False
    include_drill: bool = True
    include_merged: bool = True
    where: Callable[[Session], Sequence[Any]] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class QueueQuery:
    statuses: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    grid_ids: tuple[int, ...] = ()
    severities: tuple[int, ...] = ()
    owner_user_id: int | None = None
    text: str | None = None
    open_only: bool = False
    include_drill: bool = True
    limit: int = 200
    offset: int = 0
    # keyset paging: the (severity, created_at, id) of the last row already shown. Unlike an
    # offset, it cannot skip or repeat a row when incidents arrive while the next page is read.
    after: tuple[int, datetime, int] | None = None
    # exactly the incidents of a bar or a grid, on top of the filters above (the queue view
    # leaves those empty while a scope holds)
    exact: ExactScope | None = None


@dataclass(frozen=True)
class QueuePage:
    rows: tuple[IncidentRow, ...]
    total: int
    query: QueueQuery = field(default_factory=QueueQuery)


# ---------------------------------------------------------------------------------------------
# The row query.


# IncidentRow fields read straight from the incident table, and those computed by row_select.
COMPUTED_FIELDS = ("grid_name", "community_name", "owner_name", "units", "checklist_done", "checklist_total")
INCIDENT_FIELDS = tuple(f.name for f in fields(IncidentRow) if f.name not in COMPUTED_FIELDS)
INCIDENT_COLUMNS = tuple(getattr(Incident, name).label(name) for name in INCIDENT_FIELDS)
PLAIN_FIELDS = tuple(
    name for name in INCIDENT_FIELDS + COMPUTED_FIELDS
    if name not in ("units", "is_drill", "checklist_done", "checklist_total")
)


def _string_agg(dialect: str, value: Any, order: Any) -> Any:
    if dialect == "postgresql":
        return func.string_agg(value, aggregate_order_by(literal(", "), order))
    return func.group_concat(value, ", ")


def row_select(session: Session) -> Select[Any]:
    """The queue's row query (callers add their WHERE and ORDER BY). Built once per kind of
    database and shared: statements are immutable, and building it anew for every query cost
    2.5 ms, plus 3 ms for SQLAlchemy to work out the cache key of the fresh objects (measured:
    a three-row query 4.6 → 1.4 ms), and left thousands of objects in reference cycles for the
    garbage collector on every refresh, page and write."""
    return _row_select(session.get_bind().dialect.name)


@functools.cache
def _row_select(dialect: str) -> Select[Any]:
    grid = aliased(Area)
    community = aliased(Area)
    owner = aliased(User)
    units = (
        select(_string_agg(dialect, func.coalesce(Unit.name, Person.name), Assignment.id))
        .select_from(Assignment)
        .outerjoin(Unit, Unit.id == Assignment.unit_id)
        .outerjoin(Person, Person.id == Assignment.person_id)
        .where(Assignment.incident_id == Incident.id, Assignment.released_at.is_(None))
        .scalar_subquery()
    )
    total = (
        select(func.count(ChecklistItem.id)).where(ChecklistItem.incident_id == Incident.id).scalar_subquery()
    )
    done = (
        select(func.count(ChecklistItem.id))
        .where(ChecklistItem.incident_id == Incident.id, ChecklistItem.done_at.is_not(None))
        .scalar_subquery()
    )
    return (
        select(
            *INCIDENT_COLUMNS,
            grid.name.label("grid_name"),
            community.name.label("community_name"),
            owner.display_name.label("owner_name"),
            units.label("units"),
            done.label("checklist_done"),
            total.label("checklist_total"),
        )
        .outerjoin(grid, grid.id == Incident.grid_id)
        .outerjoin(community, community.id == grid.parent_id)
        .outerjoin(owner, owner.id == Incident.owner_user_id)
    )


def to_row(r: Any) -> IncidentRow:
    """A queue line from one result row of :func:`row_select` (plain columns: no ORM objects,
    which cost most of a page's time when they were loaded just to be copied)."""
    m = r._mapping
    return IncidentRow(
        **{name: m[name] for name in PLAIN_FIELDS},
        units=m["units"] or "", is_drill=bool(m["is_drill"]),
        checklist_done=int(m["checklist_done"] or 0), checklist_total=int(m["checklist_total"] or 0),
    )


def row_in(session: Session, incident_id: int) -> IncidentRow:
    """One row inside an open session (services use it to answer after a write)."""
    r = session.execute(row_select(session).where(Incident.id == incident_id)).first()
    if r is None:
        raise NotFound(_("No incident with id {id}.").format(id=incident_id))
    return to_row(r)


def rows_by_ids(db: Database, ids: Iterable[int]) -> dict[int, IncidentRow]:
    """Fresh rows for the given ids (ids that do not exist are simply absent)."""
    wanted = sorted(set(ids))
    out: dict[int, IncidentRow] = {}
    with db.read() as s:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            for r in s.execute(row_select(s).where(Incident.id.in_(chunk))):
                row = to_row(r)
                out[row.id] = row
    return out


# ---------------------------------------------------------------------------------------------
# The queue.


def text_filter(session: Session, text: str) -> Any:
    """Case-insensitive substring search over number, description, address and reporter name
    and phone, served by an index from two characters on (see ``incident_search``)."""
    return search_filter(session, text)


# SQLite's ``+column`` is the column's value that no index serves: the sampled statistics
# (``PRAGMA analysis_limit``) rate the drill flag, which nearly every incident has False, as
# narrowing the table to a thousand rows, and the planner walked ix_incident_is_drill (every
# real incident) instead of the open queue's, the queue order's or the grid's index. Measured on
# 100,000 incidents: the open queue 49 → 4 ms, one grid 121 → 1 ms, all history 44 → 10 ms.
_SQLITE_DRILL = UnaryExpression(Incident.__table__.c.is_drill, operator=operators.custom_op("+"), type_=Boolean())


def _not_drill(session: Session) -> Any:
    if session.get_bind().dialect.name == "sqlite":
        return _SQLITE_DRILL.is_(False)
    return Incident.is_drill.is_(False)


def queue_filters(session: Session, q: QueueQuery) -> list[Any]:
    where: list[Any] = []
    if q.open_only:
        # literal values, as the partial index ix_incident_open_order states them (a bound
        # parameter would hide from the planner that the index covers the query)
        where.append(Incident.status.in_(bindparam("open_statuses", OPEN_STATUSES, expanding=True,
                                                   literal_execute=True)))
    if q.statuses:
        where.append(Incident.status.in_(q.statuses))
    if q.categories:
        where.append(Incident.category.in_(q.categories))
    if q.severities:
        where.append(Incident.severity.in_(q.severities))
    if q.grid_ids:
        where.append(Incident.grid_id.in_(q.grid_ids))
    if q.owner_user_id is not None:
        where.append(Incident.owner_user_id == q.owner_user_id)
    if not q.include_drill:
        where.append(_not_drill(session))
    if q.text and q.text.strip():
        where.append(text_filter(session, q.text))
    if q.exact is not None:
        where.extend(scope_filters(q.exact, session))
    return where


def grid_open_scope(db: Database, grid_id: int) -> ExactScope:
    """The open incidents of one grid, as the map counts them (drills shown, merged ones not)."""
    with db.read() as s:
        name = s.execute(select(Area.name).where(Area.id == grid_id)).scalar()
    if name is None:
        raise NotFound(_("No grid with id {id}.").format(id=grid_id))
    return ExactScope(label=_("Open incidents of {grid}").format(grid=name), grid_id=grid_id, open_only=True,
                      include_merged=False)


def scope_filters(scope: ExactScope, session: Session) -> list[Any]:
    """The WHERE terms of an :class:`ExactScope` (an empty scope selects every incident)."""
    where: list[Any] = list(scope.where(session)) if scope.where is not None else []
    if scope.ids:
        where.append(Incident.id.in_(sorted(set(scope.ids))))
    if scope.category is not None:
        where.append(Incident.category == scope.category)
    if scope.grid_id is not None:
        where.append(Incident.grid_id == scope.grid_id)
    if scope.created_from is not None:
        where.append(Incident.created_at >= scope.created_from)
    if scope.created_before is not None:
        where.append(Incident.created_at < scope.created_before)
    if scope.created_after is not None:
        where.append(Incident.created_at > scope.created_after)
    if scope.created_until is not None:
        where.append(Incident.created_at <= scope.created_until)
    if scope.open_only:
        where.append(Incident.status.in_(OPEN_STATUSES))
    if not scope.include_drill:
        where.append(Incident.is_drill.is_(False))
    if not scope.include_merged:
        where.append(Incident.merged_into_id.is_(None))
    return where


def query_incidents(db: Database, query: QueueQuery | None = None) -> QueuePage:
    """A page of the queue, most severe first and then oldest first, with the total."""
    with db.read() as s:
        return query_incidents_in(s, query)


def query_incidents_in(s: Session, query: QueueQuery | None = None) -> QueuePage:
    """:func:`query_incidents` inside an open session."""
    q = query or QueueQuery()
    where = queue_filters(s, q)
    order = (Incident.severity, Incident.created_at, Incident.id)
    # The page's ids first, then their rows: the joins and the per-row subqueries (units,
    # checklist counts) are worked out for the hundred rows shown, not for every row that
    # matches before the sort (a filter matching thousands of incidents cost 100 ms and more).
    page = select(Incident.id).where(and_(True, *where)).order_by(*order).limit(max(0, q.limit))
    if q.after is not None:
        severity, created_at, last_id = q.after
        page = page.where(or_(
            Incident.severity > severity,
            and_(Incident.severity == severity, Incident.created_at > created_at),
            and_(Incident.severity == severity, Incident.created_at == created_at, Incident.id > last_id),
        ))
    else:
        page = page.offset(max(0, q.offset))
    stmt = row_select(s).where(Incident.id.in_(page.scalar_subquery())).order_by(*order)
    rows = tuple(to_row(r) for r in s.execute(stmt))
    total = int(s.execute(select(func.count(Incident.id)).where(and_(True, *where))).scalar_one())
    return QueuePage(rows, total, q)


def repeat_reports(
    db: Database,
    phone: str | None = None,
    address: str | None = None,
    days: int = 90,
    *,
    exclude_id: int | None = None,
    limit: int = 50,
) -> list[IncidentRow]:
    """Earlier incidents (last ``days`` days, database clock) from the same phone or address."""
    match = [c == v for c, v in ((Incident.reporter_phone, phone), (Incident.address, address)) if v]
    if not match:
        return []
    with db.read() as s:
        since = db_now(s) - timedelta(days=days)
        stmt = row_select(s).where(or_(*match), Incident.created_at >= since)
        if exclude_id is not None:
            stmt = stmt.where(Incident.id != exclude_id)
        stmt = stmt.order_by(Incident.created_at.desc(), Incident.id.desc()).limit(limit)
        return [to_row(r) for r in s.execute(stmt)]


# ---------------------------------------------------------------------------------------------
# One incident in full.


def find_incident_id(session: Session, number_or_id: str | int) -> int:
    if isinstance(number_or_id, int):
        found = session.execute(select(Incident.id).where(Incident.id == number_or_id)).scalar()
    else:
        key = number_or_id.strip()
        found = session.execute(select(Incident.id).where(Incident.number == key.upper())).scalar()
        if found is None and key.isdigit():
            found = session.execute(select(Incident.id).where(Incident.id == int(key))).scalar()
    if found is None:
        raise NotFound(_("No incident {key}.").format(key=number_or_id))
    return int(found)


def _assignments(session: Session, incident_id: int) -> tuple[AssignmentRow, ...]:
    rows = session.execute(
        select(Assignment, Unit.code, Unit.name, Person.name.label("person_name"))
        .outerjoin(Unit, Unit.id == Assignment.unit_id)
        .outerjoin(Person, Person.id == Assignment.person_id)
        .where(Assignment.incident_id == incident_id)
        .order_by(Assignment.id)
    ).all()
    return tuple(
        AssignmentRow(a.id, a.unit_id, code, name, a.person_id, person_name, a.status, a.assigned_at,
                      a.arrived_at, a.released_at)
        for a, code, name, person_name in rows
    )


def get_incident(db: Database, number_or_id: str | int) -> IncidentDetail:
    """The incident with its timeline, assignments and checklist (NotFound if there is none)."""
    with db.read() as s:
        incident_id = find_incident_id(s, number_or_id)
        row = row_in(s, incident_id)
        inc = s.get(Incident, incident_id)
        assert inc is not None
        creator = s.execute(select(User.display_name).where(User.id == inc.created_by)).scalar()
        merged_into = None
        if inc.merged_into_id is not None:
            merged_into = s.execute(select(Incident.number).where(Incident.id == inc.merged_into_id)).scalar()
        merged_from = tuple(s.execute(
            select(Incident.number).where(Incident.merged_into_id == incident_id).order_by(Incident.id)
        ).scalars())
        events = tuple(
            TimelineEvent(e.id, e.at, e.kind, e.user_id, e.username, e.station, e.note, e.data)
            for e in s.execute(
                select(IncidentEvent).where(IncidentEvent.incident_id == incident_id)
                .order_by(IncidentEvent.at, IncidentEvent.id)
            ).scalars()
        )
        checklist = tuple(
            ChecklistItemRow(c.id, c.template_code, c.step_key, c.position, c.text, bool(c.required),
                             c.due_at, c.done_at, c.report_kind, c.note)
            for c in s.execute(
                select(ChecklistItem).where(ChecklistItem.incident_id == incident_id)
                .order_by(ChecklistItem.position, ChecklistItem.id)
            ).scalars()
        )
        return IncidentDetail(row, inc.external_id, inc.drill_run_id, inc.station, creator, merged_into,
                              merged_from, events, _assignments(s, incident_id), checklist)


# ---------------------------------------------------------------------------------------------
# Units.


def unit_rows(
    session: Session, statuses: Sequence[str] | None = None, *, unit_id: int | None = None,
    free_only: bool = False,
) -> list[UnitRow]:
    current = (
        select(func.min(Incident.number))
        .join(Assignment, Assignment.incident_id == Incident.id)
        .where(Assignment.unit_id == Unit.id, Assignment.released_at.is_(None))
        .scalar_subquery()
    )
    stmt = select(Unit, current.label("incident_number")).order_by(Unit.kind, Unit.name, Unit.id)
    if statuses is not None:
        stmt = stmt.where(Unit.status.in_(statuses))
    if unit_id is not None:
        stmt = stmt.where(Unit.id == unit_id)
    if free_only:
        stmt = stmt.where(current.is_(None))
    return [
        UnitRow(u.id, u.code, u.name, u.kind, u.status, u.contact_name, u.phone, u.version, number)
        for u, number in session.execute(stmt)
    ]


def list_units(db: Database) -> list[UnitRow]:
    with db.read() as s:
        return unit_rows(s)


def list_assignable_units(db: Database) -> list[UnitRow]:
    """Units that may be sent now: available or on their way back, and not on another incident."""
    with db.read() as s:
        return unit_rows(s, ASSIGNABLE_UNIT_STATUSES, free_only=True)
