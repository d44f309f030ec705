"""One console per station and user on a machine: the second start brings the first forward."""

from __future__ import annotations

import uuid

import pytest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from station.launcher import main
from ui.shell.single_instance import SingleInstance, bring_forward, server_name

pytestmark = pytest.mark.gui


def test_the_second_console_of_a_station_asks_the_first_to_come_forward(qtbot: QtBot) -> None:
    station = f"值班台-{uuid.uuid4().hex[:6]}"
    first = SingleInstance(station, "zhang")
    try:
        assert first.claim() is True
        asked: list[bool] = []
        first.activated.connect(lambda: asked.append(True))
        assert SingleInstance(station, "zhang").claim() is False
        qtbot.waitUntil(lambda: asked == [True])
        other = SingleInstance(station, "li")  # another officer's console on the same PC is its own
        assert other.claim() is True
        other.release()
    finally:
        first.release()
    again = SingleInstance(station, "zhang")  # the first has closed: the next start is first again
    assert again.claim() is True
    again.release()


def test_a_second_run_exits_without_opening_anything(qtbot: QtBot, capsys: pytest.CaptureFixture[str]) -> None:
    station = f"值班台-{uuid.uuid4().hex[:6]}"
    window = QWidget()
    qtbot.addWidget(window)
    window.showMinimized()
    first = SingleInstance(station, None)
    assert first.claim()
    first.activated.connect(lambda: bring_forward(window))
    try:
        # no database is opened, no sign-in shown: the first console is asked and this start ends
        assert main(["--station", station, "--db", "sqlite:////nonexistent/dir/x.sqlite3", "run"]) == 0
        assert station in capsys.readouterr().err
        qtbot.waitUntil(lambda: not window.isMinimized())
    finally:
        first.release()


def test_names_are_safe_for_pipes_and_socket_files() -> None:
    name = server_name("总值班室 1号台/东", "zhang san")
    assert name.startswith("dispatch-console-") and name.replace("-", "").isalnum() and name.isascii()
    assert name == server_name("总值班室 1号台/东", "zhang san") != server_name("总值班室 1号台/东", None)
