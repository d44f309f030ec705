"""Taking people off, leave and shift types from the roster calendar, driven with the keyboard (pytest-qt).

Each test plays a shift leader (or a duty officer) at a workstation and checks the database
and the screen. Days are counted from the database's today so that "coming" stays coming.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from support.qt_input import type_chinese
from support.roster_fixtures import duty_room, local, shift_id, staff_shift
from test_roster_ui import Workstations, user

from db.engine import Database
from dispatch_console import rosters as roster
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.timefmt import local as to_local
from ui.rosters.calendar import RosterCalendarPanel
from ui.rosters.confirm import ConfirmDialog
from ui.rosters.leave import LeaveDialog
from ui.rosters.shift_types import ShiftTypeDialog, format_hours, parse_hours

pytestmark = pytest.mark.gui


@pytest.fixture
def stations() -> Iterator[Workstations]:
    ws = Workstations()
    yield ws
    ws.close()


def coming_day(db: Database) -> date:
    return to_local(db.now()).date() + timedelta(days=3)


def open_calendar(qtbot, ws, day: date) -> RosterCalendarPanel:  # type: ignore[no-untyped-def]
    calendar = RosterCalendarPanel(ws)
    qtbot.addWidget(calendar)
    calendar.show()
    calendar.go_to(day)
    qtbot.waitUntil(lambda: calendar.is_ready() and calendar.model.rowCount() == 7
                    and calendar.period is not None and calendar.period.start_day <= day, timeout=10000)
    return calendar


def focus_cell(qtbot, calendar: RosterCalendarPanel, day: date, code: str, role: str) -> None:  # type: ignore[no-untyped-def]
    """The leader's window in front, the cursor on the cell (keyboard shortcuts act where the focus is)."""
    calendar.activateWindow()
    qtbot.waitUntil(calendar.isActiveWindow, timeout=5000)
    calendar.view.setCurrentIndex(calendar.model.index_for(day, code, role))
    calendar.view.setFocus()
    assert QApplication.focusWidget() is calendar.view


def tab_out_of(qtbot, widget: QWidget) -> None:  # type: ignore[no-untyped-def]
    """Tab as an officer does until the focus leaves ``widget`` (a date/time edit takes one per section)."""
    for _i in range(6):
        qtbot.keyClick(widget, Qt.Key.Key_Tab)
        if widget.window().focusWidget() is not widget:
            return
    raise AssertionError("Tab never left the field")


def press(qtbot, key: Qt.Key, modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:  # type: ignore[no-untyped-def]
    """A key as the keyboard sends it: to the widget with the focus (Alt+letter: a button's mnemonic)."""
    qtbot.keyClick(QApplication.focusWidget(), key, modifiers)


def officers_cell(calendar: RosterCalendarPanel, day: date, code: str = "day") -> str:
    return str(calendar.model.index_for(day, code, "duty_officer").data())


# -- taking a person off -------------------------------------------------------------------------


def test_delete_takes_a_person_off_and_the_other_workstation_sees_it(
        qtbot, pg_db: Database, system: Actor, stations: Workstations) -> None:
    room = duty_room(pg_db, system)
    day = coming_day(pg_db)
    roster.ensure_shifts(pg_db, system, day, day)
    staff_shift(pg_db, system, day, "day", room["王强"], room["张伟"], room["刘洋"])
    leader = user(pg_db, system, "leader-wang", "shift_leader", "ws-1")
    other = user(pg_db, system, "leader-li", "shift_leader", "ws-2")
    ws1 = stations.open(pg_db, "ws-1", leader, own_engine=False)
    ws2 = stations.open(pg_db, "ws-2", other, own_engine=True)
    here, there = open_calendar(qtbot, ws1, day), open_calendar(qtbot, ws2, day)
    assert officers_cell(here, day) == officers_cell(there, day) == "张伟、刘洋"

    focus_cell(qtbot, here, day, "day", "duty_officer")
    qtbot.keyClick(here.view, Qt.Key.Key_Delete)
    dialog = here.dialog
    assert isinstance(dialog, ConfirmDialog)
    assert dialog.which.isVisibleTo(dialog) and dialog.which.count() == 2  # two people: say whom
    assert "张伟" in dialog.question.text() and not dialog.ok.isEnabled()  # a reason is required
    dialog.which.setFocus()
    qtbot.keyClick(dialog.which, Qt.Key.Key_Down)  # 刘洋
    assert "刘洋" in dialog.question.text()
    qtbot.keyClick(dialog.which, Qt.Key.Key_Tab)
    assert dialog.focusWidget() is dialog.reason
    type_chinese(dialog.reason, "借调街道防汛")
    assert dialog.ok.isEnabled()
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: here.dialog is None and "刘洋 is off" in here.message.text(), timeout=10000)

    qtbot.waitUntil(lambda: officers_cell(here, day) == "⚠ 张伟", timeout=10000)
    qtbot.waitUntil(lambda: officers_cell(there, day) == "⚠ 张伟", timeout=15000)  # the change feed
    gone = next(e for e in roster.roster(pg_db, day, day, include_superseded=True) if e.person_name == "刘洋")
    assert not gone.active
    assert here.focusWidget() is here.view  # back in the calendar, ready for the next key


def test_take_off_from_the_cell_dialog_and_a_stale_cell_shows_who_changed_it(
        qtbot, sqlite_db: Database, system: Actor, stations: Workstations) -> None:
    room = duty_room(sqlite_db, system)
    day = coming_day(sqlite_db)
    roster.ensure_shifts(sqlite_db, system, day, day)
    staff_shift(sqlite_db, system, day, "day", room["王强"], room["张伟"], room["刘洋"])
    leader = user(sqlite_db, system, "leader-wang", "shift_leader", "ws-1")
    rival = user(sqlite_db, system, "leader-li", "shift_leader", "ws-2")
    calendar = open_calendar(qtbot, stations.open(sqlite_db, "ws-1", leader, own_engine=False), day)
    calendar.ui.feed.stop()  # this console hears nothing: its cell is what the leader saw

    focus_cell(qtbot, calendar, day, "day", "duty_officer")
    qtbot.keyClick(calendar.view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: calendar.dialog is not None, timeout=5000)
    assign = calendar.dialog
    assert assign.take_off.isVisible() and assign.take_off.isEnabled()
    assert assign.target.currentText() == "Replace 张伟"
    seen = next(e for e in roster.roster(sqlite_db, day, day) if e.person_name == "张伟")
    roster.swap(sqlite_db, rival, seen.id, seen.version, room["陈静"], "电话调班")  # meanwhile, at ws-2
    press(qtbot, Qt.Key.Key_T, Qt.KeyboardModifier.AltModifier)  # &Take off…
    qtbot.waitUntil(lambda: isinstance(calendar.dialog, ConfirmDialog), timeout=5000)
    confirm = calendar.dialog
    assert "张伟" in confirm.question.text()
    type_chinese(confirm.reason, "病假")
    qtbot.keyClick(confirm.reason, Qt.Key.Key_Return)

    qtbot.waitUntil(lambda: "Changed by leader-li@ws-2" in calendar.message.text(), timeout=10000)
    assert calendar.message.styleSheet()  # shown as an error
    qtbot.waitUntil(lambda: officers_cell(calendar, day) == "刘洋、陈静", timeout=10000)  # reloaded
    assert {e.person_name for e in roster.roster(sqlite_db, day, day)} == {"王强", "刘洋", "陈静"}


def test_a_duty_officer_pressing_delete_is_told_why_not(
        qtbot, sqlite_db: Database, system: Actor, stations: Workstations) -> None:
    room = duty_room(sqlite_db, system)
    day = coming_day(sqlite_db)
    roster.ensure_shifts(sqlite_db, system, day, day)
    staff_shift(sqlite_db, system, day, "day", room["王强"], room["张伟"])
    officer = user(sqlite_db, system, "officer-li", "duty_officer", "ws-1")
    calendar = open_calendar(qtbot, stations.open(sqlite_db, "ws-1", officer, own_engine=False), day)
    assert not calendar.types_button.isEnabled()
    focus_cell(qtbot, calendar, day, "day", "duty_officer")
    qtbot.keyClick(calendar.view, Qt.Key.Key_Delete)
    assert calendar.dialog is None
    assert "officer-li" in calendar.message.text() and "may not edit the roster" in calendar.message.text()
    assert [e.person_name for e in roster.roster(sqlite_db, day, day) if e.role == "duty_officer"] == ["张伟"]


# -- leave ---------------------------------------------------------------------------------------


def test_leader_records_and_withdraws_leave_from_the_calendar(
        qtbot, sqlite_db: Database, system: Actor, stations: Workstations) -> None:
    room = duty_room(sqlite_db, system)
    day = coming_day(sqlite_db)
    roster.ensure_shifts(sqlite_db, system, day, day)
    staff_shift(sqlite_db, system, day, "night", room["王强"], room["赵磊"], room["刘洋"])
    leader = user(sqlite_db, system, "leader-wang", "shift_leader", "ws-1")
    calendar = open_calendar(qtbot, stations.open(sqlite_db, "ws-1", leader, own_engine=False), day)
    assert officers_cell(calendar, day, "night") == "赵磊、刘洋"

    focus_cell(qtbot, calendar, day, "night", "duty_officer")
    qtbot.keyClick(calendar.view, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    dialog = calendar.dialog
    assert isinstance(dialog, LeaveDialog)
    qtbot.waitUntil(lambda: dialog.person_name() == "赵磊" and dialog.is_ready(), timeout=10000)  # the cell's
    assert dialog.table.rowCount() == 0
    assert dialog.starts.dateTime().time().hour() == 20  # the night shift of the cell, as a start
    dialog.filter.clear()
    type_chinese(dialog.filter, "张")  # another person, by name through the input method
    qtbot.waitUntil(lambda: dialog.person_name() == "张伟" and dialog.is_ready(), timeout=10000)
    dialog.filter.clear()
    qtbot.keyClicks(dialog.filter, "13800000006")  # and back, by phone
    qtbot.waitUntil(lambda: dialog.person_name() == "赵磊" and dialog.is_ready(), timeout=10000)

    dialog.starts.setFocus(Qt.FocusReason.TabFocusReason)  # as tabbing into it: the year is selected
    for _i in range(3):  # year → month → day → hour
        qtbot.keyClick(dialog.starts, Qt.Key.Key_Tab)
    assert dialog.starts.currentSection() == dialog.starts.Section.HourSection
    qtbot.keyClicks(dialog.starts, "22")
    tab_out_of(qtbot, dialog.starts)  # Tab walks the date/time sections, then on
    assert dialog.focusWidget() is dialog.ends
    tab_out_of(qtbot, dialog.ends)  # the end as given: the end of the night shift
    assert dialog.focusWidget() is dialog.reason
    type_chinese(dialog.reason, "病假")
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=10000)
    assert dialog.isVisible()  # Enter recorded the leave; the dialog stays for more
    assert dialog.table.item(0, 0).text() == f"{day.isoformat()} 22:00"
    assert dialog.table.item(0, 2).text() == "病假"
    [leave] = roster.leaves(sqlite_db, day, day, person_id=room["赵磊"])
    assert (leave.starts_at, leave.ends_at, leave.reason) == (
        local(day, 22), local(day + timedelta(days=1), 8), "病假")
    qtbot.waitUntil(lambda: officers_cell(calendar, day, "night") == "⚠ 赵磊、刘洋", timeout=10000)
    tip = calendar.model.index_for(day, "night", "duty_officer").data(Qt.ItemDataRole.ToolTipRole)
    assert "赵磊 is on leave" in tip

    dialog.table.setFocus()
    qtbot.keyClick(dialog.table, Qt.Key.Key_Delete)
    confirm = dialog.confirm
    assert confirm is not None and "赵磊" in confirm.question.text() and confirm.ok.isEnabled()
    type_chinese(confirm.reason, "病愈返岗")
    qtbot.keyClick(confirm.reason, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.is_ready() and dialog.table.rowCount() == 1
                    and dialog.table.item(0, 3).text().startswith("Withdrawn"), timeout=10000)
    assert "withdrawn" in dialog.message.text() and not dialog.withdraw_button.isEnabled()
    assert roster.leaves(sqlite_db, day, day) == []
    qtbot.waitUntil(lambda: officers_cell(calendar, day, "night") == "赵磊、刘洋", timeout=10000)

    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: calendar.dialog is None, timeout=5000)


def test_a_duty_officer_reads_leave_but_may_not_change_it(
        qtbot, sqlite_db: Database, system: Actor, stations: Workstations) -> None:
    room = duty_room(sqlite_db, system)
    day = coming_day(sqlite_db)
    roster.add_leave(sqlite_db, system, room["张伟"], local(day, 8), local(day, 20), "年假")
    officer = user(sqlite_db, system, "officer-li", "duty_officer", "ws-1")
    calendar = open_calendar(qtbot, stations.open(sqlite_db, "ws-1", officer, own_engine=False), day)
    calendar.leave_button.click()
    dialog = calendar.dialog
    assert isinstance(dialog, LeaveDialog)
    type_chinese(dialog.filter, "张伟")
    qtbot.waitUntil(lambda: dialog.is_ready() and dialog.table.rowCount() == 1, timeout=10000)
    assert dialog.table.item(0, 2).text() == "年假"
    assert not dialog.new_box.isEnabled() and not dialog.withdraw_button.isEnabled()
    assert "may not edit the roster" in dialog.message.text()
    qtbot.keyClick(dialog.table, Qt.Key.Key_Delete)
    assert dialog.confirm is None
    assert roster.leaves(sqlite_db, day, day)[0].active


def test_leave_withdrawn_at_another_workstation_is_reported_and_the_list_follows(
        qtbot, pg_db: Database, system: Actor, stations: Workstations) -> None:
    room = duty_room(pg_db, system)
    day = coming_day(pg_db)
    leave_id = roster.add_leave(pg_db, system, room["张伟"], local(day, 8), local(day, 20), "年假")
    leader = user(pg_db, system, "leader-wang", "shift_leader", "ws-1")
    rival = user(pg_db, system, "leader-li", "shift_leader", "ws-2")
    ws1 = stations.open(pg_db, "ws-1", leader, own_engine=False)
    calendar = open_calendar(qtbot, ws1, day)
    calendar.open_leave()
    dialog = calendar.dialog
    assert isinstance(dialog, LeaveDialog)
    type_chinese(dialog.filter, "张伟")
    qtbot.waitUntil(lambda: dialog.is_ready() and dialog.table.rowCount() == 1, timeout=10000)
    ws1.feed.stop()  # the officer's screen is now behind the database
    roster.cancel_leave(pg_db, rival, leave_id, "电话告知")
    dialog.table.setFocus()
    qtbot.keyClick(dialog.table, Qt.Key.Key_Delete)
    qtbot.keyClick(dialog.confirm.reason, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "Changed by leader-li@ws-2" in dialog.message.text(), timeout=10000)
    qtbot.waitUntil(lambda: dialog.is_ready() and dialog.table.item(0, 3).text().startswith("Withdrawn"),
                    timeout=10000)


# -- shift types ---------------------------------------------------------------------------------


def test_hours_are_read_as_a_leader_types_them() -> None:
    assert [parse_hours(t) for t in ("12", "8.5", "7,5", "7:30", " 24 ", "x", "", "1:75")] == [
        720, 510, 450, 450, 1440, None, None, None]
    assert (format_hours(720), format_hours(450)) == ("12", "7:30")


def test_leader_adds_and_changes_shift_types_with_the_errors_next_to_the_fields(
        qtbot, sqlite_db: Database, system: Actor, stations: Workstations) -> None:
    room = duty_room(sqlite_db, system)
    day = coming_day(sqlite_db)
    roster.ensure_shifts(sqlite_db, system, day, day)
    staff_shift(sqlite_db, system, day, "night", room["王强"], room["张伟"], room["刘洋"])
    leader = user(sqlite_db, system, "leader-wang", "shift_leader", "ws-1")
    calendar = open_calendar(qtbot, stations.open(sqlite_db, "ws-1", leader, own_engine=False), day)
    assert calendar.types_button.isEnabled()
    calendar.types_button.click()
    dialog = calendar.dialog
    assert isinstance(dialog, ShiftTypeDialog)
    qtbot.waitUntil(lambda: dialog.is_ready() and dialog.table.rowCount() == 2, timeout=10000)
    assert [dialog.table.item(r, 1).text() for r in range(2)] == ["白班", "夜班"]

    dialog.activateWindow()  # as on a desk: the dialog just opened is the window the keys go to
    qtbot.waitUntil(dialog.isActiveWindow, timeout=5000)
    # a new one: the shortcut, then each field from the keyboard
    dialog.table.selectRow(0)
    assert dialog.form_title.text() == "Change 白班 (day)"
    press(qtbot, Qt.Key.Key_N, Qt.KeyboardModifier.AltModifier)  # a mnemonic "clicks" a moment later
    qtbot.waitUntil(lambda: dialog.focusWidget() is dialog.code, timeout=5000)
    assert dialog.form_title.text() == "New shift type" and dialog.code.text() == ""
    assert not dialog.save_button.isEnabled() and dialog.errors["code"].text() == ""  # nothing said yet
    qtbot.keyClicks(dialog.code, "DAY")
    assert "code DAY" in dialog.errors["code"].text()  # unique, letter case aside
    dialog.code.clear()
    qtbot.keyClicks(dialog.code, "evening")
    assert dialog.errors["code"].text() == ""
    qtbot.keyClick(dialog.code, Qt.Key.Key_Tab)
    type_chinese(dialog.name, "晚班")
    qtbot.keyClick(dialog.name, Qt.Key.Key_Tab)
    qtbot.keyClicks(dialog.start, "25:00")
    assert "HH:MM" in dialog.errors["start_time"].text()
    dialog.start.clear()
    qtbot.keyClicks(dialog.start, "16:00")
    assert dialog.errors["start_time"].text() == ""
    qtbot.keyClick(dialog.start, Qt.Key.Key_Tab)
    qtbot.keyClicks(dialog.hours, "30")
    assert "between 1 and 24 hours" in dialog.errors["length_minutes"].text()
    assert not dialog.save_button.isEnabled()
    dialog.hours.clear()
    qtbot.keyClicks(dialog.hours, "8")
    qtbot.keyClick(dialog.hours, Qt.Key.Key_Tab)
    assert dialog.focusWidget() is dialog.leaders
    qtbot.keyClick(dialog.leaders, Qt.Key.Key_Down)  # no leader on the evening shift
    qtbot.keyClick(dialog.leaders, Qt.Key.Key_Tab)
    qtbot.keyClick(dialog.officers, Qt.Key.Key_Down)  # one officer
    assert dialog.save_button.isEnabled()
    press(qtbot, Qt.Key.Key_S, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: dialog.is_ready() and dialog.table.rowCount() == 3, timeout=10000)
    assert "晚班 added" in dialog.message.text()
    evening = next(t for t in roster.shift_types(sqlite_db) if t.code == "evening")
    assert (evening.name, evening.start_time, evening.length_minutes, evening.required_roles) == (
        "晚班", "16:00", 480, (("duty_officer", 1),))
    qtbot.waitUntil(lambda: calendar.is_ready() and any(
        stype.code == "evening" for stype, _r in calendar.model.columns), timeout=10000)  # a new column

    # change the night shift: Enter on its row, then to the start time
    dialog.table.setFocus()
    night_row = next(r for r in range(3) if dialog.table.item(r, 0).text() == "night")
    dialog.table.setCurrentCell(night_row, 0)
    assert dialog.form_title.text() == "Change 夜班 (night)" and dialog.start.text() == "20:00"
    qtbot.keyClick(dialog.table, Qt.Key.Key_Return)
    assert dialog.focusWidget() is dialog.code
    for _i in range(2):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    assert dialog.focusWidget() is dialog.start
    qtbot.keyClicks(dialog.start, "21:00")  # Tab selected the old time: typing replaces it
    for _i in range(3):  # hours, shift leaders, duty officers
        press(qtbot, Qt.Key.Key_Tab)
    assert dialog.focusWidget() is dialog.officers
    press(qtbot, Qt.Key.Key_Down)  # 1 officer: the two on the roster stay, one too many
    press(qtbot, Qt.Key.Key_S, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: "coming shifts moved" in dialog.message.text(), timeout=10000)
    moved = int(re.search(r"(\d+) coming shifts moved", dialog.message.text()).group(1))  # type: ignore[union-attr]
    now = sqlite_db.now()
    made = roster.shifts(sqlite_db, day - timedelta(days=30), day + timedelta(days=30))  # every week looked at
    assert moved == sum(1 for sh in made if sh.code == "night" and sh.starts_at > now) >= 1
    night = next(sh for sh in roster.shifts(sqlite_db, day, day) if sh.code == "night")
    assert to_local(night.starts_at).hour == 21 and to_local(night.ends_at).hour == 9
    assert {e.person_name for e in roster.roster(sqlite_db, day, day) if e.shift_id == night.id} == {
        "王强", "张伟", "刘洋"}

    # dropping the officers' post while two people are on it: refused, next to the field
    dialog.officers.setFocus()
    qtbot.keyClick(dialog.officers, Qt.Key.Key_Down)
    assert dialog.officers.value() == 0
    press(qtbot, Qt.Key.Key_S, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: "take them off first" in dialog.errors["required_roles"].text(), timeout=10000)
    assert shift_id(sqlite_db, day, "night") == night.id
    assert dict(next(t for t in roster.shift_types(sqlite_db) if t.code == "night").required_roles) == {
        "shift_leader": 1, "duty_officer": 1}
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: calendar.dialog is None, timeout=5000)
