"""The small world the queue's GUI tests share.

``make_world`` imports one community with two grids and creates officers; ``Workstation``
builds a console (its own Database object, change feed, runner) on the same database, as a
second machine would. Both backends through the ``db`` fixture.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QSettings, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from db.engine import Database
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.incidents.queue import IncidentRow
from dispatch_console.jurisdiction import import_geojson
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.console import ConsoleContext
from dispatch_console.users.accounts import actor_for, create_user

# -- the shared world -------------------------------------------------------------------------


def square(lon: float, lat: float, size: float) -> dict[str, Any]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def feature(name: str, code: str, geometry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"name": name, "code": code}, "geometry": geometry}


def some_panels(*names: str) -> Any:
    """The queue and only the named docks of the console's panels (by class name, or a short name)."""
    from station import composition

    everything = composition.panels()
    short = {"detail": "IncidentDetailPanel", "drills": "DrillPanel", "notifications": "NotificationCentre"}
    wanted = {short.get(n, n) for n in names}
    docks = tuple(d for d in everything.docks if d.__name__ in wanted)
    assert len(docks) == len(wanted), f"unknown panels: {wanted - {d.__name__ for d in docks}}"
    return type(everything)(central=everything.central, docks=docks)


@dataclass
class World:
    db: Database
    officers: list[Actor]
    grid_ids: dict[str, int]
    numbers: dict[str, IncidentRow] = field(default_factory=dict)

    def record(self, description: str, *, severity: int = 3, category: str = "dispute", grid: str | None = "G1",
               phone: str | None = None, address: str | None = None, by: int = 0, drill: bool = False
               ) -> IncidentRow:
        draft = IncidentDraft(category=category, severity=severity, source="hotline_12345",
                              description=description, grid=grid, reporter_phone=phone, address=address,
                              is_drill=drill)
        row = incidents.create_incident(self.db, self.officers[by], draft).row
        self.numbers[description] = row
        return row


def make_world(db: Database, officers: int = 2) -> World:
    system = Actor.system("test")
    import_geojson(db, system, {"type": "FeatureCollection",
                                "features": [feature("测试社区", "C1", square(113.90, 22.50, 0.02))]},
                   "community")
    import_geojson(db, system, {"type": "FeatureCollection", "features": [
        feature("测试社区第1网格", "G1", square(113.90, 22.50, 0.01)),
        feature("测试社区第2网格", "G2", square(113.91, 22.50, 0.01)),
    ]}, "grid", parent_name="测试社区")
    from dispatch_console import jurisdiction

    grids = {g.code: g.id for c in jurisdiction.tree(db) for g in c.grids}
    actors = []
    for i in range(officers):
        name = f"officer{i + 1}-{uuid.uuid4().hex[:4]}"
        with db.write() as s:
            user = create_user(s, system, username=name, password="pw", role="duty_officer",
                               display_name=f"值班员{i + 1}")
            actors.append(actor_for(user, f"值班台{i + 1}"))
    return World(db, actors, grids)


@pytest.fixture
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """QSettings and the data folder (the offline journal) in a temporary folder: tests never
    touch the officer's own layout or theme, nor each other's offline reports."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.NativeFormat, scope, str(tmp_path / "settings"))
        QSettings.setPath(QSettings.Format.IniFormat, scope, str(tmp_path / "settings"))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    yield


class Workstation:
    """A console on its own connection to the shared database (a second machine in the room)."""

    def __init__(self, qtbot: Any, db: Database, actor: Actor, *, window: bool = False,
                 panels: tuple[str, ...] = ("detail",),
                 start_feed: bool = True) -> None:
        from ui.shell import main_window

        self.db = Database(db.url)
        self.console = ConsoleContext(self.db, actor.station)
        self.console.actor = actor
        self.window: Any = None
        if window:
            self.window = main_window.MainWindow(self.console, panels=some_panels(*panels),
                                                 start_feed=start_feed)
            self.ui = self.window.ui
            self.queue = self.window.central
            self.feed = self.window.feed
        else:
            from ui.incidents.queue_view import QueueView
            from ui.shell.background import BackgroundRunner
            from ui.shell.context import IncidentSelection, Session, UiContext
            from ui.shell.feed import QtChangeFeed

            self.host = QWidget()
            runner = BackgroundRunner(self.host)
            self.feed = QtChangeFeed(self.console, self.host)
            self.ui = UiContext(console=self.console, runner=runner, feed=self.feed,
                                selection=IncidentSelection(self.host), session=Session(self.console, self.host))
            self.queue = QueueView(self.ui, self.host)
            if start_feed:
                self.feed.start()
        self.qtbot = qtbot

    def show(self) -> None:
        target = self.window or self.host
        target.resize(1400, 800)
        target.show()
        self.qtbot.waitExposed(target)
        target.activateWindow()
        self.qtbot.waitUntil(lambda: QApplication.activeWindow() is target, timeout=5000)

    def settle(self, timeout: int = 15000) -> None:
        self.qtbot.waitUntil(self.queue.is_ready, timeout=timeout)

    def numbers(self) -> list[str]:
        return [self.queue.model.cached(i).number for i in self.queue.model.ids]

    def close(self) -> None:
        if getattr(self, "closed", False):  # a test closed it (a restart): the fixture's close is a no-op
            return
        self.closed = True
        if self.window is not None:
            self.window.shutdown()
        else:
            self.feed.stop()
            self.queue.shutdown()
        top = self.window or self.host
        for timer in top.findChildren(QTimer):
            timer.stop()
        # results of work still in flight are queued to the GUI thread: deliver them while the
        # widgets that asked for them still exist, then delete the window for good
        self.qtbot.waitUntil(lambda: self.ui.runner.wait_idle(100) and self.ui.runner.pending == 0,
                             timeout=10000)
        top.hide()
        top.deleteLater()
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        self.db.dispose()


@pytest.fixture
def workstations(qtbot: Any, isolated_settings: None) -> Iterator[Callable[..., Workstation]]:
    made: list[Workstation] = []

    def make(db: Database, actor: Actor, **kwargs: Any) -> Workstation:
        ws = Workstation(qtbot, db, actor, **kwargs)
        made.append(ws)
        return ws

    yield make
    for ws in made:
        ws.close()
