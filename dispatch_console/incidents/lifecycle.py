"""The steps every incident write shares: lock, version check, status change, timeline, record.

Illegal transitions are refused with the incident's number, its status and what was asked
("TY-20261127-0042 is resolved; it cannot be dispatched").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from db.models import Incident, IncidentEvent
from dispatch_console.incidents import followups
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.categories import shipped_catalog
from dispatch_console.kernel.changes import record, row_dict, serialise_writers, update_versioned
from dispatch_console.kernel.errors import IllegalTransition, NotFound
from dispatch_console.kernel.i18n import N_, _, language

# What was asked, as the refusal that ends the message.
REFUSALS: dict[str, str] = {
    "acknowledge": N_("it cannot be acknowledged"),
    "dispatch": N_("it cannot be dispatched"),
    "on_scene": N_("it cannot be marked on scene"),
    "resolve": N_("it cannot be resolved"),
    "close": N_("it cannot be closed"),
    "reopen": N_("it cannot be reopened"),
    "merge": N_("it cannot be merged as a duplicate"),
    "edit": N_("it cannot be edited"),
}


def illegal(incident: Incident, action: str) -> IllegalTransition:
    status = shipped_catalog().status_label(incident.status)
    if language() == "en":
        status = status.lower()
    return IllegalTransition(
        _("{number} is {status}; {refusal}.").format(
            number=incident.number, status=status, refusal=_(REFUSALS[action]))
    )


def load_for_update(session: Session, incident_id: int, seen_version: int) -> Incident:
    """The incident, after taking the writers' lock, if it is still at the version the officer saw.

    A stale version raises ConcurrentChange naming who changed it and when (the version check is
    made before the status check, so the loser of a race hears about the winner, not about a
    status it never saw).
    """
    serialise_writers(session)
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(_("No incident with id {id}.").format(id=incident_id))
    if incident.version != seen_version:
        # Matches no row, so it raises ConcurrentChange with who and when from the audit log.
        update_versioned(session, Incident, incident_id, seen_version, {}, entity="incident")
    return incident


def add_event(
    session: Session,
    actor: Actor,
    incident: Incident,
    kind: str,
    at: datetime,
    *,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    flush: bool = True,
) -> IncidentEvent:
    """A timeline row; ``flush=False`` leaves it to the transaction's next flush (its id unread)."""
    event = IncidentEvent(incident_id=incident.id, at=at, kind=kind, user_id=actor.user_id,
                          username=actor.username, station=actor.station, note=note, data=data)
    session.add(event)
    if flush:
        session.flush()
    return event


def transition(
    session: Session,
    actor: Actor,
    incident: Incident,
    to_status: str,
    now: datetime,
    values: dict[str, Any] | None = None,
    *,
    note: str | None = None,
    event: str | None = None,
    change: str | Sequence[str] | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Move the incident to ``to_status`` with ``values``: versioned update, timeline, record, follow-ups."""
    session.flush()
    before = row_dict(incident)
    update_versioned(session, Incident, incident.id, incident.version,
                     {"status": to_status, "updated_at": now, **(values or {})}, entity="incident")
    session.refresh(incident)
    kind = event or to_status
    add_event(session, actor, incident, kind, now, note=note,
              data={"from": before["status"], "to": to_status, **(data or {})})
    record(session, actor, entity="incident", entity_id=incident.id, op="update", action=f"incident.{kind}",
           before=before, after=row_dict(incident), at=now)
    kinds = [change or to_status] if isinstance(change, str) or change is None else list(change)
    for k in kinds:
        followups.after_incident_change(session, actor, incident, str(k), before)
