"""What follows an incident change inside the same transaction: checklists, deadlines, handover.

The incident service calls :func:`after_incident_change` after every change it makes, with the
change's kind, :func:`before_incident_resolve` before it resolves one and
:func:`before_incident_close` before it closes one. The rooms that react to
incidents (checklists, escalation, handover, …) stand *above* the incidents room, so they cannot be
imported from here: the composition root (``station/composition.py``) installs them once, in
order, with :func:`install`. Nothing reacts behind the reader's back — every reaction is one line
there — and nothing reacts by accident: an incident changed before anything was installed raises
:class:`FollowUpsNotInstalled` instead of silently skipping its checklist and deadlines.

Kinds: ``created``, ``acknowledged``, ``dispatched``, ``on_scene``, ``resolved``, ``closed``,
``reopened``, ``cancelled``, ``severity_changed``, ``category_changed``, ``updated``, ``note``,
``released``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from db.models import Incident
from dispatch_console.kernel.actor import Actor

AfterChange = Callable[[Session, Actor, Incident, str, "dict[str, Any] | None"], None]
BeforeClose = Callable[[Session, Incident], None]
BeforeResolve = Callable[[Session, Incident, "str | None"], None]  # the officer's note (a reason)


class FollowUpsNotInstalled(RuntimeError):
    """An incident changed before the composition root installed its follow-ups (a wiring bug)."""


@dataclass(frozen=True)
class FollowUps:
    """The reactions to an incident change, in the order they run."""

    after_change: Sequence[AfterChange]
    before_close: Sequence[BeforeClose] = ()
    before_resolve: Sequence[BeforeResolve] = ()


_installed: FollowUps | None = None


def install(follow_ups: FollowUps) -> None:
    """Set the reactions (the composition root calls this once per process; again replaces them)."""
    global _installed
    _installed = follow_ups


def installed() -> FollowUps:
    if _installed is None:
        raise FollowUpsNotInstalled(
            "incident follow-ups are not installed: call station.composition.install() at start")
    return _installed


def after_incident_change(
    session: Session, actor: Actor, incident: Incident, change: str, before: dict[str, Any] | None = None
) -> None:
    """Run every follow-up of ``change`` on ``incident`` in the caller's transaction."""
    for react in installed().after_change:
        react(session, actor, incident, change, before)


def before_incident_close(session: Session, incident: Incident) -> None:
    """Raise if the incident may not close yet (required checklist steps open, …)."""
    for check in installed().before_close:
        check(session, incident)


def before_incident_resolve(session: Session, incident: Incident, note: str | None) -> None:
    """Raise if the incident may not be resolved now, or not without a reason (``note``)."""
    for check in installed().before_resolve:
        check(session, incident, note)
