"""Cases (案件): dispute cases (矛盾纠纷) and petition cases (信访事项).

Owns the case and its parties (当事人, ID numbers checked and masked), the incidents it came from,
mediation sessions and their outcome (调解协议 with its terms, or the referral), the 30-day
judicial-confirmation reminder (司法确认), follow-up visits (回访) with their results, the petition
steps and their deadlines (受理 / 答复 / 复查 / 复核, 信访工作条例), the board's reads and the
monthly ledger (矛盾纠纷排查调处台账) as a spreadsheet.

Modules: ``policy`` (``policies/cases.toml``, ``policies/petition.toml``), ``parties`` (ID
numbers, masking), ``records`` (the shared write helpers), ``service`` (opening, risk, mediation,
visits, closing), ``petition`` (the petition steps), ``effects`` (what an incident change and a
fired deadline do), ``reads`` (the board, the detail, what falls due), ``ledger`` (the export).

This is the room's public face: what the views and the command line use.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

from dispatch_console.cases.campaigns import (
    GRID_STATES,
    CampaignDetail,
    CampaignDraft,
    CampaignRow,
    get_campaign,
    list_campaigns,
)
from dispatch_console.cases.campaigns import close as close_campaign
from dispatch_console.cases.campaigns import report as report_grid
from dispatch_console.cases.campaigns import start as start_campaign
from dispatch_console.cases.parties import PARTY_ROLES, PartyDraft
from dispatch_console.cases.petition import accept as accept_petition
from dispatch_console.cases.petition import extend as extend_petition
from dispatch_console.cases.petition import reply as reply_petition
from dispatch_console.cases.petition import request_review
from dispatch_console.cases.policy import cases as case_policy
from dispatch_console.cases.reads import (
    BoardChoices,
    CaseDetail,
    CaseGridCounts,
    CaseQuery,
    CaseRow,
    board_choices,
    find_case,
    get_case,
    grid_case_counts,
    list_cases,
)
from dispatch_console.cases.service import (
    CaseDraft,
    SessionDraft,
    Term,
    close_case,
    confirm_judicially,
    due_visit,
    mediate,
    open_case,
    record_visit,
    reveal_party,
)
from dispatch_console.cases.vocabulary import (
    KIND_LABELS,
    MEDIATOR_ORGS,
    REFERRALS,
    RISK_LABELS,
    SATISFACTION,
    STATUS_LABELS,
    TIMER_STATES,
    VISIT_RESULTS,
    VISIT_STATES,
    label,
)
from dispatch_console.kernel.faces import loaded_at_first_use

if TYPE_CHECKING:  # spreadsheets (openpyxl) load when first used, not with the room
    from dispatch_console.cases.ledger import export_month

__all__ = [
    "GRID_STATES",
    "KIND_LABELS",
    "MEDIATOR_ORGS",
    "PARTY_ROLES",
    "REFERRALS",
    "RISK_LABELS",
    "SATISFACTION",
    "STATUS_LABELS",
    "TIMER_STATES",
    "VISIT_RESULTS",
    "VISIT_STATES",
    "BoardChoices",
    "CampaignDetail",
    "CampaignDraft",
    "CampaignRow",
    "CaseDetail",
    "CaseDraft",
    "CaseGridCounts",
    "CaseQuery",
    "CaseRow",
    "PartyDraft",
    "SessionDraft",
    "Term",
    "accept_petition",
    "board_choices",
    "case_policy",
    "close_campaign",
    "close_case",
    "confirm_judicially",
    "due_visit",
    "export_month",
    "extend_petition",
    "find_case",
    "get_campaign",
    "get_case",
    "grid_case_counts",
    "label",
    "list_campaigns",
    "list_cases",
    "mediate",
    "open_case",
    "record_visit",
    "reply_petition",
    "report_grid",
    "request_review",
    "reveal_party",
    "start_campaign",
]


def _ledger() -> ModuleType:
    from dispatch_console.cases import ledger

    return ledger


_LAZY = {"export_month": _ledger}


__getattr__ = loaded_at_first_use(globals(), _LAZY)
