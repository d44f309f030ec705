"""The main window fits the screens duty rooms have: 1366×768, and 1920×1080 at 125 % and 150 %."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from dispatch_console.demo.database import prepare_demo_database
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.i18n import set_language
from station.launcher import main
from ui.shell.dock_fit import default_widths

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_the_window_fits_1366_and_1920_at_150_percent(tmp_path: Path, lang: str) -> None:
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    prepare_demo_database(url, Actor.system("t"))
    try:
        for width, height in ((1366, 768), (1280, 720)):  # 1920×1080 at 150 % is 1280×720 logical
            out = tmp_path / f"main-{width}.png"
            assert main(["--db", url, "--lang", lang, "screenshot", "main", str(out),
                         "--size", f"{width}x{height}"]) == 0
            image = QImage(str(out))
            assert (image.width(), image.height()) == (width, height)  # not pushed wider by a dock
    finally:
        set_language("en")


def test_default_columns_leave_the_queue_room() -> None:
    for width in (1280, 1366, 1536, 1920):
        left, right = default_widths(width)
        assert 270 <= left <= 380 and 400 <= right <= 640 and width - left - right >= 560
