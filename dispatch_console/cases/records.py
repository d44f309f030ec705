"""What every write of the cases room shares: the lock, the version check, the timeline, visits.

Each service function opens one write transaction, takes the writers' lock first (so that reading
the version and changing the row cannot interleave with another workstation's write), checks the
version the officer saw, changes the rows, adds a timeline entry and records the change (audit and
change feed, entity ``case``). Nothing here commits; the services own their transactions.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.models import Case, CaseEvent, CaseVisit, GridStaff, Person, Timer
from dispatch_console.cases import policy
from dispatch_console.cases.vocabulary import (
    FOLLOW_UP_KIND,
    KIND_LABELS,
    PETITION_DEADLINE_KINDS,
    PETITION_WINDOW_KIND,
    REOPENING_RESULTS,
    label,
)
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changes import changed_by, last_change_by, record, row_dict, serialise_writers
from dispatch_console.kernel.errors import NotFound
from dispatch_console.kernel.i18n import _
from dispatch_console.notifications import service as notifications
from dispatch_console.timers import engine as timers


def load_for_update(s: Session, case_id: int, seen_version: int | None = None) -> Case:
    """The case, after the writers' lock; ConcurrentChange if it moved on since ``seen_version``."""
    serialise_writers(s)
    case = s.get(Case, case_id)
    if case is None:
        raise NotFound(_("No case with id {id}.").format(id=case_id))
    if seen_version is not None and case.version != seen_version:
        raise changed_by(*last_change_by(s, "case", case_id))
    return case


def find_case_id(s: Session, number: str) -> int:
    key = number.strip().upper()
    found = s.execute(select(Case.id).where(Case.number == key)).scalar()
    if found is None and key.isdigit():
        found = s.execute(select(Case.id).where(Case.id == int(key))).scalar()
    if found is None:
        raise NotFound(_("No case numbered {number}.").format(number=number))
    return int(found)


def snapshot(case: Case) -> dict[str, Any]:
    return row_dict(case, exclude=("description", "agreement_text", "reply_text"))


def changed(s: Session, actor: Actor, case: Case, op: str, now: datetime, *,
            before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
            note: str | None = None, event: str | None = None, data: dict[str, Any] | None = None) -> None:
    """Bump the version, write the timeline entry and the audit/change rows of one change."""
    case.version = (case.version or 0) + 1
    case.updated_at = now
    s.flush()
    if note is not None:
        add_event(s, actor, case.id, event or op, note, now, data)
    record(s, actor, entity="case", entity_id=case.id, op=op, action=f"case.{op}", before=before,
           after=after if after is not None else snapshot(case), at=now)


def add_event(s: Session, actor: Actor, case_id: int, kind: str, note: str, at: datetime,
              data: dict[str, Any] | None = None) -> None:
    s.add(CaseEvent(case_id=case_id, at=at, kind=kind, username=actor.username, station=actor.station,
                    note=note, data=data))


def case_title(case: Case) -> str:
    return _("{kind} {number}").format(kind=label(KIND_LABELS, case.kind), number=case.number)


def notify(s: Session, actor: Actor, case: Case, *, kind: str, title: str, body: str | None, level: str,
           role: str, timer_id: int | None = None, at: datetime | None = None) -> None:
    notifications.notify(s, kind=kind, title=title, body=body, level=level, target_role=role, timer_id=timer_id,
                         is_drill=case.is_drill, actor=actor, at=at)


def grid_visitor(s: Session, grid_id: int | None) -> tuple[int | None, str | None]:
    """The grid's staff member who visits (一格三员, in the policy's order), else nobody."""
    if grid_id is None:
        return None, None
    order = policy.cases().visit_roles
    rows = s.execute(select(GridStaff.role, Person.id, Person.name)
                     .join(Person, Person.id == GridStaff.person_id)
                     .where(GridStaff.grid_id == grid_id, Person.active.is_(True))).all()
    for role in order:
        for r in rows:
            if r.role == role:
                return int(r.id), str(r.name)
    return None, None


def schedule_visits(s: Session, actor: Actor, case: Case, start: datetime) -> list[CaseVisit]:
    """The follow-up visits at the policy's offsets from ``start``, each with its missed-visit deadline."""
    pol = policy.cases()
    person_id, person_name = grid_visitor(s, case.grid_id)
    visits: list[CaseVisit] = []
    for offset in pol.follow_ups:
        visit = CaseVisit(case_id=case.id, due_at=start + offset, days=max(0, round(offset / timedelta(days=1))),
                          state="due", assignee_person_id=person_id, assignee_name=person_name, version=1)
        s.add(visit)
        s.flush()
        timers.schedule(s, kind=FOLLOW_UP_KIND, due_at=visit.due_at + pol.visit_grace, case_id=case.id,
                        target_role=pol.missed_visit_role, is_drill=case.is_drill, actor=actor,
                        payload={"visit_id": visit.id, "number": case.number})
        visits.append(visit)
    return visits


def has_visits_since_reopen(s: Session, case: Case) -> bool:
    """Visits still due, or done without reopening the case (a reopening visit starts afresh)."""
    rows = s.execute(select(CaseVisit.state, CaseVisit.result).where(CaseVisit.case_id == case.id)).all()
    return any(r.state == "due" or (r.state == "done" and r.result not in REOPENING_RESULTS) for r in rows)


def cancel_due_visits(s: Session, actor: Actor, case: Case, reason: str) -> int:
    visits = list(s.execute(select(CaseVisit).where(CaseVisit.case_id == case.id, CaseVisit.state == "due"))
                  .scalars())
    for v in visits:
        v.state = "cancelled"
        v.version += 1
    timers.cancel(s, reason=reason, case_id=case.id, kinds=[FOLLOW_UP_KIND], actor=actor)
    return len(visits)


def cancel_visit_deadline(s: Session, actor: Actor, case_id: int, visit_id: int, reason: str,
                          now: datetime) -> None:
    """Cancel the missed-visit deadline of one visit (the others of the case stay armed)."""
    pending = s.execute(select(Timer.id, Timer.payload).where(
        Timer.case_id == case_id, Timer.kind == FOLLOW_UP_KIND, Timer.fired_at.is_(None),
        Timer.cancelled_at.is_(None))).all()
    ids = [r.id for r in pending if (r.payload or {}).get("visit_id") == visit_id]
    if not ids:
        return
    s.execute(update(Timer).where(Timer.id.in_(ids), Timer.fired_at.is_(None))
              .values(cancelled_at=now, cancel_reason=reason[:100]).execution_options(synchronize_session=False))
    for timer_id in ids:
        record(s, actor, entity="timer", entity_id=timer_id, op="cancel", action="timer.cancel",
               after={"reason": reason}, at=now)


def close_in(s: Session, actor: Actor, case: Case, now: datetime, note: str | None) -> None:
    """Close inside the caller's write; the follow-up visits fall due unless an agreement scheduled them."""
    before = {"status": case.status}
    case.status, case.closed_at, case.close_note = "closed", now, note
    timers.cancel(s, reason="case closed", case_id=case.id,
                  kinds=[*PETITION_DEADLINE_KINDS, PETITION_WINDOW_KIND], actor=actor)
    case.step_due_at = None
    scheduled = 0
    if not has_visits_since_reopen(s, case):
        scheduled = len(schedule_visits(s, actor, case, now))
    line = _("Closed.") + (" " + note if note else "")
    if scheduled:
        line += " " + _("{n} follow-up visits scheduled.").format(n=scheduled)
    changed(s, actor, case, "close", now, before=before, after={"status": "closed", "note": note}, note=line)
