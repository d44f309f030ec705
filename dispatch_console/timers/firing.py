"""Firing: a due timer claimed, its effect run, its timeline entry, audit and change rows written —
all in one write transaction, so each fires exactly once (see :mod:`dispatch_console.timers.engine`)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from db.engine import Database, db_now
from db.models import IncidentEvent, Timer
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.change_kinds import Entity, Op
from dispatch_console.kernel.changes import record, serialise_writers
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.roles import role_label
from dispatch_console.kernel.timefmt import fmt_duration
from dispatch_console.notifications import service as notifications
from dispatch_console.timers.store import ESCALATION_KINDS, kind_label

log = logging.getLogger(__name__)

# Lateness beyond this is written into the timeline ("late by …"); below it is ordinary jitter.
LATE_NOTE_AFTER = timedelta(seconds=15)

Effect = Callable[[Session, Timer, datetime, str], None]
Companion = Callable[[Any], None]  # fn(engine): see TimerEngine

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
# Where they come from: the composition root's function, called when the first engine is made (a
# command that runs no engine, such as a one-line intake, never imports the rooms they belong to).
_companion_source: Callable[[], Iterable[Companion]] | None = None
_companion_lock = threading.Lock()  # two engines made at once resolve them once

_installed = False


class TimerWiringMissing(RuntimeError):
    """Timers fired before the composition root installed their effects (a wiring bug)."""


def install(effects: Mapping[str, Effect],
            companions: Iterable[Companion] | Callable[[], Iterable[Companion]] = ()) -> None:
    """Set what each kind of timer does and what every engine carries (once per process).

    ``companions`` may be a function giving them: it is called when the first engine is made."""
    global _installed, _companion_source
    EFFECTS.clear()
    EFFECTS.update(effects)
    if callable(companions):
        COMPANIONS.clear()
        _companion_source = companions
    else:
        COMPANIONS[:] = list(companions)
        _companion_source = None
    _installed = True


def installed_companions() -> list[Companion]:
    """The jobs every engine carries, resolved from their source on first use."""
    global _companion_source
    with _companion_lock:
        if _companion_source is not None:
            COMPANIONS[:] = list(_companion_source())
            _companion_source = None
    return COMPANIONS


def installed_effects() -> Mapping[str, Effect]:
    if not _installed:
        raise TimerWiringMissing("timer effects are not installed: call station.composition.install() at start")
    return EFFECTS


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
            what=what, role=role_label(timer.target_role), step=timer.step + 1)
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

