"""The pinned Qt binding keeps the interpreter alive through a night shift.

PySide6 6.12.0 took one reference away from None/True/False on every Qt call that returns
nothing; a busy console then died with "Fatal Python error: none_dealloc". This guards the pin.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer


def test_void_qt_calls_leave_none_true_false_alone(qapp) -> None:  # type: ignore[no-untyped-def]
    timer = QTimer()
    before = (sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False))
    for _ in range(1000):
        timer.setInterval(5)
        timer.setSingleShot(False)
    after = (sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False))
    # the broken binding loses 2,000 references here; other threads' noise is far smaller
    assert all(abs(a - b) < 500 for a, b in zip(after, before, strict=True)), (before, after)
