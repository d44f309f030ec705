"""Small things that cost trust: the sign-in hint names every demo account, a panel greyed out for
this officer says why, and a refusal names a person, not a login (tests/incidents/test_incident_detail.py)."""

from __future__ import annotations

import support.world as support
from PySide6.QtWidgets import QLabel

from db.engine import Database
from dispatch_console.demo.plan import ACCOUNTS
from dispatch_console.kernel.console import ConsoleContext
from ui.shell.sign_in import SignInDialog

isolated_settings = support.isolated_settings
workstations = support.workstations


def test_the_demo_sign_in_lists_every_demo_account(qtbot, sqlite_db: Database) -> None:  # type: ignore[no-untyped-def]
    dialog = SignInDialog(ConsoleContext(sqlite_db, "值班台1"), None, demo=True)
    qtbot.addWidget(dialog)
    hint = dialog.findChild(QLabel, "sign-in-demo-accounts")
    assert hint is not None
    assert len(ACCOUNTS) == 9 and all(username in hint.text() for username, *_rest in ACCOUNTS)


def test_the_drill_panel_tells_a_shift_leader_why_it_is_greyed_out(
        qtbot, db: Database, workstations, make_actor) -> None:  # type: ignore[no-untyped-def]
    support.make_world(db, officers=0)
    leader = make_actor("shift_leader", "王强")
    ws = workstations(db, leader, window=True, panels=("DrillPanel",))
    ws.show()
    ws.settle()
    panel = ws.window.panels["drills"]
    qtbot.waitUntil(lambda: panel.is_ready(), timeout=10000)
    assert not panel.start_button.isEnabled()
    assert panel.why_disabled.isVisible() and "王强" in panel.why_disabled.text()
    assert "run a drill" in panel.why_disabled.text() and panel.start_button.toolTip() == panel.why_disabled.text()

    director = make_actor("drill_director", "导调员")
    ws.ui.session.set_actor(director)
    qtbot.waitUntil(lambda: not panel.why_disabled.isVisible(), timeout=10000)
