"""The incident service: record, acknowledge, dispatch, follow to closure, merge duplicates.

Lifecycle: new → acknowledged → dispatched → on_scene → resolved → closed; resolved or closed
incidents reopen to acknowledged; an open incident that duplicates another is cancelled and
merged into it. Every write serialises with the other writers first (the same lock
``changes.record`` takes, taken up front so that two incidents are never locked in opposite
orders), checks the version the officer saw, writes a timeline row, records the change and runs
the follow-ups (checklists, escalation timers) in the same transaction.

Units and people sent to incidents are in :mod:`dispatch_console.incidents.units`; reads are in
:mod:`dispatch_console.incidents.queue` and re-exported here.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from db.engine import Database, db_now
from db.models import Area, Assignment, Incident, IncidentEvent
from dispatch_console.incidents import followups
from dispatch_console.incidents.draft import (
    MAX_DESCRIPTION,
    IncidentDraft,
    Problem,
    draft_problems,
    text_problem,
    validate_draft,
)
from dispatch_console.incidents.lifecycle import add_event, illegal, load_for_update, transition
from dispatch_console.incidents.numbers import grid_and_prefix, next_number, number_day, street_prefix
from dispatch_console.incidents.queue import (
    AssignmentRow,
    ChecklistItemRow,
    IncidentDetail,
    IncidentRow,
    QueuePage,
    QueueQuery,
    TimelineEvent,
    UnitRow,
    find_incident_id,
    get_incident,
    list_assignable_units,
    list_units,
    query_incidents,
    repeat_reports,
    row_in,
    rows_by_ids,
)
from dispatch_console.incidents.units import (
    assign,
    mark_on_scene,
    release,
    release_all,
    set_unit_status,
)
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.categories import OPEN_STATUSES, Catalog
from dispatch_console.kernel.changes import (
    defer_to_the_end,
    number_at_the_end,
    record,
    row_dict,
    serialise_writers,
    writers_locked,
)
from dispatch_console.kernel.errors import ValidationError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import require

log = logging.getLogger(__name__)

__all__ = [
    "AssignmentRow", "ChecklistItemRow", "CreateResult", "IncidentDetail", "IncidentDraft", "IncidentRow",
    "Problem", "QueuePage", "QueueQuery", "TimelineEvent", "UnitRow", "acknowledge", "add_incident",
    "add_note", "assign", "close", "create_incident", "draft_problems", "find_incident_id", "get_incident",
    "list_assignable_units", "list_units", "mark_on_scene", "merge_duplicate", "query_incidents",
    "release", "reopen", "repeat_reports", "resolve", "rows_by_ids", "set_unit_status", "update_incident",
    "validate_draft",
]


@dataclass(frozen=True)
class CreateResult:
    row: IncidentRow
    duplicate: bool  # True: the external_id was known; ``row`` is the incident stored earlier
    replayed: bool = False  # True: this request (its request_id) had already stored ``row``


# ---------------------------------------------------------------------------------------------
# Recording a new incident.


def resolve_grid(session: Session, draft: IncidentDraft) -> int | None:
    """The grid from ``grid_id``, from a grid code or name, or from the coordinates."""
    if draft.grid_id is not None:
        found = session.execute(
            select(Area.id).where(Area.id == draft.grid_id, Area.level == "grid")
        ).scalar()
        if found is None:
            raise ValidationError(_("Unknown grid {grid}.").format(grid=draft.grid_id), "grid")
        return int(found)
    if draft.grid:
        key = draft.grid.strip()
        by_code = session.execute(select(Area.id).where(Area.level == "grid", Area.code == key)).scalar()
        if by_code is not None:
            return int(by_code)
        by_name = session.execute(select(Area.id).where(Area.level == "grid", Area.name == key)).scalars().all()
        if len(by_name) > 1:
            raise ValidationError(
                _("Several grids are named {grid}; give the grid's code.").format(grid=key), "grid")
        if not by_name:
            raise ValidationError(_("Unknown grid {grid}.").format(grid=key), "grid")
        return int(by_name[0])
    if draft.lon is not None and draft.lat is not None:
        from dispatch_console.jurisdiction import find_grid

        return find_grid(session, float(draft.lon), float(draft.lat))
    return None


def _optional(value: str | None) -> str | None:
    return value if value else None


def stored_by_request(session: Session, request_id: str | None) -> Incident | None:
    """The incident this request already stored (its first try committed), if any."""
    if not request_id:
        return None
    return session.execute(select(Incident).where(Incident.request_id == request_id)).scalar_one_or_none()


def add_incident(
    session: Session, actor: Actor, draft: IncidentDraft, catalog: Catalog | None = None,
    *, request_id: str | None = None, defer_number: bool = False,
) -> tuple[Incident, bool]:
    """Record the draft inside the caller's write transaction; (incident, was it a duplicate).

    ``request_id`` is the write's idempotency key: the incident stored under it is stored once,
    however often the request is tried (see :func:`create_incident`). ``defer_number`` is for a
    transaction that records the incident and nothing else and reads it back after the commit
    (:func:`create_incident`): its number is then taken at the end; any other caller (a warning's
    response, an accepted transfer) gets the number at once, to show or to store.
    """
    require(actor, "incident.create")
    validate_draft(draft, catalog)
    if draft.external_id:
        existing = session.execute(
            select(Incident).where(Incident.external_id == draft.external_id)
        ).scalar_one_or_none()
        if existing is not None:
            return existing, True
    if draft.grid_id is not None:  # the grid checked and its street's prefix found in one statement
        level, prefix = grid_and_prefix(session, draft.grid_id)
        if level != "grid":
            raise ValidationError(_("Unknown grid {grid}.").format(grid=draft.grid_id), "grid")
        grid_id: int | None = int(draft.grid_id)
    else:
        grid_id = resolve_grid(session, draft)
        prefix = street_prefix(session, grid_id)
    # The number is taken under the writers' lock: at once if it is held (SQLite, a drill's inject
    # fired by a timer), else at the end of the transaction, with the audit rows, in one short
    # step — so that writers recording at once wait for each other only there. Until then the
    # incident carries a placeholder nobody sees (it is replaced before the commit).
    if not defer_number:
        serialise_writers(session)  # the caller reads the incident in its own transaction: the number now
    now = db_now(session)
    if writers_locked(session):
        number = next_number(session, prefix, now)
    else:
        defer_to_the_end(session)
        number = PENDING_NUMBER + uuid.uuid4().hex[:24]
    incident = Incident(
        number=number, category=draft.category, severity=draft.severity, source=draft.source,
        status="new", grid_id=grid_id, address=_optional(draft.address), lon=draft.lon, lat=draft.lat,
        reporter_name=_optional(draft.reporter_name), reporter_phone=_optional(draft.reporter_phone),
        description=draft.description, people_count=draft.people_count, is_drill=draft.is_drill,
        drill_run_id=draft.drill_run_id, external_id=_optional(draft.external_id),
        created_by=actor.user_id, station=actor.station, version=1, reported_at=draft.reported_at,
        created_at=now, updated_at=now, request_id=request_id or None,
    )
    session.add(incident)
    session.flush()
    add_event(session, actor, incident, "created", now,
              data={"source": draft.source, "category": draft.category, "severity": draft.severity,
                    "external_id": incident.external_id}, flush=False)  # written with the follow-ups' rows
    record(session, actor, entity="incident", entity_id=incident.id, op="create", action="incident.create",
           after=row_dict(incident), at=now)
    if number.startswith(PENDING_NUMBER):  # first under the lock, whoever takes it (a follow-up may)
        number_at_the_end(session, placeholder=number, prefix=prefix, day=number_day(now), incident_id=incident.id,
                          then=lambda taken: set_committed_value(incident, "number", taken))
    followups.after_incident_change(session, actor, incident, "created", None)
    return incident, False


PENDING_NUMBER = "~"  # an incident's number until the writers' lock is taken (never committed)


def create_incident(
    db: Database, actor: Actor, draft: IncidentDraft, catalog: Catalog | None = None,
    *, request_id: str | None = None,
) -> CreateResult:
    """Record a new incident in its own transaction. A known external_id returns the earlier one.

    With a ``request_id`` the call may be repeated after a lost connection: if an earlier try
    committed, its incident is returned (``replayed``), stored once. The earlier try is not
    looked for first (a statement every new incident would pay for): the request id is unique,
    so its insert fails, and only then is the stored incident read.
    """
    require(actor, "incident.create")
    try:
        with db.write() as s:
            incident, duplicate = add_incident(s, actor, draft, catalog, request_id=request_id, defer_number=True)
            incident_id = incident.id
            replayed = duplicate and bool(request_id) and incident.request_id == request_id
        with db.read() as s:  # read after the commit: the writers' lock is not held for it
            return CreateResult(row_in(s, incident_id), duplicate and not replayed, replayed=replayed)
    except ValidationError:
        # an earlier try stored it (a journal replayed after the grid or the catalog changed)
        earlier = _replayed(db, request_id)
        if earlier is None:
            raise
        return earlier
    except IntegrityError:
        earlier = _replayed(db, request_id)
        if earlier is not None:
            return earlier
        # Another writer stored the same external_id between our check and our insert.
        if not draft.external_id:
            raise
        with db.read() as s:
            found = s.execute(select(Incident.id).where(Incident.external_id == draft.external_id)).scalar()
            if found is None:
                raise
            return CreateResult(row_in(s, int(found)), True)


def _replayed(db: Database, request_id: str | None) -> CreateResult | None:
    """The answer to a request an earlier try committed, if one did."""
    if not request_id:
        return None
    with db.read() as s:
        mine = stored_by_request(s, request_id)
        return CreateResult(row_in(s, mine.id), False, replayed=True) if mine is not None else None


# ---------------------------------------------------------------------------------------------
# Lifecycle.


def acknowledge(db: Database, actor: Actor, incident_id: int, version: int) -> IncidentRow:
    """new → acknowledged; the acknowledging officer becomes the owner."""
    require(actor, "incident.acknowledge")
    with db.write() as s:
        inc = load_for_update(s, incident_id, version)
        if inc.status != "new":
            raise illegal(inc, "acknowledge")
        now = db_now(s)
        transition(s, actor, inc, "acknowledged", now, {"acknowledged_at": now, "owner_user_id": actor.user_id})
        return row_in(s, incident_id)


def resolve(db: Database, actor: Actor, incident_id: int, version: int, note: str | None = None) -> IncidentRow:
    """acknowledged / dispatched / on_scene → resolved; every unit still there is released."""
    require(actor, "incident.transition")
    with db.write() as s:
        inc = load_for_update(s, incident_id, version)
        if inc.status not in ("acknowledged", "dispatched", "on_scene"):
            raise illegal(inc, "resolve")
        _check_note(note)
        followups.before_incident_resolve(s, inc, note)
        now = db_now(s)
        release_all(s, actor, inc, now)
        transition(s, actor, inc, "resolved", now, {"resolved_at": now}, note=note)
        return row_in(s, incident_id)


def close(db: Database, actor: Actor, incident_id: int, version: int, note: str | None = None) -> IncidentRow:
    """resolved → closed (filed), once the follow-ups allow it (required checklist steps …)."""
    require(actor, "incident.transition")
    with db.write() as s:
        inc = load_for_update(s, incident_id, version)
        if inc.status != "resolved":
            raise illegal(inc, "close")
        _check_note(note)
        followups.before_incident_close(s, inc)
        now = db_now(s)
        transition(s, actor, inc, "closed", now, {"closed_at": now}, note=note)
        return row_in(s, incident_id)


def reopen(db: Database, actor: Actor, incident_id: int, version: int, reason: str | None = None) -> IncidentRow:
    """resolved / closed → acknowledged (the timeline keeps when it was resolved and closed)."""
    require(actor, "incident.reopen")
    with db.write() as s:
        inc = load_for_update(s, incident_id, version)
        if inc.status not in ("resolved", "closed"):
            raise illegal(inc, "reopen")
        _check_note(reason)
        now = db_now(s)
        values: dict[str, Any] = {"resolved_at": None, "closed_at": None}
        if inc.owner_user_id is None:
            values["owner_user_id"] = actor.user_id
        transition(s, actor, inc, "acknowledged", now, values, note=reason, event="reopened",
                   change="reopened")
        return row_in(s, incident_id)


def merge_duplicate(
    db: Database, actor: Actor, incident_id: int, version: int, into: int | str, note: str | None = None
) -> IncidentRow:
    """Cancel an open incident as a duplicate of ``into``; both timelines say so and are kept."""
    require(actor, "incident.merge")
    with db.write() as s:
        inc = load_for_update(s, incident_id, version)
        if inc.status not in OPEN_STATUSES:
            raise illegal(inc, "merge")
        _check_note(note)
        target_id = find_incident_id(s, into)
        target = s.get(Incident, target_id)
        assert target is not None
        if target.id == inc.id:
            raise ValidationError(_("An incident cannot be merged into itself."), "into")
        if target.status == "cancelled":
            raise ValidationError(
                _("{number} was itself cancelled as a duplicate; merge into the incident it was merged into.")
                .format(number=target.number), "into")
        if any(a.released_at is None for a in _active(s, inc)):
            raise ValidationError(
                _("Units are still assigned to {number}; release them before merging.").format(
                    number=inc.number), "into")
        now = db_now(s)
        transition(s, actor, inc, "cancelled", now, {"merged_into_id": target.id}, note=note,
                   event="merged_into", change="cancelled",
                   data={"into_id": target.id, "into_number": target.number})
        add_event(s, actor, target, "merged_from", now, note=note,
                  data={"from_id": inc.id, "from_number": inc.number})
        record(s, actor, entity="incident", entity_id=target.id, op="merge", action="incident.merged_from",
               after={"from_id": inc.id, "from_number": inc.number}, at=now)
        return row_in(s, incident_id)


def _active(session: Session, inc: Incident) -> list[Assignment]:
    return list(session.execute(
        select(Assignment).where(Assignment.incident_id == inc.id, Assignment.released_at.is_(None))
    ).scalars())


def _check_note(note: str | None) -> None:
    problem = text_problem(note, "note", MAX_DESCRIPTION, _("Note"), multiline=True)
    if problem:
        raise ValidationError(problem, "note")


# ---------------------------------------------------------------------------------------------
# Notes and edits.


def add_note(db: Database, actor: Actor, incident_id: int, text: str, *,
             request_id: str | None = None) -> TimelineEvent:
    """A note on the timeline (it does not change the incident's version).

    With a ``request_id`` (a note kept in the offline journal) the note is stored once however
    often it is sent: a second call finds the first one's event (under the writers' lock).
    """
    require(actor, "incident.note")
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(_("A note needs some text."), "note")
    _check_note(text)
    with db.write() as s:
        serialise_writers(s)
        inc = s.get(Incident, find_incident_id(s, incident_id))
        assert inc is not None
        if request_id is not None:
            for earlier in s.execute(select(IncidentEvent).where(
                    IncidentEvent.incident_id == inc.id, IncidentEvent.kind == "note",
                    IncidentEvent.note == text)).scalars():
                if (earlier.data or {}).get("request_id") == request_id:
                    return TimelineEvent(earlier.id, earlier.at, earlier.kind, earlier.user_id, earlier.username,
                                         earlier.station, earlier.note, earlier.data)
        now = db_now(s)
        event = add_event(s, actor, inc, "note", now, note=text,
                          data={"request_id": request_id} if request_id is not None else None)
        record(s, actor, entity="incident", entity_id=inc.id, op="note", action="incident.note",
               after={"event_id": event.id, "note": text}, at=now)
        followups.after_incident_change(s, actor, inc, "note", None)
        return TimelineEvent(event.id, event.at, event.kind, event.user_id, event.username, event.station,
                             event.note, event.data)


EDITABLE = ("category", "severity", "source", "description", "address", "lon", "lat", "grid", "grid_id",
            "reporter_name", "reporter_phone", "people_count")


def update_incident(db: Database, actor: Actor, incident_id: int, version: int, **changes: Any) -> IncidentRow:
    """Edit fields (severity, category, description …); the timeline records before → after."""
    require(actor, "incident.edit")
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ValidationError(_("These fields cannot be edited: {fields}.").format(fields=", ".join(unknown)))
    with db.write() as s:
        inc = load_for_update(s, incident_id, version)
        if inc.status in ("closed", "cancelled"):
            raise illegal(inc, "edit")
        names = {f.name for f in fields(IncidentDraft)}
        current = {name: getattr(inc, name) for name in names if hasattr(inc, name)}
        if {"grid", "lon", "lat"} & set(changes) and "grid_id" not in changes:
            current["grid_id"] = None  # found again from the new grid name or coordinates
        draft = IncidentDraft(**{**current, "grid": None, **changes})
        validate_draft(draft)
        values: dict[str, Any] = {k: v for k, v in changes.items() if k not in ("grid", "grid_id")}
        for key in ("address", "reporter_name", "reporter_phone"):
            if key in values:
                values[key] = _optional(values[key])
        if {"grid", "grid_id", "lon", "lat"} & set(changes):
            values["grid_id"] = resolve_grid(s, draft)
        diff = {k: [getattr(inc, k), v] for k, v in values.items() if getattr(inc, k) != v}
        if not diff:
            return row_in(s, incident_id)
        kinds = [k for k in ("severity", "category") if k in diff] or ["updated"]
        now = db_now(s)
        transition(s, actor, inc, inc.status, now, values, event="updated",
                   change=[f"{k}_changed" if k != "updated" else k for k in kinds], data={"changes": diff})
        return row_in(s, incident_id)
