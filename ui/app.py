"""The QApplication: fonts that show Chinese, Qt's own translations, the theme."""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import QLibraryInfo, QLocale, QTranslator
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

from dispatch_console.i18n import language
from ui import settings, theme

CJK_FAMILIES = ["Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
                "Microsoft YaHei", "PingFang SC", "SimHei"]


def prefer_cjk_font(app: QApplication) -> str | None:
    """Use an installed font that has Chinese glyphs; returns its family (None if none found)."""
    available = set(QFontDatabase.families())
    for family in CJK_FAMILIES:
        if family in available:
            font = QFont(family)
            font.setPointSize(max(app.font().pointSize(), 10))
            app.setFont(font)
            return family
    return None


def prepare_web_engine() -> None:
    """Before the QApplication exists: shared GL contexts and the map's ``mbtiles:`` scheme."""
    from PySide6.QtCore import QCoreApplication, Qt

    from ui.map.tiles import register_url_schemes

    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    register_url_schemes()


def application(argv: list[str] | None = None) -> QApplication:
    """The one QApplication of this process (created on first call)."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
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
