"""One role vocabulary: who people are in the duty room, for accounts, rosters and notifications.

Accounts have one of :data:`ACCOUNT_ROLES`; a roster staffs :data:`ROSTER_ROLES`; a notification is
addressed to one of :data:`NOTIFIED_ROLES` (the district's duty office is not an account of this
console, but it is told). Every label comes from :data:`ROLE_LABELS`.
"""

from __future__ import annotations

from dispatch_console.kernel.i18n import N_, _

ROLE_LABELS: dict[str, str] = {
    "observer": N_("Observer"),
    "duty_officer": N_("Duty officer"),
    "shift_leader": N_("Shift leader"),
    "director": N_("Director"),
    "drill_director": N_("Drill director"),
    "admin": N_("Administrator"),
    "integration": N_("Integration (intake only)"),
    "district_duty_office": N_("District duty office"),
}

ACCOUNT_ROLES = ("observer", "duty_officer", "shift_leader", "director", "drill_director", "admin", "integration")
ROSTER_ROLES = ("shift_leader", "duty_officer")
NOTIFIED_ROLES = ("duty_officer", "shift_leader", "director", "district_duty_office")


def role_label(role: str | None) -> str:
    """The role as people read it, translated; ``None`` (addressed to nobody in particular) is everyone."""
    if role is None:
        return _("everyone")
    return _(ROLE_LABELS[role]) if role in ROLE_LABELS else role


def labels_of(roles: tuple[str, ...]) -> dict[str, str]:
    """``{code: untranslated label}`` for ``roles``, in their order."""
    return {role: ROLE_LABELS[role] for role in roles}
