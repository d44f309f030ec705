"""Offline intake at the console: the database goes away, the officer keeps taking reports by
keyboard, and each is stored exactly once, in order, when it comes back — also after a restart.

PostgreSQL is taken away by cutting the console's own TCP path to it (the shared server and the
other tests go on); SQLite by taking its folder away, as a share that dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import support.world as support
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import select
from support.outage import SqliteShare, TcpCut
from support.qt_input import type_chinese
from support.world import Workstation, make_world

from db.engine import Database
from db.migrate import upgrade
from db.models import Incident
from tests.conftest import create_pg_database, drop_pg_database, require_pg
from ui.incidents.intake_form import IntakeForm

isolated_settings = support.isolated_settings
workstations = support.workstations


@dataclass
class Street:
    """The street's database (for the test's own checks) and the path the console takes to it."""

    db: Database
    console_db: Database
    cut: Callable[..., None]  # given the consoles' Database objects (SQLite: their open files go too)
    restore: Callable[[], None]


@pytest.fixture(params=["sqlite", "pg"])
def street(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Street]:
    if request.param == "sqlite":
        share = SqliteShare(tmp_path)
        db = Database(share.url)
        upgrade(db)
        yield Street(db, Database(share.url), lambda *consoles: share.cut(db, *consoles), share.restore)
        db.dispose()
        return
    require_pg()
    url = create_pg_database()
    relay: TcpCut | None = None
    try:
        db = Database(url)
        upgrade(db)
        relay = TcpCut(db.url.host or "127.0.0.1", db.url.port or 5432)
        yield Street(db, Database(relay.url(db.url)), lambda *_consoles: relay.cut(), relay.restore)
        db.dispose()
    finally:
        if relay is not None:
            relay.cut()
        drop_pg_database(url)


def focused() -> Any:
    widget = QApplication.focusWidget()
    assert widget is not None
    return widget


def type_text(qtbot: Any, text: str) -> None:
    """ASCII as key presses, Chinese as the input method commits it, into the focused field."""
    for ascii_run, chinese_run in re.findall(r"([\x00-\x7f]*)([^\x00-\x7f]*)", text):
        if ascii_run:
            qtbot.keyClicks(focused(), ascii_run)
        if chinese_run:
            type_chinese(focused(), chinese_run)


def take_report(qtbot: Any, ws: Workstation, description: str) -> None:
    """F2, the fields by keyboard (grid by its code: the form could not load the grid list), Ctrl+Enter."""
    ws.window.activateWindow()  # back at the console after the last form closed
    qtbot.waitUntil(lambda: QApplication.activeWindow() is ws.window, timeout=5000)
    qtbot.keyClick(ws.window, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: isinstance(getattr(ws.queue, "intake", None), IntakeForm)
                    and ws.queue.intake.isVisible(), timeout=5000)
    form: IntakeForm = ws.queue.intake
    qtbot.waitUntil(lambda: form.pending == 0, timeout=10000)
    form.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is form.category, timeout=5000)
    for text in ("fire", "2", "12345", "G2", "桃源街道留仙大道1号"):
        type_text(qtbot, text)
        qtbot.keyClick(focused(), Qt.Key.Key_Tab)
    for _i in range(5):  # longitude, latitude, reporter name, phone, people involved
        qtbot.keyClick(focused(), Qt.Key.Key_Tab)
    assert focused() is form.description
    type_text(qtbot, description)
    qtbot.keyClick(focused(), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not form.isVisible(), timeout=15000)


def stored(db: Database) -> list[tuple[str, str, str | None]]:
    with db.read() as s:
        return [(d, n, r) for d, n, r in s.execute(
            select(Incident.description, Incident.number, Incident.request_id).order_by(Incident.id)).all()]


def wait_for_the_street(qtbot: Any, street: Street, reports: list[str], ws: Workstation) -> None:
    qtbot.waitUntil(lambda: ws.queue.offline.journal.count == 0 and not ws.queue.offline.replaying,
                    timeout=60000)
    rows = stored(street.db)
    assert [r[0] for r in rows] == reports  # each once, in the order taken
    assert [r[1] for r in rows] == sorted(r[1] for r in rows)
    assert len({r[2] for r in rows}) == len(reports) and all(r[2] for r in rows)


def test_reports_taken_while_the_database_is_away_are_stored_once_when_it_is_back(
        qtbot, street: Street, workstations) -> None:  # type: ignore[no-untyped-def]
    world = make_world(street.db, officers=1)
    ws = workstations(street.console_db, world.officers[0], window=True)
    ws.show()
    ws.settle()
    offline = ws.queue.offline
    assert offline.isHidden()  # nothing to say while the database answers

    street.cut(ws.db)
    reports = [f"离线接报 {i}：厂房冒烟" for i in range(1, 6)]
    for n, text in enumerate(reports, start=1):
        take_report(qtbot, ws, text)
        qtbot.waitUntil(lambda n=n: offline.journal.count == n, timeout=10000)
        assert offline.banner.text() == f"Offline: {n} reports waiting to be recorded"
        assert offline.banner.isVisible() and offline.table.rowCount() == n
        assert offline.table.item(n - 1, 4).text() == text
    assert "kept on this workstation" in ws.queue.message.text()

    street.restore()
    wait_for_the_street(qtbot, street, reports, ws)
    qtbot.waitUntil(lambda: offline.banner.isHidden(), timeout=15000)
    assert offline.told_label.text().startswith("The database is back: 5 offline reports recorded")
    numbers = [r[1] for r in stored(street.db)]
    assert all(n in offline.told_label.text() for n in numbers)
    # the queue shows them as incidents now
    qtbot.waitUntil(lambda: set(numbers) <= set(ws.numbers()), timeout=15000)


def test_a_console_closed_while_offline_replays_its_journal_at_the_next_start(
        qtbot, street: Street, workstations) -> None:  # type: ignore[no-untyped-def]
    world = make_world(street.db, officers=1)
    first = workstations(street.console_db, world.officers[0], window=True)
    first.show()
    first.settle()
    street.cut(first.db)
    reports = ["关机前接报 1", "关机前接报 2"]
    for text in reports:
        take_report(qtbot, first, text)
    qtbot.waitUntil(lambda: first.queue.offline.journal.count == 2, timeout=10000)
    first.close()  # the console is shut while the database is still away
    street.restore()

    again = workstations(street.console_db, world.officers[0], window=True)
    again.show()
    wait_for_the_street(qtbot, street, reports, again)
    assert again.queue.offline.banner.isHidden()
