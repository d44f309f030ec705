"""The cases' codes and their labels (stored codes; people read the labels, translated)."""

from __future__ import annotations

from dispatch_console.kernel.i18n import N_, _

KIND_LABELS: dict[str, str] = {"dispute": N_("dispute"), "petition": N_("petition")}
KIND_PREFIX = {"dispute": "J", "petition": "X"}  # TYJ-… 纠纷, TYX-… 信访

STATUS_LABELS: dict[str, str] = {
    "open": N_("open"),
    "mediating": N_("mediating"),
    "agreed": N_("agreement reached"),
    "referred": N_("referred"),
    "closed": N_("closed"),
    "registered": N_("registered"),
    "accepted": N_("accepted for handling"),
    "replied": N_("replied"),
    "review": N_("under review"),
    "reviewed": N_("reviewed"),
    "re_review": N_("under re-review"),
    "re_reviewed": N_("re-reviewed"),
}
OPEN_CASE_STATUSES = tuple(s for s in STATUS_LABELS if s != "closed")

RISK_LABELS: dict[str, str] = {"low": N_("low"), "medium": N_("medium"), "high": N_("high")}
MEDIATOR_ORGS: dict[str, str] = {
    "judicial_office": N_("judicial office"),
    "people_committee": N_("people's mediation committee"),
    "community": N_("community"),
}
REFERRALS: dict[str, str] = {
    "litigation": N_("litigation"),
    "arbitration": N_("arbitration"),
    "petition": N_("petition"),
    "administrative": N_("administrative handling"),
}
VISIT_RESULTS: dict[str, str] = {
    "performing": N_("being performed"),
    "performed": N_("performed"),
    "not_performed": N_("not performed"),
    "relapsed": N_("relapsed"),
}
VISIT_STATES: dict[str, str] = {"due": N_("due"), "done": N_("visited"), "cancelled": N_("cancelled")}
TIMER_STATES: dict[str, str] = {"pending": N_("pending"), "fired": N_("passed"), "cancelled": N_("cancelled")}
REOPENING_RESULTS = ("not_performed", "relapsed")
SATISFACTION: dict[str, str] = {
    "satisfied": N_("satisfied"),
    "basically": N_("basically satisfied"),
    "dissatisfied": N_("dissatisfied"),
}

# Timer kinds of the cases room (station/composition.py wires each to its effect).
FOLLOW_UP_KIND = "case_follow_up"
JUDICIAL_KIND = "case_judicial"
PETITION_DEADLINE_KINDS = ("petition_accept", "petition_conclude", "petition_review", "petition_re_review")
PETITION_WINDOW_KIND = "petition_window"
TIMER_KINDS = (FOLLOW_UP_KIND, JUDICIAL_KIND, *PETITION_DEADLINE_KINDS, PETITION_WINDOW_KIND)
DEADLINE_LABELS: dict[str, str] = {
    FOLLOW_UP_KIND: N_("follow-up visit"),
    JUDICIAL_KIND: N_("judicial confirmation"),
    "petition_accept": N_("decide on acceptance"),
    "petition_conclude": N_("conclude and reply"),
    "petition_review": N_("conclude the review"),
    "petition_re_review": N_("conclude the re-review"),
    PETITION_WINDOW_KIND: N_("petitioner's window for review"),
}


def label(table: dict[str, str], code: str | None) -> str:
    if code is None:
        return ""
    return _(table[code]) if code in table else code
