"""The levels of a notification, from the least to the most urgent (the outbox's policy names them too)."""

LEVELS = ("info", "warning", "critical")
