"""Notifications: what the console's notification centre shows, and what goes out by the outbox.

A notification is written in the same transaction as whatever caused it (a fired escalation, a
checklist deadline, a handover reminder). Consoles learn of it through the change feed (entity
``notification``) and sound or pop up from that database state, never from a local timer.
Drill notifications are marked ``is_drill`` and never reach the outbox.

The notifications of one incident — its escalation steps, overdue checklist steps, calls — are one
*thread*: the centre and the banner show its latest with how many it holds (``threads=True``), and
signing for one signs for the whole thread. An incident re-escalating all night is one line to
sign, not a wall of them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from db.engine import Database, db_now
from db.models import Incident, Notification, Timer, User
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changes import record, update_versioned
from dispatch_console.kernel.errors import NotFound, ValidationError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import require
from dispatch_console.kernel.roles import NOTIFIED_ROLES, labels_of, role_label  # noqa: F401
from dispatch_console.kernel.timefmt import fmt_local
from dispatch_console.notifications import outbox
from dispatch_console.notifications.levels import LEVELS

# Who is notified: the roles of the duty room and the district above it (区值班室).
ROLE_LABELS: dict[str, str] = labels_of(NOTIFIED_ROLES)


@dataclass(frozen=True)
class NotificationRow:
    id: int
    at: datetime
    kind: str
    level: str
    target_role: str | None
    incident_id: int | None
    incident_number: str | None
    timer_id: int | None
    title: str
    body: str | None
    is_drill: bool
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    version: int
    thread_size: int = 1  # with threads=True: how many notifications this (latest) one stands for
    thread_unsigned: int = 0  # … and how many of them nobody has signed for yet


def notify(
    session: Session,
    *,
    kind: str,
    title: str,
    body: str | None,
    level: str,
    target_role: str | None = None,
    incident_id: int | None = None,
    timer_id: int | None = None,
    is_drill: bool = False,
    actor: Actor | None = None,
    external: bool = True,
    at: datetime | None = None,
) -> Notification:
    """Add a notification (and, unless a drill, an outbox row per external recipient of the role).

    ``at`` is the database time the caller already read in this transaction (a timer's firing).
    """
    if level not in LEVELS:
        raise ValueError(f"unknown notification level {level!r}")
    now = at or db_now(session)
    row = Notification(at=now, kind=kind, level=level, target_role=target_role, incident_id=incident_id,
                       timer_id=timer_id, title=title[:300], body=body, is_drill=is_drill)
    session.add(row)
    session.flush()
    record(session, actor or Actor.system("timers"), entity="notification", entity_id=row.id, op="create",
           action="notification.create",
           after={"kind": kind, "level": level, "target_role": target_role, "incident_id": incident_id,
                  "timer_id": timer_id, "title": row.title, "is_drill": is_drill}, at=now)
    if external and not is_drill:
        outbox.enqueue(session, row, now)
    return row


def _thread_key() -> ColumnElement[int]:
    """The thread of a notification: its incident, or itself when it has none (a handover reminder)."""
    return case((Notification.incident_id.is_not(None), Notification.incident_id), else_=-Notification.id)


def acknowledge(db: Database, actor: Actor, notification_id: int, seen_version: int) -> NotificationRow:
    """An officer has seen the escalation — and the rest of its thread (the same incident's
    notifications nobody signed for yet), signed with it; a second click elsewhere is told who was first."""
    require(actor, "notification.acknowledge")
    with db.write() as s:
        row = s.get(Notification, notification_id)
        if row is None:
            raise NotFound(_("The notification no longer exists."))
        if row.acknowledged_at is not None:
            who = s.get(User, row.acknowledged_by) if row.acknowledged_by else None
            raise ValidationError(_("Already acknowledged by {who} at {when}.").format(
                who=who.display_name if who else "?", when=fmt_local(row.acknowledged_at)))
        now = db_now(s)
        update_versioned(s, Notification, notification_id, seen_version,
                         {"acknowledged_at": now, "acknowledged_by": actor.user_id}, entity="notification")
        record(s, actor, entity="notification", entity_id=notification_id, op="acknowledge",
               action="notification.acknowledge", before={"acknowledged_at": None},
               after={"acknowledged_at": now}, at=now)
        if row.incident_id is not None:
            rest = s.execute(select(Notification.id).where(
                Notification.incident_id == row.incident_id,
                Notification.acknowledged_at.is_(None), Notification.id != notification_id)
                .order_by(Notification.id)).scalars().all()
            if rest:
                s.execute(update(Notification).where(Notification.id.in_(rest)).values(
                    acknowledged_at=now, acknowledged_by=actor.user_id, version=Notification.version + 1))
                for other in rest:
                    record(s, actor, entity="notification", entity_id=other, op="acknowledge",
                           action="notification.acknowledge", before={"acknowledged_at": None},
                           after={"acknowledged_at": now, "with": notification_id}, at=now)
    return get_notification(db, notification_id)


def _query():  # type: ignore[no-untyped-def]
    return (
        select(Notification, Incident.number, User.display_name)
        .outerjoin(Incident, Incident.id == Notification.incident_id)
        .outerjoin(User, User.id == Notification.acknowledged_by)
    )


def _row(n: Notification, number: str | None, ack_name: str | None) -> NotificationRow:
    return NotificationRow(n.id, n.at, n.kind, n.level, n.target_role, n.incident_id, number, n.timer_id,
                           n.title, n.body, n.is_drill, n.acknowledged_at, ack_name, n.version)


def get_notification(db: Database, notification_id: int) -> NotificationRow:
    with db.read() as s:
        found = s.execute(_query().where(Notification.id == notification_id)).first()
        if found is None:
            raise NotFound(_("The notification no longer exists."))
        return _row(*found)


# Roles that see every critical notification, whoever it was addressed to.
OVERSEERS = frozenset({"director", "admin"})


def addressed_to(row: NotificationRow, role: str | None) -> bool:
    """Whether a notification is for an officer of ``role`` (same rule as ``for_role`` in SQL)."""
    if role is None:
        return False
    return row.target_role is None or row.target_role == role or (role in OVERSEERS and row.level == "critical")


def list_notifications(db: Database, *, unacknowledged_only: bool = False, limit: int = 200,
                       include_drill: bool = True, for_role: str | None = None,
                       threads: bool = False) -> list[NotificationRow]:
    """Newest first, as frozen rows for the notification centre; ``for_role`` keeps those addressed
    to that role (see :func:`addressed_to`), filtered in SQL. With ``threads`` each incident's
    notifications come as one row, the latest, carrying the thread's size and unsigned count."""
    rules = []
    if for_role is not None:
        rule = or_(Notification.target_role.is_(None), Notification.target_role == for_role)
        if for_role in OVERSEERS:
            rule = or_(rule, Notification.level == "critical")
        rules.append(rule)
    if unacknowledged_only:
        rules.append(Notification.acknowledged_at.is_(None))
    if not include_drill:
        rules.append(Notification.is_drill.is_(False))
    with db.read() as s:
        if not threads:
            rows = s.execute(_query().where(*rules)
                             .order_by(Notification.at.desc(), Notification.id.desc()).limit(limit)).all()
            return [_row(*r) for r in rows]
        key = _thread_key().label("thread")
        grouped = (select(key, func.max(Notification.id).label("latest"), func.count().label("size"),
                          func.count(Notification.acknowledged_at).label("signed"))
                   .where(*rules).group_by(key).subquery())
        base = _query()  # type: ignore[no-untyped-call]
        query = (base.add_columns(grouped.c.size, grouped.c.signed)
                 .join(grouped, grouped.c.latest == Notification.id)
                 .order_by(Notification.at.desc(), Notification.id.desc()).limit(limit))
        out = []
        for n, number, name, size, signed in s.execute(query).all():
            out.append(replace(_row(n, number, name), thread_size=int(size),
                               thread_unsigned=int(size) - int(signed)))
        return out


def on_timer(session: Session, timer: Timer, now: datetime, fired_by: str) -> None:
    """Effect of a plain ``reminder`` timer: its payload's title and body as a notification."""
    payload = timer.payload or {}
    notify(session, kind="reminder",
           title=str(payload.get("title") or _("Reminder")), body=payload.get("body"),
           level=str(payload.get("level") or "info"), target_role=timer.target_role,
           incident_id=timer.incident_id, timer_id=timer.id, is_drill=timer.is_drill, at=now)
