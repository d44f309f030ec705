"""The console while the database is away: the last known queue read-only with its age, the
actions that need the database disabled with the reason, notes and reports kept on the station
and stored exactly once, in order, when it is back — after a minute away, and after the console
was killed while offline and started again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import support.offline_street as offline_street
import support.world as support
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import select
from support.offline_street import Street, focused, stored, take_report, type_text
from support.world import Workstation, make_world

from db.engine import Database
from db.models import Incident, IncidentEvent
from dispatch_console.protocols import answers_of
from ui.incidents import actions as incident_actions
from ui.incidents.detail import IncidentDetailPanel
from ui.incidents.intake_form import IntakeForm
from ui.incidents.offline import NEEDS_DATABASE

isolated_settings = support.isolated_settings
workstations = support.workstations
street = offline_street.street

ROOT = Path(__file__).resolve().parents[2]


def notes_on(db: Database, number: str) -> list[tuple[str | None, str | None]]:
    with db.read() as s:
        incident_id = s.execute(select(Incident.id).where(Incident.number == number)).scalar_one()
        return [(e.note, (e.data or {}).get("request_id")) for e in s.execute(
            select(IncidentEvent).where(IncidentEvent.incident_id == incident_id, IncidentEvent.kind == "note")
            .order_by(IncidentEvent.id)).scalars()]


def detail_of(ws: Workstation) -> IncidentDetailPanel:
    panel = ws.window.findChild(IncidentDetailPanel)
    assert isinstance(panel, IncidentDetailPanel)
    return panel


def select_incident(qtbot: Any, ws: Workstation, incident_id: int) -> IncidentDetailPanel:
    detail = detail_of(ws)
    ws.queue.select_id(incident_id)
    qtbot.waitUntil(lambda: detail.detail is not None and detail.detail.row.id == incident_id, timeout=10000)
    ws.queue.focus_table()
    return detail


def note_texts(detail: IncidentDetailPanel) -> list[str]:
    return [detail.notes.topLevelItem(i).text(2) for i in range(detail.notes.topLevelItemCount())]


def wait_until_offline(qtbot: Any, ws: Workstation) -> None:
    """The banner says so within 5 s of the database going away (the feed notices, or a write)."""
    qtbot.waitUntil(lambda: ws.queue.offline.banner.isVisible(), timeout=5000)


def test_the_last_known_queue_stays_read_only_and_actions_wait_for_the_database(
        qtbot, street: Street, workstations, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    world = make_world(street.db, officers=1)
    known = world.record("停电前登记的纠纷", severity=2)
    other = world.record("另一起事件", severity=3)
    ws = workstations(street.console_db, world.officers[0], window=True)
    ws.show()
    ws.settle()
    qtbot.waitUntil(lambda: {known.number, other.number} <= set(ws.numbers()), timeout=10000)
    detail = select_incident(qtbot, ws, known.id)
    queue_actions, detail_actions = ws.queue.actions_.actions, detail.actions_.actions
    assert queue_actions["acknowledge"].isEnabled() and detail_actions["acknowledge"].isEnabled()
    assert ws.queue.stale.isHidden() and not ws.queue.model.read_only

    street.cut(ws.db)
    wait_until_offline(qtbot, ws)
    offline = ws.queue.offline
    assert offline.banner.text() == "Offline: the database is unreachable; new reports are kept on this workstation"
    # the last known queue: its rows stay, marked as not live, with the time they are from
    assert ws.queue.stale.isVisible() and ws.queue.model.read_only
    assert ws.queue.stale.text().startswith("Offline · data as of ") and "min ago)" in ws.queue.stale.text()
    assert {known.number, other.number} <= set(ws.numbers())
    # what needs the database's answer is disabled, and says why; a note can wait
    for acts in (queue_actions, detail_actions):
        for name in ("acknowledge", "dispatch", "merge"):
            assert not acts[name].isEnabled() and acts[name].toolTip() == NEEDS_DATABASE
        assert acts["note"].isEnabled()
    assert detail.buttons["acknowledge"].toolTip() == NEEDS_DATABASE

    monkeypatch.setattr(incident_actions, "ask_note", lambda *_a, **_k: "离线时补充：已通知物业")
    qtbot.keyClick(ws.queue.table, Qt.Key.Key_N)
    qtbot.waitUntil(lambda: offline.banner.text() == "Offline: 1 notes waiting to be added", timeout=10000)
    assert offline.journal.notes_count == 1
    assert "kept on this workstation" in ws.queue.message.text()
    qtbot.waitUntil(lambda: "Waiting to be added: 离线时补充：已通知物业" in note_texts(detail), timeout=5000)

    street.restore()
    qtbot.waitUntil(lambda: offline.journal.pending == 0 and not offline.replaying, timeout=30000)
    qtbot.waitUntil(lambda: ws.queue.stale.isHidden() and queue_actions["acknowledge"].isEnabled(), timeout=15000)
    assert not ws.queue.model.read_only and detail_actions["acknowledge"].isEnabled()
    assert queue_actions["acknowledge"].toolTip() != NEEDS_DATABASE
    assert {known.number, other.number} <= set(ws.numbers())  # live again with the rows it kept
    kept_note = notes_on(street.db, known.number)
    assert [n for n, _r in kept_note] == ["离线时补充：已通知物业"] and kept_note[0][1]
    # the detail shows it once, stored, and nothing waiting
    qtbot.waitUntil(lambda: note_texts(detail) == ["离线时补充：已通知物业"], timeout=15000)
    qtbot.waitUntil(lambda: offline.banner.isHidden(), timeout=15000)


@pytest.mark.slow
def test_a_minute_offline_five_reports_by_keyboard_and_notes_are_stored_once_in_order(
        qtbot, street: Street, workstations, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    world = make_world(street.db, officers=1)
    known = world.record("停电前登记的事件", severity=2)
    ws = workstations(street.console_db, world.officers[0], window=True)
    ws.show()
    ws.settle()
    qtbot.waitUntil(lambda: known.number in ws.numbers(), timeout=10000)
    select_incident(qtbot, ws, known.id)
    offline = ws.queue.offline

    street.cut(ws.db)
    away_since = time.monotonic()
    wait_until_offline(qtbot, ws)
    notes = iter(["现场已断电", "报警人再次来电：火势变大"])
    monkeypatch.setattr(incident_actions, "ask_note", lambda *_a, **_k: next(notes))
    ws.queue.focus_table()
    qtbot.keyClick(ws.queue.table, Qt.Key.Key_N)  # on the incident the database has
    qtbot.waitUntil(lambda: offline.journal.notes_count == 1, timeout=10000)

    reports = [f"断网一分钟接报 {i}：厂房冒烟" for i in range(1, 6)]
    for n, text in enumerate(reports, start=1):
        take_report(qtbot, ws, text)
        qtbot.waitUntil(lambda n=n: offline.journal.count == n, timeout=10000)
        if n == 1:  # a note on the first report, which has no number yet: N on its pending row
            offline.table.setFocus()
            qtbot.keyClick(offline.table, Qt.Key.Key_Home)  # the first pending row
            qtbot.waitUntil(lambda: offline.selected_report() is not None, timeout=5000)
            qtbot.keyClick(offline.table, Qt.Key.Key_N)
            qtbot.waitUntil(lambda: offline.journal.notes_count == 2, timeout=10000)
    qtbot.waitUntil(lambda: offline.banner.text() == "Offline: 5 reports and 2 notes waiting to be recorded",
                    timeout=5000)
    assert offline.table.rowCount() == 7
    # a minute away; the age of the queue shown ticks on meanwhile
    qtbot.wait(max(0, int((60 - (time.monotonic() - away_since)) * 1000)))
    qtbot.waitUntil(lambda: "(1 min ago)" in ws.queue.stale.text(), timeout=15000)
    assert known.number in ws.numbers() and ws.queue.model.read_only
    assert offline.journal.pending == 7  # nothing went meanwhile

    street.restore()
    qtbot.waitUntil(lambda: offline.journal.pending == 0 and not offline.replaying, timeout=60000)
    rows = stored(street.db)
    assert [r[0] for r in rows] == ["停电前登记的事件", *reports]  # each once, in the order taken
    assert [r[1] for r in rows] == sorted(r[1] for r in rows)
    assert len({r[2] for r in rows[1:]}) == 5 and all(r[2] for r in rows[1:])
    assert [n for n, _r in notes_on(street.db, known.number)] == ["现场已断电"]
    assert [n for n, _r in notes_on(street.db, rows[1][1])] == ["报警人再次来电：火势变大"]
    qtbot.waitUntil(lambda: offline.banner.isHidden() and ws.queue.stale.isHidden(), timeout=15000)
    assert "The database is back: 5 offline reports recorded" in offline.told_label.text()
    qtbot.waitUntil(lambda: {r[1] for r in rows} <= set(ws.numbers()), timeout=15000)


CHILD = """
import json, os, sys, time
folders = {k: os.environ[k] for k in ("XDG_DATA_HOME", "XDG_CONFIG_HOME")}  # the test's
from types import SimpleNamespace
from station import composition
composition.install()
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
app = QApplication(["console"])
from db.engine import Database
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.console import ConsoleContext
from support.offline_street import take_report
from support.world import some_panels
from ui.shell.main_window import MainWindow
os.environ.update(folders)  # importing the tests' helpers gave it folders of its own

url, actor_json, count, backend = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]


class Keys:  # what take_report asks of pytest-qt's qtbot, with QTest
    keyClick = staticmethod(QTest.keyClick)
    keyClicks = staticmethod(QTest.keyClicks)

    @staticmethod
    def waitUntil(condition, timeout=5000):
        end = time.monotonic() + timeout / 1000
        while not condition():
            if time.monotonic() > end:
                raise TimeoutError("the console did not get there")
            QTest.qWait(20)


actor = Actor(**json.loads(actor_json))
console = ConsoleContext(Database(url), actor.station)
console.actor = actor
window = MainWindow(console, panels=some_panels("detail"), run_timers=False, restore_layout=False)
window.resize(1400, 800)
window.show()
window.activateWindow()
ws = SimpleNamespace(window=window, queue=window.central)
Keys.waitUntil(window.central.is_ready, 20000)
print("ready", flush=True)
sys.stdin.readline()  # the database is taken away
if backend == "sqlite":
    console.db.dispose()  # its open files go too, as a share that dropped them
Keys.waitUntil(lambda: window.central.offline.banner.isVisible(), 5000)
for i in range(count):
    take_report(Keys, ws, f"关机前接报 {i + 1}")
    Keys.waitUntil(lambda: window.central.offline.journal.count == i + 1, 10000)
print(f"kept {count}", flush=True)
while True:
    QTest.qWait(100)  # until it is killed
"""


def test_a_console_killed_while_offline_replays_its_journal_at_the_next_start(
        qtbot, street: Street, workstations) -> None:  # type: ignore[no-untyped-def]
    world = make_world(street.db, officers=1)
    officer = world.officers[0]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
           "QT_QPA_PLATFORM": "offscreen", "DISPATCH_LANG": "en"}  # its data folder is this test's
    url = street.console_db.url.render_as_string(hide_password=False)
    child = subprocess.Popen([sys.executable, "-c", CHILD, url, json.dumps(asdict(officer)), "3", street.backend],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=ROOT)
    try:
        assert child.stdin is not None and child.stdout is not None
        assert child.stdout.readline().strip() == b"ready"
        street.cut()
        child.stdin.write(b"cut\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == b"kept 3"
        child.send_signal(signal.SIGKILL)  # killed while offline, its three reports in the journal
    finally:
        child.kill()
        child.wait(30)
    street.restore()
    assert stored(street.db) == []  # nothing reached the database before the kill

    again = workstations(street.console_db, officer, window=True)
    again.show()
    offline = again.queue.offline
    qtbot.waitUntil(lambda: offline.journal.pending == 0 and not offline.replaying, timeout=60000)
    rows = stored(street.db)
    assert [r[0] for r in rows] == ["关机前接报 1", "关机前接报 2", "关机前接报 3"]
    assert [r[1] for r in rows] == sorted(r[1] for r in rows) and len({r[2] for r in rows}) == 3
    qtbot.waitUntil(lambda: offline.banner.isHidden(), timeout=15000)
    qtbot.waitUntil(lambda: {r[1] for r in rows} <= set(again.numbers()), timeout=15000)


def test_call_taking_answers_given_offline_are_stored_with_the_incident_when_it_is_back(
        qtbot, street: Street, workstations) -> None:  # type: ignore[no-untyped-def]
    world = make_world(street.db, officers=1)
    ws = workstations(street.console_db, world.officers[0], window=True)
    ws.show()
    ws.settle()
    street.cut(ws.db)
    wait_until_offline(qtbot, ws)
    offline = ws.queue.offline

    ws.window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is ws.window, timeout=5000)
    qtbot.keyClick(ws.window, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: isinstance(getattr(ws.queue, "intake", None), IntakeForm)
                    and ws.queue.intake.isVisible(), timeout=5000)
    form: IntakeForm = ws.queue.intake
    qtbot.waitUntil(lambda: form.pending == 0, timeout=10000)
    form.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is form.category, timeout=5000)
    type_text(qtbot, "fire")
    qtbot.keyClick(focused(), Qt.Key.Key_Tab)
    qtbot.keyClick(form, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)  # the gas-leak questions
    assert form.questions.current is not None and form.questions.current.code == "gas_leak"
    for digit in "1", "2", "2", "2", "1":  # strong smell, cannot close, cylinder, dizzy, one household
        qtbot.keyClick(focused(), getattr(Qt.Key, f"Key_{digit}"))
    assert form.severity.code() == "2"  # 53: severity 2 suggested and filled in
    form.source.setFocus()
    for text in ("12345", "G2"):
        type_text(qtbot, text)
        qtbot.keyClick(focused(), Qt.Key.Key_Tab)
    for _i in range(6):  # address, coordinates, reporter, phone, people: left empty
        qtbot.keyClick(focused(), Qt.Key.Key_Tab)
    assert focused() is form.description
    type_text(qtbot, "断网时接报：厨房液化气瓶漏气，老人头晕")
    qtbot.keyClick(focused(), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not form.isVisible(), timeout=15000)
    qtbot.waitUntil(lambda: offline.journal.count == 1, timeout=10000)
    kept = offline.journal.waiting()[0]
    assert kept.answers is not None and kept.answers["set"] == "gas_leak"
    assert kept.answers["answers"] == {"smell_now": "strong", "valve": "cannot", "source": "cylinder",
                                       "casualties": "symptoms", "people_nearby": "few"}

    street.restore()
    qtbot.waitUntil(lambda: offline.journal.pending == 0 and not offline.replaying, timeout=60000)
    (description, number, _request), = stored(street.db)
    assert description == "断网时接报：厨房液化气瓶漏气，老人头晕"
    with street.db.read() as s:
        incident_id = s.execute(select(Incident.id).where(Incident.number == number)).scalar_one()
    answers, = answers_of(street.db, incident_id)
    assert (answers.set_code, answers.score, answers.suggested_severity, answers.chosen_severity) == (
        "gas_leak", 53, 2, 2)
