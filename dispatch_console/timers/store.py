"""Timer rows written inside the caller's write transaction: scheduling, cancelling, the outcome an
effect leaves for the timeline; the kinds of timers and their labels."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.engine import db_now
from db.models import Timer
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.change_kinds import Entity, Op
from dispatch_console.kernel.changes import record, serialise_writers, to_jsonable
from dispatch_console.kernel.i18n import N_, _

# Escalation deadlines of an incident (see dispatch_console.escalation.service). ``repage`` pages again
# an incident that was acknowledged but not resolved.
PHASE_KINDS = ("ack", "dispatch", "arrive", "resolve")
ESCALATION_KINDS = (*PHASE_KINDS, "repage")

KIND_LABELS: dict[str, str] = {
    "ack": N_("acknowledgement"),
    "dispatch": N_("dispatch"),
    "arrive": N_("arrival on scene"),
    "resolve": N_("resolution"),
    "repage": N_("re-page"),
    "reminder": N_("reminder"),
    "checklist": N_("checklist step"),
    "handover_reminder": N_("handover reminder"),
    "handover_accept": N_("handover acceptance"),
    "call": N_("leader call-out"),
    "transfer_receipt": N_("transfer receipt"),
}

DEFAULT_STATION = "timers"


def kind_label(kind: str) -> str:
    return _(KIND_LABELS[kind]) if kind in KIND_LABELS else kind


def schedule(
    session: Session,
    *,
    kind: str,
    due_at: datetime,
    incident_id: int | None = None,
    shift_id: int | None = None,
    handover_id: int | None = None,
    checklist_item_id: int | None = None,
    case_id: int | None = None,
    step: int = 0,
    target_role: str | None = None,
    payload: dict[str, Any] | None = None,
    is_drill: bool = False,
    actor: Actor | None = None,
) -> Timer:
    """Add one pending timer (and its audit/change_log rows, so every engine re-arms)."""
    now = db_now(session)
    timer = Timer(
        kind=kind, incident_id=incident_id, shift_id=shift_id, handover_id=handover_id,
        checklist_item_id=checklist_item_id, case_id=case_id, step=step, target_role=target_role,
        due_at=due_at, created_at=now, is_drill=is_drill, payload=to_jsonable(payload) if payload else None,
    )
    session.add(timer)
    session.flush()
    record(session, actor or Actor.system(DEFAULT_STATION), entity=Entity.TIMER, entity_id=timer.id,
           op=Op.SCHEDULE, action="timer.schedule",
           after={"kind": kind, "due_at": due_at, "incident_id": incident_id, "case_id": case_id, "step": step,
                  "target_role": target_role, "is_drill": is_drill}, at=now,
           incident_id=incident_id, due_at=due_at)
    return timer


def cancel(
    session: Session,
    *,
    reason: str,
    incident_id: int | None = None,
    kinds: Collection[str] | None = None,
    checklist_item_id: int | None = None,
    handover_id: int | None = None,
    case_id: int | None = None,
    actor: Actor | None = None,
) -> int:
    """Cancel the matching pending timers; returns how many. Refuses to cancel without a filter."""
    if incident_id is None and checklist_item_id is None and handover_id is None and case_id is None:
        raise ValueError("cancel() needs an incident, checklist item, handover or case")
    serialise_writers(session)  # same lock order as firing: writers' lock, then timer rows
    query = select(Timer.id, Timer.incident_id).where(Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))
    if incident_id is not None:
        query = query.where(Timer.incident_id == incident_id)
    if checklist_item_id is not None:
        query = query.where(Timer.checklist_item_id == checklist_item_id)
    if handover_id is not None:
        query = query.where(Timer.handover_id == handover_id)
    if case_id is not None:
        query = query.where(Timer.case_id == case_id)
    if kinds is not None:
        query = query.where(Timer.kind.in_(list(kinds)))
    found = {int(i): about for i, about in session.execute(query.order_by(Timer.id))}
    ids = list(found)
    if not ids:
        return 0
    now = db_now(session)
    session.execute(
        update(Timer)
        .where(Timer.id.in_(ids), Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))
        .values(cancelled_at=now, cancel_reason=reason[:100])
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    who = actor or Actor.system(DEFAULT_STATION)
    for timer_id in ids:
        record(session, who, entity=Entity.TIMER, entity_id=timer_id, op=Op.CANCEL, action="timer.cancel",
               after={"reason": reason}, at=now, incident_id=found[timer_id])
    return len(ids)


def set_outcome(timer: Timer, text: str) -> None:
    """An effect tells the timeline what came of the firing (e.g. "no longer needed")."""
    timer.payload = {**(timer.payload or {}), "outcome": text}
