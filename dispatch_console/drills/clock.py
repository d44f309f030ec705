"""The drill clock: scenario time = (database time − start − paused time) × speed.

A drill's escalation and checklist timers run on this clock. :func:`compress_timers` puts each
new pending timer of the run's incidents on it (its wait divided by the speed, counted from when
it started); :func:`hold_timers` parks them while the drill is paused and :func:`release_timers`
gives them back the time they had left. Otherwise they are ordinary timers, fired by the ordinary
claim. Each batch writes one ``timer`` change so that every timer engine re-arms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.models import ChecklistItem, DrillRun, Incident, Timer
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changes import record, to_jsonable

HOLD = timedelta(days=3650)  # a held timer's due time: far away until the drill resumes


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    dt = datetime.fromisoformat(str(value))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@dataclass(frozen=True)
class DrillClock:
    started_at: datetime
    speed: float
    pauses: tuple[tuple[datetime, datetime | None], ...] = ()

    @classmethod
    def of(cls, run: DrillRun) -> DrillClock:
        pauses = tuple((_aware(a), _aware(b)) for a, b in (run.pauses or []))
        return cls(run.started_at, float(run.speed), pauses)  # type: ignore[arg-type]

    def paused_before(self, at: datetime) -> float:
        total = 0.0
        for begin, end in self.pauses:
            stop = min(end or at, at)
            if stop > begin:
                total += (stop - begin).total_seconds()
        return total

    def scenario_s(self, at: datetime) -> float:
        """Scenario seconds at database time ``at``."""
        return max(0.0, ((at - self.started_at).total_seconds() - self.paused_before(at)) * self.speed)


def run_timers(session: Session, run_id: int) -> list[Timer]:
    ids = select(Incident.id).where(Incident.drill_run_id == run_id)
    return list(session.execute(
        select(Timer).where(Timer.incident_id.in_(ids), Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))
        .order_by(Timer.id)
    ).scalars())


def _compressed(timer: Timer, run: DrillRun) -> tuple[datetime, dict[str, Any]]:
    """The timer's due time on the drill clock (and its payload, marked as compressed)."""
    payload = dict(timer.payload or {})
    speed = float(run.speed)
    started = _aware(payload.get("started_at")) if timer.step == 0 else None
    anchor = max(started or timer.created_at, run.started_at)

    def squeeze(at: datetime) -> datetime:
        return anchor + (at - anchor) / speed if at > anchor else at

    if payload.get("deadline"):
        payload["deadline"] = squeeze(_aware(payload["deadline"])).isoformat()  # type: ignore[arg-type]
    payload["drill_scaled"] = True
    return squeeze(timer.due_at), payload


def _set_timer(session: Session, timer: Timer, due_at: datetime, payload: dict[str, Any]) -> None:
    session.execute(update(Timer).where(Timer.id == timer.id, Timer.fired_at.is_(None))
                    .values(due_at=due_at, payload=to_jsonable(payload)).execution_options(synchronize_session=False))
    if timer.kind == "checklist" and timer.checklist_item_id is not None and "drill_hold_s" not in payload:
        # The step shows the deadline its timer keeps (not a version change: nobody edited it).
        session.execute(update(ChecklistItem).where(ChecklistItem.id == timer.checklist_item_id)
                        .values(due_at=due_at).execution_options(synchronize_session=False))


def compress_timers(session: Session, run: DrillRun, now: datetime, actor: Actor) -> int:
    changed = []
    for timer in run_timers(session, run.id):
        payload = timer.payload or {}
        if payload.get("drill_scaled") or "drill_hold_s" in payload or float(run.speed) == 1.0:
            continue
        due, new_payload = _compressed(timer, run)
        _set_timer(session, timer, due, new_payload)
        changed.append(timer)
    _announce(session, actor, run, changed, "drill_compress", now)
    return len(changed)


def hold_timers(session: Session, actor: Actor, run: DrillRun, now: datetime) -> None:
    held = []
    for timer in run_timers(session, run.id):
        payload = dict(timer.payload or {})
        if "drill_hold_s" in payload:
            continue
        due = timer.due_at
        if not payload.get("drill_scaled") and float(run.speed) != 1.0:
            due, payload = _compressed(timer, run)
        payload["drill_hold_s"] = max(0.0, (due - now).total_seconds())
        payload["drill_held_at"] = now.isoformat()
        _set_timer(session, timer, now + HOLD, payload)
        held.append(timer)
    _announce(session, actor, run, held, "drill_hold", now)


def release_timers(session: Session, actor: Actor, run: DrillRun, now: datetime) -> None:
    released = []
    for timer in run_timers(session, run.id):
        payload = dict(timer.payload or {})
        if "drill_hold_s" not in payload:
            continue
        left = float(payload.pop("drill_hold_s"))
        held_at = _aware(payload.pop("drill_held_at", None)) or now
        if payload.get("deadline"):  # the countdown the queue shows moves on by the pause too
            deadline = _aware(payload["deadline"])
            assert deadline is not None
            payload["deadline"] = (deadline + (now - held_at)).isoformat()
        payload["drill_scaled"] = True
        _set_timer(session, timer, now + timedelta(seconds=left), payload)
        released.append(timer)
    _announce(session, actor, run, released, "drill_release", now)


def _announce(session: Session, actor: Actor, run: DrillRun, changed: list[Timer], op: str, now: datetime) -> None:
    """One change row for a batch of timers, so every timer engine re-arms."""
    if changed:
        session.expire_all()
        record(session, actor, entity="timer", entity_id=None, op=op, action=f"timer.{op}",
               after={"drill_run_id": run.id, "timer_ids": [t.id for t in changed]}, at=now)


def unsettled(timer: Timer, status: str) -> bool:
    """Is this pending drill timer not yet on the drill clock (compressed, or held while paused)?"""
    payload = timer.payload or {}
    if status == "paused":
        return "drill_hold_s" not in payload
    return not payload.get("drill_scaled") and "drill_hold_s" not in payload
