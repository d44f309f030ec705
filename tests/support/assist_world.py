"""Units with positions and grid staff around make_world's community, for the run-card tests."""

from __future__ import annotations

from db.engine import Database
from db.models import GridStaff, Person, Unit
from support.world import World

# make_world's community is the square 113.90–113.92 E, 22.50–22.52 N; G1 is its south-west cell.
INCIDENT_AT = (113.905, 22.505)


def add_unit(db: Database, code: str, name: str, kind: str, *, at: tuple[float, float] | None = None,
             status: str = "available", community_id: int | None = None) -> int:
    with db.write() as s:
        unit = Unit(code=code, name=name, kind=kind, status=status, version=1,
                    lon=at[0] if at else None, lat=at[1] if at else None, community_id=community_id)
        s.add(unit)
        s.flush()
        return unit.id


def fire_forces(world: World) -> dict[str, int]:
    """Four fire crews at 0.5, 1.6, 3 and 0.2 km (the last one off duty), two police stations, a grid manager."""
    db = world.db
    x, y = INCIDENT_AT
    units = {
        "near": add_unit(db, "F1", "桃源专职消防队一中队", "fire_station", at=(x + 0.005, y)),
        "middle": add_unit(db, "F2", "留仙洞消防站", "fire_station", at=(x + 0.016, y)),
        "far": add_unit(db, "F3", "西丽消防站", "fire_station", at=(x + 0.03, y)),
        "off": add_unit(db, "F4", "平山微型消防站", "fire_station", at=(x + 0.002, y), status="off_duty"),
        "police_far": add_unit(db, "P1", "西丽派出所", "police_station", at=(x + 0.04, y)),
        "police_near": add_unit(db, "P2", "桃源派出所", "police_station", at=(x - 0.01, y)),
    }
    with db.write() as s:
        person = Person(name="李网格", phone="13900000001", active=True, version=1)
        s.add(person)
        s.flush()
        s.add(GridStaff(grid_id=world.grid_ids["G1"], person_id=person.id, role="grid_manager"))
        units["grid_manager_person"] = person.id
    return units
