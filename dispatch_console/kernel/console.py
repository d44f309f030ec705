"""What a running console (or agent) holds: the database, the signed-in actor, the resources.

The UI keeps one :class:`ConsoleContext` and hands it to services; it never opens sessions
itself. ``actor`` changes when another officer signs in at the same workstation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from db.engine import Database
from db.migrate import schema_status
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.config import Resources


@dataclass
class ConsoleContext:
    db: Database
    station: str
    resources: Resources = field(default_factory=Resources)
    actor: Actor | None = None

    @property
    def display_url(self) -> str:
        return self.db.display_url

    @property
    def backend(self) -> str:
        return self.db.backend

    def require_actor(self) -> Actor:
        if self.actor is None:
            from dispatch_console.kernel.errors import AuthenticationFailed
            from dispatch_console.kernel.i18n import _

            raise AuthenticationFailed(_("Nobody is signed in at this workstation."))
        return self.actor

    def schema_ok(self) -> bool:
        return schema_status(self.db).ok

    def schema_revision(self) -> str | None:
        """The migration the database is at (the About dialog; None on an empty database)."""
        return schema_status(self.db).current


def open_console(url: str, station: str, resources: Resources | None = None) -> ConsoleContext:
    return ConsoleContext(Database(url), station, resources or Resources())
