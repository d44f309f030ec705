"""The Chinese font the project ships (``resources/fonts/``, a subset of Noto Sans CJK SC, OFL).

The PDFs (handover record, duty log, after-action report) are drawn with it and never with
whatever the machine happens to have, so a record reads and prints the same on every
workstation; the window uses it too when the machine has no Chinese font of its own.
``tools/subset_cjk_font.py`` makes the file.
"""

from __future__ import annotations

import logging

from PySide6.QtGui import QFontDatabase

from dispatch_console.kernel.config import resources_root

log = logging.getLogger(__name__)

SHIPPED_FILE = "fonts/NotoSansCJKsc-DispatchSubset.otf"
SHIPPED_FAMILY = "Dispatch Noto Sans CJK SC"
SHIPPED_POSTSCRIPT = "NotoSansCJKsc-DispatchSubset"  # the name a PDF gives the embedded font

_loaded: list[str] = []


def shipped_cjk_family() -> str:
    """Register the shipped font with Qt (once per process) and return its family.

    Raises ``RuntimeError`` if the file is missing or unreadable: a PDF must not silently fall back
    to another font.
    """
    if _loaded:
        return _loaded[0]
    path = resources_root() / SHIPPED_FILE
    font_id = QFontDatabase.addApplicationFont(str(path))
    families = QFontDatabase.applicationFontFamilies(font_id) if font_id >= 0 else []
    if not families:
        raise RuntimeError(f"the Chinese font {path} is missing or unreadable")
    _loaded.append(families[0])
    log.debug("registered %s from %s", families[0], path)
    return families[0]
