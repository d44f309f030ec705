"""A console left on the demo database for a night, with the escalation policy's times shortened
to seconds (a site config folder): each incident is at most one notification thread — its latest
step and how many — and signing for it (Space in the centre) signs the whole thread. A fresh demo
is a live duty room: a few deadlines close, one or two breached, not a wall of red."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import support.world as support
from PySide6.QtCore import Qt
from sqlalchemy import func, select

from db.engine import Database
from db.models import Incident, Notification, Timer
from dispatch_console.demo.seed import seed_demo
from dispatch_console.escalation import service as escalation
from dispatch_console.kernel.actor import Actor
from dispatch_console.notifications import service as notifications
from dispatch_console.timers import engine as timers
from dispatch_console.users.accounts import authenticate

isolated_settings = support.isolated_settings
workstations = support.workstations

# the shipped policy with every minute a second (and every hour a minute)
SECONDS_POLICY = """
[defaults]
level = "warning"
repeat = 1
repage_role = "duty_officer"
repage_repeat = 2
steps = [{ after = "0s", role = "shift_leader" }, { after = "15s", role = "director" },
         { after = "30s", role = "district_duty_office" }]

[severity.1]
level = "critical"
ack = "1s"
dispatch = "3s"
arrive = "15s"
resolve = "4m"
repage = "15s"
repage_every = "10s"
repage_repeat = 3
repeat = 3
repeat_every = "5s"
steps = [{ after = "0s", role = "shift_leader" }, { after = "2s", role = "director" },
         { after = "5s", role = "district_duty_office" }]

[severity.2]
level = "critical"
ack = "2s"
dispatch = "5s"
arrive = "30s"
resolve = "8m"
repage = "30s"
repage_every = "20s"
repeat = 2
repeat_every = "10s"
steps = [{ after = "0s", role = "shift_leader" }, { after = "5s", role = "director" },
         { after = "10s", role = "district_duty_office" }]

[severity.3]
level = "warning"
ack = "5s"
dispatch = "15s"
arrive = "1m"
resolve = "24m"
repage = "2m"
repage_every = "1m"

[severity.4]
level = "info"
ack = "15s"
dispatch = "1m"
arrive = "4m"
resolve = "72m"
repage = "8m"
repage_every = "4m"
repeat = 0
steps = [{ after = "0s", role = "shift_leader" }, { after = "1m", role = "director" }]
"""


@pytest.fixture
def seconds_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    site = tmp_path / "site"
    (site / "policies").mkdir(parents=True)
    (site / "policies" / "escalation.toml").write_text(SECONDS_POLICY, encoding="utf-8")
    monkeypatch.setenv("DISPATCH_CONFIG_DIR", str(site))
    escalation.configure()  # read again, from the site folder
    yield
    monkeypatch.delenv("DISPATCH_CONFIG_DIR")
    escalation.configure()


def let_time_pass(db: Database, by: timedelta) -> int:
    """The night goes on: every pending deadline comes ``by`` closer, and the due ones fire."""
    with db.write() as s:
        for timer in s.execute(select(Timer).where(Timer.fired_at.is_(None),
                                                   Timer.cancelled_at.is_(None))).scalars():
            timer.due_at = timer.due_at - by
    return len(timers.fire_due(db, "值班台1", limit=1000))


def test_a_fresh_demo_is_a_live_duty_room(sqlite_db: Database) -> None:
    system = Actor.system("t")
    seed_demo(sqlite_db, system)
    now = sqlite_db.now()
    with sqlite_db.read() as s:
        pending = s.execute(select(Timer.incident_id, Timer.due_at).where(
            Timer.fired_at.is_(None), Timer.cancelled_at.is_(None), Timer.incident_id.is_not(None))).all()
        open_count = s.execute(select(func.count()).select_from(Incident).where(
            Incident.status.in_(("new", "acknowledged", "dispatched", "on_scene")))).scalar_one()
    overdue = {i for i, due in pending if due <= now}
    soon = {i for i, due in pending if now < due <= now + timedelta(minutes=30)}
    assert 1 <= len(overdue) <= 2  # one or two breached …
    assert len(soon) >= 3  # … a few close …
    assert open_count > 10 and len(overdue) + len(soon) < open_count  # … not every incident at once
    fired = timers.fire_due(sqlite_db, "值班台1", limit=1000)
    incidents = {f.incident_id for f in fired if f.incident_id is not None}
    assert len(incidents) <= 2  # the first seconds: the breached incidents only
    # and the casework's few overdue deadlines (a missed visit, a petition window, the campaign), each once
    assert len([f for f in fired if f.incident_id is None]) <= 8


def test_a_night_of_escalations_is_one_thread_per_incident(
        qtbot, sqlite_db: Database, seconds_policy: None, workstations) -> None:  # type: ignore[no-untyped-def]
    db = sqlite_db
    seed_demo(db, Actor.system("t"))
    fired = 0
    for _minute in range(12 * 60 // 2):  # twelve hours, two minutes at a time
        fired += let_time_pass(db, timedelta(minutes=2))
    with db.read() as s:
        per_incident = Counter(s.execute(select(Notification.incident_id).where(
            Notification.incident_id.is_not(None))).scalars().all())
    assert fired > 50 and max(per_incident.values()) > 3  # a night of alarms: incidents escalated again and again

    threads = notifications.list_notifications(db, limit=1000, threads=True)
    by_incident = Counter(r.incident_id for r in threads if r.incident_id is not None)
    assert by_incident and max(by_incident.values()) == 1  # at most one thread per incident
    for row in threads:
        if row.incident_id is None:
            continue
        with db.read() as s:
            latest = s.execute(select(func.max(Notification.id)).where(
                Notification.incident_id == row.incident_id)).scalar_one()
        assert row.id == latest and row.thread_size == per_incident[row.incident_id]  # latest step, count

    # the leader signs for the busiest incident's thread from the keyboard: all of it is signed
    leader = authenticate(db, "demo-leader", "demo", "值班台1")
    ws = workstations(db, leader, window=True, panels=("NotificationCentre",))
    ws.show()
    ws.settle()
    centre = ws.window.panels["notifications"]
    qtbot.waitUntil(lambda: centre.is_ready() and centre.model.rows != [], timeout=15000)
    busiest = per_incident.most_common(1)[0][0]
    assert sum(1 for r in centre.model.rows if r.incident_id == busiest) == 1
    centre.focus_table()
    qtbot.keyClick(centre.table, Qt.Key.Key_Home)
    while centre.current_row() is None or centre.current_row().incident_id != busiest:
        qtbot.keyClick(centre.table, Qt.Key.Key_Down)
    assert str(per_incident[busiest]) in centre.body.toPlainText()
    qtbot.keyClick(centre.table, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: unsigned_in(db, busiest) == 0, timeout=15000)


def unsigned_in(db: Database, incident_id: int) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count()).select_from(Notification).where(
            Notification.incident_id == incident_id, Notification.acknowledged_at.is_(None))).scalar_one())
