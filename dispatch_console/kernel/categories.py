"""Incident categories, sources, severities and statuses: stable codes and their labels.

They come from ``resources/categories.toml``, which a site may override from its config folder,
so load them through the console's or command line's :class:`~dispatch_console.kernel.config.Resources`.
Labels follow the current language (:func:`dispatch_console.kernel.i18n.language`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from db.models import OPEN_STATUSES  # noqa: F401  (re-exported: the schema's, which the open-incident index uses)
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.i18n import N_, _, language

CATEGORIES_FILE = "categories.toml"
STATUSES = ("new", "acknowledged", "dispatched", "on_scene", "resolved", "closed", "cancelled")
UNIT_STATUSES = ("available", "dispatched", "on_scene", "returning", "off_duty")
SEVERITIES = (1, 2, 3, 4)


@dataclass(frozen=True)
class Label:
    code: str
    zh: str
    en: str

    @property
    def text(self) -> str:
        """The label in the current language."""
        return self.zh if language() == "zh_CN" else self.en


def _labels(table: dict[str, Any], section: str) -> tuple[Label, ...]:
    out = []
    for code, value in table.get(section, {}).items():
        if not isinstance(value, dict) or "zh" not in value or "en" not in value:
            raise ValueError(f"{CATEGORIES_FILE}: [{section}] {code} needs zh and en labels")
        out.append(Label(str(code), str(value["zh"]), str(value["en"])))
    return tuple(out)


@dataclass(frozen=True)
class Catalog:
    """Everything an incident's codes can be, with labels."""

    categories: tuple[Label, ...]
    sources: tuple[Label, ...]
    severities: tuple[Label, ...]  # codes "1" … "4"
    statuses: tuple[Label, ...]
    unit_statuses: tuple[Label, ...]

    @classmethod
    def from_toml(cls, data: dict[str, Any]) -> Catalog:
        catalog = cls(
            categories=_labels(data, "categories"),
            sources=_labels(data, "sources"),
            severities=_labels(data, "severities"),
            statuses=_labels(data, "statuses"),
            unit_statuses=_labels(data, "unit_statuses"),
        )
        if not catalog.categories or not catalog.sources:
            raise ValueError(f"{CATEGORIES_FILE}: needs [categories] and [sources]")
        # Statuses and severities are fixed by the schema; the file only names them.
        if {s.code for s in catalog.statuses} != set(STATUSES):
            raise ValueError(f"{CATEGORIES_FILE}: [statuses] must name exactly {', '.join(STATUSES)}")
        if {s.code for s in catalog.severities} != {str(n) for n in SEVERITIES}:
            raise ValueError(f"{CATEGORIES_FILE}: [severities] must name exactly 1, 2, 3 and 4")
        return catalog

    @property
    def category_codes(self) -> frozenset[str]:
        return frozenset(c.code for c in self.categories)

    @property
    def source_codes(self) -> frozenset[str]:
        return frozenset(s.code for s in self.sources)

    @staticmethod
    def _find(labels: tuple[Label, ...], code: str) -> str:
        for label in labels:
            if label.code == code:
                return label.text
        return code  # a code the site removed from its file still shows as its code

    def category_label(self, code: str) -> str:
        return self._find(self.categories, code)

    def source_label(self, code: str) -> str:
        return self._find(self.sources, code)

    def severity_label(self, severity: int) -> str:
        return self._find(self.severities, str(severity))

    def status_label(self, status: str) -> str:
        return self._find(self.statuses, status)

    def unit_status_label(self, status: str) -> str:
        return self._find(self.unit_statuses, status)


def load_catalog(resources: Resources | None = None) -> Catalog:
    """The catalog from the site's config folder if it has one, else the shipped file."""
    if resources is None:
        return shipped_catalog()
    return Catalog.from_toml(resources.toml(CATEGORIES_FILE))


@lru_cache(maxsize=1)
def shipped_catalog() -> Catalog:
    return Catalog.from_toml(Resources().toml(CATEGORIES_FILE))


# unit.kind codes (the integrated forces of the duty room; the unit roles of checklist steps), with
# their labels: one list for the map, the after-action report, the demo and the dispatch dialog.
UNIT_KINDS: dict[str, str] = {
    "comprehensive_governance": N_("Comprehensive-governance office"),
    "stability_office": N_("Stability office"),
    "judicial_office": N_("Judicial office"),
    "petition_office": N_("Petition office"),
    "mediation_centre": N_("Dispute mediation centre"),
    "rental_office": N_("Rental housing office"),
    "trade_union": N_("Trade union"),
    "work_safety": N_("Work-safety section"),
    "family_planning": N_("Family-planning section"),
    "police_station": N_("Police station"),
    "law_enforcement": N_("Law-enforcement team"),
    "armed_forces": N_("Armed forces department"),
    "militia": N_("Militia emergency squad"),
    "fire_station": N_("Fire brigade"),
    "social_worker": N_("Social workers"),
    "volunteer": N_("Volunteers"),
    "enterprise_team": N_("Enterprise emergency team"),
}


def unit_kind_label(kind: str) -> str:
    """The label of a unit kind in the current language (the code itself for a kind not listed)."""
    return _(UNIT_KINDS[kind]) if kind in UNIT_KINDS else kind
