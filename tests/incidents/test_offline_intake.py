"""Offline intake at the console: the database goes away, the officer keeps taking reports by
keyboard, and each is stored exactly once, in order, when it comes back — also after a restart.

PostgreSQL is taken away by cutting the console's own TCP path to it (the shared server and the
other tests go on); SQLite by taking its folder away, as a share that dropped.
"""

from __future__ import annotations

from typing import Any

import support.offline_street as offline_street
import support.world as support
from support.offline_street import Street, stored, take_report
from support.world import Workstation, make_world

isolated_settings = support.isolated_settings
workstations = support.workstations
street = offline_street.street


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
