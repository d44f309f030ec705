"""What follows an incident change inside the same transaction: checklists and deadlines.

The incident service calls :func:`after_incident_change` after every change it makes, with the
change's kind. Each capability that reacts to incidents has one explicit line here, so the
order is visible and nothing reacts behind the reader's back.

Kinds: ``created``, ``acknowledged``, ``dispatched``, ``on_scene``, ``resolved``, ``closed``,
``reopened``, ``cancelled``, ``severity_changed``, ``category_changed``, ``updated``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from db.models import Incident
from dispatch_console.checklists import service as checklists
from dispatch_console.escalation import service as escalation
from dispatch_console.handover import service as handover
from dispatch_console.kernel.actor import Actor


def after_incident_change(
    session: Session, actor: Actor, incident: Incident, change: str, before: dict[str, Any] | None = None
) -> None:
    """Run every follow-up of ``change`` on ``incident`` in the caller's transaction."""
    checklists.on_incident_change(session, actor, incident, change, before)
    escalation.on_incident_change(session, actor, incident, change, before)
    handover.on_incident_change(session, actor, incident, change, before)  # "created" only; never drills


def before_incident_close(session: Session, incident: Incident) -> None:
    """Raise if the incident may not close yet (required checklist steps open, …)."""
    checklists.before_close(session, incident)
