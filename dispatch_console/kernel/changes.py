"""Every write's bookkeeping: the change_log row, the hash-chained audit row, the notify.

Services call :func:`record` inside their write transaction, after changing the rows. It

1. serialises writers (PostgreSQL: a transaction-scoped advisory lock; SQLite: the transaction
   already began IMMEDIATE). Because of this lock, ``change_log.seq`` values become visible in
   commit order, so a reader that catches up "after seq N" never skips a row that commits late;
2. appends an ``audit_log`` row whose hash covers the previous row's hash and its own content;
3. appends a ``change_log`` row and, on PostgreSQL, ``pg_notify``s its seq. The notification is
   delivered only if the transaction commits.

On PostgreSQL steps 2 and 3 are one statement, ``dc_write_step`` (migration 0020): the backend
reads the end of the chain, finishes each row's hash (the application sends the row's canonical
JSON cut around its id, :func:`hash_parts`), inserts the audit and change_log rows and notifies.
A transaction that defers (:func:`defer_to_the_end`: a new incident) records its changes without
the lock; at its end the same statement also takes the lock and the incident's number
(:func:`number_at_the_end`), so the lock is held for one statement and the commit.

A transaction that records several changes (a timer firing: its notification and itself; a batch
of timers) takes the lock and notifies only once: the lock is held and nobody else can append
until it commits, and one notification wakes every feed, which then reads everything after its
seq. What a transaction has done is forgotten when it ends and at any rollback, so a savepoint
rolled back (taking its rows, lock and notify with it) makes the next change look again.

:func:`update_versioned` is the one optimistic-locking update: ``… WHERE id = :id AND version =
:seen``; when no row matches, the caller is told who changed the record and when.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event, insert, select, text, update
from sqlalchemy.orm import Session, SessionTransaction

from db.engine import db_now
from db.models import AuditLog, Base, ChangeLog, User
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.errors import ConcurrentChange, NotFound
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.timefmt import fmt_local

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "dispatch_changes"
WRITER_LOCK_KEY = 7_270_001  # pg_advisory_xact_lock key shared by every writer
GENESIS_HASH = "0" * 64
_WRITE_STATE = "dc_write_state"  # Session.info key: what the open transaction has done already
LOCKED_AT = "dc_locked_at"  # Session.info key: when the last short step held the lock (epoch s, database clock)


def _write_state(session: Session) -> dict[str, Any]:
    return session.info.setdefault(_WRITE_STATE, {})  # type: ignore[no-any-return]


@event.listens_for(Session, "after_transaction_end")
def _forget_at_the_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the transaction itself (a savepoint released keeps its work)
        session.info.pop(_WRITE_STATE, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, previous: SessionTransaction) -> None:
    # Any rollback, a savepoint's included: look again. Changes kept for the end of the
    # transaction cannot be told apart from the savepoint's own, so whoever uses savepoints takes
    # the writers' lock first (the timer engine does: its claim needs it anyway).
    state = session.info.pop(_WRITE_STATE, None)
    if previous.nested and state and state.get("pending"):
        log.error("a savepoint was rolled back while changes waited for the writers' lock: %d dropped",
                  len(state["pending"]))


def to_jsonable(value: Any) -> Any:
    """Plain JSON values for audit before/after (datetimes as ISO 8601 UTC)."""
    if value is None or isinstance(value, str | int | float):  # most values: asked first
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [to_jsonable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    names = _dataclass_fields(type(value))
    if names is not None:
        # field by field, not dataclasses.asdict: that deep-copies every value first (a handover
        # of 5,000 open incidents spent 2.3 of its 3.9 s copying datetimes it then formatted)
        return {name: to_jsonable(getattr(value, name)) for name in names}
    return value


@functools.cache
def _dataclass_fields(kind: type) -> tuple[str, ...] | None:
    if not dataclasses.is_dataclass(kind):
        return None
    return tuple(f.name for f in dataclasses.fields(kind))


def row_dict(obj: Base, *, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """An ORM row's column values as plain JSON (for audit before/after)."""
    return {
        c.key: to_jsonable(getattr(obj, c.key))
        for c in obj.__table__.columns  # type: ignore[attr-defined]
        if c.key not in exclude
    }


def canonical_json(value: Any) -> str:
    return json.dumps(to_jsonable(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def audit_hash(prev_hash: str, row: dict[str, Any]) -> str:
    """The chain: sha256(previous hash + canonical JSON of this row's content, id included)."""
    content = {
        "id": row["id"],
        "at": to_jsonable(row["at"]),
        "user_id": row["user_id"],
        "username": row["username"],
        "station": row["station"],
        "action": row["action"],
        "entity": row["entity"],
        "entity_id": row["entity_id"],
        "before": row["before"],
        "after": row["after"],
    }
    return hashlib.sha256((prev_hash + canonical_json(content)).encode("utf-8")).hexdigest()


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def writers_locked(session: Session) -> bool:
    """True once this transaction holds the writers' lock (SQLite: always, it began IMMEDIATE)."""
    return bool(_write_state(session).get("locked")) or not _postgres(session)


def serialise_writers(session: Session) -> None:
    """Take the writers' lock now (held to the end of the transaction), and write what waited for it.

    On PostgreSQL a transaction that has not asked for the lock yet records its changes without
    it (:func:`record` keeps them); they are written here, with the numbers
    :func:`number_at_the_end` and the steps :func:`under_the_lock` asked for, in one short step at
    the end — so the writers queue only for that step, not for their whole transaction. Without
    steps of its own that step is a single statement (``dc_write_step``, migration 0020): lock,
    numbers, audit rows, change_log rows and the notify in the backend, so the lock is held for
    that statement and the commit. Whoever needs the lock from the start (a timer's claim, a
    versioned update that must not be overtaken) calls this first.
    """
    state = _write_state(session)
    if state.get("locked"):
        return
    steps = state.pop("under_lock", [])
    numbers = state.pop("numbers", [])
    pending = state.pop("pending", [])
    postgres = _postgres(session)
    if postgres and not steps and (numbers or pending):  # the common end of a new incident
        state["locked"] = True
        _write_step(session, numbers, pending, lock=True)
        return
    if postgres:
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITER_LOCK_KEY})
    state["locked"] = True
    for step in steps:
        step(session)
    if numbers or pending:
        _write_step(session, numbers, pending, lock=False) if postgres else _write_bookkeeping(session, pending)


def defer_to_the_end(session: Session) -> None:
    """Record this transaction's changes without the writers' lock until its end (PostgreSQL).

    For a write whose work does not depend on what other writers do meanwhile (a new incident:
    its rows are its own), so that it waits for the others only in its last, short step. Once
    the lock is taken — by :func:`serialise_writers`, at the latest at commit — changes are
    written as they are recorded again.
    """
    if not writers_locked(session):
        _write_state(session)["deferred"] = True


def under_the_lock(session: Session, step: Callable[[Session], None]) -> None:
    """Run ``step`` once the writers' lock is held: now if it is, else at the end (before the
    transaction's audit and change rows are written). An incident's number is taken so."""
    if writers_locked(session):
        step(session)
        return
    _write_state(session).setdefault("under_lock", []).append(step)


def number_at_the_end(
    session: Session, *, placeholder: str, prefix: str, day: str, incident_id: int,
    then: Callable[[str], None],
) -> None:
    """Give the new incident ``incident_id`` its number in the writers' short step at the end
    (PostgreSQL, a transaction that deferred its changes): the next of ``incident_counter`` for
    (``prefix``, ``day``), formatted ``PREFIX-DAY-0042``. ``placeholder`` — the number the
    incident carries until then, unique to it — is replaced by the number in the incident's row
    and in every change still waiting (the audit rows are hashed with the number); ``then`` is
    told the number once it is taken. Only where :func:`writers_locked` is false."""
    _write_state(session).setdefault("numbers", []).append(
        ({"prefix": prefix, "day": day, "incident_id": incident_id, "token": placeholder}, then))


def amend_pending(session: Session, *, entity: str, entity_id: int | None, **after: Any) -> None:
    """Correct the ``after`` of changes recorded but not yet written (a number taken at the end)."""
    for values in _write_state(session).get("pending", []):
        if values["entity"] == entity and values["entity_id"] == entity_id and isinstance(values["after"], dict):
            values["after"].update({k: to_jsonable(v) for k, v in after.items() if k in values["after"]})


@event.listens_for(Session, "before_commit")
def _write_at_the_end(session: Session) -> None:
    state = session.info.get(_WRITE_STATE)
    if state and (state.get("pending") or state.get("under_lock") or state.get("numbers")):
        serialise_writers(session)


def record(
    session: Session,
    actor: Actor,
    *,
    entity: str,
    entity_id: int | None,
    op: str,
    action: str | None = None,
    before: Any = None,
    after: Any = None,
    at: datetime | None = None,
    incident_id: int | None = None,
    due_at: datetime | None = None,
) -> int | None:
    """Add the audit and change_log rows for one change; returns the change's seq if written now.

    ``entity`` and ``op`` are members of :mod:`dispatch_console.kernel.change_kinds` (or their
    text). ``incident_id`` and ``due_at`` go to the change feed only (not the audit row): the
    incident a change of another entity belongs to (a timer's), and a scheduled timer's due time,
    so that subscribers know what to refresh or re-arm without reading the entity.

    In a transaction that deferred them (:func:`defer_to_the_end`) the rows are kept until the
    writers' lock is taken and then written in the order recorded; None is returned then.
    """
    at = at or db_now(session)
    values: dict[str, Any] = {
        "at": at,
        "user_id": actor.user_id,
        "username": actor.username,
        "station": actor.station,
        "action": action or f"{entity}.{op}",
        "entity": entity,
        "entity_id": entity_id,
        "before": to_jsonable(before),
        "after": to_jsonable(after),
        "op": op,
        "incident_id": incident_id,
        "due_at": due_at,
    }
    state = _write_state(session)
    if state.get("deferred") and not writers_locked(session):
        state.setdefault("pending", []).append(values)
        return None
    serialise_writers(session)
    if _postgres(session):
        return _write_step(session, [], [values], lock=False)
    return _write_bookkeeping(session, [values])


_FEED_ONLY = frozenset({"op", "incident_id", "due_at"})  # change_log columns the audit row has not
def hash_parts(change: dict[str, Any]) -> tuple[str, str]:
    """The canonical JSON of an audit row's content (:func:`audit_hash`) cut around its id: what
    comes before the id's digits and what after, so that the hash can be finished where the id is
    known (under the writers' lock, in ``dc_write_step``) as sha256(prev + head + id + tail)."""
    text_ = canonical_json({**{k: change[k] for k in _HASHED if k != "id"}, "id": 0})
    # the top level's keys sort as … entity_id, id, station, user_id, username: the last ',"id":0,'
    # is the row's own (strings escape their quotes, so none of the scalars after it holds one)
    cut = text_.rindex(',"id":0,')
    return text_[: cut + len(',"id":')], text_[cut + len(',"id":0'):]


_HASHED = ("id", "at", "user_id", "username", "station", "action", "entity", "entity_id", "before", "after")
_STEP = text("SELECT dc_write_step(:lock, CAST(:numbers AS jsonb), CAST(:changes AS jsonb), :channel)")


def _write_step(session: Session, numbers: list[tuple[dict[str, Any], Callable[[str], None]]],
                changes: list[dict[str, Any]], *, lock: bool) -> int | None:
    """PostgreSQL: the lock (unless held), the numbers, the changes' audit and change_log rows and
    the notify in one statement (``dc_write_step``); returns the last change's seq."""
    state = _write_state(session)
    rows = []
    for change in changes:
        head, tail = hash_parts(change)
        due = change.get("due_at")
        rows.append({**change, "at": to_jsonable(change["at"]), "due_at": to_jsonable(due) if due is not None else None,
                     "head": head, "tail": tail})
    channel = None if state.get("notified") or not changes else NOTIFY_CHANNEL
    session.flush()  # the caller's pending rows first (the step updates the incident's)
    got = session.execute(_STEP, {
        "lock": WRITER_LOCK_KEY if lock else None,
        "numbers": json.dumps([n for n, _then in numbers], ensure_ascii=False),
        "changes": json.dumps(rows, ensure_ascii=False),
        "channel": channel,
    }).scalar_one()
    if channel is not None:
        state["notified"] = True
    if lock:  # how long the lock is held, for whoever measures it (the write-rate benchmark)
        session.info[LOCKED_AT] = got.get("locked_at")
    taken = got.get("numbers") or {}
    for wanted, then in numbers:
        then(taken[wanted["token"]])
    seq = got.get("seq")
    return int(seq) if seq is not None else None


def _write_bookkeeping(session: Session, changes: list[dict[str, Any]]) -> int:
    """SQLite: append the changes' audit rows to the chain and their change_log rows (the write
    transaction began IMMEDIATE: nobody else appends meanwhile). PostgreSQL does the same in the
    backend (:func:`_write_step`)."""
    state = _write_state(session)
    tail = state.get("audit_tail")
    if tail is None:
        last = session.execute(select(AuditLog.id, AuditLog.hash).order_by(AuditLog.id.desc()).limit(1)).first()
        tail = (last.id, last.hash) if last else (0, GENESIS_HASH)
    audits, rows = [], []
    for change in changes:
        values = {k: v for k, v in change.items() if k not in _FEED_ONLY}
        values["id"] = tail[0] + 1
        values["prev_hash"] = tail[1]
        values["hash"] = audit_hash(tail[1], values)
        tail = (values["id"], values["hash"])
        audits.append(values)
        rows.append({"at": change["at"], "entity": change["entity"], "entity_id": change["entity_id"],
                     "op": change["op"], "station": change["station"], "user_id": change["user_id"],
                     "incident_id": change["incident_id"], "due_at": change["due_at"]})
    # Core inserts, not ORM objects: the bookkeeping rows are never read back in the transaction,
    # and the unit of work around two plain rows was most of a timer firing's cost. Executing
    # them flushes the caller's pending changes first, as the ORM flush here used to.
    session.execute(insert(AuditLog.__table__), audits)
    seq = max(int(x) for x in session.execute(
        insert(ChangeLog.__table__).returning(ChangeLog.__table__.c.seq, sort_by_parameter_order=True),
        rows).scalars())
    state["audit_tail"] = tail
    return seq


def person_at(session: Session, username: str | None, station: str | None) -> str | None:
    """Who did it, as an officer reads it: the person's name (not the login) and the workstation."""
    if username is None:
        return None
    name = session.execute(select(User.display_name).where(User.username == username)).scalar()
    who = name or username
    return f"{who}@{station}" if station else who


def last_change_by(session: Session, entity: str, entity_id: int) -> tuple[str | None, datetime | None]:
    row = session.execute(
        select(AuditLog.username, AuditLog.station, AuditLog.at)
        .where(AuditLog.entity == entity, AuditLog.entity_id == entity_id)
        .order_by(AuditLog.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None, None
    return person_at(session, row.username, row.station), row.at


def update_versioned(
    session: Session,
    model: type[Base],
    row_id: int,
    seen_version: int,
    values: dict[str, Any],
    *,
    entity: str,
) -> int:
    """Optimistic update; returns the new version or raises ConcurrentChange naming who and when."""
    table = model.__table__  # type: ignore[attr-defined]
    result = session.execute(
        update(table)
        .where(table.c.id == row_id, table.c.version == seen_version)
        .values(**values, version=seen_version + 1)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        session.expire_all()
        return seen_version + 1
    exists = session.execute(select(table.c.version).where(table.c.id == row_id)).first()
    if exists is None:
        raise NotFound(_("The record no longer exists."))
    raise changed_by(*last_change_by(session, entity, row_id))


def last_action_by(session: Session, action: str, record_id: int) -> tuple[str | None, datetime | None]:
    """Who last took ``action`` on the record whose id the audit row's ``after`` names (for records
    audited without an entity id of their own, such as a leave or a shift type)."""
    rows = session.execute(select(AuditLog.username, AuditLog.station, AuditLog.at, AuditLog.after)
                           .where(AuditLog.action == action).order_by(AuditLog.id.desc()).limit(200))
    for r in rows:
        if isinstance(r.after, dict) and r.after.get("id") == record_id:
            return person_at(session, r.username, r.station), r.at
    return None, None


def changed_by(who: str | None, when: datetime | None) -> ConcurrentChange:
    """The refusal when somebody else changed the record first: who and when, and what to do."""
    return ConcurrentChange(
        _("Changed by {who} at {when} — reload and try again.").format(
            who=who or "?", when=fmt_local(when) if when else "?"),
        by=who,
        at=when,
    )
