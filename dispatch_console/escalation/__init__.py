"""Escalation: the steps that page people when an incident is not acknowledged, dispatched, reached
or resolved in time."""
