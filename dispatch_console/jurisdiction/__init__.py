"""The jurisdiction: districts, communities and grids (areas), GeoJSON import, point-in-polygon.

The room's public face: the views and the command line import from here. Behind it,
``areas`` (the tree and the lookups), ``geojson_import`` and ``geometry``.
"""

from dispatch_console.jurisdiction.areas import (
    COMMUNITY_KINDS,
    LEVELS,
    STAFF_ROLES,
    AreaRef,
    CommunityRow,
    GridCard,
    GridRow,
    Location,
    StaffHit,
    StaffRow,
    areas_geojson,
    areas_intersecting,
    check_lon_lat,
    find_grid,
    grid_card,
    locate,
    search_staff,
    tree,
)
from dispatch_console.jurisdiction.geojson_import import FeatureError, ImportReport, import_geojson

__all__ = [
    "COMMUNITY_KINDS", "LEVELS", "STAFF_ROLES", "AreaRef", "CommunityRow", "FeatureError", "GridCard",
    "GridRow", "ImportReport", "Location", "StaffHit", "StaffRow", "areas_geojson", "areas_intersecting",
    "check_lon_lat", "find_grid", "grid_card", "import_geojson", "locate", "search_staff", "tree",
]
