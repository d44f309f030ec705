"""The rosters' plain rows, their policy and the roles a shift is staffed with.

A shift type (白班 08:00 for 12 h, 夜班 20:00 for 12 h …) has a local start time in its timezone
and the roles it needs (``{"shift_leader": 1, "duty_officer": 2}``). A :class:`Shift` is one shift
type on one local day; its UTC start and end are computed in the shift type's timezone, so a night
shift starting 2026-11-27 20:00 ends 2026-11-28 08:00.

A roster entry puts a person in a role on a shift. Nothing is deleted: a swap or an override
marks the old entry inactive (``superseded_by_id``, ``superseded_at``) and adds a new one that
says who made it, when (database clock) and why. Two workstations changing the same entry: the
first wins, the second gets :class:`~dispatch_console.kernel.errors.ConcurrentChange`.

"Now" is always the database's time (:meth:`db.engine.Database.now`).

The room's public face: the views, the command line and the rooms above import from here. Behind
it, ``rows`` (the plain rows, the policy, a shift described), ``shift_types`` (shift types and
the shifts made of them), ``entries`` (who is on a shift: assign, swap, override, remove),
``leave``, ``publication`` (conflicts and publishing a period) and ``on_duty`` (who is on duty
now and the on-duty board's lists); roster files in ``files``.
"""

from dispatch_console.kernel.roles import role_label
from dispatch_console.rosters.entries import add_entry, assign, entry, people, remove, roster, swap
from dispatch_console.rosters.files import RosterFileError, export_roster, import_roster, parse_day
from dispatch_console.rosters.leave import MAX_LEAVE_REASON, LeaveRow, add_leave, cancel_leave, leaves
from dispatch_console.rosters.on_duty import (
    OnDuty,
    OnDutyPerson,
    ShiftOnDuty,
    grid_staff_directory,
    now_on_duty,
    units_board,
)
from dispatch_console.rosters.publication import Publication, RosterPeriod, conflicts, period, publish
from dispatch_console.rosters.rows import (
    DEFAULT_MIN_REST_HOURS,
    LEADER_ROLE,
    MAX_REASON,
    ROSTER_ROLES,
    Conflict,
    EntryRow,
    PersonRow,
    RosterConflicts,
    RosterPolicy,
    ShiftRow,
    ShiftTypeRow,
    describe_shift,
    load_policy,
)
from dispatch_console.rosters.shift_types import (
    MAX_PER_ROLE,
    SHIFT_TYPE_FIELDS,
    ShiftTypeChange,
    add_shift_type,
    change_shift_type,
    define_shift_type,
    ensure_shifts,
    shift_at,
    shift_bounds,
    shift_type_problems,
    shift_types,
    shifts,
)

__all__ = [
    "DEFAULT_MIN_REST_HOURS",
    "LEADER_ROLE",
    "MAX_LEAVE_REASON",
    "MAX_PER_ROLE",
    "MAX_REASON",
    "ROSTER_ROLES",
    "SHIFT_TYPE_FIELDS",
    "Conflict",
    "EntryRow",
    "LeaveRow",
    "OnDuty",
    "OnDutyPerson",
    "PersonRow",
    "Publication",
    "RosterConflicts",
    "RosterFileError",
    "RosterPeriod",
    "RosterPolicy",
    "ShiftOnDuty",
    "ShiftRow",
    "ShiftTypeChange",
    "ShiftTypeRow",
    "add_entry",
    "add_leave",
    "add_shift_type",
    "assign",
    "cancel_leave",
    "change_shift_type",
    "conflicts",
    "define_shift_type",
    "describe_shift",
    "ensure_shifts",
    "entry",
    "export_roster",
    "grid_staff_directory",
    "import_roster",
    "leaves",
    "load_policy",
    "now_on_duty",
    "parse_day",
    "people",
    "period",
    "publish",
    "remove",
    "role_label",
    "roster",
    "shift_at",
    "shift_bounds",
    "shift_type_problems",
    "shift_types",
    "shifts",
    "swap",
    "units_board",
]
