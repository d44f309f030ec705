"""The QApplication: fonts that show Chinese, Qt's own translations, the theme."""

from __future__ import annotations

import logging
import os
import sys

from PySide6.QtCore import QLibraryInfo, QLocale, QTranslator
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

from dispatch_console.kernel.i18n import language
from ui.shell import settings, theme
from ui.shell.fonts import shipped_cjk_family

log = logging.getLogger(__name__)

CJK_FAMILIES = ["Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
                "Microsoft YaHei", "PingFang SC", "SimHei"]


def prefer_cjk_font(app: QApplication) -> str | None:
    """Use an installed font that has Chinese glyphs, else the one the project ships; returns its family."""
    available = set(QFontDatabase.families())
    try:
        shipped = [shipped_cjk_family()]
    except RuntimeError:  # the window still works with Qt's fallback; the PDFs refuse (pdf_export)
        log.warning("the shipped Chinese font is missing", exc_info=True)
        shipped = []
    for family in [*CJK_FAMILIES, *shipped]:
        if family in available or family in shipped:
            font = QFont(family)
            font.setPointSize(max(app.font().pointSize(), 10))
            app.setFont(font)
            return family
    return None


def prepare_web_engine() -> None:
    """Before the QApplication exists: shared GL contexts and the map's ``mbtiles:`` scheme."""
    from PySide6.QtCore import QCoreApplication, Qt

    from ui.shell.web_schemes import register_url_schemes

    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    register_url_schemes()


def choose_rendering() -> str:
    """Before the QApplication exists: how the window composes the map view (the setting
    ``ui/rendering``; ``DISPATCH_RENDERING`` overrides it for one run).

    "software" (the default) composes the web view with Qt Quick's software scene graph. The map is
    drawn by Chromium in its own processes either way; what changes is the last step inside the
    console. A duty-room PC with an old or broken OpenGL driver then still shows the map instead of
    a black rectangle, and the console does not load a GL stack it barely uses (on a machine
    without a GPU, Mesa's llvmpipe: ~50 MB of the console's memory, measured by ``make bench``).
    "gpu" uses OpenGL through the driver, for a workstation whose map is to be driven hard.
    """
    from PySide6.QtQuick import QQuickWindow, QSGRendererInterface

    choice = os.environ.get("DISPATCH_RENDERING") or str(settings.get("ui/rendering"))
    if choice != "gpu":
        choice = "software"
        QQuickWindow.setGraphicsApi(QSGRendererInterface.GraphicsApi.Software)
    return choice


M_ARENA_MAX = -8  # glibc's mallopt parameter


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """glibc gives every thread that allocates its own malloc arena (up to 8 per core); a console
    that runs for a whole night shift with a dozen worker threads then keeps freed memory spread
    over many arenas. Two are enough for its few busy threads (measured: ~10 MB less at start).
    Does nothing (False) off glibc; ``MALLOC_ARENA_MAX`` in the environment wins."""
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False


def application(argv: list[str] | None = None) -> QApplication:
    """The one QApplication of this process (created on first call)."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # Chromium refuses to start its sandbox as root (containers, CI); as anyone else it keeps it
        os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
    limit_malloc_arenas()
    choose_rendering()
    prepare_web_engine()
    app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("dispatch-console")
    app.setOrganizationName("dispatch-console")
    app.setApplicationDisplayName("dispatch-console")
    prefer_cjk_font(app)
    if language() == "zh_CN":
        QLocale.setDefault(QLocale(QLocale.Language.Chinese, QLocale.Country.China))
        translator = QTranslator(app)
        if translator.load("qtbase_zh_CN", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
            app.installTranslator(translator)
    theme.apply(app, str(settings.get("ui/theme")))
    return app
