"""The jurisdiction: districts, communities and grids (areas), GeoJSON import, point-in-polygon."""
