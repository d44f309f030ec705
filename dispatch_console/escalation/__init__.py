"""Escalation: the steps that page people when an incident is not acknowledged, dispatched, reached
or resolved in time.

The room's public face: the views and the command line import from here. Behind it,
``service`` (the ladder's policy, its deadlines armed and moved with the incident, the pages).
"""

from dispatch_console.escalation.service import configure, policy

__all__ = [
    "configure",
    "policy",
]
