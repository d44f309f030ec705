"""The one schema of the duty room, on SQLite and PostgreSQL alike.

Nothing is deleted: incidents close, roster entries are superseded, checklist items are ticked,
timers fire or are cancelled. Tables that other consoles edit carry a ``version`` column for
optimistic locking. Every write also adds a ``change_log`` row and a hash-chained ``audit_log``
row in the same transaction (see ``dispatch_console.kernel.changes``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, JSONType, UTCDateTime

# ---------------------------------------------------------------------------------------------
# Jurisdiction: district → street → community → grid, one table with a level.


class Area(Base):
    """A district, street (街道), community (社区工作站) or grid (网格) with its boundary."""

    __tablename__ = "area"
    __table_args__ = (
        UniqueConstraint("level", "code"),
        CheckConstraint("level IN ('district', 'street', 'community', 'grid')", name="level"),
        Index("ix_area_bbox", "level", "min_lon", "max_lon", "min_lat", "max_lat"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"), index=True)
    # community kind: urbanised_village (农城化社区) / residential (纯居民社区)
    kind: Mapped[str | None] = mapped_column(String(32))
    # street prefix for incident numbers (TY-20261127-0042)
    number_prefix: Mapped[str | None] = mapped_column(String(8))
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    min_lon: Mapped[float | None] = mapped_column(Float)
    min_lat: Mapped[float | None] = mapped_column(Float)
    max_lon: Mapped[float | None] = mapped_column(Float)
    max_lat: Mapped[float | None] = mapped_column(Float)
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# ---------------------------------------------------------------------------------------------
# People, units, grid staff, stations, users.


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    title: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class PersonRole(Base):
    """What a person may be rostered or staffed as (shift_leader, duty_officer, grid_manager …)."""

    __tablename__ = "person_role"
    __table_args__ = (UniqueConstraint("person_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    role: Mapped[str] = mapped_column(String(32), index=True)


class Leave(Base):
    __tablename__ = "leave"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(200))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Unit(Base):
    """A department or force the duty room dispatches (派出所, 执法队, 民兵应急分队 …)."""

    __tablename__ = "unit"
    __table_args__ = (
        CheckConstraint(
            "status IN ('available', 'dispatched', 'on_scene', 'returning', 'off_duty')", name="status"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(48), index=True)
    contact_name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="available")
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class GridStaff(Base):
    """一格三员: the grid manager, assistant and supervisor of one grid."""

    __tablename__ = "grid_staff"
    __table_args__ = (
        UniqueConstraint("grid_id", "role"),
        CheckConstraint("role IN ('grid_manager', 'grid_assistant', 'grid_supervisor')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))


class Station(Base):
    """A workstation (值班台) or a headless agent."""

    __tablename__ = "station"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="console")  # console | agent | cli
    hostname: Mapped[str | None] = mapped_column(String(200))
    first_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


# ---------------------------------------------------------------------------------------------
# Incidents and their timeline.


class IncidentCounter(Base):
    """Per street prefix and database date, the last incident sequence number handed out."""

    __tablename__ = "incident_counter"

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    day: Mapped[str] = mapped_column(String(8), primary_key=True)  # YYYYMMDD, Asia/Shanghai
    last_value: Mapped[int] = mapped_column(Integer, default=0)


# The open statuses as the partial index ix_incident_open_order states them: a query uses that
# index only when it says the same (dispatch_console.incidents.queue renders them as literals).
OPEN_STATUSES = ("new", "acknowledged", "dispatched", "on_scene")
OPEN_STATUS_SQL = "status IN ({})".format(", ".join(f"'{s}'" for s in OPEN_STATUSES))


class Incident(Base):
    __tablename__ = "incident"
    __table_args__ = (
        CheckConstraint("severity BETWEEN 1 AND 4", name="severity"),
        CheckConstraint(
            "status IN ('new', 'acknowledged', 'dispatched', 'on_scene', 'resolved', 'closed', "
            "'cancelled')",
            name="status",
        ),
        Index("ix_incident_open_queue", "status", "severity", "created_at"),
        Index("ix_incident_queue_order", "severity", "created_at", "id"),  # all-history queue pages
        # the open queue in its order, holding open incidents only (migration 0004)
        Index("ix_incident_open_order", "severity", "created_at", "id",
              postgresql_where=text(OPEN_STATUS_SQL), sqlite_where=text(OPEN_STATUS_SQL)),
        # the idempotency key of the request that recorded it (migration 0008)
        Index("ix_incident_request_id", "request_id", unique=True),
        # the surge rules' counts of a grid's or a category's reports over a span (migration 0021)
        Index("ix_incident_grid_created", "grid_id", "created_at", "is_drill", "merged_into_id"),
        Index("ix_incident_category_created", "category", "created_at", "is_drill", "merged_into_id"),
        # the queue's count by status without reading each row for its drill flag (migration 0022)
        Index("ix_incident_status_drill", "status", "is_drill"),
        # the situation's and the assessment's window read from this index alone (migration 0024)
        Index("ix_incident_created_figures", "created_at", "is_drill", "merged_into_id", "status", "severity",
              "category", "acknowledged_at", "dispatched_at", "on_scene_at", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    category: Mapped[str] = mapped_column(String(32), index=True)
    severity: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="new")
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"), index=True)
    address: Mapped[str | None] = mapped_column(String(500), index=True)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    reporter_name: Mapped[str | None] = mapped_column(String(100))
    reporter_phone: Mapped[str | None] = mapped_column(String(32), index=True)
    description: Mapped[str] = mapped_column(Text)
    people_count: Mapped[int | None] = mapped_column(Integer)
    is_drill: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    drill_run_id: Mapped[int | None] = mapped_column(ForeignKey("drill_run.id"), index=True)
    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    # set by the writer (an intake line, a form): a write tried again after a lost commit finds it
    request_id: Mapped[str | None] = mapped_column(String(64))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"))
    checklist_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    station: Mapped[str | None] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, default=1)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    on_scene_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IncidentEvent(Base):
    """The incident's timeline: append-only (the restricted PostgreSQL role may not change it)."""

    __tablename__ = "incident_event"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    username: Mapped[str | None] = mapped_column(String(64))
    station: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class Assignment(Base):
    """A unit or person sent to an incident; released, never deleted."""

    __tablename__ = "assignment"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="dispatched")
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    assigned_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)


# ---------------------------------------------------------------------------------------------
# Checklists.


class ChecklistTemplate(Base):
    """A loaded template version; incidents keep a snapshot of the one they got."""

    __tablename__ = "checklist_template"
    __table_args__ = (UniqueConstraint("code", "content_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    template_version: Mapped[str] = mapped_column(String(32))
    content_hash: Mapped[str] = mapped_column(String(64))
    body: Mapped[dict[str, Any]] = mapped_column(JSONType)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChecklistItem(Base):
    __tablename__ = "checklist_item"
    __table_args__ = (UniqueConstraint("incident_id", "template_code", "step_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    template_code: Mapped[str] = mapped_column(String(64))
    template_version: Mapped[str] = mapped_column(String(32))
    step_key: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    role: Mapped[str | None] = mapped_column(String(32))
    deadline_minutes: Mapped[float | None] = mapped_column(Float)
    deadline_from: Mapped[str | None] = mapped_column(String(16))  # created | acknowledged
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    report_kind: Mapped[str | None] = mapped_column(String(32))  # report_first / followup / final
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    done_station: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


# ---------------------------------------------------------------------------------------------
# Shifts and rosters.


class ShiftType(Base):
    __tablename__ = "shift_type"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    start_time: Mapped[str] = mapped_column(String(5))  # HH:MM, local (timezone column)
    length_minutes: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    required_roles: Mapped[dict[str, Any]] = mapped_column(JSONType)  # {"shift_leader": 1, ...}
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Shift(Base):
    """One concrete shift (a shift type on a local date)."""

    __tablename__ = "shift"
    __table_args__ = (UniqueConstraint("shift_type_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_type_id: Mapped[int] = mapped_column(ForeignKey("shift_type.id"), index=True)
    day: Mapped[str] = mapped_column(String(10))  # local date YYYY-MM-DD the shift starts on
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    override_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)


class RosterEntry(Base):
    """A person in a role on a shift. Swaps supersede an entry; the original stays."""

    __tablename__ = "roster_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shift.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("roster_entry.id"))
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    on_behalf_of: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)


# ---------------------------------------------------------------------------------------------
# Handover.


class Handover(Base):
    __tablename__ = "handover"
    __table_args__ = (UniqueConstraint("shift_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shift.id"))
    next_shift_id: Mapped[int | None] = mapped_column(ForeignKey("shift.id"))
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft|signed|accepted
    drafted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    content: Mapped[dict[str, Any]] = mapped_column(JSONType)
    notes: Mapped[str | None] = mapped_column(Text)
    equipment: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    signed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_station: Mapped[str | None] = mapped_column(String(100))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    accepted_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_station: Mapped[str | None] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, default=1)


class HandoverIncident(Base):
    """Per open incident in a handover: its re-acknowledgement by the incoming leader."""

    __tablename__ = "handover_incident"
    __table_args__ = (UniqueConstraint("handover_id", "incident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    handover_id: Mapped[int] = mapped_column(ForeignKey("handover.id"), index=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"))
    must_reacknowledge: Mapped[bool] = mapped_column(Boolean, default=False)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class HandoverAddendum(Base):
    __tablename__ = "handover_addendum"

    id: Mapped[int] = mapped_column(primary_key=True)
    handover_id: Mapped[int] = mapped_column(ForeignKey("handover.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    text: Mapped[str] = mapped_column(Text)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"))
    signed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    station: Mapped[str | None] = mapped_column(String(100))


# ---------------------------------------------------------------------------------------------
# Timers, notifications and the outbox.


class Timer(Base):
    """One deadline. Firing is a claim: ``fired_at`` goes from NULL to the database time once."""

    __tablename__ = "timer"
    __table_args__ = (Index("ix_timer_pending", "fired_at", "cancelled_at", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # ack | dispatch | arrive | resolve | repage | checklist …
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"), index=True)
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("shift.id"))
    handover_id: Mapped[int | None] = mapped_column(ForeignKey("handover.id"))
    checklist_item_id: Mapped[int | None] = mapped_column(ForeignKey("checklist_item.id"))
    step: Mapped[int] = mapped_column(Integer, default=0)
    target_role: Mapped[str | None] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(100))
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fired_by: Mapped[str | None] = mapped_column(String(100))
    late_ms: Mapped[int | None] = mapped_column(Integer)
    is_drill: Mapped[bool] = mapped_column(Boolean, default=False)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # a case's deadline (回访, 信访 steps); no foreign key, so SQLite adds the column in place (0009)
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)


class Notification(Base):
    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(16), default="warning")  # info | warning | critical
    target_role: Mapped[str | None] = mapped_column(String(32))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"))
    timer_id: Mapped[int | None] = mapped_column(ForeignKey("timer.id"))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    is_drill: Mapped[bool] = mapped_column(Boolean, default=False)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)


class OutboxMessage(Base):
    """A message for a channel outside the console (log file, SMTP …), retried until sent."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notification.id"))
    channel: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    # The row of a channel that kept failing, whose message this row carries on the next channel.
    fallback_of: Mapped[int | None] = mapped_column(Integer)


class ChannelAttempt(Base):
    """One try of a channel (WeCom, DingTalk, SMS) for one recipient, with the provider's answer."""

    __tablename__ = "channel_attempt"
    __table_args__ = (Index("ix_channel_attempt_channel_at", "channel", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # wecom | dingtalk | sms_aliyun | sms_tencent
    recipient: Mapped[str] = mapped_column(String(200))  # a phone, or the group of a robot
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(16))  # sent | error | rate_limited | unknown
    code: Mapped[str | None] = mapped_column(String(64))
    answer: Mapped[str | None] = mapped_column(Text)


class ChannelState(Base):
    """Per channel: its recent requests (rate limit), its run of failures and whether it is down."""

    __tablename__ = "channel_state"

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    down_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recent_sends: Mapped[list[Any] | None] = mapped_column(JSONType)  # ISO times within the window
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# ---------------------------------------------------------------------------------------------
# Drills.


class DrillRun(Base):
    __tablename__ = "drill_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_code: Mapped[str] = mapped_column(String(64), index=True)
    scenario_name: Mapped[str] = mapped_column(String(200))
    scenario: Mapped[dict[str, Any]] = mapped_column(JSONType)
    speed: Mapped[float] = mapped_column(Float, default=1.0)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running|paused|aborted|finished
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    pauses: Mapped[list[Any] | None] = mapped_column(JSONType)  # [[paused_at, resumed_at], …] ISO UTC
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    version: Mapped[int] = mapped_column(Integer, default=1)


class DrillInject(Base):
    __tablename__ = "drill_inject"
    __table_args__ = (UniqueConstraint("drill_run_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    drill_run_id: Mapped[int] = mapped_column(ForeignKey("drill_run.id"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    offset_s: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(32))
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


# ---------------------------------------------------------------------------------------------
# Change feed and audit.


class ChangeLog(Base):
    """One row per changed entity; ``seq`` is commit-ordered (writers serialise on the audit lock)."""

    __tablename__ = "change_log"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(BigInteger)
    op: Mapped[str] = mapped_column(String(32))
    station: Mapped[str | None] = mapped_column(String(100))
    user_id: Mapped[int | None] = mapped_column(Integer)
    # what a subscriber needs without reading the entity: a timer's incident, a scheduled timer's due time
    incident_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditLog(Base):
    """Append-only, hash-chained: each row's hash covers the previous row's hash and its content."""

    __tablename__ = "audit_log"
    # an entity's audited rows in order: who held an incident when (migration 0024)
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str | None] = mapped_column(String(64))
    station: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(BigInteger)
    before: Mapped[Any | None] = mapped_column(JSONType)
    after: Mapped[Any | None] = mapped_column(JSONType)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A signed witness of the audit chain: its head and the row counts of audit_log and change_log.

    Made by the agent with an HMAC key kept on its own machine (never in the database), so a
    workstation role that can append audit rows cannot make a checkpoint that verifies. Each
    checkpoint's signature also covers the previous checkpoint's (a chain of its own).
    """

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    station: Mapped[str | None] = mapped_column(String(100))
    audit_rows: Mapped[int] = mapped_column(BigInteger)
    audit_head_id: Mapped[int] = mapped_column(BigInteger)
    audit_head_hash: Mapped[str] = mapped_column(String(64))
    change_rows: Mapped[int] = mapped_column(BigInteger)
    change_max_seq: Mapped[int] = mapped_column(BigInteger)
    pruned_before_id: Mapped[int] = mapped_column(BigInteger, default=0)
    key_id: Mapped[str] = mapped_column(String(16))
    prev_signature: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(64))


class SiteSetting(Base):
    """Facts about the database itself, e.g. ``database_kind = demo`` written when it is created so."""

    __tablename__ = "site_setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
    set_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# ---------------------------------------------------------------------------------------------
# Cases (案件): disputes (矛盾纠纷) and petitions (信访事项), their parties, mediation, visits.
# Nothing is deleted here either: a case closes and reopens, a visit is recorded or missed.

CASE_STATUSES = ("open", "mediating", "agreed", "referred", "closed",          # disputes
                 "registered", "accepted", "replied", "review", "reviewed",    # petitions
                 "re_review", "re_reviewed")


class Case(Base):
    """A dispute or petition case, numbered like incidents (TYJ-20261203-0001 / TYX-…)."""

    __tablename__ = "case_file"
    __table_args__ = (
        CheckConstraint("kind IN ('dispute', 'petition')", name="kind"),
        CheckConstraint("risk IN ('low', 'medium', 'high')", name="risk"),
        CheckConstraint("extension_days BETWEEN 0 AND 30", name="extension_days"),
        Index("ix_case_file_board", "status", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    subtype: Mapped[str | None] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"), index=True)
    risk: Mapped[str] = mapped_column(String(8), default="low")
    may_escalate: Mapped[bool] = mapped_column(Boolean, default=False)
    responsible_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    responsible_person: Mapped[str | None] = mapped_column(String(100))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    opened_by: Mapped[str] = mapped_column(String(16), default="direct")  # policy | hand | direct
    # dispute outcome: mediated (调解成功) / failed (调解不成, with a referral)
    outcome: Mapped[str | None] = mapped_column(String(16))
    referral: Mapped[str | None] = mapped_column(String(32))
    agreement_text: Mapped[str | None] = mapped_column(Text)
    agreement_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    judicial_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # petition steps (信访工作条例): registered → accepted → replied → review → reviewed → …
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    step_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # the current step's deadline
    extension_days: Mapped[int] = mapped_column(Integer, default=0)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    extension_approver: Mapped[str | None] = mapped_column(String(100))
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reply_text: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_note: Mapped[str | None] = mapped_column(Text)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    is_drill: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class CaseParty(Base):
    """当事人: applicant, respondent or other; phone and ID number are shown masked."""

    __tablename__ = "case_party"
    __table_args__ = (CheckConstraint("role IN ('applicant', 'respondent', 'other')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    id_number: Mapped[str | None] = mapped_column(String(18), index=True)


class CaseIncident(Base):
    """An incident the case came from or that belongs to it."""

    __tablename__ = "case_incident"
    __table_args__ = (UniqueConstraint("case_id", "incident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CaseSession(Base):
    """A mediation session (调解): when, where, who mediated, who came, what was said."""

    __tablename__ = "case_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    held_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str | None] = mapped_column(String(200))
    mediator: Mapped[str] = mapped_column(String(100))
    mediator_org: Mapped[str] = mapped_column(String(32))  # judicial_office | people_committee | community
    attendees: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CaseTerm(Base):
    """One term of a mediation agreement with its due date (履行期限)."""

    __tablename__ = "case_term"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CaseVisit(Base):
    """A follow-up visit (回访) due after an agreement or a closure, assigned to the grid's staff."""

    __tablename__ = "case_visit"
    __table_args__ = (
        CheckConstraint("state IN ('due', 'done', 'cancelled')", name="state"),
        Index("ix_case_visit_due", "state", "due_at"),
        # a case's next visit due (the board's column and its overdue / this-week filters)
        Index("ix_case_visit_case_due", "case_id", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    days: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="due")
    assignee_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    assignee_name: Mapped[str | None] = mapped_column(String(100))
    missed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # its deadline fired before the visit
    visited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str | None] = mapped_column(String(16))  # performing | performed | not_performed | relapsed
    satisfaction: Mapped[str | None] = mapped_column(String(16))  # satisfied | basically | dissatisfied
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)


class Campaign(Base):
    """矛盾纠纷排查: a screening campaign over some grids, each grid's 网格员 reporting by a due time."""

    __tablename__ = "campaign"
    __table_args__ = (CheckConstraint("reason IN ('monthly', 'sensitive_date', 'other')", name="reason"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(16), default="monthly")
    note: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    is_drill: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # closed by a leader: every grid reported, or with a reason when some had not; no more escalation
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    closed_by_name: Mapped[str | None] = mapped_column(String(100))
    close_reason: Mapped[str | None] = mapped_column(Text)


class CampaignGrid(Base):
    """One grid of a campaign: pending until its 网格员 reports 无新增 or the disputes found."""

    __tablename__ = "campaign_grid"
    __table_args__ = (
        UniqueConstraint("campaign_id", "grid_id"),
        CheckConstraint("state IN ('pending', 'nothing_new', 'found')", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    reporter: Mapped[str | None] = mapped_column(String(100))  # the 网格员 who reported
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reported_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    note: Mapped[str | None] = mapped_column(Text)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # overdue, told once


class CampaignCase(Base):
    """A dispute a grid found in a campaign: the case it opened."""

    __tablename__ = "campaign_case"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), unique=True)


class CaseEvent(Base):
    """The case's timeline: append-only like the incidents'."""

    __tablename__ = "case_event"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    username: Mapped[str | None] = mapped_column(String(64))
    station: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
# Early warning (预警): official CAP messages and the warnings the rules raise (migration 0010).


class CapMessage(Base):
    """One OASIS CAP 1.2 message as received, stored once per (identifier, sender, sent).

    ``thread_key`` is the identifier of the first Alert of the chain the message belongs to
    (an Update or Cancel names it in ``references``), so every message of one warning shares it.
    ``state`` is active / updated (a later message replaced it) / cancelled; expired is read from
    ``expires`` against the database clock.
    """

    __tablename__ = "cap_message"
    __table_args__ = (UniqueConstraint("identifier", "sender", "sent_text"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(255))
    sender: Mapped[str] = mapped_column(String(255))
    sent_text: Mapped[str] = mapped_column(String(40))  # exactly as in the message
    sent: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))
    msg_type: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(16))
    refs: Mapped[str | None] = mapped_column(Text)  # the message's <references>, as sent
    thread_key: Mapped[str] = mapped_column(String(520), index=True)
    event: Mapped[str | None] = mapped_column(String(255))
    headline: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    instruction: Mapped[str | None] = mapped_column(Text)
    sender_name: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str | None] = mapped_column(String(32))
    categories: Mapped[list[str] | None] = mapped_column(JSONType)
    severity: Mapped[str | None] = mapped_column(String(16))
    urgency: Mapped[str | None] = mapped_column(String(16))
    certainty: Mapped[str | None] = mapped_column(String(16))
    colour: Mapped[str | None] = mapped_column(String(8))  # blue | yellow | orange | red
    effective: Mapped[datetime | None] = mapped_column(UTCDateTime)
    onset: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires: Mapped[datetime | None] = mapped_column(UTCDateTime)
    areas: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    covers_street: Mapped[bool] = mapped_column(Boolean, default=False)
    covered_areas: Mapped[list[str] | None] = mapped_column(JSONType)  # names of our areas it covers
    state: Mapped[str] = mapped_column(String(16), default="active")
    source_file: Mapped[str | None] = mapped_column(String(500))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_by: Mapped[str | None] = mapped_column(String(100))
    xml: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)


class EarlyWarning(Base):
    """A warning raised once per episode: by a rule over the incidents, or by an official CAP message.

    ``episode_key`` is unique: however many workstations evaluate the rules at once, the second
    insert of an episode is refused by the database, so each episode raises one warning and one
    notification. Lifecycle: raised → seen → handled (with a note) or dismissed (with a reason).
    """

    __tablename__ = "warning"
    __table_args__ = (
        CheckConstraint("state IN ('raised', 'seen', 'handled', 'dismissed')", name="state"),
        Index("ix_warning_state_raised_at", "state", "raised_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(32), index=True)
    episode_key: Mapped[str] = mapped_column(String(600), unique=True)
    level: Mapped[str] = mapped_column(String(16))  # info | warning | critical
    target_role: Mapped[str | None] = mapped_column(String(32))
    unit_kind: Mapped[str | None] = mapped_column(String(32))  # e.g. stability_office (维稳办) to inform
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    sensitive_period: Mapped[str | None] = mapped_column(String(100))
    checklist_code: Mapped[str | None] = mapped_column(String(64))  # the checklist it offers to start
    cap_thread_key: Mapped[str | None] = mapped_column(String(520), index=True)
    response_incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"))
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notification.id"))
    state: Mapped[str] = mapped_column(String(16), default="raised")
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    raised_by: Mapped[str | None] = mapped_column(String(100))
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seen_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)


class WarningIncident(Base):
    """The incidents that raised a warning (a repeat caller's three reports, a grid's surge …)."""

    __tablename__ = "warning_incident"

    warning_id: Mapped[int] = mapped_column(ForeignKey("warning.id"), primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), primary_key=True, index=True)


class WarningCursor(Base):
    """How far the rules have read the change feed (one row): the next evaluation starts after it."""

    __tablename__ = "warning_cursor"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WarningSubject(Base):
    """What the repeat rules count: an incident's normalised phone and address, written as it is evaluated.

    Normalised once here (digits of a phone; an address in NFKC without spaces or punctuation),
    so "three reports from one phone in 30 days" is one indexed count, not a scan of the month.
    Drills are never written.
    """

    __tablename__ = "warning_subject"
    __table_args__ = (Index("ix_warning_subject_kind_key_at", "kind", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # phone | address
    key: Mapped[str] = mapped_column(String(500))
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class IncidentDayCount(Base):
    """What the surge rules' daily means are summed from: a grid's or a category's reports on one local day.

    Kept by triggers on ``incident`` (migration 0023), never by the application: a new incident,
    an edit of its grid or category, a merge or a drill flag each move the count. Drills and
    merged duplicates are never counted; the day is the Asia/Shanghai day of ``created_at``.
    """

    __tablename__ = "incident_day_count"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # grid | category
    subject: Mapped[str] = mapped_column(String(64), primary_key=True)  # the grid's id, the category's code
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
# Dispatch assistance: call-taking answers, run-card proposals, supplies and shelters.


class IncidentAnswers(Base):
    """The call-taking questions asked for an incident and the answers; append-only (a re-ask adds a row)."""

    __tablename__ = "incident_answers"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    set_code: Mapped[str] = mapped_column(String(64))
    set_version: Mapped[str] = mapped_column(String(32))
    set_hash: Mapped[str] = mapped_column(String(64))
    answers: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    score: Mapped[int] = mapped_column(Integer)
    suggested_severity: Mapped[int] = mapped_column(Integer)
    chosen_severity: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class DispatchProposal(Base):
    """What the run card proposed for an incident and what the officer sent; append-only."""

    __tablename__ = "dispatch_proposal"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"), index=True)
    card: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(32))
    severity: Mapped[int] = mapped_column(Integer)
    proposed: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    short: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)  # kinds the card wants more of than are free
    sent_unit_ids: Mapped[list[int]] = mapped_column(JSONType)
    accepted: Mapped[bool] = mapped_column(Boolean)  # sent exactly what was proposed
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class Depot(Base):
    """A store of emergency supplies (应急物资储备点): a community's or the street's."""

    __tablename__ = "depot"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"))
    address: Mapped[str | None] = mapped_column(String(500))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    contact_name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StockMovement(Base):
    """One line of the stock ledger; the balance of a depot's item is the sum of its quantities.

    Append-only (triggers refuse UPDATE and DELETE on both backends): a mistake is corrected by a
    new 盘点 (count) line with a reason, never by editing.
    """

    __tablename__ = "stock_movement"
    __table_args__ = (
        CheckConstraint("kind IN ('receive', 'issue', 'transfer_out', 'transfer_in', 'count')", name="kind"),
        CheckConstraint("quantity <> 0", name="quantity"),
        Index("ix_stock_movement_depot_item", "depot_id", "item"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    depot_id: Mapped[int] = mapped_column(ForeignKey("depot.id"))
    item: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int] = mapped_column(Integer)  # signed: + in, - out
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"), index=True)
    other_depot_id: Mapped[int | None] = mapped_column(ForeignKey("depot.id"))  # a transfer's other end
    reason: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    username: Mapped[str | None] = mapped_column(String(64))
    station: Mapped[str | None] = mapped_column(String(100))


class Shelter(Base):
    """An emergency shelter (应急避难场所): capacity, place, contact and whether it is open."""

    __tablename__ = "shelter"
    __table_args__ = (CheckConstraint("status IN ('closed', 'open', 'full')", name="status"),
                      CheckConstraint("capacity > 0", name="capacity"))

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"))
    address: Mapped[str | None] = mapped_column(String(500))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    capacity: Mapped[int] = mapped_column(Integer)
    contact_name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="closed")
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ShelterMovement(Base):
    """People arriving at or leaving a shelter; occupancy is the sum. Append-only like the stock ledger."""

    __tablename__ = "shelter_movement"
    __table_args__ = (CheckConstraint("people <> 0", name="people"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    shelter_id: Mapped[int] = mapped_column(ForeignKey("shelter.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    people: Mapped[int] = mapped_column(Integer)  # + arrivals, - departures
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"))
    note: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    username: Mapped[str | None] = mapped_column(String(64))


# ---------------------------------------------------------------------------------------------
# Cross-region transfer (跨区域联动).


class Transfer(Base):
    """One incident or case handed to (``out``) or from (``in``) another duty room, with both numbers."""

    __tablename__ = "transfer"
    __table_args__ = (
        UniqueConstraint("direction", "package_id"),
        CheckConstraint("direction IN ('out', 'in')", name="direction"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))
    package_id: Mapped[str] = mapped_column(String(64))  # the transfer package's eidoMessageIdentifier
    peer_room: Mapped[str] = mapped_column(String(64), index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"), index=True)  # ours
    # what crossed: an incident, or a dispute/petition case (migration 0016); ``case_id`` is ours
    subject: Mapped[str] = mapped_column(String(8), default="incident", server_default="incident")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_file.id"), index=True)
    sender_number: Mapped[str] = mapped_column(String(32))  # the sending room's incident (or case) number
    receiver_number: Mapped[str | None] = mapped_column(String(32))  # the receiving room's, once accepted
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType)  # type, severity, address, description
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class TransferPackage(Base):
    """Every package sent or taken, once: the unique key is what makes a package taken exactly once
    across the workstations of a room; ``delivered_at`` NULL is the exchange's outbox."""

    __tablename__ = "transfer_package"
    __table_args__ = (UniqueConstraint("direction", "package_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))
    package_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # transfer | status
    peer_room: Mapped[str] = mapped_column(String(64))
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfer.id"), index=True)
    status: Mapped[str | None] = mapped_column(String(16))  # what a status package says
    outcome: Mapped[str | None] = mapped_column(Text)  # taken, or refused and why
    body: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
