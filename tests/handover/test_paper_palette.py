"""Printed records are black on white whatever the screen theme: the night theme's near-white text
must never reach the paper (the handover record from the panel, the duty log, the command line)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication, QFileDialog
from support.handover_fixtures import incident, now_to_next

from db.engine import Database
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.console import ConsoleContext
from station.launcher import main
from ui.handover.panel import HandoverPanel
from ui.shell import theme
from ui.shell.background import BackgroundRunner
from ui.shell.context import IncidentSelection, Session, UiContext
from ui.shell.feed import QtChangeFeed
from ui.shell.pdf_export import render_png

pytestmark = pytest.mark.gui


def ink(png: Path) -> int:
    """How many pixels of the page are printed dark enough to read on white (luminance < 110)."""
    page = QImage(str(png))
    image = QImage(page.size(), QImage.Format.Format_Grayscale8)
    image.fill(Qt.GlobalColor.white)  # the page as printed: what is transparent is paper
    painter = QPainter(image)
    painter.drawImage(0, 0, page)
    painter.end()
    count = 0
    for y in range(0, image.height(), 2):
        line = bytes(image.constScanLine(y))[: image.width()]
        count += sum(1 for v in line[::2] if v < 110)
    return count


@pytest.fixture
def night() -> Iterator[None]:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    theme.apply(app, "dark")
    yield
    theme.apply(app, "light")


def _export_from_panel(qtbot, monkeypatch, ui: UiContext, button: str, out: Path) -> None:  # type: ignore[no-untyped-def]
    panel = HandoverPanel(ui)
    qtbot.addWidget(panel)
    panel.show()
    target = getattr(panel, button)
    qtbot.waitUntil(target.isEnabled, timeout=10000)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), "PDF (*.pdf)"))
    target.setFocus()
    qtbot.keyClick(target, Qt.Key.Key_Space)  # the officer presses the button from the keyboard
    qtbot.waitUntil(lambda: out.exists() and "Saved" in panel.message.text(), timeout=15000)


def test_night_theme_prints_the_handover_record_and_duty_log_as_the_day_theme_does(
        qtbot, monkeypatch, sqlite_db: Database, system: Actor, tmp_path: Path) -> None:
    room = now_to_next(sqlite_db, system)
    for severity, text in ((1, "厂房冒烟，有人员被困"), (2, "地下车库进水"), (4, "广场舞噪音扰民")):
        incident(sqlite_db, room.zhang, severity, text, acknowledge=True)
    console = ConsoleContext(sqlite_db, "值班台1", Resources(), room.wang)
    ui = UiContext(console, BackgroundRunner(), QtChangeFeed(console), IncidentSelection(), Session(console))
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    measured: dict[tuple[str, str], int] = {}
    try:
        for name in ("light", "dark"):
            theme.apply(app, name)
            for button in ("pdf_button", "log_button"):
                pdf = tmp_path / f"{name}-{button}.pdf"
                _export_from_panel(qtbot, monkeypatch, ui, button, pdf)
                measured[(name, button)] = ink(render_png(pdf, 0, tmp_path / f"{name}-{button}.png"))
    finally:
        theme.apply(app, "light")
        ui.runner.wait_idle(5000)
    for button in ("pdf_button", "log_button"):
        day, night_ = measured[("light", button)], measured[("dark", button)]
        assert day > 2000, "the day-theme page has text on it"
        assert night_ >= day * 0.98, (button, day, night_)  # the same ink, not near-white on white


def test_handover_report_command_prints_dark_ink_under_the_night_theme(
        night: None, sqlite_db: Database, system: Actor, tmp_path: Path) -> None:
    room = now_to_next(sqlite_db, system)
    incident(sqlite_db, room.zhang, 1, "厂房冒烟，有人员被困", acknowledge=True)
    url = sqlite_db.url.render_as_string(hide_password=False)
    night_pdf, day_pdf = tmp_path / "night.pdf", tmp_path / "day.pdf"
    assert main(["--db", url, "handover", "report", "--pdf", str(night_pdf)]) == 0
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    theme.apply(app, "light")
    assert main(["--db", url, "handover", "report", "--pdf", str(day_pdf)]) == 0
    theme.apply(app, "dark")
    day = ink(render_png(day_pdf, 0, tmp_path / "day.png"))
    assert day > 2000 and ink(render_png(night_pdf, 0, tmp_path / "night.png")) >= day * 0.98
