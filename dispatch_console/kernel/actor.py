"""Who is acting, from which station: every write is made by an actor."""

from __future__ import annotations

from dataclasses import dataclass

SYSTEM_ROLE = "system"


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    role: str
    station: str
    display_name: str = ""

    @classmethod
    def system(cls, station: str) -> Actor:
        """The timer engine, the demo seed and migrations act as the system on a station."""
        return cls(user_id=None, username="system", role=SYSTEM_ROLE, station=station,
                   display_name="system")

    @property
    def label(self) -> str:
        return self.display_name or self.username
