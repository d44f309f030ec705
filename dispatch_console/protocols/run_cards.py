"""Recommended forces (推荐处置力量): run cards and the units they propose for an incident.

``resources/policies/run_cards.toml`` says, per category × severity, which kinds of unit and how
many (and how many of the grid's own staff, 一格三员). For each kind the free units — available or
on their way back, never off duty, never on another incident — are ranked: available before
returning, then by straight-line distance from the incident (the unit's last known position, or
else the middle of its home community). The dispatch dialog proposes the first N of each kind; the
officer accepts with one key or changes it, and :func:`dispatch` keeps both what was proposed and
what was sent (``dispatch_proposal``), for the after-action report to compare.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import Area, Assignment, DispatchProposal, GridStaff, Incident, Person, Unit
from dispatch_console.checklists.templates import (
    ROLE_LABELS,
    SEVERITIES,
    TemplateError,
    _find_line,
    _load,
    _need,
    _SchemaError,
)
from dispatch_console.incidents import units as incident_units
from dispatch_console.incidents.lifecycle import add_event
from dispatch_console.incidents.map_data import incident_position
from dispatch_console.incidents.queue import IncidentRow
from dispatch_console.jurisdiction.geometry import bbox_centre, distance_m
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.categories import UNIT_KINDS, unit_kind_label
from dispatch_console.kernel.changes import record
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.errors import NotFound
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import require

RUN_CARDS = "policies/run_cards.toml"
ANY_CATEGORY = "*"
MAX_PER_KIND = 20
STAFF_ORDER = ("grid_manager", "grid_assistant", "grid_supervisor")
FREE_STATUSES = ("available", "returning")


@dataclass(frozen=True)
class RunCard:
    category: str
    severities: tuple[int, ...]
    name: str
    units: tuple[tuple[str, int], ...]  # (unit kind, how many), in the file's order
    grid_staff: int = 0


@dataclass(frozen=True)
class RunCards:
    version: str
    cards: tuple[RunCard, ...]
    path: str = ""

    def card_for(self, category: str, severity: int) -> RunCard | None:
        """The card for the category at this severity; else the category's card for every
        severity; else the card for every category."""
        for wanted_category, exact in ((category, True), (category, False), (ANY_CATEGORY, True),
                                       (ANY_CATEGORY, False)):
            for card in self.cards:
                if card.category != wanted_category:
                    continue
                if (exact and severity in card.severities) or (not exact and not card.severities):
                    return card
        return None


@dataclass(frozen=True)
class Candidate:
    unit_id: int
    name: str
    kind: str
    status: str
    distance_m: float | None  # None: neither the unit nor its community has a position
    from_community: bool  # the distance is from the unit's home community, not a known position
    version: int


@dataclass(frozen=True)
class KindLine:
    kind: str
    wanted: int
    candidates: tuple[Candidate, ...]  # every free unit of the kind, the best first

    @property
    def label(self) -> str:
        return unit_kind_label(self.kind)

    @property
    def proposed(self) -> tuple[Candidate, ...]:
        return self.candidates[:self.wanted]

    @property
    def short(self) -> int:
        return max(0, self.wanted - len(self.candidates))


@dataclass(frozen=True)
class StaffCandidate:
    person_id: int
    name: str
    role: str

    @property
    def role_label(self) -> str:
        return _(ROLE_LABELS[self.role]) if self.role in ROLE_LABELS else self.role


@dataclass(frozen=True)
class Proposal:
    incident_id: int
    version: int
    card: str
    category: str
    severity: int
    lines: tuple[KindLine, ...]
    staff: tuple[StaffCandidate, ...]  # the grid's staff proposed (already on the incident: left out)

    @property
    def unit_ids(self) -> tuple[int, ...]:
        return tuple(c.unit_id for line in self.lines for c in line.proposed)

    @property
    def person_ids(self) -> tuple[int, ...]:
        return tuple(p.person_id for p in self.staff)

    def as_dict(self) -> dict[str, Any]:
        return {
            "incident_id": self.incident_id, "card": self.card, "category": self.category, "severity": self.severity,
            "lines": [{"kind": line.kind, "wanted": line.wanted, "short": line.short,
                       "proposed": [{"unit_id": c.unit_id, "name": c.name, "status": c.status,
                                     "distance_m": None if c.distance_m is None else round(c.distance_m),
                                     "from_community": c.from_community} for c in line.proposed]}
                      for line in self.lines],
            "staff": [{"person_id": p.person_id, "name": p.name, "role": p.role} for p in self.staff],
        }


# ---------------------------------------------------------------------------------------------
# The policy file.


def parse_run_cards(data: dict[str, Any], path: str = "") -> RunCards:
    version = _need(data, "version", (str, int, float), (None, None))
    raws = _need(data, "cards", list, (None, None))
    cards: list[RunCard] = []
    seen: set[tuple[str, int | None]] = set()
    for i, raw in enumerate(raws):
        where = ("cards", i)
        if not isinstance(raw, dict):
            raise _SchemaError(_("a card must be a table"), *where, None)
        category = _need(raw, "category", str, where)
        name = _need(raw, "name", str, where).strip()
        if not name or len(name) > 100:
            raise _SchemaError(_("\"{key}\" must be 1–{n} characters").format(key="name", n=100), *where, "name")
        severities = _need(raw, "severities", list, where, required=False) or []
        if not all(isinstance(s, int) and not isinstance(s, bool) and s in SEVERITIES for s in severities):
            raise _SchemaError(_("severities must be numbers from 1 to 4"), *where, "severities")
        units = _need(raw, "units", dict, where)
        lines: list[tuple[str, int]] = []
        for kind, count in units.items():
            if kind not in UNIT_KINDS:
                raise _SchemaError(_("unknown unit kind \"{kind}\"").format(kind=kind), *where, "units")
            if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_PER_KIND:
                raise _SchemaError(_("a unit count is a whole number from 1 to {n}").format(n=MAX_PER_KIND),
                                   *where, "units")
            lines.append((kind, count))
        staff = _need(raw, "grid_staff", int, where, required=False) or 0
        if not 0 <= staff <= len(STAFF_ORDER):
            raise _SchemaError(_("grid_staff is a number from 0 to {n}").format(n=len(STAFF_ORDER)),
                               *where, "grid_staff")
        for extra in raw:
            if extra not in {"category", "severities", "name", "units", "grid_staff"}:
                raise _SchemaError(_("unknown key \"{key}\"").format(key=extra), *where, extra)
        for key in [(category, s) for s in severities] or [(category, None)]:
            if key in seen:
                raise _SchemaError(_("two cards for the same category and severity"), *where, "category")
            seen.add(key)
        cards.append(RunCard(category, tuple(severities), name, tuple(lines), staff))
    for extra in data:
        if extra not in {"version", "cards"}:
            raise _SchemaError(_("unknown key \"{key}\"").format(key=extra), None, None, extra)
    return RunCards(str(version), tuple(cards), path)


def load_run_cards(resources: Resources, categories: frozenset[str] | None = None
                   ) -> tuple[RunCards | None, list[TemplateError]]:
    """The run cards in force and the errors of a broken file (then None: nothing is proposed)."""
    path = resources.path(RUN_CARDS)
    cards, error = _load(path, parse_run_cards)
    if error is not None:
        return None, [error]
    assert isinstance(cards, RunCards)
    if categories is not None:
        for i, card in enumerate(cards.cards):
            if card.category != ANY_CATEGORY and card.category not in categories:
                text = Path(path).read_text(encoding="utf-8")
                return None, [TemplateError(cards.path, _find_line(text, "cards", i, "category"), None,
                                            _("unknown category \"{code}\"").format(code=card.category))]
    return cards, []


# ---------------------------------------------------------------------------------------------
# Ranking units.


def _centre(area: Area | None) -> tuple[float, float] | None:
    return bbox_centre(area.min_lon, area.min_lat, area.max_lon, area.max_lat) if area is not None else None


def _busy_unit_ids(session: Session) -> set[int]:
    return {u for u in session.execute(select(Assignment.unit_id).where(
        Assignment.unit_id.is_not(None), Assignment.released_at.is_(None))).scalars() if u is not None}


def rank_units(session: Session, kind: str, where: tuple[float, float] | None) -> list[Candidate]:
    """The free units of ``kind``: available first, then the nearest."""
    busy = _busy_unit_ids(session)
    communities: dict[int, tuple[float, float] | None] = {}
    out: list[Candidate] = []
    for unit in session.execute(select(Unit).where(Unit.kind == kind, Unit.status.in_(FREE_STATUSES))).scalars():
        if unit.id in busy:
            continue
        position: tuple[float, float] | None = None
        from_community = False
        if unit.lon is not None and unit.lat is not None:
            position = (unit.lon, unit.lat)
        elif unit.community_id is not None:
            if unit.community_id not in communities:
                communities[unit.community_id] = _centre(session.get(Area, unit.community_id))
            position, from_community = communities[unit.community_id], True
        dist = distance_m(*where, *position) if where is not None and position is not None else None
        out.append(Candidate(unit.id, unit.name, unit.kind, unit.status, dist, from_community and dist is not None,
                             unit.version))
    out.sort(key=lambda c: (c.status != "available", c.distance_m is None, c.distance_m or 0.0, c.name, c.unit_id))
    return out


def _grid_staff(session: Session, incident: Incident, count: int) -> list[StaffCandidate]:
    if not count or incident.grid_id is None:
        return []
    already = {p for p in session.execute(select(Assignment.person_id).where(
        Assignment.incident_id == incident.id, Assignment.person_id.is_not(None),
        Assignment.released_at.is_(None))).scalars() if p is not None}
    rows = list(session.execute(select(GridStaff.role, Person).join(Person, Person.id == GridStaff.person_id)
                                .where(GridStaff.grid_id == incident.grid_id, Person.active.is_(True))).all())
    rows.sort(key=lambda r: STAFF_ORDER.index(r[0]) if r[0] in STAFF_ORDER else len(STAFF_ORDER))
    return [StaffCandidate(p.id, p.name, role) for role, p in rows if p.id not in already][:count]


def propose(db: Database, cards: RunCards, incident_id: int) -> Proposal | None:
    """What the run card proposes for the incident now (None: no card fits)."""
    with db.read() as s:
        incident = s.get(Incident, incident_id)
        if incident is None:
            raise NotFound(_("No incident with id {id}.").format(id=incident_id))
        card = cards.card_for(incident.category, incident.severity)
        if card is None:
            return None
        where = incident_position(s, incident)
        lines = tuple(KindLine(kind, count, tuple(rank_units(s, kind, where))) for kind, count in card.units)
        return Proposal(incident.id, incident.version, card.name, incident.category, incident.severity, lines,
                        tuple(_grid_staff(s, incident, card.grid_staff)))


def dispatch(db: Database, actor: Actor, proposal: Proposal, version: int, *, unit_ids: Sequence[int],
             person_ids: Sequence[int] = ()) -> IncidentRow:
    """Send the chosen units (the proposal's, or the officer's changes) and keep both for the record.

    The units are sent first (the incidents room's own rules: off duty or busy is refused, the
    incident's version is checked); then the proposal and what was sent are written, with a
    timeline entry when the officer changed the proposal.
    """
    require(actor, "incident.dispatch")
    row = incident_units.assign(db, actor, proposal.incident_id, version, unit_ids=unit_ids,
                                person_ids=person_ids)
    sent = list(dict.fromkeys(unit_ids))
    accepted = set(sent) == set(proposal.unit_ids) and set(person_ids) == set(proposal.person_ids)
    short = [{"kind": line.kind, "wanted": line.wanted, "missing": line.short} for line in proposal.lines
             if line.short]
    with db.write() as s:
        incident = s.get(Incident, proposal.incident_id)
        assert incident is not None
        now = db_now(s)
        stored = proposal.as_dict()
        s.add(DispatchProposal(incident_id=incident.id, card=proposal.card, category=proposal.category,
                               severity=proposal.severity, proposed=stored["lines"] + [{"staff": stored["staff"]}],
                               short=short, sent_unit_ids=sent, accepted=accepted, at=now, user_id=actor.user_id))
        s.flush()
        proposed_names = [c.name for line in proposal.lines for c in line.proposed]
        add_event(s, actor, incident, "forces_proposed", now,
                  note=_("{card}: proposed {proposed}; {verdict}").format(
                      card=proposal.card, proposed="、".join(proposed_names) or "—",
                      verdict=_("sent as proposed") if accepted else _("changed by the officer")),
                  data={"card": proposal.card, "proposed_unit_ids": list(proposal.unit_ids), "sent_unit_ids": sent,
                        "accepted": accepted, "short": short})
        record(s, actor, entity="incident", entity_id=incident.id, op="update", action="incident.proposal",
               after={"card": proposal.card, "proposed": list(proposal.unit_ids), "sent": sent,
                      "accepted": accepted}, at=now)
    return row


@dataclass(frozen=True)
class ProposalRecord:
    card: str
    proposed_unit_ids: tuple[int, ...]
    sent_unit_ids: tuple[int, ...]
    accepted: bool


def proposals_of(db: Database, incident_id: int) -> list[ProposalRecord]:
    """What was proposed and what was sent, each time, for the after-action report."""
    with db.read() as s:
        out = []
        for p in s.execute(select(DispatchProposal).where(DispatchProposal.incident_id == incident_id)
                           .order_by(DispatchProposal.id)).scalars():
            proposed = tuple(int(c["unit_id"]) for line in p.proposed if "proposed" in line
                             for c in line["proposed"])
            out.append(ProposalRecord(p.card, proposed, tuple(int(u) for u in p.sent_unit_ids), p.accepted))
        return out
