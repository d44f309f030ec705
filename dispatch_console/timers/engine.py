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

The room's other concerns live beside it and are re-exported here, the room's face: timer rows
written in the caller's transaction (:mod:`~dispatch_console.timers.store`), the claim and the
effects (:mod:`~dispatch_console.timers.firing`), reading timers and deadlines
(:mod:`~dispatch_console.timers.reading`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from db.engine import Database, db_now
from dispatch_console.kernel import transient
from dispatch_console.kernel.change_kinds import Entity, Op
from dispatch_console.notifications import outbox
from dispatch_console.timers.firing import (
    BATCH_PER_TRANSACTION,
    COMPANIONS,
    EFFECTS,
    LATE_NOTE_AFTER,
    MAX_LATE_MS,
    Companion,
    Effect,
    FiredTimer,
    TimerWiringMissing,
    fire_batch,
    fire_due,
    fire_next,
    install,
    installed_companions,
    installed_effects,
    resolve_effect,
)
from dispatch_console.timers.lead import ArmingLead
from dispatch_console.timers.reading import (
    Deadline,
    NextDue,
    TimerRow,
    _aware,
    deadline_state,
    list_timers,
    next_due,
    next_due_and_now,
    next_due_in,
    pending_deadlines,
    pending_deadlines_in,
)
from dispatch_console.timers.store import (
    DEFAULT_STATION,
    ESCALATION_KINDS,
    KIND_LABELS,
    PHASE_KINDS,
    NewTimer,
    cancel,
    kind_label,
    schedule,
    schedule_many,
    set_outcome,
)

# The timers room's face for the rooms that schedule, fire and read timers (they import this module).
__all__ = [
    "ARM_MARGIN_S",
    "BATCH_PER_TRANSACTION",
    "COMPANIONS",
    "DEFAULT_STATION",
    "EFFECTS",
    "ESCALATION_KINDS",
    "KIND_LABELS",
    "LATE_NOTE_AFTER",
    "MAX_LATE_MS",
    "PHASE_KINDS",
    "SCHEDULER_LOG",
    "Companion",
    "Deadline",
    "Effect",
    "FiredTimer",
    "NewTimer",
    "NextDue",
    "TimerEngine",
    "TimerRow",
    "TimerWiringMissing",
    "cancel",
    "deadline_state",
    "fire_batch",
    "fire_due",
    "fire_next",
    "install",
    "installed_companions",
    "installed_effects",
    "kind_label",
    "list_timers",
    "next_due",
    "next_due_and_now",
    "next_due_in",
    "pending_deadlines",
    "pending_deadlines_in",
    "resolve_effect",
    "schedule",
    "schedule_many",
    "set_outcome",
]

if TYPE_CHECKING:  # APScheduler loads when an engine is made: a command that makes none never imports it
    from apscheduler.schedulers.background import BackgroundScheduler

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

ARM_MARGIN_S = 0.002  # an alarm wakes this much after the due time, so it never finds it not yet due


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
        # APScheduler and the companions' rooms are imported here, by the thread that makes the
        # engine (a console's GUI thread, the agent's main thread), not by start(), which a console
        # runs on a worker thread while its GUI thread is still importing the panels. A command
        # that makes no engine (a one-line intake) imports none of them.
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        self._scheduler_types = (BackgroundScheduler, ThreadPoolExecutor)
        installed_companions()

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
        BackgroundScheduler, ThreadPoolExecutor = self._scheduler_types
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
        for companion in installed_companions():
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
            listening_now = False
            if self.arm:
                # an engine of its own feed listens only while it arms: a follower's feed would wake
                # at every change on the floor to learn nothing it acts on
                leading = self._lead.hold()
                listening_now = self._follow_changes(self.own_feed and leading and not self._stopping.is_set())
            due_now = found.due is not None and found.due <= found.db_clock
            if due_now:
                self.fire_due()
            if self.outbox_senders:
                self.drain_outbox()
            # A feed started just now delivers what comes after its start, and the look above was
            # taken before it: a timer scheduled in between is in neither, so read again. (It was: the
            # wrong-clock test's timers, scheduled as the agent's first sweep began, waited for the
            # next sweep, an hour away, about once in twenty runs.)
            fresh = due_now or listening_now
            self.rearm(self.min_rearm, seen=None if fresh else (found, read_at))
        except Exception as exc:
            self._failed("timer sweep", exc)
        else:
            self._outage.back()
        finally:
            scheduler = self._scheduler
            if scheduler is not None and not self._stopping.is_set():
                scheduler.add_job(self._sweep, "date", id="sweep", replace_existing=True,
                                  run_date=datetime.now(UTC) + timedelta(seconds=self.sweep_interval))

    def _follow_changes(self, follow: bool) -> bool:
        """Start or stop this engine's own feed; True when it started listening now."""
        if follow and self._feed is None:
            from dispatch_console.kernel.changefeed import ChangeFeed

            # started before the re-arm that follows: a timer scheduled in between is in the
            # feed, one scheduled earlier is read by that re-arm (a fresh read: see _sweep_once)
            self._feed = ChangeFeed(self.db, self.on_changes, name=f"timer-feed-{self.station}").start()
            return True
        if not follow and self._feed is not None:
            feed, self._feed = self._feed, None
            feed.stop()
        return False

    def drain_outbox(self) -> dict[str, int]:
        return outbox.drain(self.db, self.outbox_senders or {}, self.station)
