"""Emergency supplies (应急物资) and shelters (避难场所).

Stock in the depots (``stock``: the catalogue, movements, the ledger), the stock sheets (``sheets``:
xlsx in and out), the shelters and their occupancy (``shelters``), the places on the map
(``map_layers``). This is the room's public face: what the views and the command line use.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

from dispatch_console.kernel.faces import loaded_at_first_use
from dispatch_console.supplies.map_layers import Places, places
from dispatch_console.supplies.shelters import (
    NearShelter,
    ShelterRow,
    add_shelter,
    list_shelters,
    nearest_open,
    record_people,
)
from dispatch_console.supplies.shelters import set_status as set_shelter_status
from dispatch_console.supplies.stock import (
    MAX_QUANTITY,
    DepotRow,
    MovementRow,
    StockRow,
    add_depot,
    community_id,
    list_depots,
    load_catalogue,
)
from dispatch_console.supplies.stock import ledger as stock_ledger
from dispatch_console.supplies.stock import move as move_stock
from dispatch_console.supplies.stock import stock as stock_levels

if TYPE_CHECKING:  # spreadsheets (openpyxl) load when first used, not with the room
    from dispatch_console.supplies.sheets import export_stock, import_stock

__all__ = [
    "MAX_QUANTITY",
    "DepotRow",
    "MovementRow",
    "NearShelter",
    "Places",
    "ShelterRow",
    "StockRow",
    "add_depot",
    "add_shelter",
    "community_id",
    "export_stock",
    "import_stock",
    "list_depots",
    "list_shelters",
    "load_catalogue",
    "move_stock",
    "nearest_open",
    "places",
    "record_people",
    "set_shelter_status",
    "stock_ledger",
    "stock_levels",
]


def _sheets() -> ModuleType:
    from dispatch_console.supplies import sheets

    return sheets


_LAZY = {name: _sheets for name in ("export_stock", "import_stock")}


__getattr__ = loaded_at_first_use(globals(), _LAZY)
