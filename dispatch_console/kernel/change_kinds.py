"""The vocabulary of ``change_log``: which entities change, and how.

Every change a service records names an :class:`Entity` and an :class:`Op`; the change feed
hands them to every console and agent, whose subscribers test them. Both are ``StrEnum``: a
member is equal to its text (``Entity.INCIDENT == "incident"``), is stored as that text, and a
subscriber still written with strings keeps working — but a misspelt member is an error at import,
where a misspelt string was a subscriber that silently never woke.

A room that records a new kind of entity adds it here (a test scans ``change_log`` after the
demo seed and fails on an entity this list does not know).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Entity(StrEnum):
    """What changed: the ``entity`` column of ``change_log`` and ``audit_log``."""

    AREA = "area"  # a community or grid (jurisdiction)
    CAMPAIGN = "campaign"  # a screening campaign (矛盾纠纷排查)
    CAP_MESSAGE = "cap_message"  # an official warning message (CAP 1.2)
    CASE = "case"  # a dispute or petition (案件)
    CHECKLIST = "checklist"  # an incident's checklist step (entity_id: the incident)
    DATABASE = "database"  # the whole database (seeded, restored): every view reloads
    DEPOT = "depot"
    DRILL = "drill"
    HANDOVER = "handover"
    INCIDENT = "incident"
    NOTIFICATION = "notification"
    ROSTER = "roster"
    SHELTER = "shelter"
    SHIFT = "shift"
    STOCK = "stock"
    TIMER = "timer"  # a deadline (its incident, if any, in the change's ``incident_id``)
    TRANSFER = "transfer"  # a cross-region transfer
    UNIT = "unit"
    USER = "user"
    WARNING = "warning"  # an early warning raised by the rules


class Op(StrEnum):
    """How it changed: the ``op`` column of ``change_log``."""

    ACCEPT = "accept"
    ACKNOWLEDGE = "acknowledge"
    ADDENDUM = "addendum"
    ASSIGN = "assign"
    ATTACH = "attach"
    CALL_OUTCOME = "call_outcome"
    CANCEL = "cancel"
    CLOSE = "close"
    CONFIGURE = "configure"
    CONFIRM = "confirm"
    CREATE = "create"
    DEADLINE = "deadline"
    DRAFT = "draft"
    EDIT = "edit"
    EXTEND = "extend"
    FIRE = "fire"
    INJECT = "inject"
    LEAVE = "leave"
    LEAVE_CANCEL = "leave_cancel"
    LINK = "link"
    MEDIATE = "mediate"
    MERGE = "merge"
    NOTE = "note"
    OVERDUE = "overdue"
    PARTY = "party"
    PAUSE = "pause"
    PRUNE = "prune"
    PUBLISH = "publish"
    REACKNOWLEDGE = "reacknowledge"
    REFRESH = "refresh"
    REMOVE = "remove"
    REPLY = "reply"
    REPORT = "report"
    RESCHEDULE = "reschedule"
    RESUME = "resume"
    REVIEW = "review"
    RISK = "risk"
    SCHEDULE = "schedule"
    SEED = "seed"
    SIGN = "sign"
    START = "start"
    SUPERSEDE = "supersede"
    TICK = "tick"
    TYPE = "type"
    UNTICK = "untick"
    UPDATE = "update"
    VIEW = "view"
    VISIT = "visit"
    VISIT_MISSED = "visit_missed"


# What every view that shows incidents re-reads an incident for: the incident itself, and its
# checklist steps (the queue's "3/5" column, the detail). ``entity_id`` is the incident's id.
INCIDENT_ROWS = frozenset({Entity.INCIDENT, Entity.CHECKLIST})


def entities(changes: Iterable[object]) -> frozenset[str]:
    """The entities a batch of changes names (as text: equal to the members)."""
    return frozenset(str(getattr(c, "entity", "")) for c in changes)
