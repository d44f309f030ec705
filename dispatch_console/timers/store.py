"""Timer rows written inside the caller's write transaction: scheduling, cancelling, the outcome an
effect leaves for the timeline; the kinds of timers and their labels."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import TextClause, insert, select, text, update
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
    now: datetime | None = None,
) -> Timer:
    """Add one pending timer (and its audit/change_log rows, so every engine re-arms).

    ``now`` is the change's time by the database clock when the caller has it already (else it
    is read)."""
    now = now or db_now(session)
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


def insert_ids(session: Session, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` (same keys each) into ``table`` in one statement; their new ids, in order.

    PostgreSQL: the rows travel as one JSON parameter, ``INSERT … SELECT … FROM
    jsonb_to_recordset(…) ORDER BY ord RETURNING id`` — a short statement of the same text for
    any number of rows, so that neither SQLAlchemy nor psycopg renders and parses a multi-row
    VALUES list each time (that cost an incident more than its ten statements' round trips).
    The ids come from the table's sequence in the order the rows are inserted, so sorted they are
    the rows' ids. SQLite cannot promise the order of RETURNING rows, so the rows go in one
    executemany and the ids are read back: the write transaction began IMMEDIATE, so nobody
    else inserts meanwhile, and the ids are the table's newest ones, in the order inserted."""
    if not rows:
        return []
    bind = session.get_bind()
    keys = tuple(rows[0])
    if bind.dialect.name == "postgresql":
        payload = json.dumps([{**{k: _json_value(row[k]) for k in keys}, "dc_ord": n} for n, row in enumerate(rows)],
                             ensure_ascii=False)
        got = session.execute(_recordset_insert(bind.dialect, table, keys), {"rows": payload}).scalars()
        return sorted(int(i) for i in got)
    session.flush()  # nothing of the session's own may land in the table between the two
    session.execute(insert(table), rows)
    newest = sorted(int(i) for i in session.execute(
        select(table.c.id).order_by(table.c.id.desc()).limit(len(rows))).scalars())
    if len(newest) != len(rows):
        raise RuntimeError(f"{table.name}: {len(rows)} rows inserted, {len(newest)} found")
    return newest


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).isoformat()
    return value


_RECORDSET_INSERTS: dict[tuple[str, tuple[str, ...]], TextClause] = {}


def _recordset_insert(dialect: Any, table: Any, keys: tuple[str, ...]) -> TextClause:
    key = (table.name, keys)
    found = _RECORDSET_INSERTS.get(key)
    if found is None:
        columns = ", ".join(f'"{k}"' for k in keys)
        types = ", ".join(f'"{k}" {table.c[k].type.compile(dialect=dialect)}' for k in keys)
        found = text(f'INSERT INTO "{table.name}" ({columns}) SELECT {columns} FROM jsonb_to_recordset('
                     f"CAST(:rows AS jsonb)) AS r({types}, dc_ord integer) ORDER BY dc_ord RETURNING id")
        _RECORDSET_INSERTS[key] = found
    return found


@dataclass(frozen=True)
class NewTimer:
    """One timer for :func:`schedule_many` (the arguments of :func:`schedule`)."""

    kind: str
    due_at: datetime
    incident_id: int | None = None
    checklist_item_id: int | None = None
    case_id: int | None = None
    step: int = 0
    target_role: str | None = None
    payload: dict[str, Any] | None = None
    is_drill: bool = False


def schedule_many(session: Session, timers: Sequence[NewTimer], *, actor: Actor | None = None,
                  now: datetime | None = None) -> list[int]:
    """Add several pending timers in one INSERT (an incident's checklist deadlines); their ids.

    The same rows, audit and change_log rows as :func:`schedule` once per timer, in the same
    order; the timers are not loaded into the session (nobody reads them back in the write).
    """
    if not timers:
        return []
    now = now or db_now(session)
    rows = [{"kind": t.kind, "incident_id": t.incident_id, "checklist_item_id": t.checklist_item_id,
             "case_id": t.case_id, "step": t.step, "target_role": t.target_role, "due_at": t.due_at,
             "created_at": now, "is_drill": t.is_drill,
             "payload": to_jsonable(t.payload) if t.payload else None} for t in timers]
    ids = insert_ids(session, Timer.__table__, rows)
    who = actor or Actor.system(DEFAULT_STATION)
    for timer_id, t in zip(ids, timers, strict=True):
        record(session, who, entity=Entity.TIMER, entity_id=timer_id, op=Op.SCHEDULE, action="timer.schedule",
               after={"kind": t.kind, "due_at": t.due_at, "incident_id": t.incident_id, "case_id": t.case_id,
                      "step": t.step, "target_role": t.target_role, "is_drill": t.is_drill}, at=now,
               incident_id=t.incident_id, due_at=t.due_at)
    return ids


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
