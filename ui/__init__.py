"""PySide6 views: main window, queue, map, rosters, checklists, handover, drills, charts.

Importing PySide6 installs an import hook for its ``__feature__`` switches (snake_case and
true_property): after every later import it asks whether the new module uses PySide by reading
the module's whole source (``inspect.getsource``), and the lines stay in ``linecache``. In this
console that was 850 files — 28 MB before the first window and ~35 MB of the running console
(measured, 100,000-incident database: 450 → 410–418 MB). The console uses no ``__feature__``
switch, so the answer is "no" without reading anything; :func:`_skip_feature_scan` runs before
any view is imported. Should a PySide release rename its hook, nothing breaks: the scan just
happens again.
"""

from __future__ import annotations

import sys


def _skip_feature_scan() -> tuple[bool, object]:
    import PySide6.QtCore  # noqa: F401  (installs the hook)

    feature = sys.modules.get("PySide6.support.feature")
    scan = getattr(feature, "_mod_uses_pyside", None)
    if feature is None or not callable(scan):
        return False, None
    feature._mod_uses_pyside = lambda _module: False  # type: ignore[attr-defined]
    return True, scan


FEATURE_SCAN_SKIPPED, PYSIDE_SCAN = _skip_feature_scan()
