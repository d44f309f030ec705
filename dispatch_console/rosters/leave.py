"""Leave: adding, reading and cancelling a person's leave."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select, update

from db.engine import Database, db_now
from db.models import Leave, Person
from dispatch_console.kernel import changes
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.errors import (
    NotFound,
    ValidationError,
)
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import require
from dispatch_console.kernel.timefmt import LOCAL_TZ, fmt_local
from dispatch_console.rosters.entries import _check_reason

MAX_LEAVE_REASON = 200  # the leave table's column


@dataclass(frozen=True)
class LeaveRow:
    id: int
    person_id: int
    person_name: str
    starts_at: datetime
    ends_at: datetime
    reason: str | None
    cancelled_at: datetime | None

    @property
    def active(self) -> bool:
        return self.cancelled_at is None


def _leave_row(lv: Leave, name: str) -> LeaveRow:
    return LeaveRow(lv.id, lv.person_id, name, lv.starts_at, lv.ends_at, lv.reason, lv.cancelled_at)


def _local_day_bounds(start_day: date, end_day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(start_day, time(0), tzinfo=LOCAL_TZ).astimezone(UTC)
    end = datetime.combine(end_day + timedelta(days=1), time(0), tzinfo=LOCAL_TZ).astimezone(UTC)
    return start, end


def add_leave(db: Database, actor: Actor, person_id: int, starts_at: datetime, ends_at: datetime,
              reason: str | None = None) -> int:
    """Record a person's leave (it makes their shifts in that time a conflict); returns its id.

    A leave that overlaps another (not cancelled) leave of the same person is refused: the
    second workstation to enter the same sick note hears that it is already there.
    """
    require(actor, "roster.edit")
    if ends_at <= starts_at:
        raise ValidationError(_("A leave ends after it starts."), "ends_at")
    reason = _check_reason(reason, needed=False, limit=MAX_LEAVE_REASON)
    with db.write() as s:
        changes.serialise_writers(s)  # check for an overlap and insert under the writers' lock
        person = s.get(Person, person_id)
        if person is None or not person.active:
            raise ValidationError(_("Unknown person {id}.").format(id=person_id), "person")
        overlap = s.execute(select(Leave).where(Leave.person_id == person_id, Leave.cancelled_at.is_(None),
                                                Leave.starts_at < ends_at, Leave.ends_at > starts_at)
                            .order_by(Leave.starts_at).limit(1)).scalar_one_or_none()
        if overlap is not None:
            raise ValidationError(_("{name} is already on leave from {start} to {end}.").format(
                name=person.name, start=fmt_local(overlap.starts_at, "%Y-%m-%d %H:%M"),
                end=fmt_local(overlap.ends_at, "%Y-%m-%d %H:%M")), "starts_at")
        leave = Leave(person_id=person_id, starts_at=starts_at, ends_at=ends_at, reason=reason)
        s.add(leave)
        s.flush()
        changes.record(s, actor, entity="roster", entity_id=None, op="leave", action="roster.leave",
                       after=changes.row_dict(leave))
        return leave.id


def leaves(db: Database, start_day: date, end_day: date, *, person_id: int | None = None,
           include_cancelled: bool = False) -> list[LeaveRow]:
    """Leave that overlaps these local days (of one person when asked), earliest first."""
    start, end = _local_day_bounds(start_day, end_day)
    with db.read() as s:
        q = (select(Leave, Person.name).join(Person, Leave.person_id == Person.id)
             .where(Leave.starts_at < end, Leave.ends_at > start).order_by(Leave.starts_at, Leave.id))
        if person_id is not None:
            q = q.where(Leave.person_id == person_id)
        if not include_cancelled:
            q = q.where(Leave.cancelled_at.is_(None))
        return [_leave_row(lv, name) for lv, name in s.execute(q)]


def cancel_leave(db: Database, actor: Actor, leave_id: int, reason: str | None = None) -> LeaveRow:
    """Withdraw a leave (kept, marked cancelled): the person's shifts in that time are no longer a conflict.

    The leave table has no version: the first of two workstations cancelling the same leave
    wins (``UPDATE … WHERE cancelled_at IS NULL``), the second gets :class:`ConcurrentChange`
    saying who cancelled it and when. A leave that has already ended stays as it is.
    """
    require(actor, "roster.edit")
    reason = _check_reason(reason, needed=False)
    with db.write() as s:
        changes.serialise_writers(s)
        leave = s.get(Leave, leave_id)
        if leave is None:
            raise NotFound(_("Leave {id} does not exist.").format(id=leave_id))
        person = s.get(Person, leave.person_id)
        name = person.name if person else "?"
        now = db_now(s)
        before = changes.row_dict(leave)
        if leave.cancelled_at is None and leave.ends_at <= now:
            raise ValidationError(_("This leave has already ended; it stays on record."), "leave")
        done = leave.cancelled_at is None and s.execute(
            update(Leave).where(Leave.id == leave_id, Leave.cancelled_at.is_(None)).values(cancelled_at=now)
            .execution_options(synchronize_session=False)).rowcount == 1  # type: ignore[attr-defined]
        if not done:
            raise changes.changed_by(*changes.last_action_by(s, "roster.leave_cancel", leave_id))
        s.expire_all()
        changes.record(s, actor, entity="roster", entity_id=None, op="leave_cancel", action="roster.leave_cancel",
                       before=before, after={"id": leave_id, "person_id": before["person_id"],
                                             "cancelled_at": now, "reason": reason}, at=now)
        cancelled = s.get(Leave, leave_id)
        assert cancelled is not None
        return _leave_row(cancelled, name)
