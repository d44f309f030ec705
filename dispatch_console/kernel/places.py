"""The levels of the jurisdiction (区、街道、社区、网格): a vocabulary every room and the command line
share, kept here so that naming a level costs no database layer."""

from __future__ import annotations

from dispatch_console.kernel.i18n import N_

LEVELS: dict[str, str] = {
    "district": N_("District"),
    "street": N_("Street"),
    "community": N_("Community"),
    "grid": N_("Grid"),
}
