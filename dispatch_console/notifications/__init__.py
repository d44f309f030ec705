"""Telling people: notifications, the outbox that never loses one, and the senders.

The room's public face: the views and the command line import from here. Behind it,
``levels``, ``service`` (the notifications and who they are addressed to), ``outbox``
(never losing one) and ``senders``.
"""

from dispatch_console.kernel.roles import role_label
from dispatch_console.notifications.outbox import configure, senders_from_settings
from dispatch_console.notifications.service import (
    NotificationRow,
    acknowledge,
    addressed_to,
    list_notifications,
)

__all__ = [
    "NotificationRow",
    "acknowledge",
    "addressed_to",
    "configure",
    "list_notifications",
    "role_label",
    "senders_from_settings",
]
