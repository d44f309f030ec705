"""The main window shell: status bar, jurisdiction browser, background work, screenshots."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from dispatch_console.demo.database import prepare_demo_database
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.console import ConsoleContext
from station import composition
from ui.shell.background import BackgroundRunner
from ui.shell.main_window import MainWindow


@pytest.fixture
def demo_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    assert prepare_demo_database(url, Actor.system("seed")) is True
    assert prepare_demo_database(url, Actor.system("seed")) is False  # seeded once
    return url


def test_background_results_arrive_on_the_main_thread(qtbot) -> None:  # type: ignore[no-untyped-def]
    runner = BackgroundRunner()
    seen: dict[str, object] = {}
    main = QApplication.instance().thread()  # type: ignore[union-attr]

    def work() -> int:
        seen["worker"] = threading.current_thread().name
        return 41 + 1

    def ok(value: object) -> None:
        seen["value"] = value
        seen["on_main"] = QThread.currentThread() is main

    def boom() -> None:
        raise ValueError("no database")

    def failed(exc: BaseException) -> None:
        seen["error"] = str(exc)
        seen["error_on_main"] = QThread.currentThread() is main

    runner.run(work, on_success=ok)
    runner.run(boom, on_failure=failed)
    qtbot.waitUntil(lambda: "value" in seen and "error" in seen, timeout=5000)
    assert seen["value"] == 42 and seen["on_main"] is True
    assert seen["error"] == "no database" and seen["error_on_main"] is True
    assert seen["worker"] != threading.current_thread().name


def test_a_runner_closed_while_its_work_runs_drops_the_result_quietly(qtbot) -> None:  # type: ignore[no-untyped-def]
    """A window closed while a query runs: the answer arrives after the runner is gone. pytest-qt
    fails the test on any exception raised in a Qt callback ("Signal source has been deleted")."""
    import shiboken6

    runner = BackgroundRunner()
    release = threading.Event()
    ran: list[int] = []

    def work() -> int:
        release.wait(5)
        ran.append(1)
        return 1

    runner.run(work, on_success=lambda _v: None)
    threading.Timer(0.2, release.set).start()
    shiboken6.delete(runner)  # waits for the pool's work, whose answer is then queued to nobody
    qtbot.wait(300)
    assert ran == [1]


def test_main_window_shows_where_the_station_stands(qtbot, demo_url: str) -> None:  # type: ignore[no-untyped-def]
    from db.engine import Database

    console = ConsoleContext(Database(demo_url), "值班台9", Resources())
    console.actor = Actor(user_id=1, username="demo-officer", role="duty_officer", station="值班台9",
                          display_name="值班员甲")
    window = MainWindow(console, panels=composition.panels())
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(window.ready, timeout=15000)
        status = window.status
        assert "值班台9" in status.station.text()
        assert "值班员甲" in status.user.text()
        assert status.database.text().endswith("demo.sqlite3")
        qtbot.waitUntil(lambda: status.database_time() is not None, timeout=5000)
        assert "DB time 20" in status.clock.text()
        qtbot.waitUntil(lambda: "Live" in status.connection.text(), timeout=5000)
        assert "值班台9" in window.windowTitle()

        browser = window.panels["jurisdiction"]
        assert browser.model.rowCount() == 10  # ten community work stations
        first_grid = browser.model.item(0).child(0)
        assert first_grid is not None and first_grid.rowCount() == 3  # 一格三员
        phone = first_grid.child(0, 2).text()
        qtbot.keyClicks(browser.search, phone)
        assert browser.proxy.rowCount() >= 1  # the community holding that phone stays visible
        browser.search.clear()
        assert browser.proxy.rowCount() == 10
    finally:
        window.shutdown()


def test_screenshot_main_renders_the_demo(tmp_path: Path, demo_url: str) -> None:
    from station.launcher import main

    out = tmp_path / "main.png"
    assert main(["--db", demo_url, "--lang", "zh_CN", "screenshot", "main", str(out), "--size", "1280x800"]) == 0
    from PySide6.QtGui import QImage

    image = QImage(str(out))
    assert image.width() >= 1280 and image.height() >= 800  # docks may ask for more room
    assert len({image.pixel(x, y) for x in range(0, 1280, 37) for y in range(0, 800, 41)}) > 8  # not blank


def test_run_demo_opens_the_console_signed_in(monkeypatch: pytest.MonkeyPatch, qtbot) -> None:  # type: ignore[no-untyped-def]
    """`make run` path: --demo creates, migrates and seeds the demo database, then opens the window."""
    from station.launcher import main
    from ui.shell import main_window

    shown: list[MainWindow] = []
    real_show = main_window.MainWindow.show

    def remember_show(self: MainWindow) -> None:
        shown.append(self)  # the window `run` opens, not one another test left behind
        real_show(self)

    def fake_exec(_app: QApplication) -> int:
        window = shown[-1]
        qtbot.waitUntil(window.ready, timeout=20000)
        window.shutdown()
        return 0

    monkeypatch.setattr(QApplication, "exec", fake_exec)
    monkeypatch.setattr(main_window.MainWindow, "show", remember_show)
    assert main(["run", "--demo", "--user", "demo-officer", "--password", "demo", "--station", "值班台1"]) == 0
    window = shown[0]
    assert window.console.actor is not None and window.console.actor.username == "demo-officer"
    assert window.central.model.rowCount() > 0  # the demo queue is there
    window.close()
