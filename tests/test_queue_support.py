"""The live queue's service side, and the small world the queue's GUI tests share.

``make_world`` imports one community with two grids and creates officers; ``Workstation``
builds a console (its own Database object, change feed, runner) on the same database, as a
second machine would. Both backends through the ``db`` fixture.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QSettings, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from db.engine import Database
from db.models import ChecklistItem, Timer
from dispatch_console import incidents
from dispatch_console.actor import Actor
from dispatch_console.console import ConsoleContext
from dispatch_console.incident_draft import IncidentDraft
from dispatch_console.incident_queue import IncidentRow, QueueQuery
from dispatch_console.jurisdiction import import_geojson
from dispatch_console.queue_support import (
    load_page,
    next_deadlines,
    pending_alerts,
    queue_position,
    refresh_rows,
)
from dispatch_console.users import actor_for, create_user

# -- the shared world -------------------------------------------------------------------------


def square(lon: float, lat: float, size: float) -> dict[str, Any]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def feature(name: str, code: str, geometry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"name": name, "code": code}, "geometry": geometry}


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
def isolated_settings(tmp_path: Path) -> Iterator[None]:
    """QSettings in a temporary folder: tests never touch the officer's own layout or theme."""
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.NativeFormat, scope, str(tmp_path / "settings"))
        QSettings.setPath(QSettings.Format.IniFormat, scope, str(tmp_path / "settings"))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    yield


class Workstation:
    """A console on its own connection to the shared database (a second machine in the room)."""

    def __init__(self, qtbot: Any, db: Database, actor: Actor, *, window: bool = False,
                 panels: tuple[str, ...] = ("ui.incident_detail:IncidentDetailPanel",),
                 start_feed: bool = True) -> None:
        from ui import main_window

        self.db = Database(db.url)
        self.console = ConsoleContext(self.db, actor.station)
        self.console.actor = actor
        self.window: Any = None
        if window:
            saved = list(main_window.PANELS)
            main_window.PANELS[:] = list(panels)
            try:
                self.window = main_window.MainWindow(self.console, start_feed=start_feed)
            finally:
                main_window.PANELS[:] = saved
            self.ui = self.window.ui
            self.queue = self.window.central
            self.feed = self.window.feed
        else:
            from ui.background import BackgroundRunner
            from ui.context import IncidentSelection, Session, UiContext
            from ui.feed import QtChangeFeed
            from ui.queue_view import QueueView

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


# -- the service side -------------------------------------------------------------------------


def test_refresh_rows_splits_by_the_sql_filter(db: Database) -> None:
    w = make_world(db)
    fire = w.record("仓库冒烟", category="fire", severity=1)
    dispute = w.record("邻里噪音纠纷", category="dispute", severity=4)
    query = QueueQuery(open_only=True, categories=("fire",))
    refresh = refresh_rows(db, query, [fire.id, dispute.id, 999_999])
    assert set(refresh.matching) == {fire.id}
    assert set(refresh.other) == {dispute.id}
    assert refresh.missing == {999_999}
    # the same search the queue runs: description text, case-insensitively for ASCII
    assert set(refresh_rows(db, QueueQuery(text="噪音"), [fire.id, dispute.id]).matching) == {dispute.id}
    incidents.acknowledge(db, w.officers[0], fire.id, fire.version)
    incidents.resolve(db, w.officers[0], fire.id, fire.version + 1)
    assert set(refresh_rows(db, query, [fire.id]).other) == {fire.id}  # resolved: not in the open queue


def test_pending_alerts_are_new_serious_incidents_until_acknowledged(db: Database) -> None:
    w = make_world(db)
    serious = w.record("化工厂爆炸", severity=1, category="work_safety")
    w.record("路灯不亮", severity=4, category="city_management")
    major = w.record("群体聚集", severity=2, category="mass_gathering")
    assert [r.id for r in pending_alerts(db)] == [serious.id, major.id]
    incidents.acknowledge(db, w.officers[1], serious.id, serious.version)
    assert [r.id for r in pending_alerts(db)] == [major.id]


def test_queue_position_follows_the_sql_order(db: Database) -> None:
    w = make_world(db)
    low = w.record("低", severity=4)
    high = w.record("高", severity=1)
    mid = w.record("中", severity=3)
    query = QueueQuery(open_only=True)
    assert [r.id for r in load_page(db, query).page.rows] == [high.id, mid.id, low.id]
    assert queue_position(db, query, low.number) == (low.id, 2)
    assert queue_position(db, query, high.id) == (high.id, 0)
    assert queue_position(db, QueueQuery(severities=(1,)), low.number) == (low.id, None)


def test_next_deadline_is_the_earliest_of_timers_and_checklist_steps(db: Database) -> None:
    w = make_world(db)
    row = w.record("需要时限的事件", severity=2)
    now = db.now()
    before = next_deadlines(db, [row.id]).get(row.id)
    first = min(before.due_at, now + timedelta(hours=1)) if before else now + timedelta(hours=1)
    with db.write() as s:
        s.add(ChecklistItem(incident_id=row.id, template_code="t", template_version="1", step_key="k",
                            position=99, text="电话首报", due_at=first - timedelta(minutes=2),
                            created_at=now))
    deadline = next_deadlines(db, [row.id])[row.id]
    assert deadline.kind == "checklist" and deadline.due_at == first - timedelta(minutes=2)
    with db.write() as s:
        s.add(Timer(kind="ack", incident_id=row.id, due_at=first - timedelta(minutes=4), created_at=now,
                    step=0))
    deadline = next_deadlines(db, [row.id])[row.id]
    assert deadline.kind == "ack" and deadline.due_at == first - timedelta(minutes=4)
    load = load_page(db, QueueQuery(open_only=True))
    assert load.deadlines[row.id] == deadline
