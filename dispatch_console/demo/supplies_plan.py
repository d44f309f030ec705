"""The demo street's emergency supplies and shelters: a depot in each of the ten communities and the
street's own warehouse, with stock a typhoon season would leave them (some below minimum), and
three shelters — one open with people in it.

Positions are the middle of each community's area with a fixed offset, so the demo is the same
every time it is seeded.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from db.models import Area, Depot, Shelter, ShelterMovement, StockMovement
from dispatch_console.jurisdiction.geometry import bbox_centre

STOCK_REASON = "演示数据：期初库存"
# item → (urbanised village, residential community): an urbanised village (城中村) floods more
COMMUNITY_STOCK: dict[str, tuple[int, int]] = {
    "sandbag": (600, 300), "pump": (4, 2), "life_jacket": (40, 25), "life_buoy": (10, 6), "tent": (8, 5),
    "generator": (2, 1), "emergency_light": (30, 20), "medicine_kit": (4, 3), "raincoat": (60, 40),
    "fire_extinguisher": (40, 30), "warning_tape": (20, 12),
}
STREET_STOCK: dict[str, int] = {
    "sandbag": 3000, "pump": 12, "life_jacket": 200, "life_buoy": 40, "tent": 60, "generator": 6,
    "emergency_light": 150, "medicine_kit": 20, "raincoat": 300, "fire_extinguisher": 100,
    "drinking_water": 400, "instant_food": 300, "blanket": 500, "warning_tape": 80,
}
# after the last rainstorm these were not yet refilled: the map marks them below minimum
SHORT: dict[str, dict[str, int]] = {"PS": {"sandbag": 120}, "LL": {"pump": 1}, "TL": {"life_jacket": 8}}
# code, name, community abbreviation, capacity, offset from the community's middle, contact, phone, open with
SHELTERS = (
    ("SH-TY", "桃源中学应急避难场所", "TY", 800, (0.002, 0.001), "何校长", "0755-26701234", 0),
    ("SH-PS", "平山公园应急避难场所", "PS", 1500, (-0.002, 0.002), "平山社区工作站", "0755-26705678", 36),
    ("SH-TL", "塘朗山郊野公园应急避难场所", "TL", 3000, (0.003, -0.002), "公园管理处", "0755-26709012", 0),
)


def _abbreviation(code: str) -> str:
    return code.split("-")[-1].upper()


def write_supplies(s: Session, communities: list[Area], now: datetime) -> tuple[int, int]:
    """Depots with their opening stock, and the shelters; the number of depots and shelters."""
    where = {_abbreviation(a.code): a for a in communities}
    depots: list[tuple[Depot, dict[str, int]]] = []
    for abbreviation, area in sorted(where.items()):
        centre = bbox_centre(area.min_lon, area.min_lat, area.max_lon, area.max_lat)
        village = area.kind == "urbanised_village"
        stock = {item: amounts[0 if village else 1] for item, amounts in COMMUNITY_STOCK.items()}
        stock.update(SHORT.get(abbreviation, {}))
        depot = Depot(code=f"WZ-{abbreviation}", name=f"{area.name}应急物资储备点", community_id=area.id,
                      address=f"{area.name}党群服务中心一楼", lon=centre[0] + 0.0008 if centre else None,
                      lat=centre[1] - 0.0006 if centre else None, contact_name=f"{area.name}应急分队",
                      active=True, version=1, updated_at=now)
        depots.append((depot, stock))
    first = next(iter(where.values()), None)
    street_centre = bbox_centre(first.min_lon, first.min_lat, first.max_lon, first.max_lat) if first else None
    depots.append((Depot(code="WZ-JD", name="桃源街道应急物资仓库", address="桃源街道办事处后院",
                         lon=street_centre[0] + 0.004 if street_centre else None,
                         lat=street_centre[1] + 0.003 if street_centre else None, contact_name="街道应急办",
                         phone="0755-26708888", active=True, version=1, updated_at=now), STREET_STOCK))
    for depot, stock in depots:
        s.add(depot)
        s.flush()
        for item, quantity in stock.items():
            s.add(StockMovement(at=now, depot_id=depot.id, item=item, kind="receive", quantity=quantity,
                                reason=STOCK_REASON, username="system", station="demo"))
    shelters = 0
    for code, name, abbreviation, capacity, (dx, dy), contact, phone, people in SHELTERS:
        home = where.get(abbreviation)
        if home is None:
            continue
        centre = bbox_centre(home.min_lon, home.min_lat, home.max_lon, home.max_lat)
        shelter = Shelter(code=code, name=name, community_id=home.id, address=f"{home.name}{name[:-6]}",
                          lon=centre[0] + dx if centre else None, lat=centre[1] + dy if centre else None,
                          capacity=capacity, contact_name=contact, phone=phone,
                          status="open" if people else "closed", version=1, updated_at=now)
        s.add(shelter)
        s.flush()
        if people:
            s.add(ShelterMovement(shelter_id=shelter.id, at=now, people=people, note="演示数据：暴雨转移群众",
                                  username="system"))
        shelters += 1
    s.flush()
    return len(depots), shelters
