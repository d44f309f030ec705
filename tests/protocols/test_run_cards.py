"""Run cards: a fire II incident's proposal follows its card, nearest available first; both kept."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from support.assist_world import INCIDENT_AT, add_unit, fire_forces
from support.world import make_world

from db.engine import Database
from db.models import DispatchProposal, Unit
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.jurisdiction.geometry import distance_m
from dispatch_console.kernel.categories import shipped_catalog
from dispatch_console.kernel.config import Resources
from dispatch_console.protocols import dispatch, load_run_cards, proposals_of, propose


def cards():  # type: ignore[no-untyped-def]
    loaded, errors = load_run_cards(Resources(), shipped_catalog().category_codes)
    assert errors == [] and loaded is not None
    return loaded


def fire(world, severity: int = 2, at=INCIDENT_AT):  # type: ignore[no-untyped-def]
    draft = IncidentDraft(category="fire", severity=severity, source="hotline_12345", description="厂房起火",
                          grid="G1", lon=at[0] if at else None, lat=at[1] if at else None)
    return incidents.create_incident(world.db, world.officers[0], draft).row


def test_card_lookup_falls_back_from_severity_to_category_to_every_category() -> None:
    c = cards()
    assert c.card_for("fire", 2).name == "火灾Ⅱ级"  # type: ignore[union-attr]
    assert dict(c.card_for("fire", 2).units) == {"fire_station": 2, "police_station": 1}  # type: ignore[union-attr]
    assert c.card_for("fire", 4).name == "火灾（一般、较大）"  # type: ignore[union-attr]
    assert c.card_for("other", 3).name == "通用"  # type: ignore[union-attr]


def test_fire_two_proposes_the_nearest_available_units_and_never_an_off_duty_one(db: Database) -> None:
    world = make_world(db)
    units = fire_forces(world)
    row = fire(world)
    proposal = propose(db, cards(), row.id)
    assert proposal is not None and proposal.card == "火灾Ⅱ级"
    lines = {line.kind: line for line in proposal.lines}
    fire_line = lines["fire_station"]
    assert [c.unit_id for c in fire_line.proposed] == [units["near"], units["middle"]]
    assert [c.unit_id for c in fire_line.candidates] == [units["near"], units["middle"], units["far"]]
    assert units["off"] not in [c.unit_id for line in proposal.lines for c in line.candidates]
    assert fire_line.proposed[0].distance_m == pytest.approx(514, abs=10)
    assert [c.unit_id for c in lines["police_station"].proposed] == [units["police_near"]]
    assert [p.person_id for p in proposal.staff] == [units["grid_manager_person"]]


def test_a_returning_unit_comes_after_available_ones_and_a_busy_one_is_left_out(db: Database) -> None:
    world = make_world(db)
    units = fire_forces(world)
    with db.write() as s:
        s.execute(update(Unit).where(Unit.id == units["near"]).values(status="returning"))
    first = fire(world)
    proposal = propose(db, cards(), first.id)
    assert proposal is not None
    assert [c.unit_id for c in proposal.lines[0].proposed] == [units["middle"], units["far"]]
    dispatch(db, world.officers[0], proposal, first.version, unit_ids=proposal.unit_ids)
    second = fire(world)
    again = propose(db, cards(), second.id)
    assert again is not None
    assert [c.unit_id for c in again.lines[0].candidates] == [units["near"]]  # the others are at the first fire
    assert again.lines[0].short == 1


def test_a_unit_without_a_position_is_ranked_from_its_home_community(db: Database) -> None:
    world = make_world(db)
    from dispatch_console import jurisdiction

    community_id = jurisdiction.tree(db)[0].id
    far = add_unit(db, "F9", "远处消防站", "fire_station", at=(114.2, 22.7))
    home = add_unit(db, "F8", "社区消防站", "fire_station", community_id=community_id)
    row = fire(world, severity=4)
    proposal = propose(db, cards(), row.id)
    assert proposal is not None
    best = proposal.lines[0].candidates[0]
    assert (best.unit_id, best.from_community) == (home, True)
    assert best.distance_m == pytest.approx(distance_m(*INCIDENT_AT, 113.91, 22.51), abs=1)
    assert proposal.lines[0].candidates[1].unit_id == far


def test_accepted_and_changed_proposals_are_both_kept_and_cannot_be_edited(db: Database) -> None:
    world = make_world(db)
    units = fire_forces(world)
    row = fire(world)
    proposal = propose(db, cards(), row.id)
    assert proposal is not None
    sent = dispatch(db, world.officers[0], proposal, row.version, unit_ids=proposal.unit_ids,
                    person_ids=proposal.person_ids)
    assert sent.status == "dispatched"
    other = fire(world, severity=2)
    changed = propose(db, cards(), other.id)
    assert changed is not None
    dispatch(db, world.officers[0], changed, other.version, unit_ids=[units["far"]])
    first, = proposals_of(db, row.id)
    assert first.accepted and set(first.sent_unit_ids) == {units["near"], units["middle"], units["police_near"]}
    second, = proposals_of(db, other.id)
    assert not second.accepted and second.sent_unit_ids == (units["far"],)
    kinds = [e.kind for e in incidents.get_incident(db, other.id).events]
    assert "forces_proposed" in kinds
    with pytest.raises(Exception, match="append-only"), db.write() as s:
        s.execute(update(DispatchProposal).values(accepted=True))


def test_the_comparison_judges_each_incident_as_the_reports_count_it(db: Database) -> None:
    """The first fire sent as proposed; the second's proposal (西丽消防站, 西丽派出所) sent without the
    police; a third sent from the plain dialog; a fourth nothing sent."""
    from dispatch_console.protocols import compare_dispatch

    world = make_world(db)
    units = fire_forces(world)
    first, second, third, fourth = (fire(world) for _n in range(4))
    accepted = propose(db, cards(), first.id)
    assert accepted is not None
    dispatch(db, world.officers[0], accepted, first.version, unit_ids=accepted.unit_ids,
             person_ids=accepted.person_ids)
    changed = propose(db, cards(), second.id)
    assert changed is not None and set(changed.unit_ids) == {units["far"], units["police_far"]}
    dispatch(db, world.officers[0], changed, second.version, unit_ids=[units["far"]],
             person_ids=changed.person_ids)
    incidents.assign(db, world.officers[0], third.id, third.version, unit_ids=[units["police_far"]])
    with db.read() as s:
        got = compare_dispatch(s, [first.id, second.id, third.id, fourth.id])
    assert [got[i].verdict for i in (first.id, second.id, third.id, fourth.id)] == [
        "accepted", "changed", "without", "none"]
    assert set(got[first.id].sent) == set(got[first.id].proposed) == {
        "桃源专职消防队一中队", "留仙洞消防站", "桃源派出所"}
    assert got[first.id].added == got[first.id].removed == ()
    assert (got[second.id].sent, got[second.id].added, got[second.id].removed) == (
        ("西丽消防站",), (), ("西丽派出所",))
    assert got[third.id].sent == ("西丽派出所",) and got[third.id].cards == ()
    assert got[fourth.id].sent == () and not got[fourth.id].has_proposal
