"""Deadlines on the database clock: the timer rows, firing exactly once, the engine, the lead and upkeep.

The room's public face: the views and the command line import from here. Behind it,
``engine`` (the rows, the claim, firing, the engine), ``lead`` and ``upkeep``.
"""

from dispatch_console.timers.engine import Deadline, TimerEngine, deadline_state, kind_label, list_timers

__all__ = [
    "Deadline",
    "TimerEngine",
    "deadline_state",
    "kind_label",
    "list_timers",
]
