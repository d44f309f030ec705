"""Deadlines that fire exactly once, however many workstations and agents are running.

Every deadline is a ``timer`` row. Firing one is a claim made in one write transaction:

1. take the writers' lock first (``changes.serialise_writers``: PostgreSQL advisory lock, SQLite
   ``BEGIN IMMEDIATE``), so a firing transaction never holds a timer row while waiting for the
   lock that an incident change holding the same row would need (no deadlock);
2. ``SELECT … WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= now ORDER BY due_at
   LIMIT 1`` — ``FOR UPDATE SKIP LOCKED`` on PostgreSQL;
3. ``UPDATE timer SET fired_at = now, fired_by = station, late_ms = … WHERE id = :id AND fired_at
   IS NULL``;
4. the effect (``EFFECTS``: kind → function, installed by the composition root), the timeline entry, the
   audit row and the change_log row.

All four commit together or not at all: a process killed half-way leaves the timer pending for
the next one. ``now`` is always the database clock. A deadline that came due while nothing was
running fires at the next start with its lateness recorded.

:class:`TimerEngine` is the local alarm clock around that claim: an APScheduler
``BackgroundScheduler`` (in-memory job store, never shared) with one date job armed at the next
due time and a safety sweep. The next due time is a database time; it is converted to the
scheduler's local terms through the offset between the database clock and this process's
monotonic clock, so a workstation whose wall clock is wrong still fires on the database's time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from db.engine import Database, db_now
from db.models import Incident, IncidentEvent, Timer
from dispatch_console.kernel import transient
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.change_kinds import Entity, Op
from dispatch_console.kernel.changes import record, serialise_writers, to_jsonable
from dispatch_console.kernel.i18n import N_, _
from dispatch_console.kernel.timefmt import fmt_duration
from dispatch_console.notifications import outbox
from dispatch_console.notifications import service as notifications
from dispatch_console.timers.lead import ArmingLead

log = logging.getLogger(__name__)


class _AlarmSkipIsExpected(logging.Filter):
    """APScheduler warns when a job is due while its maximum of instances still run. For the
    alarm that is expected and harmless — every running alarm re-arms from a fresh read of the
    due timers when it ends, which covers what the skipped one was armed for — and with many
    timers overdue at start it printed a warning several times a second."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.getMessage().startswith('Execution of job "TimerEngine._alarm')
                    and "maximum number of running instances reached" in record.getMessage())


SCHEDULER_LOG = logging.getLogger("apscheduler.scheduler.timers")
SCHEDULER_LOG.addFilter(_AlarmSkipIsExpected())

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

# Lateness beyond this is written into the timeline ("late by …"); below it is ordinary jitter.
LATE_NOTE_AFTER = timedelta(seconds=15)
ARM_MARGIN_S = 0.002  # an alarm wakes this much after the due time, so it never finds it not yet due
DEFAULT_STATION = "timers"

Effect = Callable[[Session, Timer, datetime, str], None]
Companion = Callable[["TimerEngine"], None]

# What firing a timer does, by kind: fn(session, timer, now, fired_by), run in the claim's
# transaction. The rooms that own the kinds (escalation, notifications, checklists, handover, …)
# stand above this one, so the composition root (station/composition.py) installs them with
# :func:`install`. A kind with no effect still fires, with a generic notification, so that no
# deadline is ever lost; firing before anything was installed is a wiring bug and raises.
EFFECTS: dict[str, Effect] = {}

# Companions: jobs other rooms carry on every engine's scheduler, fn(engine), called once the
# scheduler runs (the cron jobs that create shift-handover reminder rows, upkeep, …). The timer
# rows stay the truth; a companion only adds rows, idempotently. Installed with the effects.
COMPANIONS: list[Companion] = []

_installed = False


class TimerWiringMissing(RuntimeError):
    """Timers fired before the composition root installed their effects (a wiring bug)."""


def install(effects: Mapping[str, Effect], companions: Iterable[Companion] = ()) -> None:
    """Set what each kind of timer does and what every engine carries (once per process)."""
    global _installed
    EFFECTS.clear()
    EFFECTS.update(effects)
    COMPANIONS[:] = list(companions)
    _installed = True


def installed_effects() -> Mapping[str, Effect]:
    if not _installed:
        raise TimerWiringMissing("timer effects are not installed: call station.composition.install() at start")
    return EFFECTS

def kind_label(kind: str) -> str:
    return _(KIND_LABELS[kind]) if kind in KIND_LABELS else kind


# ---------------------------------------------------------------------------------------------
# Scheduling and cancelling, inside the caller's write transaction.


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


# ---------------------------------------------------------------------------------------------
# Firing: one claim per transaction.


@dataclass(frozen=True)
class FiredTimer:
    id: int
    kind: str
    incident_id: int | None
    due_at: datetime
    fired_at: datetime
    late_ms: int


def resolve_effect(kind: str, effects: Mapping[str, Effect] | None = None) -> Effect | None:
    effect = (effects if effects is not None else installed_effects()).get(kind)
    if effect is None:
        log.warning("no effect registered for timer kind %r; firing it with a generic notification", kind)
    return effect


def _generic_effect(session: Session, timer: Timer, now: datetime, fired_by: str, error: str | None) -> None:
    body = _("The deadline ({what}) was due at {due}.").format(
        what=kind_label(timer.kind), due=timer.due_at.isoformat(timespec="seconds"))
    if error:
        body += "\n" + _("Its follow-up failed: {error}").format(error=error)
    notifications.notify(
        session, kind="deadline", title=_("Deadline passed: {what}").format(what=kind_label(timer.kind)),
        body=body, level="warning", target_role=timer.target_role, incident_id=timer.incident_id,
        timer_id=timer.id, is_drill=timer.is_drill,
    )


class _EffectFailed(Exception):
    """An effect raised outside a savepoint: the batch is rolled back and fired again, guarded."""


def _run_effect(session: Session, timer: Timer, now: datetime, fired_by: str,
                effects: Mapping[str, Effect] | None, guarded: bool) -> None:
    effect = resolve_effect(timer.kind, effects)
    if effect is None:
        _generic_effect(session, timer, now, fired_by, None)
        return
    if not guarded:
        try:
            effect(session, timer, now, fired_by)
        except Exception as exc:
            raise _EffectFailed(timer.id) from exc
        return
    try:
        with session.begin_nested():
            effect(session, timer, now, fired_by)
    except Exception as exc:
        # A broken follow-up must not leave the deadline pending forever (it would fail again on
        # every sweep): fire it with a generic notification that says what went wrong.
        log.exception("effect of timer %s (%s) failed", timer.id, timer.kind)
        _generic_effect(session, timer, now, fired_by, str(exc) or type(exc).__name__)


def _timeline(session: Session, timer: Timer, now: datetime, fired_by: str, late_ms: int) -> None:
    if timer.incident_id is None:
        return
    what = kind_label(timer.kind)
    if timer.kind in ESCALATION_KINDS:
        kind = "escalation"
        note = _("Escalation ({what}): {role} notified, step {step}.").format(
            what=what, role=notifications.role_label(timer.target_role), step=timer.step + 1)
    else:
        kind = "deadline"
        note = _("Deadline passed: {what}.").format(what=what)
    if late_ms >= LATE_NOTE_AFTER.total_seconds() * 1000:
        note += " " + _("Late by {late} (no console or agent was running when it came due).").format(
            late=fmt_duration(late_ms / 1000))
    outcome = (timer.payload or {}).get("outcome")
    if outcome:
        note += " " + str(outcome)
    session.add(IncidentEvent(
        incident_id=timer.incident_id, at=now, kind=kind, username="system", station=fired_by, note=note,
        data={"timer_id": timer.id, "timer_kind": timer.kind, "step": timer.step,
              "target_role": timer.target_role, "late_ms": late_ms, "fired_by": fired_by},
    ))


MAX_LATE_MS = 2**31 - 1  # timer.late_ms is an INTEGER
BATCH_PER_TRANSACTION = 10  # timers claimed per write transaction when several are due at once


def fire_batch(db: Database, station: str, *, max_batch: int = BATCH_PER_TRANSACTION,
               effects: Mapping[str, Effect] | None = None) -> list[FiredTimer]:
    """Claim and fire up to ``max_batch`` due timers, most overdue first, in one transaction.

    Each timer is still claimed by its own conditional update (``fired_at IS NULL``) with its
    effect, timeline entry and audit/change_log rows in the same transaction as the claim, so it
    fires exactly once; sharing one transaction (one writer-lock turn, one commit) between the
    timers due together is what lets a busy PostgreSQL keep up. A process killed in the middle
    rolls the whole batch back, and another station fires it.

    Effects run without a savepoint each (two statements fewer per timer, a sixth of a firing's
    cost); if one raises, the batch is rolled back and fired again with each effect inside its
    own savepoint, so the broken one fires with a generic notification and the others as usual.
    """
    try:
        return _fire_batch(db, station, max_batch, effects, guarded=False)
    except _EffectFailed as exc:
        log.info("an effect failed (timer %s); firing the batch again with each effect guarded", exc)
        return _fire_batch(db, station, max_batch, effects, guarded=True)


def _fire_batch(db: Database, station: str, max_batch: int, effects: Mapping[str, Effect] | None,
                guarded: bool) -> list[FiredTimer]:
    with db.write() as s:
        serialise_writers(s)
        now = db_now(s)
        query = (
            select(Timer)
            .where(Timer.fired_at.is_(None), Timer.cancelled_at.is_(None), Timer.due_at <= now)
            .order_by(Timer.due_at, Timer.id)
            .limit(max(1, max_batch))
        )
        if db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        fired: list[FiredTimer] = []
        for timer in s.execute(query).scalars().all():
            # clamped to the INTEGER column: a deadline more than 24.8 days late must still fire
            late_ms = min(MAX_LATE_MS, max(0, int((now - timer.due_at).total_seconds() * 1000)))
            claimed = s.execute(
                update(Timer)
                .where(Timer.id == timer.id, Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))
                .values(fired_at=now, fired_by=station, late_ms=late_ms)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                continue
            set_committed_value(timer, "fired_at", now)
            set_committed_value(timer, "fired_by", station)
            set_committed_value(timer, "late_ms", late_ms)
            _run_effect(s, timer, now, station, effects, guarded)
            _timeline(s, timer, now, station, late_ms)
            record(s, Actor.system(station), entity=Entity.TIMER, entity_id=timer.id, op=Op.FIRE,
                   action="timer.fire", before={"fired_at": None},
                   after={"kind": timer.kind, "step": timer.step, "fired_at": now, "fired_by": station,
                          "late_ms": late_ms}, at=now, incident_id=timer.incident_id)
            fired.append(FiredTimer(timer.id, timer.kind, timer.incident_id, timer.due_at, now, late_ms))
        return fired


def fire_next(db: Database, station: str, *, effects: Mapping[str, Effect] | None = None) -> FiredTimer | None:
    """Claim and fire the most overdue pending timer; None when nothing is due (or all are taken)."""
    fired = fire_batch(db, station, max_batch=1, effects=effects)
    return fired[0] if fired else None


def fire_due(db: Database, station: str, limit: int = 100, *,
             effects: Mapping[str, Effect] | None = None) -> list[FiredTimer]:
    """Fire up to ``limit`` due timers, a few per transaction (see :func:`fire_batch`)."""
    fired: list[FiredTimer] = []
    while len(fired) < limit:
        batch = fire_batch(db, station, max_batch=min(BATCH_PER_TRANSACTION, limit - len(fired)),
                           effects=effects)
        if not batch:
            break
        fired.extend(batch)
    return fired


def next_due(db: Database) -> datetime | None:
    return next_due_and_now(db).due


@dataclass(frozen=True)
class NextDue:
    """What an armed engine needs to know: the earliest pending due time, the earliest one still
    ahead (``due`` may be past: a timer another station is firing right now) and the database clock."""

    due: datetime | None
    ahead: datetime | None
    db_clock: datetime


def next_due_and_now(db: Database) -> NextDue:
    """The earliest pending due time, the earliest still ahead and the database clock, read together."""
    with db.read() as s:
        return next_due_in(s)


def next_due_in(s: Session) -> NextDue:
    """:func:`next_due_and_now` inside an open session."""
    now = db_now(s)
    due, ahead = s.execute(
        select(func.min(Timer.due_at), func.min(case((Timer.due_at > now, Timer.due_at))))
        .where(Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))
    ).one()
    return NextDue(due, ahead, now)


# ---------------------------------------------------------------------------------------------
# Reading timers for the console and the command line.


@dataclass(frozen=True)
class TimerRow:
    id: int
    kind: str
    incident_id: int | None
    incident_number: str | None
    step: int
    target_role: str | None
    due_at: datetime
    created_at: datetime
    fired_at: datetime | None
    fired_by: str | None
    late_ms: int | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    is_drill: bool

    @property
    def state(self) -> str:
        if self.fired_at is not None:
            return "fired"
        return "cancelled" if self.cancelled_at is not None else "pending"


def list_timers(db: Database, *, state: str | None = None, incident_id: int | None = None,
                limit: int = 500) -> list[TimerRow]:
    """Timers newest due first; ``state`` is pending, fired or cancelled (None: all)."""
    query = select(Timer, Incident.number).outerjoin(Incident, Incident.id == Timer.incident_id)
    if state == "pending":
        query = query.where(Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))
    elif state == "fired":
        query = query.where(Timer.fired_at.is_not(None))
    elif state == "cancelled":
        query = query.where(Timer.cancelled_at.is_not(None), Timer.fired_at.is_(None))
    elif state is not None:
        raise ValueError(f"unknown timer state {state!r}")
    if incident_id is not None:
        query = query.where(Timer.incident_id == incident_id)
    order = Timer.due_at.asc() if state == "pending" else Timer.due_at.desc()
    with db.read() as s:
        rows = s.execute(query.order_by(order, Timer.id).limit(limit)).all()
        return [
            TimerRow(t.id, t.kind, t.incident_id, number, t.step, t.target_role, t.due_at, t.created_at,
                     t.fired_at, t.fired_by, t.late_ms, t.cancelled_at, t.cancel_reason, t.is_drill)
            for t, number in rows
        ]


class Deadline(NamedTuple):
    """The running target of an incident for countdown columns."""

    kind: str
    due_at: datetime
    started_at: datetime


def pending_deadlines(db: Database, incident_ids: Iterable[int]) -> dict[int, Deadline]:
    """Per incident, the earliest pending escalation target (its original deadline and start)."""
    if not incident_ids:
        return {}
    with db.read() as s:
        return pending_deadlines_in(s, incident_ids)


def pending_deadlines_in(s: Session, incident_ids: Iterable[int]) -> dict[int, Deadline]:
    """:func:`pending_deadlines` inside an open session (a page is read in one transaction)."""
    ids = sorted(set(incident_ids))
    result: dict[int, Deadline] = {}
    for start in range(0, len(ids), 500):
        rows = s.execute(
            select(Timer.incident_id, Timer.kind, Timer.payload, Timer.due_at, Timer.created_at)
            .where(Timer.incident_id.in_(ids[start:start + 500]), Timer.kind.in_(PHASE_KINDS),
                   Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))
            .order_by(Timer.due_at)
        )
        for incident_id, kind, payload, due_at, created_at in rows:
            payload = payload or {}
            due = _aware(payload.get("deadline")) or due_at
            started = _aware(payload.get("started_at")) or created_at
            current = result.get(incident_id)
            if current is None or due < current.due_at:
                result[incident_id] = Deadline(kind, due, started)
    return result


def deadline_state(deadline: Deadline, now: datetime) -> str:
    """``ok``, ``amber`` (less than half the time left) or ``red`` (breached)."""
    if now >= deadline.due_at:
        return "red"
    total = (deadline.due_at - deadline.started_at).total_seconds()
    left = (deadline.due_at - now).total_seconds()
    return "amber" if total > 0 and left < total / 2 else "ok"


def _aware(value: Any) -> datetime | None:
    if not value:
        return None
    dt = datetime.fromisoformat(str(value))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


# ---------------------------------------------------------------------------------------------
# The local alarm clock.


class TimerEngine:
    """Fires this database's timers from this process: an armed date job plus a safety sweep.

    On PostgreSQL only the engine holding the arming lead (:mod:`dispatch_console.timers.lead`)
    arms date jobs; the others sweep, and ask for the lead at every sweep.

    ``arm=False`` leaves only the sweep (for benchmarks). ``own_feed=True`` runs a change feed of
    its own (headless agent); a console wires its shared feed to :meth:`on_changes` instead.
    ``outbox_senders`` makes the sweep also deliver the outbox.
    """

    def __init__(
        self,
        db: Database,
        station_name: str,
        *,
        sweep_interval: float = 5.0,
        arm: bool = True,
        batch: int = 100,
        own_feed: bool = False,
        outbox_senders: Mapping[str, Any] | None = None,
        min_rearm: float = 0.25,
        effects: Mapping[str, Effect] | None = None,
    ) -> None:
        self.db = db
        self.station = station_name
        self.sweep_interval = sweep_interval
        self.arm = arm
        self.batch = batch
        self.own_feed = own_feed
        self.outbox_senders = outbox_senders
        self.min_rearm = min_rearm
        self.effects = effects
        self.fired: list[FiredTimer] = []
        self.armed_for: datetime | None = None  # database time of the armed date job
        self._armed_from = 0.0  # monotonic time of the read (or feed change) the arming came from
        self._offset = 0.0  # database clock minus local monotonic clock, seconds
        self.clock_skew = 0.0  # local wall clock minus database clock, seconds
        self._fire_lock = threading.Lock()
        self._stopping = threading.Event()
        self._arm_lock = threading.Lock()
        self._scheduler: BackgroundScheduler | None = None
        self._feed: Any = None
        self._in_flight = 0  # alarm and sweep jobs running now (stop() waits for them)
        self._in_flight_cv = threading.Condition()
        self._lead = ArmingLead(db, station_name)
        # a database away is told once when it goes and once when it is back, not at every sweep
        self._outage = transient.Outage(log, f"station {station_name}: timers")

    @property
    def leading(self) -> bool:
        """True while this engine arms date jobs (always on SQLite; one engine on PostgreSQL)."""
        return self.arm and self._lead.leading

    # clocks ---------------------------------------------------------------------------------

    def measure_clock(self) -> None:
        """Measure the offset between the database clock and this process's clocks."""
        with self.db.read() as s:
            t0 = time.monotonic()
            db_time = db_now(s).timestamp()
            t1 = time.monotonic()
            wall = datetime.now(UTC).timestamp()
        self._set_clock(db_time, t0, t1, wall)

    def _look(self) -> tuple[NextDue, float]:
        """The clock measured and the next due times read, in one read (the sweep's)."""
        with self.db.read() as s:
            t0 = time.monotonic()
            found = next_due_in(s)
            t1 = time.monotonic()
            wall = datetime.now(UTC).timestamp()
        self._set_clock(found.db_clock.timestamp(), t0, t1, wall)
        return found, t0  # as old as it can be: an arming from a later read is not undone by it

    def _set_clock(self, db_time: float, t0: float, t1: float, wall: float) -> None:
        self._offset = db_time - (t0 + t1) / 2
        self.clock_skew = wall - (db_time + (time.monotonic() - t1))
        if abs(self.clock_skew) > 30:
            log.warning("station %s: local clock is %.0f s off the database clock; timers follow the "
                        "database", self.station, self.clock_skew)

    def db_time(self) -> datetime:
        """The database clock as estimated locally (no query)."""
        return datetime.fromtimestamp(time.monotonic() + self._offset, UTC)

    # lifecycle ------------------------------------------------------------------------------

    def start(self) -> TimerEngine:
        if self.effects is None:
            installed_effects()  # a wiring bug is said at start, not at the first deadline
        self.measure_clock()
        scheduler = BackgroundScheduler(
            timezone=UTC,
            logger=SCHEDULER_LOG,
            executors={"default": ThreadPoolExecutor(3)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        # The first sweep runs at once: deadlines that came due while nothing ran fire now. Each
        # sweep arms the next one when it is done, so a long sweep never overlaps the next.
        scheduler.add_job(self._sweep, "date", run_date=datetime.now(UTC), id="sweep")
        self._scheduler = scheduler
        scheduler.start()
        self._start_companions()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._follow_changes(False)
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            # Not shutdown(wait=True): it holds APScheduler's job-store lock while it waits, and a
            # sweep still running needs that lock to re-arm — both would wait for ever. Stop the
            # scheduler, then wait for our own jobs in flight to finish their transactions.
            scheduler.shutdown(wait=False)
            with self._in_flight_cv:
                if not self._in_flight_cv.wait_for(lambda: self._in_flight == 0, timeout=60):
                    log.warning("station %s: a timer job was still running at shutdown", self.station)
        self._lead.release()

    # companions (cron jobs of other modules on this engine's scheduler) -----------------------

    def add_job(self, func: Callable[[], Any], trigger: Any, *, job_id: str, **kwargs: Any) -> None:
        """Carry another job (cron, interval …) on this engine's scheduler; replaces one of that id."""
        if self._scheduler is not None:
            self._scheduler.add_job(func, trigger, id=job_id, replace_existing=True, **kwargs)

    def remove_job(self, job_id: str) -> None:
        if self._scheduler is not None and self._scheduler.get_job(job_id) is not None:
            self._scheduler.remove_job(job_id)

    def job_ids(self) -> list[str]:
        return [job.id for job in self._scheduler.get_jobs()] if self._scheduler is not None else []

    def _start_companions(self) -> None:
        for companion in COMPANIONS:
            try:
                companion(self)
            except Exception:
                log.exception("timer engine companion %s failed to start on %s",
                              getattr(companion, "__qualname__", companion), self.station)

    # firing ---------------------------------------------------------------------------------

    def fire_due(self, limit: int | None = None) -> int:
        """Fire what is due now (at most ``limit``); returns how many this process fired."""
        count = 0
        with self._fire_lock:
            while count < (limit or self.batch) and not self._stopping.is_set():
                asked = min(BATCH_PER_TRANSACTION, (limit or self.batch) - count)
                batch = fire_batch(self.db, self.station, effects=self.effects, max_batch=asked)
                self.fired.extend(batch)
                count += len(batch)
                if len(batch) < asked:
                    # everything due when the batch was read is fired (by us or by others): asking
                    # again would only take another turn of the writers' lock to find nothing
                    break
        return count

    def on_changes(self, changes: Iterable[Any]) -> None:
        """Change-feed subscriber: timers were scheduled or moved somewhere — re-arm if it matters.

        A timer fired or cancelled elsewhere needs nothing: if it was the one armed for, the alarm
        finds nothing to claim and re-arms for the next. A timer scheduled with its due time in the
        feed needs nothing either when the alarm is already armed for something sooner (most new
        incidents: their first deadline is minutes away); one due sooner is armed for without a
        read. Only a change that does not say when (a drill clock paused, a shift's reminder
        moved) reads the timers again.
        """
        earliest: datetime | None = None
        for c in changes:
            if getattr(c, "entity", None) != Entity.TIMER or getattr(c, "op", None) in (Op.FIRE, Op.CANCEL):
                continue
            due = _aware(getattr(c, "due_at", None))
            if due is None:
                self.rearm()
                return
            earliest = due if earliest is None or due < earliest else earliest
        if earliest is not None:
            self.arm_at(earliest)

    def arm_at(self, due: datetime) -> None:
        """A timer due at ``due`` (database time) was scheduled: arm for it if it is sooner than
        what the alarm is armed for. Uses the locally estimated database clock, no read: the alarm
        that wakes fires what is due by the database clock and re-arms from a fresh read."""
        if not self.arm or self._scheduler is None:
            return
        with self._arm_lock:
            scheduler = self._scheduler
            if scheduler is None or not self._lead.leading:
                return
            armed = self.armed_for
            if armed is not None and scheduler.get_job("alarm") is not None and armed <= due:
                return
            left = (due - self.db_time()).total_seconds()
            run_date = datetime.now(UTC) + timedelta(seconds=max(left, 0.0) + ARM_MARGIN_S)
            self.armed_for = due
            self._armed_from = time.monotonic()
            scheduler.add_job(self._alarm, "date", run_date=run_date, id="alarm", replace_existing=True,
                              max_instances=2)

    def rearm(self, min_delay: float = 0.0, *, seen: tuple[NextDue, float] | None = None) -> None:
        """Arm the date job at the next pending due time, read with the database clock.

        A due time still ahead is armed for exactly (an alarm that woke a hair early, before the
        database clock reached it, sleeps the rest, not ``min_delay``); one already past waits
        ``min_delay``: it is due but another station holds it, or it was just fired — unless
        another comes due sooner than that, which is armed for exactly. ``seen``: the next due
        times and the monotonic time they were read at, when the caller has just read them; it
        is ignored if the alarm was armed since from a later read or from the feed.
        """
        if not self.arm or self._scheduler is None:
            return
        with self._arm_lock:
            scheduler = self._scheduler
            if scheduler is None:
                return
            if not self._lead.leading:  # another engine arms; this one sweeps
                self.armed_for = None
                if scheduler.get_job("alarm") is not None:
                    scheduler.remove_job("alarm")
                return
            if seen is not None:
                found, read_at = seen
                fresh = read_at
            else:
                fresh = time.monotonic()
                found, read_at = next_due_and_now(self.db), time.monotonic()
            if fresh < self._armed_from:
                return  # armed since from a fresher read (or the feed): this one may not know its timer
            self._armed_from = fresh
            due = found.due
            if due is None:
                self.armed_for = None
                if scheduler.get_job("alarm") is not None:
                    scheduler.remove_job("alarm")
                return
            elapsed = time.monotonic() - read_at
            left = (due - found.db_clock).total_seconds() - elapsed
            delay = left + ARM_MARGIN_S if left > 0 else min_delay
            if left <= 0 and found.ahead is not None:
                # the one past due is being fired elsewhere: the look again must not make the
                # next ones, due sooner than it, wait for it (with timers due every 10 ms, the
                # quarter-second pause here left a few of them 250 ms late)
                ahead = max((found.ahead - found.db_clock).total_seconds() - elapsed, 0.0) + ARM_MARGIN_S
                if ahead < delay:
                    delay, due = ahead, found.ahead
            run_date = datetime.now(UTC) + timedelta(seconds=delay)
            self.armed_for = due
            # max_instances=2: an alarm re-armed from inside a running alarm (or while one runs) must
            # wait its turn, not be skipped as "maximum number of running instances reached" — a
            # skipped date job is gone, and its timers would wait for the next sweep.
            scheduler.add_job(self._alarm, "date", run_date=run_date, id="alarm", replace_existing=True,
                              max_instances=2)

    @contextmanager
    def _job(self) -> Iterator[None]:
        with self._in_flight_cv:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._in_flight_cv:
                self._in_flight -= 1
                self._in_flight_cv.notify_all()

    def _alarm(self) -> None:
        with self._job():
            self._alarm_once()

    def _alarm_once(self) -> None:
        try:
            fired = self.fire_due()
            if fired and self.outbox_senders:
                self.drain_outbox()
            # Nothing claimable although something was due: another station holds it. Look again
            # shortly instead of spinning.
            self.rearm(0.0 if fired else self.min_rearm)
        except Exception as exc:
            self._failed("timer alarm", exc)
        else:
            self._outage.back()

    def _failed(self, job: str, exc: Exception) -> None:
        """A job failed: a database gone away is weather (told once), anything else a fault."""
        if transient.is_transient(exc):
            self._outage.lost(exc)
        else:
            log.exception("%s failed on %s", job, self.station)

    def _sweep(self) -> None:
        with self._job():
            self._sweep_once()

    def _sweep_once(self) -> None:
        try:
            # one read says the clock and whether anything is due: a quiet sweep writes nothing
            found, read_at = self._look()
            if self.arm:
                # an engine of its own feed listens only while it arms: a follower's feed would wake
                # at every change on the floor to learn nothing it acts on
                leading = self._lead.hold()
                self._follow_changes(self.own_feed and leading and not self._stopping.is_set())
            due_now = found.due is not None and found.due <= found.db_clock
            if due_now:
                self.fire_due()
            if self.outbox_senders:
                self.drain_outbox()
            self.rearm(self.min_rearm, seen=None if due_now else (found, read_at))
        except Exception as exc:
            self._failed("timer sweep", exc)
        else:
            self._outage.back()
        finally:
            scheduler = self._scheduler
            if scheduler is not None and not self._stopping.is_set():
                scheduler.add_job(self._sweep, "date", id="sweep", replace_existing=True,
                                  run_date=datetime.now(UTC) + timedelta(seconds=self.sweep_interval))

    def _follow_changes(self, follow: bool) -> None:
        if follow and self._feed is None:
            from dispatch_console.kernel.changefeed import ChangeFeed

            # started before the re-arm that follows: a timer scheduled in between is in the
            # feed, one scheduled earlier is read by that re-arm
            self._feed = ChangeFeed(self.db, self.on_changes, name=f"timer-feed-{self.station}").start()
        elif not follow and self._feed is not None:
            feed, self._feed = self._feed, None
            feed.stop()

    def drain_outbox(self) -> dict[str, int]:
        return outbox.drain(self.db, self.outbox_senders or {}, self.station)
