"""The notification centre and the escalation banner across workstations, and the queue's countdown
colours.

Each console here is a main window on its own connection to the shared database that runs no
timers itself: escalations fire on another connection (as the agent or another workstation would),
and every console learns of them only through the change feed. Both backends through ``db``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import support.queue_rows as queue_rows
import support.world as support
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import select, update

from db.engine import Database
from db.models import Notification, Timer
from dispatch_console.escalation import service as escalation
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.console import ConsoleContext
from dispatch_console.notifications import outbox
from dispatch_console.notifications import service as notifications
from dispatch_console.timers import engine as timers
from dispatch_console.timers.engine import Deadline
from ui.incidents.queue_model import Column as QueueColumn
from ui.notifications.centre import Column, NotificationCentre
from ui.shell import theme

isolated_settings = support.isolated_settings


@pytest.fixture(autouse=True)
def shipped_policies() -> Iterator[None]:
    escalation.configure(Resources())
    outbox.configure(Resources())
    yield
    escalation.configure()
    outbox.configure()


class Console(support.Workstation):
    """A main window with the notification centre, signed in as ``actor``; it fires no timers."""

    def __init__(self, qtbot: Any, db: Database, actor: Actor) -> None:
        from ui.shell import main_window

        self.qtbot = qtbot
        self.db = Database(db.url)
        self.console = ConsoleContext(self.db, actor.station)
        self.console.actor = actor
        self.window = main_window.MainWindow(self.console, panels=support.some_panels("notifications"),
                                             run_timers=False)
        self.ui = self.window.ui
        self.queue = self.window.central
        self.feed = self.window.feed
        self.centre: NotificationCentre = self.window.panels["notifications"]
        self.window.show()
        qtbot.waitExposed(self.window)
        qtbot.waitUntil(self.window.ready, timeout=15000)

    @property
    def banner_up(self) -> bool:
        return self.centre.banner is not None and not self.centre.banner.isHidden()

    def shows(self, notification_id: int, *, acknowledged: bool | None = None) -> bool:
        """Once this console has read the notification (and the banner's list with it)."""
        place = self.centre.model.row_of(notification_id)
        if place is None or not self.window.ready():
            return False
        row = self.centre.model.rows[place]
        return acknowledged is None or (row.acknowledged_at is not None) == acknowledged

    def row_texts(self, notification_id: int) -> dict[Column, str]:
        place = self.centre.model.row_of(notification_id)
        assert place is not None
        return {c: self.centre.model.index(place, c).data() for c in Column}


@pytest.fixture
def consoles(qtbot: Any, isolated_settings: None) -> Iterator[Callable[[Database, Actor], Console]]:
    made: list[Console] = []

    def make(db: Database, actor: Actor) -> Console:
        made.append(Console(qtbot, db, actor))
        return made[-1]

    yield make
    for c in made:
        c.close()


def _overdue_incident(db: Database, officer: Actor) -> incidents.IncidentRow:
    """A severity-1 fire nobody acknowledged; its acknowledgement target is already breached."""
    draft = IncidentDraft(category="fire", severity=1, source="hotline_12345", description="厂房冒烟，有人员被困",
                          address="桃源街道 平山工业区 7 号")
    row = incidents.create_incident(db, officer, draft).row
    with db.write() as s:
        for t in s.execute(select(Timer).where(Timer.incident_id == row.id, Timer.kind == "ack")).scalars():
            t.due_at = t.due_at - timedelta(hours=1)
    return row


def _notification_of(db: Database, incident_id: int) -> notifications.NotificationRow:
    return next(n for n in notifications.list_notifications(db) if n.incident_id == incident_id)


def test_an_escalation_fired_elsewhere_reaches_the_role_and_is_signed_for_at_another_workstation(
        qtbot: Any, db: Database, consoles: Callable[[Database, Actor], Console],
        make_actor: Callable[..., Actor]) -> None:
    officer = make_actor("duty_officer", station="值班台1")
    first = consoles(db, make_actor("shift_leader", "leader-a", station="值班台2"))
    second = consoles(db, make_actor("shift_leader", "leader-b", station="值班台3"))
    desk = consoles(db, officer)
    fire = _overdue_incident(db, officer)

    # the deadline fires on another connection (the agent); the consoles only read the database
    other = Database(db.url)
    try:
        assert [f.kind for f in timers.fire_due(other, "agent")] == ["ack"]
    finally:
        other.dispose()
    note = _notification_of(db, fire.id)
    assert note.target_role == "shift_leader" and note.level == "critical"

    for c in (first, second, desk):
        qtbot.waitUntil(lambda c=c: c.shows(note.id), timeout=15000)
    texts = first.row_texts(note.id)
    assert texts[Column.INCIDENT] == fire.number
    assert texts[Column.TITLE] == f"{fire.number} not acknowledged in time"
    assert (texts[Column.LEVEL], texts[Column.KIND], texts[Column.TARGET], texts[Column.SIGNED]) == (
        "Urgent", "Escalation", "Shift leader", "not yet")
    # the time reads in Beijing time (UTC+8)
    assert texts[Column.TIME] == (note.at + timedelta(hours=8)).strftime("%m-%d %H:%M:%S")

    # both shift leaders get the banner and the sound; the duty officer sees it listed, no banner
    for c in (first, second):
        assert c.banner_up and fire.number in c.centre.banner.text
        assert c.centre.watch.sound.played == 1
        assert c.centre.windowTitle() == "Notification centre (1)"
    assert not desk.banner_up and desk.centre.watch.sound.played == 0

    # the second leader signs for it with the keyboard; the banner goes at the first console too
    table = second.centre.table
    assert second.centre.select_id(note.id)
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: first.shows(note.id, acknowledged=True), timeout=15000)
    for c in (first, second):
        qtbot.waitUntil(lambda c=c: not c.banner_up and c.window.ready(), timeout=15000)
    assert first.row_texts(note.id)[Column.SIGNED].startswith("leader-b, ")
    assert first.centre.windowTitle() == "Notification centre"
    assert "Signed for" in second.centre.message.text()
    assert first.centre.watch.sound.played == 1  # an acknowledgement never rings

    # signing again at the first console says who was first, plainly
    assert first.centre.select_id(note.id)
    assert not first.centre.sign_button.isEnabled()
    first.centre.acknowledge(first.centre.current_row())
    assert "leader-b" in first.centre.message.text()

    # a double-click on the notification selects its incident in the whole console
    index = first.centre.model.index(first.centre.model.row_of(note.id), int(Column.TITLE))
    first.centre.table.scrollTo(index)
    rect = first.centre.table.visualRect(index)
    qtbot.mouseClick(first.centre.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert first.ui.selection.current == 0  # a single click only selects the notification
    qtbot.mouseDClick(first.centre.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert first.ui.selection.current == fire.id


def test_a_duty_officer_gets_no_banner_for_a_director_notification(
        qtbot: Any, db: Database, consoles: Callable[[Database, Actor], Console],
        make_actor: Callable[..., Actor]) -> None:
    desk = consoles(db, make_actor("duty_officer", station="值班台1"))
    director_actor = make_actor("director", station="主任室")
    director = consoles(db, director_actor)
    other = Database(db.url)
    try:
        with other.write() as s:
            for_director = notifications.notify(
                s, kind="escalation", title="交接班超时未确认", body="<b>not markup</b>", level="warning",
                target_role="director", external=False).id
            drill = notifications.notify(
                s, kind="checklist_overdue", title="演练步骤超时", body=None, level="critical",
                target_role="shift_leader", is_drill=True, external=False).id
    finally:
        other.dispose()

    for c in (desk, director):
        qtbot.waitUntil(lambda c=c: c.shows(for_director) and c.shows(drill), timeout=15000)
    assert not desk.banner_up and desk.centre.watch.rows == () and desk.centre.watch.sound.played == 0
    # the director: the director's notification, and every critical one (the drill's, marked as such)
    assert director.banner_up and {r.id for r in director.centre.watch.rows} == {for_director, drill}
    assert director.centre.watch.sound.played == 1
    assert director.centre.banner.text.startswith("Urgent: DRILL: 演练步骤超时")
    assert director.row_texts(drill)[Column.TITLE] == "DRILL: 演练步骤超时"
    assert director.row_texts(drill)[Column.KIND] == "Overdue checklist step"

    # the body is shown as plain text
    assert desk.centre.select_id(for_director)
    assert "<b>not markup</b>" in desk.centre.body.toPlainText()
    place = desk.centre.model.row_of(for_director)
    tip = desk.centre.model.index(place, int(Column.TITLE)).data(Qt.ItemDataRole.ToolTipRole)
    assert "&lt;b&gt;not markup&lt;/b&gt;" in tip and "<b>" not in tip

    # "for my role": the duty officer's list empties; the director's keeps both
    desk.centre.mine.setChecked(True)
    director.centre.mine.setChecked(True)
    for c in (desk, director):
        qtbot.waitUntil(c.window.ready, timeout=15000)
    assert desk.centre.model.rows == []
    assert {r.id for r in director.centre.model.rows} == {for_director, drill}

    # "not yet signed for": the director signs for the drill notification; it leaves that list
    director.centre.unsigned_only.setChecked(True)
    director.centre.acknowledge(next(r for r in director.centre.model.rows if r.id == drill))
    qtbot.waitUntil(lambda: director.window.ready() and director.centre.model.row_of(drill) is None, timeout=15000)
    assert [r.id for r in director.centre.watch.rows] == [for_director]

    # the director signs in at the duty officer's desk: the banner is the director's there too,
    # without ringing again for what was already there
    desk.window.set_actor(Actor(director_actor.user_id, director_actor.username, "director", "值班台1"))
    qtbot.waitUntil(lambda: desk.window.ready() and desk.banner_up, timeout=15000)
    assert [r.id for r in desk.centre.watch.rows] == [for_director]
    assert desk.centre.watch.sound.played == 0


def test_signing_for_a_changed_notification_says_who_changed_it(
        qtbot: Any, db: Database, consoles: Callable[[Database, Actor], Console],
        make_actor: Callable[..., Actor]) -> None:
    leader = consoles(db, make_actor("shift_leader", station="值班台2"))
    with db.write() as s:
        note_id = notifications.notify(s, kind="reminder", title="请核对续报", body=None, level="info",
                                       target_role="shift_leader", external=False).id
    qtbot.waitUntil(lambda: leader.shows(note_id), timeout=15000)
    with db.write() as s:  # changed behind this console's back (no change-feed entry)
        s.execute(update(Notification).where(Notification.id == note_id).values(version=Notification.version + 1))
    assert leader.centre.select_id(note_id)
    leader.centre.table.setFocus()
    qtbot.keyClick(leader.centre.table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "reload and try again" in leader.centre.message.text(), timeout=15000)
    assert notifications.get_notification(db, note_id).acknowledged_at is None
    qtbot.waitUntil(leader.window.ready, timeout=15000)
    assert leader.banner_up  # still nobody has signed for it

    # re-read, it is signed for from the banner itself
    qtbot.mouseClick(leader.centre.banner.ack_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not leader.banner_up, timeout=15000)
    assert notifications.get_notification(db, note_id).acknowledged_by == leader.console.actor.label


def test_the_queue_countdown_turns_amber_at_half_time_and_red_when_breached(qtbot: Any) -> None:
    assert QApplication.instance() is not None
    now = queue_rows.T0 + timedelta(hours=1)  # the database time of the loaded page
    ten = timedelta(minutes=10)
    deadlines = {
        1: Deadline("ack", now + timedelta(minutes=8), now + timedelta(minutes=8) - ten),  # 8 of 10 left
        2: Deadline("dispatch", now + timedelta(minutes=4), now + timedelta(minutes=4) - ten),  # 4 of 10
        3: Deadline("arrive", now - timedelta(minutes=3), now - timedelta(minutes=3) - ten),  # breached
    }
    model = queue_rows.loaded([])
    generation = model.begin_reload()
    assert model.reset_to(generation, queue_rows.page([queue_rows.row(i) for i in (1, 2, 3)], 3, deadlines))

    def cell(incident_id: int, role: Qt.ItemDataRole) -> Any:
        return model.index(model.row_of(incident_id), int(QueueColumn.DEADLINE)).data(role)

    colours = {i: cell(i, Qt.ItemDataRole.ForegroundRole) for i in deadlines}
    assert colours == {1: theme.deadline_colour("ok"), 2: theme.deadline_colour("amber"),
                       3: theme.deadline_colour("red")}
    assert cell(1, Qt.ItemDataRole.DisplayRole) in ("8m", "7m")
    assert cell(3, Qt.ItemDataRole.DisplayRole).startswith("overdue 3m")
