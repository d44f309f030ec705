"""A street whose database the test takes away from a console, and the officer's keys at the intake form.

PostgreSQL is taken away by cutting the console's own TCP path to it (the shared server and the
other tests go on); SQLite by taking its folder away, as a share that dropped. ``take_report``
types a report as the officer does: F2, the fields by keyboard, Ctrl+Enter.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import select

from db.engine import Database
from db.migrate import upgrade
from db.models import Incident
from support.outage import SqliteShare, TcpCut
from support.qt_input import type_chinese
from support.world import Workstation
from tests.conftest import create_pg_database, drop_pg_database, require_pg
from ui.incidents.intake_form import IntakeForm


class HeldCut(TcpCut):
    """A :class:`TcpCut` that holds its port while cut: it hangs up on every connection instead
    of closing the port. A loopback port left free is in the ephemeral range, and a console
    reconnecting to it can be given it as its own end (a socket connected to itself), after
    which ``restore()`` could not listen there again."""

    def __init__(self, host: str, port: int) -> None:
        self.refusing = False
        super().__init__(host, port)

    def cut(self) -> None:
        self.refusing = True
        with self._lock:
            doomed, self._sockets = self._sockets, set()
        for s in doomed:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def restore(self) -> None:
        if self._listener is None:
            super().restore()
        self.refusing = False

    def close(self) -> None:
        super().cut()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _addr = listener.accept()
            except OSError:
                return  # closed
            if self.refusing:
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()


@dataclass
class Street:
    """The street's database (for the test's own checks) and the path the console takes to it."""

    db: Database
    console_db: Database
    cut: Callable[..., None]  # given the consoles' Database objects (SQLite: their open files go too)
    restore: Callable[[], None]
    backend: str = "sqlite"


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
    relay: HeldCut | None = None
    try:
        db = Database(url)
        upgrade(db)
        relay = HeldCut(db.url.host or "127.0.0.1", db.url.port or 5432)
        yield Street(db, Database(relay.url(db.url)), lambda *_consoles: relay.cut(), relay.restore, "pg")
        db.dispose()
    finally:
        if relay is not None:
            relay.close()
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
