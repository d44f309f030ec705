"""Base tiles for the grid map: none by default, intranet URLs, tile folders, MBTiles via mbtiles:."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QBuffer, QIODevice
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QMainWindow

from db.engine import Database
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.console import ConsoleContext
from dispatch_console.kernel.errors import ValidationError
from ui.map.tiles import MBTilesStore, TileConfig, load_tile_config, parse_tile_source
from ui.shell.background import BackgroundRunner
from ui.shell.context import IncidentSelection, Session, UiContext
from ui.shell.feed import QtChangeFeed

CENTRE = (113.995, 22.585)  # the default view of policies/map.toml
ZOOM = 13


def png(colour: str) -> bytes:
    image = QImage(256, 256, QImage.Format.Format_RGB32)
    image.fill(QColor(colour))
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(buffer.data().data())


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def make_mbtiles(path: Path, tiles: dict[tuple[int, int, int], bytes]) -> Path:
    """A tiny MBTiles file; keys are XYZ (z, x, y), stored TMS-style as the format wants."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        conn.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, "
                      "tile_data BLOB)")
        conn.executemany("INSERT INTO metadata VALUES (?, ?)", [("name", "test"), ("format", "png")])
        conn.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)",
                         [(z, x, (1 << z) - 1 - y, data) for (z, x, y), data in tiles.items()])
    conn.close()
    return path


def test_no_tiles_by_default() -> None:
    config = load_tile_config(Resources())
    assert config == TileConfig() and config.kind == "none" and not config.remote
    assert parse_tile_source("none").kind == "none"


def test_intranet_url_template() -> None:
    config = parse_tile_source("https://tiles.intranet.local/sz/{z}/{x}/{y}.png", attribution="区数据局")
    assert (config.kind, config.url, config.remote) == ("http", "https://tiles.intranet.local/sz/{z}/{x}/{y}.png",
                                                         True)
    assert config.as_json()["attribution"] == "区数据局"
    with pytest.raises(ValidationError, match="must contain"):
        parse_tile_source("http://tiles.intranet.local/tile.png")


def test_file_tile_folder(tmp_path: Path) -> None:
    folder = tmp_path / "瓦片"
    folder.mkdir()
    config = parse_tile_source(folder.as_uri())
    assert config.kind == "file" and config.path == folder
    assert config.url.startswith("file://") and config.url.endswith("/{z}/{x}/{y}.png")
    template = parse_tile_source(folder.as_uri() + "/{z}/{x}/{y}.jpg")
    assert template.url.endswith("/{z}/{x}/{y}.jpg") and template.path == folder
    with pytest.raises(ValidationError, match="does not exist"):
        parse_tile_source((tmp_path / "missing").as_uri())


def test_mbtiles_file_and_config_override(tmp_path: Path) -> None:
    blue = png("#1565c0")
    path = make_mbtiles(tmp_path / "shenzhen.mbtiles", {(1, 0, 0): blue})
    config = parse_tile_source(str(path))
    assert config.kind == "mbtiles" and config.url.startswith("mbtiles://") and config.path == path
    assert parse_tile_source(f"mbtiles://{path}").url == config.url
    store = MBTilesStore(path)
    assert store.tile(1, 0, 0) == blue and store.tile(1, 0, 1) is None and store.mime == b"image/png"
    store.close()
    (tmp_path / "not.mbtiles").write_text("hello")
    with pytest.raises(ValidationError, match="not an MBTiles file"):
        parse_tile_source(str(tmp_path / "not.mbtiles"))
    with pytest.raises(ValidationError, match="Unknown tile source"):
        parse_tile_source("ftp://example/tiles")

    # a site's config folder overrides the shipped policy; a relative path is read from there
    site = tmp_path / "site"
    (site / "policies").mkdir(parents=True)
    path.rename(site / "policies" / "shenzhen.mbtiles")
    (site / "policies" / "map.toml").write_text(
        '[tiles]\nsource = "shenzhen.mbtiles"\nmax_zoom = 17\n', encoding="utf-8")
    resources = Resources(site)
    from_site = load_tile_config(resources)
    assert from_site.kind == "mbtiles" and from_site.max_zoom == 17
    assert from_site.path == (site / "policies" / "shenzhen.mbtiles").resolve()
    # the workstation setting map/tile_url wins over the file
    assert load_tile_config(resources, "https://t.local/{z}/{x}/{y}.png").kind == "http"


@pytest.fixture
def tiled_panel(qtbot, sqlite_db: Database, tmp_path: Path) -> Iterator[object]:  # type: ignore[no-untyped-def]
    from ui.map.map_panel import MapPanel

    x0, y0 = tile_xy(*CENTRE, ZOOM)
    green = png("#2e7d32")
    tiles = {(ZOOM, x, y): green for x in range(x0 - 4, x0 + 5) for y in range(y0 - 4, y0 + 5)}
    site = tmp_path / "site"
    (site / "policies").mkdir(parents=True)
    make_mbtiles(site / "policies" / "area.mbtiles", tiles)
    (site / "policies" / "map.toml").write_text(
        '[tiles]\nsource = "area.mbtiles"\nattribution = "<b>内网底图</b>"\n', encoding="utf-8")
    console = ConsoleContext(sqlite_db, "ws-tiles", Resources(site))
    runner = BackgroundRunner()
    ui = UiContext(console=console, runner=runner, feed=QtChangeFeed(console), selection=IncidentSelection(),
                   session=Session(console))
    window = QMainWindow()
    qtbot.addWidget(window)
    panel = MapPanel(ui, window)
    window.addDockWidget(panel.default_area, panel)
    window.resize(1000, 700)
    window.show()
    try:
        qtbot.waitUntil(panel.is_ready, timeout=60000)
        yield panel
    finally:
        runner.wait_idle(10000)
        panel.shutdown()
        qtbot.wait(100)


def test_mbtiles_are_served_to_the_page(qtbot, tiled_panel) -> None:  # type: ignore[no-untyped-def]
    from ui.map import tiles

    panel = tiled_panel
    assert panel.tiles.kind == "mbtiles" and not panel.tile_problem
    qtbot.waitUntil(lambda: panel.run_js("document.querySelectorAll('img.leaflet-tile-loaded').length") > 0,
                    timeout=60000)
    assert tiles._handler is not None and tiles._handler.served > 0
    # attribution is shown as text, not markup
    assert panel.run_js("document.querySelector('.dc-attribution').textContent") == "<b>内网底图</b>"
    assert panel.run_js("document.querySelectorAll('.dc-attribution b').length") == 0

    # night theme reaches the page; the map floats to its own window and docks back
    panel.apply_theme("dark")
    qtbot.waitUntil(lambda: panel.run_js("document.body.classList.contains('dark')") is True, timeout=60000)
    panel.toggle_detached()
    assert panel.isFloating()
    panel.toggle_detached()
    assert not panel.isFloating()

    # the benchmark path: a synthetic batch and a single-marker update, acknowledged by the page
    from dataclasses import replace

    from dispatch_console.incidents.map_data import synthetic_snapshot
    from ui.map.map_panel import incident_ops

    snapshot = synthetic_snapshot(300, 30, seed=1)
    assert panel.draw_snapshot(snapshot, 60000)
    assert len(panel.run_js("dc.markerIds()")) == 300
    moved = replace(snapshot.incidents[7], lon=snapshot.incidents[7].lon + 0.001, severity=1)
    assert panel.send_and_wait(incident_ops([moved]), 60000)
    assert panel.run_js(f"dc.marker({moved.id}).lon") == moved.lon
    from ui.shell.theme import severity_colours

    assert panel.run_js(f"dc.markerStyle({moved.id}).fillColor") == severity_colours(1, "dark")[0].name()
    assert panel.run_js("dc.errors()") == []
