"""What the run card proposed beside what was sent (建议力量与实际派遣对照), per incident.

Read from ``dispatch_proposal`` (each time the dispatch dialog proposed a card: the units proposed
and those the officer sent) and from the incident's assignments (every unit actually sent, also
those added later by hand). The verdict of an incident:

- ``accepted``: every proposal was sent unchanged;
- ``changed``: at least one was changed — units added (sent but not proposed), units removed
  (proposed but not sent), or only the grid's staff changed;
- ``without``: units were sent but no run card was proposed (no card for the category × severity,
  or the officer dispatched from the plain dialog);
- ``none``: nothing was sent.

One function serves the drill after-action report and the monthly assessment, so both count alike.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Assignment, DispatchProposal, Unit
from dispatch_console.kernel.i18n import N_, _

VERDICTS: dict[str, str] = {
    "accepted": N_("accepted unchanged"),
    "changed": N_("changed by the officer"),
    "without": N_("dispatched without a proposal"),
    "none": N_("nothing sent"),
}
CHUNK = 500


@dataclass(frozen=True)
class DispatchComparison:
    incident_id: int
    verdict: str                 # accepted | changed | without | none
    cards: tuple[str, ...]       # the run cards proposed, in order
    proposed: tuple[str, ...]    # unit names the cards proposed
    sent: tuple[str, ...]        # unit names actually sent (every assignment of the incident)
    added: tuple[str, ...]       # sent with a proposal but not in it
    removed: tuple[str, ...]     # proposed but not sent

    @property
    def verdict_label(self) -> str:
        return _(VERDICTS[self.verdict])

    @property
    def has_proposal(self) -> bool:
        return bool(self.cards)


def _proposed_ids(stored: list[dict[str, Any]]) -> list[int]:
    """The unit ids of a stored proposal's lines (its last entry holds the grid's staff, no units)."""
    return [int(c["unit_id"]) for line in stored for c in (line.get("proposed") or ())
            if isinstance(c, dict) and "unit_id" in c]


def compare_dispatch(session: Session, incident_ids: Sequence[int]) -> dict[int, DispatchComparison]:
    """The comparison of each incident (read in chunks; an incident id with no row at all: ``none``)."""
    ids = list(dict.fromkeys(incident_ids))
    records: dict[int, list[DispatchProposal]] = defaultdict(list)
    assigned: dict[int, list[int]] = defaultdict(list)
    for start in range(0, len(ids), CHUNK):
        part = ids[start:start + CHUNK]
        for p in session.execute(select(DispatchProposal).where(DispatchProposal.incident_id.in_(part))
                                 .order_by(DispatchProposal.id)).scalars():
            records[p.incident_id].append(p)
        for incident_id, unit_id in session.execute(
                select(Assignment.incident_id, Assignment.unit_id).where(
                    Assignment.incident_id.in_(part), Assignment.unit_id.is_not(None)).order_by(Assignment.id)):
            if unit_id is not None and unit_id not in assigned[incident_id]:
                assigned[incident_id].append(unit_id)
    wanted = {u for rs in records.values() for p in rs for u in _proposed_ids(p.proposed)}
    wanted |= {int(u) for rs in records.values() for p in rs for u in p.sent_unit_ids}
    wanted |= {u for us in assigned.values() for u in us}
    names: dict[int, str] = {}
    pool = sorted(wanted)
    for start in range(0, len(pool), CHUNK):
        names.update(session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(pool[start:start + CHUNK]))).all())

    def named(units: list[int]) -> tuple[str, ...]:
        return tuple(names.get(u, f"#{u}") for u in units)

    out: dict[int, DispatchComparison] = {}
    for incident_id in ids:
        rs = records.get(incident_id, [])
        proposed = list(dict.fromkeys(u for p in rs for u in _proposed_ids(p.proposed)))
        sent_with = list(dict.fromkeys(int(u) for p in rs for u in p.sent_unit_ids))
        actually = assigned.get(incident_id, [])
        if rs:
            verdict = "accepted" if all(p.accepted for p in rs) else "changed"
        else:
            verdict = "without" if actually else "none"
        out[incident_id] = DispatchComparison(
            incident_id, verdict, tuple(p.card for p in rs), named(proposed), named(actually),
            named([u for u in sent_with if u not in proposed]), named([u for u in proposed if u not in sent_with]))
    return out
