"""The permission matrix, enforced inside the services.

A call from the command line or a script is checked exactly like a click in the console; the
UI greys out what a role cannot do only as a courtesy.
"""

from __future__ import annotations

from dispatch_console.kernel.actor import SYSTEM_ROLE, Actor
from dispatch_console.kernel.errors import PermissionDenied
from dispatch_console.kernel.i18n import N_, _
from dispatch_console.kernel.roles import ACCOUNT_ROLES, labels_of, role_label  # noqa: F401

ROLES: dict[str, str] = labels_of(ACCOUNT_ROLES)  # the roles an account may have (kernel/roles.py)

_OFFICER = {
    "console.sign_in",
    "incident.create",
    "incident.acknowledge",
    "incident.transition",
    "incident.dispatch",
    "incident.note",
    "incident.edit",
    "incident.merge",
    "incident.reopen",
    "unit.update",
    "checklist.tick",
    "notification.acknowledge",
    "roster.swap",
    "case.create",
    "case.edit",
    "case.mediate",
    "case.visit",
    "case.petition",
    "case.close",
    "case.campaign_report",
    "warning.handle",
    "supplies.move",
    "shelter.update",
    # 跨区域联动: the officer at the desk hands over and takes over (at night nobody else is there);
    # what the room exchanges with, and the exchange itself, is the administrator's
    "transfer.send",
    "transfer.decide",
}
_LEADER = _OFFICER | {
    "roster.edit",
    "roster.publish",
    "roster.override",
    "roster.import",
    "handover.sign",
    "handover.accept",
    "handover.addendum",
    "checklist.untick_others",
    "case.extend",
    "case.campaign_start",
    "case.campaign_close",
    "warning.import",
    "supplies.manage",
}

# Every person at a workstation may sign in there; integration accounts only call intake.
_CONSOLE = {"console.sign_in"}

MATRIX: dict[str, frozenset[str]] = {
    "observer": frozenset(_CONSOLE),
    "duty_officer": frozenset(_OFFICER),
    "shift_leader": frozenset(_LEADER),
    "director": frozenset(_LEADER | {"drill.run"}),
    "drill_director": frozenset(_OFFICER | {"drill.run"}),
    "admin": frozenset(
        _LEADER
        | {"users.manage", "audit.verify", "jurisdiction.import", "db.admin", "drill.run", "transfer.configure"}
    ),
    "integration": frozenset({"incident.create"}),
}

ACTION_LABELS: dict[str, str] = {
    "console.sign_in": N_("sign in at a workstation"),
    "incident.create": N_("record an incident"),
    "incident.acknowledge": N_("acknowledge an incident"),
    "incident.transition": N_("change an incident's status"),
    "incident.dispatch": N_("dispatch units"),
    "incident.note": N_("add a note"),
    "incident.edit": N_("edit an incident"),
    "incident.merge": N_("merge duplicate incidents"),
    "incident.reopen": N_("reopen an incident"),
    "unit.update": N_("change a unit's status"),
    "checklist.tick": N_("tick checklist steps"),
    "checklist.untick_others": N_("untick another officer's step"),
    "notification.acknowledge": N_("acknowledge an escalation"),
    "roster.swap": N_("swap a shift"),
    "warning.handle": N_("handle or dismiss a warning"),
    "warning.import": N_("import official CAP warnings"),
    "supplies.move": N_("record a stock movement"),
    "supplies.manage": N_("manage depots and import stock"),
    "shelter.update": N_("open a shelter and record arrivals"),
    "roster.edit": N_("edit the roster"),
    "roster.publish": N_("publish the roster"),
    "roster.override": N_("override a roster conflict"),
    "roster.import": N_("import a roster"),
    "handover.sign": N_("sign a handover"),
    "handover.accept": N_("accept a handover"),
    "handover.addendum": N_("add a handover addendum"),
    "case.create": N_("open a case"),
    "case.edit": N_("edit a case"),
    "case.mediate": N_("record a mediation"),
    "case.visit": N_("record a follow-up visit"),
    "case.petition": N_("handle a petition's steps"),
    "case.close": N_("close a case"),
    "case.extend": N_("extend a petition's deadline"),
    "case.campaign_start": N_("start a dispute screening campaign"),
    "case.campaign_report": N_("report a grid's screening result"),
    "transfer.send": N_("send an incident or a case to another duty room"),
    "transfer.decide": N_("accept or refuse a transfer from another duty room"),
    "transfer.configure": N_("set up the transfer exchange"),
    "case.campaign_close": N_("close a dispute screening campaign"),
    "drill.run": N_("run a drill"),
    "users.manage": N_("manage users"),
    "audit.verify": N_("verify the audit log"),
    "jurisdiction.import": N_("import jurisdiction boundaries"),
    "db.admin": N_("administer the database"),
}


def allowed(actor: Actor, action: str) -> bool:
    if actor.role == SYSTEM_ROLE:
        return True
    return action in MATRIX.get(actor.role, frozenset())


def refusal(actor: Actor | None, action: str) -> str | None:
    """Why ``actor`` may not do ``action`` (to show before offering it), None if it may."""
    if actor is None:
        return _("Sign in first.")
    try:
        require(actor, action)
    except PermissionDenied as exc:
        return str(exc)
    return None


def require(actor: Actor, action: str) -> None:
    """Raise PermissionDenied unless the actor's role may do ``action``."""
    if not allowed(actor, action):
        role = _(ROLES.get(actor.role, actor.role))
        what = _(ACTION_LABELS.get(action, action))
        raise PermissionDenied(
            _("{user} ({role}) may not {action}.").format(user=actor.label, role=role, action=what)
        )




def actions_of(role: str) -> frozenset[str]:
    return MATRIX.get(role, frozenset())
