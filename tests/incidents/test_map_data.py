"""What the grid map is given, on both backends: boundaries, open-incident counts, markers, units."""

from __future__ import annotations

import json

import pytest

from db.engine import Database
from dispatch_console.demo.seed import seed_demo
from dispatch_console.incidents import map_data
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.service import IncidentDraft
from dispatch_console.jurisdiction import areas_geojson, grid_card
from dispatch_console.kernel.actor import Actor

HOSTILE = '"</script><img src=x onerror=alert(1)>'


def grid_centre(db: Database, index: int = 0) -> tuple[int, float, float]:
    """A grid and a point inside it (the representative point of its polygon)."""
    import shapely.geometry

    feature = areas_geojson(db, "grid")["features"][index]
    point = shapely.geometry.shape(feature["geometry"]).representative_point()
    return int(feature["id"]), float(point.x), float(point.y)


def test_snapshot_counts_and_markers_follow_the_database(db: Database, system: Actor, make_actor) -> None:  # type: ignore[no-untyped-def]
    seed_demo(db, system)
    officer = make_actor("duty_officer")
    before = map_data.load_snapshot(db)
    assert len(before.communities["features"]) == 10
    assert len(before.grids["features"]) == 46
    assert before.incidents and before.units
    assert all(m.status in ("new", "acknowledged", "dispatched", "on_scene") for m in before.incidents)
    # the per-grid counts on the features are the counts of open incidents in those grids
    on_features = {f["id"]: f["properties"]["open_count"] for f in before.grids["features"]}
    assert {k: v for k, v in on_features.items() if v} == before.grid_counts
    json.dumps([m.as_json() for m in before.incidents] + [u.as_json() for u in before.units])

    grid_id, lon, lat = grid_centre(db)
    created = incidents.create_incident(db, officer, IncidentDraft(
        category="fire", severity=1, source="hotline_12345", description=HOSTILE + " " + "x" * 200,
        lon=lon, lat=lat, is_drill=True)).row
    assert created.grid_id == grid_id

    update = map_data.incident_update(db, [created.id])
    (marker,) = update.upsert
    assert (marker.id, marker.number, marker.severity, marker.is_drill) == (created.id, created.number, 1, True)
    assert (marker.lon, marker.lat) == (lon, lat)
    assert marker.category_label and marker.status == "new"
    assert marker.excerpt.startswith(HOSTILE) and len(marker.excerpt) == map_data.EXCERPT_CHARS
    assert update.remove == ()
    assert update.grid_counts[grid_id] == before.grid_counts.get(grid_id, 0) + 1

    listed = map_data.grid_open_incidents(db, grid_id)
    assert created.id in {m.id for m in listed}

    # resolved: off the map, and the grid's count goes back
    row = incidents.acknowledge(db, officer, created.id, created.version)
    incidents.resolve(db, officer, created.id, row.version, note="done")
    update = map_data.incident_update(db, [created.id, 999999])
    assert update.upsert == () and set(update.remove) == {created.id, 999999}
    assert update.grid_counts.get(grid_id, 0) == before.grid_counts.get(grid_id, 0)


def test_units_without_a_position_are_not_drawn(db: Database, system: Actor) -> None:
    from db.models import Unit

    seed_demo(db, system)
    with db.write() as s:
        placed = Unit(code="U-MAP-1", name="派出所巡逻组", kind="police_station", status="available",
                      lon=113.99, lat=22.58, version=1)
        nowhere = Unit(code="U-MAP-2", name="志愿者队", kind="volunteers", status="available", version=1)
        s.add_all([placed, nowhere])
        s.flush()
        ids = (placed.id, nowhere.id)
    update = map_data.unit_update(db, ids)
    assert [u.id for u in update.upsert] == [ids[0]]
    assert update.upsert[0].status_label
    assert update.remove == (ids[1],)


def test_synthetic_snapshot_for_benchmarks() -> None:
    snap = map_data.synthetic_snapshot(500, 40, seed=3)
    assert len(snap.incidents) == 500 and len(snap.grids["features"]) == 40
    assert len({m.id for m in snap.incidents}) == 500
    assert snap == map_data.synthetic_snapshot(500, 40, seed=3)


def _add_unit(db: Database, system: Actor, **values) -> int:  # type: ignore[no-untyped-def]
    from db.models import Unit
    from dispatch_console.kernel.changes import record, row_dict

    with db.write() as s:
        unit = Unit(version=1, status="available", **values)
        s.add(unit)
        s.flush()
        record(s, system, entity="unit", entity_id=unit.id, op="insert", action="unit.create", after=row_dict(unit))
        return int(unit.id)


def test_unit_card_of_a_free_unit_names_kind_status_contact_and_where_it_is(db: Database, system: Actor) -> None:
    seed_demo(db, system)
    grid_id, lon, lat = grid_centre(db, 2)
    card_of_grid = grid_card(db, grid_id)
    unit_id = _add_unit(db, system, code="U-CARD-1", name=HOSTILE, kind="police_station",
                        contact_name="张警官", phone="13800000001", lon=lon, lat=lat)

    card = map_data.unit_card(db, unit_id)
    assert (card.unit.id, card.unit.code, card.unit.name) == (unit_id, "U-CARD-1", HOSTILE)  # text, as it is
    assert (card.unit.contact_name, card.unit.phone) == ("张警官", "13800000001")
    assert card.kind_label == "Police station" and card.status_label == "Available"
    assert card.has_position and (card.lon, card.lat) == (lon, lat)
    assert card.grid is not None and card.grid.id == grid_id
    assert card.community is not None and card_of_grid.community is not None
    assert card.community.id == card_of_grid.community.id
    assert card.incident is None and card.assigned_for_s is None

    # no position: no grid, but the community the unit belongs to
    home = card_of_grid.community.id
    nowhere = _add_unit(db, system, code="U-CARD-2", name="志愿者队", kind="not_a_listed_kind", community_id=home)
    card = map_data.unit_card(db, nowhere)
    assert not card.has_position and card.grid is None
    assert card.community is not None and card.community.id == home
    assert card.kind_label == "not_a_listed_kind"  # an unknown kind shows as its code


def test_unit_card_of_a_unit_on_an_incident_follows_the_assignment(  # type: ignore[no-untyped-def]
        db: Database, system: Actor, make_actor) -> None:
    from dispatch_console.incidents import units as incident_units

    seed_demo(db, system)
    officer = make_actor("duty_officer")
    grid_id, lon, lat = grid_centre(db, 4)
    unit_id = _add_unit(db, system, code="U-CARD-3", name="执法队第二组", kind="law_enforcement",
                        lon=lon, lat=lat)
    row = incidents.create_incident(db, officer, IncidentDraft(
        category="fire", severity=2, source="hotline_12345", description="仓库冒烟", lon=lon, lat=lat)).row
    incident_units.assign(db, officer, row.id, row.version, unit_ids=[unit_id])

    card = map_data.unit_card(db, unit_id)
    assert card.unit.status == "dispatched" and card.status_label == "Dispatched"
    assert card.incident is not None
    assert (card.incident.id, card.incident.number, card.incident.category) == (row.id, row.number, "fire")
    assert card.incident.category_label == "Fire" and card.incident.status == "dispatched"
    assert card.incident.severity == 2 and card.incident.severity_label
    assert card.incident.assigned_at <= card.read_at and card.assigned_for_s is not None
    assert card.assigned_for_s >= 0
    assert card.unit.incident_number == row.number
    assert card.grid is not None and card.grid.id == grid_id == row.grid_id

    # released: the card no longer names an incident and the unit is returning
    detail = incidents.get_incident(db, row.id)
    (assignment,) = [a for a in detail.assignments if a.unit_id == unit_id]
    incident_units.release(db, officer, assignment.id)
    card = map_data.unit_card(db, unit_id)
    assert card.incident is None and card.unit.status == "returning" and card.status_label == "Returning"


def test_unit_card_of_an_unknown_unit_is_not_found(db: Database) -> None:
    from dispatch_console.kernel.errors import NotFound

    with pytest.raises(NotFound):
        map_data.unit_card(db, 987654)
