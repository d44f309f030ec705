"""The grid map: 2,000 incident markers and 200 grid polygons drawn, then single markers updated.

The real map dock (QtWebEngine, offscreen) loads its page on the demo street; then a synthetic
snapshot of N markers and M polygons replaces everything on the page, timed from sending the
batch to the page's acknowledgement (sent after the browser had a frame to paint it). A single
marker update moves and restyles one marker. Baseline: an empty batch's round trip through the
same bridge (the floor of any update).
"""

from __future__ import annotations

import dataclasses
import time

from bench import databases
from bench.common import Figure, Sizes, ms, ms_summary, percentile
from bench.qt import application, close_ui, make_ui
from dispatch_console.incidents import map_data

PER_BACKEND = False  # the page draws what it is sent; the database only serves the first load
RENDER_TARGET_MS = 1500.0
UPDATE_P95_TARGET_MS = 50.0
TIMEOUT_MS = 120000


def _timed(panel: object, ops: list[dict[str, object]]) -> float:
    t0 = time.perf_counter()
    if not panel.send_and_wait(ops, TIMEOUT_MS):  # type: ignore[attr-defined]
        raise TimeoutError("the map page did not acknowledge a batch")
    return time.perf_counter() - t0


def run(backend: str, sizes: Sizes, _pool: object = None) -> list[Figure]:
    from ui.map.map_panel import MapPanel, incident_ops, snapshot_ops

    application()
    template, _built = databases.base(backend)
    with databases.fresh(backend, template=template, tag="map") as db:
        ui = make_ui(db, "ws-map")
        t0 = time.perf_counter()
        panel = MapPanel(ui)
        panel.resize(1200, 800)
        panel.show()
        try:
            if not panel.wait_for(panel.is_ready, TIMEOUT_MS):
                raise TimeoutError("the map page did not load")
            page_load = time.perf_counter() - t0
            empties = [_timed(panel, []) for _i in range(max(5, sizes.map_updates))]
            snapshot = map_data.synthetic_snapshot(sizes.map_markers, sizes.map_polygons)
            renders = [_timed(panel, snapshot_ops(snapshot)) for _i in range(sizes.map_renders)]
            drawn = panel.run_js("dc.markerIds().length")
            updates = []
            for n in range(sizes.map_updates):
                m = snapshot.incidents[(n * 37) % len(snapshot.incidents)]
                moved = dataclasses.replace(m, lon=m.lon + 0.0005, lat=m.lat - 0.0005,
                                            severity=1 + (m.severity % 4), status="acknowledged")
                updates.append(_timed(panel, incident_ops([moved])))
            errors = panel.run_js("dc.errors()")
        finally:
            close_ui(ui, panel)
    details = {"markers": sizes.map_markers, "polygons": sizes.map_polygons, "page_load_ms": ms(page_load),
               "renders_ms": [ms(r) for r in renders], "update_ms": ms_summary(updates),
               "empty_batch_ms": ms_summary(empties), "markers_on_page": drawn, "page_errors": errors}
    render = sorted(renders)[len(renders) // 2]
    p95 = percentile(updates, 95) or 0.0
    return [
        Figure("map initial render", backend, ms(render), "ms", RENDER_TARGET_MS, "<=",
               ms(percentile(empties, 50) or 0.0), "empty batch round trip p50", details),
        Figure("map single marker update p95", backend, ms(p95), "ms", UPDATE_P95_TARGET_MS, "<=",
               ms(percentile(empties, 95) or 0.0), "empty batch round trip p95", details),
    ]
