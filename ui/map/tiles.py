"""Optional base tiles for the grid map, and the ``mbtiles:`` URL scheme that serves an MBTiles file.

By default there are no tiles at all: the map draws its vector layers on a plain background and
never touches the network. ``resources/policies/map.toml`` (overridable from the config folder) or
the workstation setting ``map/tile_url`` may name:

* an intranet ``http(s)://…/{z}/{x}/{y}.png`` URL template,
* a ``file://`` tile folder (``{z}/{x}/{y}.png`` below it) or a ``file://`` template,
* an ``.mbtiles`` file (SQLite), served to the page through :class:`MBTilesSchemeHandler`.

The scheme must be declared before the QApplication exists: ``ui.shell.web_schemes`` does that
from ``ui.shell.app.application()``.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject
from PySide6.QtWebEngineCore import (
    QWebEngineProfile,
    QWebEngineUrlRequestJob,
    QWebEngineUrlSchemeHandler,
)

from dispatch_console.kernel.errors import ValidationError
from dispatch_console.kernel.i18n import _
from ui.shell.web_schemes import SCHEME, register_url_schemes  # noqa: F401  (re-exported)

log = logging.getLogger(__name__)

POLICY_FILE = "policies/map.toml"
MIME = {"png": b"image/png", "jpg": b"image/jpeg", "jpeg": b"image/jpeg", "webp": b"image/webp"}


# ---------------------------------------------------------------------------------------------
# Configuration.


@dataclass(frozen=True)
class TileConfig:
    """Where base tiles come from; ``kind`` is none, http, file or mbtiles."""

    kind: str = "none"
    url: str = ""  # the template the page uses ({z}/{x}/{y}); for mbtiles the mbtiles:// template
    path: Path | None = None  # the tile folder or the .mbtiles file
    attribution: str = ""
    min_zoom: int = 3
    max_zoom: int = 19

    @property
    def remote(self) -> bool:
        return self.kind == "http"

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "url": self.url, "attribution": self.attribution,
                "min_zoom": self.min_zoom, "max_zoom": self.max_zoom}


def _has_placeholders(template: str) -> bool:
    return all(p in template for p in ("{z}", "{x}", "{y}"))


def parse_tile_source(source: str, *, base_dir: Path | None = None, attribution: str = "",
                      min_zoom: int = 3, max_zoom: int = 19) -> TileConfig:
    """Read one tile source; raises ValidationError with a sentence for the officer if it is wrong."""
    text = (source or "").strip()
    zoom = {"attribution": attribution, "min_zoom": int(min_zoom), "max_zoom": int(max_zoom)}
    if not text or text.lower() == "none":
        return TileConfig(**zoom)  # type: ignore[arg-type]
    lower = text.lower()
    if lower.startswith(("http://", "https://")):
        if not _has_placeholders(text):
            raise ValidationError(_("The tile URL {url} must contain {placeholders}.").format(
                url=text, placeholders="{z}, {x}, {y}"), "map/tile_url")
        return TileConfig("http", text, None, **zoom)  # type: ignore[arg-type]
    if lower.startswith("file:"):
        path_part = unquote(urlparse(text.replace("{", "%7B").replace("}", "%7D")).path)
        if _has_placeholders(path_part):
            folder = Path(path_part.split("{", 1)[0])
            template = path_part
        else:
            folder = Path(path_part)
            template = str(folder / "{z}" / "{x}" / "{y}.png")
        if not folder.is_dir():
            raise ValidationError(_("The tile folder {path} does not exist.").format(path=folder), "map/tile_url")
        return TileConfig("file", Path(template).as_uri().replace("%7B", "{").replace("%7D", "}"), folder,
                          **zoom)  # type: ignore[arg-type]
    if lower.startswith("mbtiles:"):
        text = text[len("mbtiles:"):]
        text = text[2:] if text.startswith("//") else text  # mbtiles:///abs/file.mbtiles
    if text.lower().endswith(".mbtiles"):
        path = Path(text).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        MBTilesStore(path).close()  # raises ValidationError if it is not a readable MBTiles file
        key = "t" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
        return TileConfig("mbtiles", f"{SCHEME.decode()}://{key}/{{z}}/{{x}}/{{y}}", path.resolve(),
                          **zoom)  # type: ignore[arg-type]
    raise ValidationError(
        _("Unknown tile source {source}: use an http(s) URL template, a file:// folder or an .mbtiles file.")
        .format(source=text), "map/tile_url")


def load_tile_config(resources: Any, setting: str | None = None) -> TileConfig:
    """The workstation setting ``map/tile_url`` if set, else ``policies/map.toml``."""
    table = resources.toml(POLICY_FILE).get("tiles", {})
    source = (setting or "").strip() or str(table.get("source", "") or "")
    return parse_tile_source(
        source, base_dir=resources.path(POLICY_FILE).parent, attribution=str(table.get("attribution", "")),
        min_zoom=int(table.get("min_zoom", 3)), max_zoom=int(table.get("max_zoom", 19)))


def default_view(resources: Any) -> tuple[float, float, int]:
    """The centre (lon, lat) and zoom used before any boundary is known."""
    view = resources.toml(POLICY_FILE).get("view", {})
    lon, lat = view.get("centre", [113.995, 22.585])
    return float(lon), float(lat), int(view.get("zoom", 13))


# ---------------------------------------------------------------------------------------------
# MBTiles.


class MBTilesStore:
    """Read-only access to an MBTiles file (rows are TMS: y counted from the south)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.is_file():
            raise ValidationError(_("The MBTiles file {path} does not exist.").format(path=path), "map/tile_url")
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
            fmt = self._conn.execute("SELECT value FROM metadata WHERE name = 'format'").fetchone()
            self._conn.execute("SELECT 1 FROM tiles LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            raise ValidationError(_("{path} is not an MBTiles file: {error}").format(path=path, error=exc),
                                  "map/tile_url") from exc
        self.mime = MIME.get(str(fmt[0]).lower() if fmt else "png", b"image/png")

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        row = (1 << z) - 1 - y
        with self._lock:
            found = self._conn.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
                (z, x, row)).fetchone()
        return bytes(found[0]) if found else None

    def close(self) -> None:
        self._conn.close()


class MBTilesSchemeHandler(QWebEngineUrlSchemeHandler):
    """Answers ``mbtiles://KEY/z/x/y`` from the MBTiles file registered under KEY."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._stores: dict[str, MBTilesStore] = {}
        self.served = 0

    def add(self, config: TileConfig) -> None:
        key = urlparse(config.url).hostname or ""
        if config.kind == "mbtiles" and config.path is not None and key not in self._stores:
            self._stores[key] = MBTilesStore(config.path)

    def requestStarted(self, job: QWebEngineUrlRequestJob) -> None:
        url = job.requestUrl()
        store = self._stores.get(url.host())
        parts = url.path().strip("/").split("/")
        try:
            z, x, y = (int(p.split(".")[0]) for p in parts)
        except ValueError:
            job.fail(QWebEngineUrlRequestJob.Error.UrlInvalid)
            return
        data = store.tile(z, x, y) if store is not None else None
        if data is None:
            job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
            return
        buffer = QBuffer(job)
        buffer.setData(QByteArray(data))
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self.served += 1
        job.reply(QByteArray(store.mime if store else b"image/png"), buffer)


_handler: MBTilesSchemeHandler | None = None


def mbtiles_handler(profile: QWebEngineProfile) -> MBTilesSchemeHandler:
    """The one handler installed on ``profile`` (installed on first use)."""
    global _handler
    if _handler is None:
        _handler = MBTilesSchemeHandler(profile)
        profile.installUrlSchemeHandler(QByteArray(SCHEME), _handler)
    return _handler
