"""The warning rules as configured: ``policies/warning.toml`` and the sensitive-period calendar.

Every value is checked when the file is read; a wrong one is a :class:`PolicyError` naming the
file and the key, never a rule that silently does nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from dispatch_console.kernel.categories import load_catalog
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.policies import PolicyError, policy_duration
from dispatch_console.kernel.roles import NOTIFIED_ROLES
from dispatch_console.kernel.timefmt import LOCAL_TZ
from dispatch_console.notifications.levels import LEVELS

POLICY_FILE = "policies/warning.toml"
CALENDAR_FILE = "policies/sensitive_periods.toml"


@dataclass(frozen=True)
class Notify:
    level: str
    role: str
    unit: str | None = None

    def one_higher(self) -> Notify:
        """A sensitive period: the next role up the ladder and the next level up (each at most the top)."""
        role = NOTIFIED_ROLES[min(NOTIFIED_ROLES.index(self.role) + 1, len(NOTIFIED_ROLES) - 1)]
        level = LEVELS[min(LEVELS.index(self.level) + 1, len(LEVELS) - 1)]
        return Notify(level, role, self.unit)


@dataclass(frozen=True)
class RepeatRule:
    enabled: bool
    threshold: int
    window: timedelta
    notify: Notify


@dataclass(frozen=True)
class SurgeRule:
    enabled: bool
    window: timedelta
    baseline: timedelta
    p_value: float
    min_count: int
    notify: Notify


@dataclass(frozen=True)
class GroupTier:
    people: int
    notify: Notify


@dataclass(frozen=True)
class CaseRule:
    """A rule over the cases: repeat parties across a dispute and a petition, or 可能激化."""

    enabled: bool
    window: timedelta | None  # repeat parties: how far apart the two cases may be opened
    notify: Notify


@dataclass(frozen=True)
class SensitivePeriod:
    name: str
    first: date
    last: date

    def covers(self, at: datetime) -> bool:
        return self.first <= at.astimezone(LOCAL_TZ).date() <= self.last


@dataclass(frozen=True)
class CapSettings:
    drop_folder: str
    scan_every: timedelta
    geocodes: tuple[str, ...]
    notify_role: str


@dataclass(frozen=True)
class WarningPolicy:
    repeat_phone: RepeatRule
    repeat_address: RepeatRule
    grid_surge: SurgeRule
    category_surge: SurgeRule
    group_enabled: bool
    group_tiers: tuple[GroupTier, ...]
    repeat_party: CaseRule
    case_may_escalate: CaseRule
    sensitive_categories: frozenset[str]
    periods: tuple[SensitivePeriod, ...]
    cap: CapSettings

    def period_at(self, at: datetime) -> SensitivePeriod | None:
        return next((p for p in self.periods if p.covers(at)), None)


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> PolicyError:
        return PolicyError(_("{file}: {key}: {problem}").format(file=self.source, key=key, problem=problem))

    def table(self, data: dict[str, Any], key: str) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, _("a table"))
        return value

    def integer(self, data: dict[str, Any], key: str, where: str, default: int, low: int = 1) -> int:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 1_000_000:
            raise self.fail(f"{where}.{key}", _("a whole number from {low}").format(low=low))
        return value

    def flag(self, data: dict[str, Any], key: str, where: str) -> bool:
        value = data.get(key, True)
        if not isinstance(value, bool):
            raise self.fail(f"{where}.{key}", _("true or false"))
        return value

    def notify(self, data: dict[str, Any], where: str, role_key: str = "notify") -> Notify:
        level = data.get("level", "warning")
        role = data.get(role_key, "shift_leader")
        unit = data.get("unit")
        if level not in LEVELS:
            raise self.fail(f"{where}.level", _("one of {choices}").format(choices=", ".join(LEVELS)))
        if role not in NOTIFIED_ROLES:
            raise self.fail(f"{where}.{role_key}", _("one of {choices}").format(choices=", ".join(NOTIFIED_ROLES)))
        if unit is not None and not isinstance(unit, str):
            raise self.fail(f"{where}.unit", _("a unit kind"))
        return Notify(str(level), str(role), unit)

    def repeat(self, data: dict[str, Any], key: str) -> RepeatRule:
        t = self.table(data, key)
        return RepeatRule(self.flag(t, "enabled", key), self.integer(t, "threshold", key, 3, low=2),
                          policy_duration(t.get("window", "30d"), self.source, f"{key}.window"), self.notify(t, key))

    def surge(self, data: dict[str, Any], key: str) -> SurgeRule:
        t = self.table(data, key)
        p = t.get("p_value", 0.001)
        if isinstance(p, bool) or not isinstance(p, int | float) or not (0 < p < 1) or not math.isfinite(p):
            raise self.fail(f"{key}.p_value", _("a probability between 0 and 1"))
        window = policy_duration(t.get("window", "24h"), self.source, f"{key}.window")
        baseline = policy_duration(t.get("baseline", "28d"), self.source, f"{key}.baseline")
        if window <= timedelta(0) or baseline < timedelta(days=1):
            raise self.fail(f"{key}.baseline", _("at least a day, and the window more than nothing"))
        return SurgeRule(self.flag(t, "enabled", key), window, baseline, float(p),
                         self.integer(t, "min_count", key, 3), self.notify(t, key))


    def case_rule(self, data: dict[str, Any], key: str, window: str | None, level: str, role: str) -> CaseRule:
        t = {"level": level, "notify": role, **self.table(data, key)}
        span = None
        if window is not None:
            span = policy_duration(t.get("window", window), self.source, f"{key}.window")
            if not timedelta(days=1) <= span <= timedelta(days=3660):
                raise self.fail(f"{key}.window", _("from a day to ten years"))
        return CaseRule(self.flag(t, "enabled", key), span, self.notify(t, key))


def _calendar(res: Resources) -> tuple[SensitivePeriod, ...]:
    path = res.path(CALENDAR_FILE)
    if not path.exists():
        return ()
    data = res.toml(CALENDAR_FILE)
    r = _Reader(str(path))
    periods: list[SensitivePeriod] = []
    raw = data.get("period", [])
    if not isinstance(raw, list):
        raise r.fail("period", _("a list of [[period]] tables"))
    for n, p in enumerate(raw, start=1):
        where = f"period[{n}]"
        if not isinstance(p, dict) or not isinstance(p.get("name"), str) or not p["name"].strip():
            raise r.fail(where + ".name", _("a name"))
        first, last = p.get("from"), p.get("to")
        if not isinstance(first, date) or isinstance(first, datetime) or not isinstance(last, date) \
                or isinstance(last, datetime):
            raise r.fail(where, _("from and to are dates (2027-02-05)"))
        if last < first or not (2000 <= first.year <= 2100 and 2000 <= last.year <= 2100):
            raise r.fail(where, _("to is not before from, both between 2000 and 2100"))
        periods.append(SensitivePeriod(p["name"].strip()[:100], first, last))
    return tuple(periods)


def load_policy(resources: Resources | None = None) -> WarningPolicy:
    """``policies/warning.toml`` and the sensitive-period calendar (the site's copies first)."""
    res = resources or Resources.from_env()
    data = res.toml(POLICY_FILE)
    r = _Reader(str(res.path(POLICY_FILE)))
    group = r.table(data, "group_incident")
    tiers_raw = group.get("tiers", [])
    if not isinstance(tiers_raw, list):
        raise r.fail("group_incident.tiers", _("a list of tiers"))
    tiers = tuple(sorted((GroupTier(r.integer(t, "people", f"group_incident.tiers[{n}]", 5),
                                    r.notify(t, f"group_incident.tiers[{n}]"))
                          for n, t in enumerate(tiers_raw, start=1) if isinstance(t, dict)),
                         key=lambda t: t.people))
    if len(tiers) != len(tiers_raw):
        raise r.fail("group_incident.tiers", _("each tier is a table"))
    sensitive = r.table(data, "sensitive")
    categories = sensitive.get("categories", ["petition", "mass_gathering"])
    known = load_catalog(res).category_codes
    if not isinstance(categories, list) or any(c not in known for c in categories):
        raise r.fail("sensitive.categories", _("a list of categories: {choices}").format(
            choices=", ".join(sorted(known))))
    cap = r.table(data, "cap")
    geocodes = cap.get("geocodes", [])
    if not isinstance(geocodes, list) or not all(isinstance(g, str) for g in geocodes):
        raise r.fail("cap.geocodes", _("a list of codes"))
    folder = cap.get("drop_folder", "")
    if not isinstance(folder, str):
        raise r.fail("cap.drop_folder", _("a folder"))
    scan = policy_duration(cap.get("scan_every", "30s"), r.source, "cap.scan_every")
    return WarningPolicy(
        repeat_phone=r.repeat(data, "repeat_phone"),
        repeat_address=r.repeat(data, "repeat_address"),
        grid_surge=r.surge(data, "grid_surge"),
        category_surge=r.surge(data, "category_surge"),
        group_enabled=r.flag(group, "enabled", "group_incident"),
        group_tiers=tiers,
        repeat_party=r.case_rule(data, "repeat_party", "365d", "warning", "shift_leader"),
        case_may_escalate=r.case_rule(data, "case_may_escalate", None, "critical", "director"),
        sensitive_categories=frozenset(categories),
        periods=_calendar(res),
        cap=CapSettings(folder, max(scan, timedelta(seconds=1)), tuple(geocodes),
                        r.notify(cap, "cap").role),
    )


_cache: dict[tuple[Any, ...], WarningPolicy] = {}


def current_policy(resources: Resources | None = None) -> WarningPolicy:
    """:func:`load_policy`, read again only when one of its files changed (the rules run every few
    seconds; parsing three TOML files each time was most of an evaluation's cost)."""
    res = resources or Resources.from_env()
    stamps: list[Any] = [str(res.config_dir)]
    for name in (POLICY_FILE, CALENDAR_FILE, "categories.toml"):
        path = res.path(name)
        try:
            st = path.stat()
            stamps.append((str(path), st.st_mtime_ns, st.st_size))
        except OSError:
            stamps.append((str(path), None))
    key = tuple(stamps)
    found = _cache.get(key)
    if found is None:
        found = load_policy(res)
        _cache.clear()
        _cache[key] = found
    return found


def poisson_upper_tail(k: int, mean: float) -> float:
    """P(X ≥ k) for X ~ Poisson(mean): how surprising ``k`` reports are against the usual ``mean``."""
    if k <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    # 1 − P(X ≤ k−1), the terms summed in log space (no overflow for large k or mean)
    log_term = -mean
    below = math.exp(log_term)
    for i in range(1, k):
        log_term += math.log(mean) - math.log(i)
        below += math.exp(log_term)
    return max(0.0, 1.0 - below)
