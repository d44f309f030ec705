"""The rosters' plain rows, the roster policy, the roles a shift is staffed with, a shift described."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.errors import DispatchError
from dispatch_console.kernel.roles import ROSTER_ROLES as STAFFED_ROLES
from dispatch_console.kernel.roles import labels_of
from dispatch_console.kernel.timefmt import fmt_local

ROSTER_ROLES: dict[str, str] = labels_of(STAFFED_ROLES)  # the roles a shift is staffed with (kernel/roles.py)
LEADER_ROLE = "shift_leader"
DEFAULT_MIN_REST_HOURS = 8.0
MAX_REASON = 500


# ---------------------------------------------------------------------------------------------
# Plain rows handed to callers.


@dataclass(frozen=True)
class ShiftTypeRow:
    id: int
    code: str
    name: str
    start_time: str
    length_minutes: int
    timezone: str
    required_roles: tuple[tuple[str, int], ...]
    active: bool

    def required(self, role: str) -> int:
        return dict(self.required_roles).get(role, 0)


@dataclass(frozen=True)
class ShiftRow:
    id: int
    shift_type_id: int
    code: str
    name: str
    day: str
    starts_at: datetime
    ends_at: datetime
    published_at: datetime | None
    override_reason: str | None
    version: int


@dataclass(frozen=True)
class EntryRow:
    id: int
    shift_id: int
    role: str
    person_id: int
    person_name: str
    phone: str | None
    active: bool
    created_at: datetime
    created_by: int | None
    created_by_name: str | None
    on_behalf_of: int | None
    on_behalf_of_name: str | None
    reason: str | None
    superseded_by_id: int | None
    superseded_at: datetime | None
    version: int


@dataclass(frozen=True)
class Conflict:
    kind: str  # double_booked | short_rest | missing_leader | short_staffed | on_leave
    shift_id: int
    person_id: int | None
    message: str
    role: str | None = None  # the role short of people (missing_leader, short_staffed)


@dataclass(frozen=True)
class PersonRow:
    id: int
    name: str
    phone: str | None
    roles: tuple[str, ...]


@dataclass(frozen=True)
class RosterPolicy:
    min_rest: timedelta = timedelta(hours=DEFAULT_MIN_REST_HOURS)


class RosterConflicts(DispatchError):
    """Publication refused: the roster has conflicts and no override reason was given."""

    def __init__(self, message: str, conflicts: list[Conflict]) -> None:
        super().__init__(message)
        self.conflicts = conflicts


def load_policy(resources: Resources | None = None) -> RosterPolicy:
    """``policies/roster.toml`` (the site's copy first); the defaults if it has none."""
    res = resources or Resources()
    try:
        data = res.toml("policies/roster.toml")
    except FileNotFoundError:
        return RosterPolicy()
    hours = float(data.get("min_rest_hours", DEFAULT_MIN_REST_HOURS))
    return RosterPolicy(min_rest=timedelta(hours=hours))


def describe_shift(shift: ShiftRow) -> str:
    """``2026-11-27 夜班 20:00–08:00`` in local time."""
    hours = f"{fmt_local(shift.starts_at, '%H:%M')}–{fmt_local(shift.ends_at, '%H:%M')}"
    return f"{shift.day} {shift.name} {hours}"
