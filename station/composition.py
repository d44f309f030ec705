"""The composition root: every reaction, every effect, every command and every panel, in one file.

The rooms do not know each other's reactions: an incident changes in the incidents room, and the
checklists, escalation and handover rooms (which stand above it) react. Timer kinds belong to the
rooms that schedule them, but one engine fires them all. Command groups and panels belong to their
rooms, but one command line and one main window carry them. This file says all of that with real
imports, so a reader (or PyInstaller, or import-linter) sees every wire:

- :func:`follow_ups` — what follows an incident change, in order;
- :func:`timer_effects` — what firing each kind of timer does;
- :func:`engine_companions` — the jobs every timer engine carries;
- :data:`COMMANDS` — the command line's groups (each room's ``register``), in ``--help`` order;
- :func:`panels` — the main window's central view and docks, in their default order.

:func:`install` puts the first three in place; the entry point (``station/launcher.py``), the
test suite and the benchmarks' worker processes call it once per process. Views are imported only
inside :func:`panels` and the GUI commands (``station/commands.py``), so a command that needs no
window never loads Qt.

Adding a capability: create its room (``dispatch_console/<room>/``, ``ui/<room>/``), then add its
lines here — see ARCHITECTURE.md, "Adding a capability".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from dispatch_console.cli import Commands
from dispatch_console.cli import agent as agent_cli
from dispatch_console.cli import audit as audit_cli
from dispatch_console.cli import cap as cap_cli
from dispatch_console.cli import cases as cases_cli
from dispatch_console.cli import checklists as checklists_cli
from dispatch_console.cli import db_cmd as db_cli
from dispatch_console.cli import drill as drill_cli
from dispatch_console.cli import grids as grids_cli
from dispatch_console.cli import incidents as incidents_cli
from dispatch_console.cli import intake as intake_cli
from dispatch_console.cli import protocols as protocols_cli
from dispatch_console.cli import roster as roster_cli
from dispatch_console.cli import security as security_cli
from dispatch_console.cli import supplies as supplies_cli
from dispatch_console.cli import timers as timers_cli
from dispatch_console.cli import transfer as transfer_cli
from dispatch_console.cli import users as users_cli
from dispatch_console.cli import warnings as warnings_cli
from station import commands as gui_commands

if TYPE_CHECKING:
    from dispatch_console.incidents.followups import FollowUps
    from dispatch_console.timers.engine import Companion, Effect
    from ui.shell.main_window import Panels

COMMANDS: tuple[Callable[[Commands], None], ...] = (
    db_cli.register, agent_cli.register, timers_cli.register, intake_cli.register, incidents_cli.register,
    users_cli.register, audit_cli.register, security_cli.register, roster_cli.register,
    checklists_cli.register, grids_cli.register, drill_cli.register, cases_cli.register, warnings_cli.register,
    cap_cli.register, protocols_cli.register, supplies_cli.register, supplies_cli.register_shelters,
    transfer_cli.register,
    # run, screenshot, handover report|log: Qt is imported only when one of them runs
    lambda commands: gui_commands.register(commands, panels=panels),
)


def follow_ups() -> FollowUps:
    """What follows an incident change, in order."""
    from dispatch_console.cases import effects as cases
    from dispatch_console.checklists import service as checklists
    from dispatch_console.escalation import service as escalation
    from dispatch_console.handover import service as handover
    from dispatch_console.incidents import followups
    from dispatch_console.transfers import service as transfers

    return followups.FollowUps(
        after_change=(
            checklists.on_incident_change,   # start, re-plan or close the incident's checklist
            escalation.on_incident_change,   # arm, move or cancel the escalation deadlines
            handover.on_incident_change,     # "created" only: note it for the shift's handover; never drills
            cases.on_incident_change,        # a dispute, labour, petition or rental incident opens a case
            transfers.on_incident_change,    # a transferred-in incident dispatched/resolved: the sender is told
        ),
        before_close=(
            checklists.before_close,         # required steps open: may not close yet
        ),
        before_resolve=(
            checklists.before_resolve,       # required steps open: resolve with a reason, or not (policy)
        ),
    )


def timer_effects() -> dict[str, Effect]:
    """What firing each kind of timer does."""
    from dispatch_console.cases import campaigns
    from dispatch_console.cases import effects as cases
    from dispatch_console.cases.vocabulary import FOLLOW_UP_KIND, JUDICIAL_KIND, PETITION_WINDOW_KIND
    from dispatch_console.channels import callout
    from dispatch_console.checklists import service as checklists
    from dispatch_console.escalation import service as escalation
    from dispatch_console.handover import service as handover
    from dispatch_console.notifications import service as notifications
    from dispatch_console.transfers import service as transfers

    return {
        "ack": escalation.on_timer,
        "dispatch": escalation.on_timer,
        "arrive": escalation.on_timer,
        "resolve": escalation.on_timer,
        "repage": escalation.on_timer,
        "reminder": notifications.on_timer,
        "checklist": checklists.on_deadline,
        "handover_reminder": handover.on_timer,
        "handover_accept": handover.on_timer,
        "call": callout.on_timer,           # an unanswered call moves to the next person in the chain
        FOLLOW_UP_KIND: cases.on_follow_up_due,          # a follow-up visit (回访) not recorded in time
        JUDICIAL_KIND: cases.on_judicial_due,            # the 30-day judicial-confirmation window closing
        "petition_accept": cases.on_petition_deadline,   # 信访: accept within 15 days
        "petition_conclude": cases.on_petition_deadline,  # conclude within 60 (+ one extension ≤ 30)
        "petition_review": cases.on_petition_deadline,   # 复查 within 30
        "petition_re_review": cases.on_petition_deadline,  # 复核 within 30
        campaigns.CAMPAIGN_DUE_KIND: campaigns.on_campaign_due,  # 矛盾纠纷排查: grids not reported in time, once
        PETITION_WINDOW_KIND: cases.on_petition_window,  # no review asked for in time: the reply stands
        transfers.RECEIPT_KIND: transfers.on_timer,      # 跨区域联动: no receipt in time, the leader is told once
    }


def engine_companions() -> tuple[Companion, ...]:
    """The jobs every timer engine carries."""
    from dispatch_console.handover import schedule as handover_schedule
    from dispatch_console.timers import upkeep
    from dispatch_console.transfers import service as transfers
    from dispatch_console.warnings import evaluate as warning_rules
    from dispatch_console.warnings import official as official_warnings

    return (
        handover_schedule.attach,   # creates each shift's handover reminder rows
        upkeep.attach,              # planner statistics and other housekeeping
        warning_rules.attach,       # the warning rules over the change feed, each episode raised once
        official_warnings.attach,   # the CAP drop folder (policies/warning.toml, cap.drop_folder)
        transfers.attach,           # the transfer exchange folder (policies/transfers.toml, exchange)
    )


def install() -> None:
    """Put the reactions and the timer effects in place (once per process; again is harmless).

    The rooms load here, not when this module is imported: the command line builds its parser (and
    answers ``--help``) from :data:`COMMANDS` alone, and installs the rest only when a command runs.
    """
    from dispatch_console import channels
    from dispatch_console.incidents import followups
    from dispatch_console.timers import engine as timers

    followups.install(follow_ups())
    timers.install(timer_effects(), engine_companions)  # resolved when an engine starts
    channels.install()  # notify.toml may name WeCom, DingTalk and SMS gateways


def panels() -> Panels:
    """The main window's views: the queue in the middle, then the docks in their default order."""
    from ui.assessment.situation import SituationPanel
    from ui.cases.board import CaseBoard
    from ui.channels.calls import CallTasksPanel
    from ui.channels.status import channel_down_label
    from ui.checklists.panel import ChecklistPanel
    from ui.drills.panel import DrillPanel
    from ui.handover.panel import HandoverPanel
    from ui.incidents.detail import IncidentDetailPanel
    from ui.incidents.queue_view import QueueView
    from ui.jurisdiction.browser import JurisdictionPanel
    from ui.map.map_panel import MapPanel
    from ui.notifications.centre import NotificationCentre
    from ui.rosters.calendar import RosterCalendarPanel
    from ui.rosters.duty_board import DutyBoardPanel
    from ui.shell.main_window import Panels
    from ui.supplies.panel import SuppliesPanel
    from ui.transfers.inbox import TransferInboxPanel
    from ui.warnings.board import WarningBoard

    return Panels(central=QueueView, docks=(
        JurisdictionPanel,
        IncidentDetailPanel,
        MapPanel,
        ChecklistPanel,
        DutyBoardPanel,
        RosterCalendarPanel,
        SuppliesPanel,
        HandoverPanel,
        CaseBoard,
        DrillPanel,
        NotificationCentre,
        CallTasksPanel,
        TransferInboxPanel,
        WarningBoard,
        SituationPanel,
    ), status=(
        channel_down_label,   # a channel that keeps failing, on every workstation alike
    ))
