"""The URL schemes the console's web views use, declared to QtWebEngine before the QApplication exists.

QtWebEngine accepts a custom scheme only before the application object is created, so the shell
declares them when it builds the application (``ui.shell.app.prepare_web_engine``); the rooms that
serve them (the map's MBTiles tiles, ``ui/map/tiles.py``) install their handlers later.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QByteArray, QCoreApplication
from PySide6.QtWebEngineCore import QWebEngineUrlScheme

log = logging.getLogger(__name__)

SCHEME = b"mbtiles"  # base tiles from an MBTiles file (ui/map/tiles.py)


def register_url_schemes() -> None:
    """Declare ``mbtiles:`` to QtWebEngine; only possible before the QApplication is created."""
    if QWebEngineUrlScheme.schemeByName(QByteArray(SCHEME)).name() == QByteArray(SCHEME):
        return
    if QCoreApplication.instance() is not None:
        log.warning("mbtiles: scheme registered too late (QApplication exists); MBTiles will not show")
        return
    scheme = QWebEngineUrlScheme(QByteArray(SCHEME))
    scheme.setSyntax(QWebEngineUrlScheme.Syntax.Host)
    # a local scheme: the map page (a file: page) may load from it, web content may not
    scheme.setFlags(QWebEngineUrlScheme.Flag.SecureScheme | QWebEngineUrlScheme.Flag.LocalScheme
                    | QWebEngineUrlScheme.Flag.CorsEnabled)
    QWebEngineUrlScheme.registerScheme(scheme)


if QCoreApplication.instance() is None:  # imported before the QApplication: register now
    register_url_schemes()


if QCoreApplication.instance() is None:  # imported before the QApplication: register now
    register_url_schemes()
