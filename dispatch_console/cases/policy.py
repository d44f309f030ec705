"""The cases' policies: ``policies/cases.toml`` and ``policies/petition.toml``.

The shipped files are the defaults; a site's config folder overrides either file. A wrong value
raises :class:`~dispatch_console.kernel.policies.PolicyError` naming the file and the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.i18n import _, language
from dispatch_console.kernel.policies import PolicyError, policy_duration
from dispatch_console.kernel.roles import NOTIFIED_ROLES

CASES_FILE = "policies/cases.toml"
PETITION_FILE = "policies/petition.toml"
KINDS = ("dispute", "petition")
GRID_ROLES = ("grid_manager", "grid_assistant", "grid_supervisor")
LEVELS = ("info", "warning", "critical")


@dataclass(frozen=True)
class Subtype:
    code: str
    zh: str
    en: str
    kinds: tuple[str, ...]

    @property
    def text(self) -> str:
        return self.zh if language() == "zh_CN" else self.en


@dataclass(frozen=True)
class CasePolicy:
    open_for: tuple[str, ...]
    follow_ups: tuple[timedelta, ...]
    visit_roles: tuple[str, ...]
    visit_grace: timedelta
    missed_visit_role: str
    judicial_window: timedelta
    judicial_remind: timedelta
    judicial_role: str
    stability_lead_role: str
    repeat_party_days: int
    subtypes: tuple[Subtype, ...]

    def subtype(self, code: str | None) -> Subtype | None:
        return next((s for s in self.subtypes if s.code == code), None)

    def subtype_label(self, code: str | None) -> str:
        found = self.subtype(code)
        return found.text if found else (code or "")


@dataclass(frozen=True)
class PetitionPolicy:
    accept_within: timedelta
    conclude_within: timedelta
    max_extension: timedelta
    review_request_within: timedelta
    review_within: timedelta
    re_review_request_within: timedelta
    re_review_within: timedelta
    escalate_role: str
    level: str


def _role(data: dict[str, Any], key: str, default: str, source: str, allowed: tuple[str, ...]) -> str:
    value = data.get(key, default)
    if value not in allowed:
        raise PolicyError(_("{file}: {key}: {problem}").format(
            file=source, key=key, problem=_("{value!r} is not one of {allowed}").format(
                value=value, allowed=", ".join(allowed))))
    return str(value)


def _days(value: Any, source: str, key: str) -> timedelta:
    """A follow-up offset: a whole number of days, or a duration ("36h", "90s")."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 < value <= 3660:
            raise PolicyError(_("{file}: {key}: {problem}").format(
                file=source, key=key, problem=_("{value} days is out of range (1–3660)").format(value=value)))
        return timedelta(days=value)
    found = policy_duration(value, source, key)
    if found <= timedelta(0):
        raise PolicyError(_("{file}: {key}: {problem}").format(file=source, key=key, problem=_("must be positive")))
    return found


def load_case_policy(resources: Resources | None = None) -> CasePolicy:
    res = resources or Resources.from_env()
    data = res.toml(CASES_FILE)
    source = str(res.path(CASES_FILE))
    open_for = data.get("open_for", [])
    if not isinstance(open_for, list) or not all(isinstance(c, str) for c in open_for):
        raise PolicyError(_("{file}: {key}: {problem}").format(
            file=source, key="open_for", problem=_("a list of category codes")))
    days = data.get("follow_up_days", [7, 30])
    if not isinstance(days, list) or len(days) > 12:
        raise PolicyError(_("{file}: {key}: {problem}").format(
            file=source, key="follow_up_days", problem=_("a list of at most 12 offsets")))
    follow_ups = tuple(sorted(_days(d, source, f"follow_up_days[{i}]") for i, d in enumerate(days)))
    roles = data.get("visit_roles", list(GRID_ROLES))
    if not isinstance(roles, list) or not roles or any(r not in GRID_ROLES for r in roles):
        raise PolicyError(_("{file}: {key}: {problem}").format(
            file=source, key="visit_roles", problem=_("grid_manager, grid_assistant or grid_supervisor")))
    subtypes: list[Subtype] = []
    for code, value in (data.get("subtypes") or {}).items():
        if not isinstance(value, dict) or "zh" not in value or "en" not in value:
            raise PolicyError(_("{file}: {key}: {problem}").format(
                file=source, key=f"subtypes.{code}", problem=_("needs zh and en labels")))
        kinds = tuple(str(k) for k in value.get("kinds", KINDS))
        if any(k not in KINDS for k in kinds):
            raise PolicyError(_("{file}: {key}: {problem}").format(
                file=source, key=f"subtypes.{code}.kinds", problem=_("dispute or petition")))
        subtypes.append(Subtype(str(code), str(value["zh"]), str(value["en"]), kinds))
    window = policy_duration(data.get("judicial_confirmation_window", "30d"), source, "judicial_confirmation_window")
    remind = policy_duration(data.get("judicial_confirmation_remind", "25d"), source, "judicial_confirmation_remind")
    if remind > window:
        raise PolicyError(_("{file}: {key}: {problem}").format(
            file=source, key="judicial_confirmation_remind", problem=_("later than the window itself")))
    repeat_days = data.get("repeat_party_days", 365)
    if not isinstance(repeat_days, int) or isinstance(repeat_days, bool) or not 0 < repeat_days <= 3660:
        raise PolicyError(_("{file}: {key}: {problem}").format(
            file=source, key="repeat_party_days", problem=_("a number of days (1–3660)")))
    return CasePolicy(
        open_for=tuple(open_for),
        follow_ups=follow_ups,
        visit_roles=tuple(roles),
        visit_grace=policy_duration(data.get("visit_grace", "1d"), source, "visit_grace"),
        missed_visit_role=_role(data, "missed_visit_role", "shift_leader", source, NOTIFIED_ROLES),
        judicial_window=window,
        judicial_remind=remind,
        judicial_role=_role(data, "judicial_confirmation_role", "duty_officer", source, NOTIFIED_ROLES),
        stability_lead_role=_role(data, "stability_lead_role", "director", source, NOTIFIED_ROLES),
        repeat_party_days=repeat_days,
        subtypes=tuple(subtypes),
    )


def load_petition_policy(resources: Resources | None = None) -> PetitionPolicy:
    res = resources or Resources.from_env()
    data = res.toml(PETITION_FILE)
    source = str(res.path(PETITION_FILE))

    def duration(key: str, default: str) -> timedelta:
        found = policy_duration(data.get(key, default), source, key)
        if found <= timedelta(0):
            raise PolicyError(_("{file}: {key}: {problem}").format(file=source, key=key, problem=_("must be positive")))
        return found

    return PetitionPolicy(
        accept_within=duration("accept_within", "15d"),
        conclude_within=duration("conclude_within", "60d"),
        max_extension=duration("max_extension", "30d"),
        review_request_within=duration("review_request_within", "30d"),
        review_within=duration("review_within", "30d"),
        re_review_request_within=duration("re_review_request_within", "30d"),
        re_review_within=duration("re_review_within", "30d"),
        escalate_role=_role(data, "escalate_role", "shift_leader", source, NOTIFIED_ROLES),
        level=_role(data, "level", "warning", source, LEVELS),
    )


@dataclass
class _InForce:
    resources: Resources | None = None
    cases: CasePolicy | None = None
    petition: PetitionPolicy | None = None


_in_force = _InForce()


def configure(resources: Resources | None = None) -> None:
    """Use ``resources`` (a site's config folder) from now on; None goes back to the environment's."""
    _in_force.resources, _in_force.cases, _in_force.petition = resources, None, None


def cases() -> CasePolicy:
    """The case policy in force (read once, until :func:`configure`)."""
    if _in_force.cases is None:
        _in_force.cases = load_case_policy(_in_force.resources)
    return _in_force.cases


def petition() -> PetitionPolicy:
    """The petition policy in force (read once, until :func:`configure`)."""
    if _in_force.petition is None:
        _in_force.petition = load_petition_policy(_in_force.resources)
    return _in_force.petition
