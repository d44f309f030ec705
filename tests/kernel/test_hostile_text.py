"""Hostile text is stored exactly or refused with a clear message; never executed, never breaking a view.

SQL metacharacters, HTML/JS, 100 kB strings, right-to-left and zero-width characters and NUL,
through the incident service, notes, accounts, the audit log, sign-in and the Qt views.
"""

from __future__ import annotations

from typing import Any

import pytest

from db.engine import Database
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.incidents.queue import QueueQuery, get_incident, query_incidents
from dispatch_console.kernel import audit
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.errors import AuthenticationFailed, ValidationError
from dispatch_console.users import accounts as users

HOSTILE = {
    "sql": "Robert'); DROP TABLE incident;-- \" OR 1=1 -- 100% _x_ \\",
    "html": '"</script><img src=x onerror=alert(1)>',
    "rtl": "\u202eevil\u202c مرحبا שלום",
    "zero_width": "a\u200bb\u200c\u200dc\ufeffd\u2060",
    "astral": "𠀀🚒 火警",
}
BIG = "灾" * 100_000  # 100 k characters, ~300 kB of UTF-8


def _draft(**kw: Any) -> IncidentDraft:
    base: dict[str, Any] = {"category": "fire", "severity": 2, "source": "hotline_12345", "description": "x"}
    return IncidentDraft(**{**base, **kw})


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_incident_text_is_stored_exactly(db: Database, make_actor: Any, kind: str) -> None:
    officer = make_actor("duty_officer")
    value = HOSTILE[kind]
    row = incidents.create_incident(db, officer, _draft(description=value, address=value,
                                                        reporter_name=value[:100])).row
    incidents.add_note(db, officer, row.id, value)
    detail = get_incident(db, row.number)
    assert detail.row.description == value and detail.row.address == value
    assert detail.row.reporter_name == value[:100]
    assert any(e.note == value for e in detail.events)
    found = query_incidents(db, QueueQuery(text=value[:20]))
    assert [r.id for r in found.rows] == [row.id]
    assert audit.verify(db).ok  # the JSON round trip keeps every character of the audited row


def test_search_metacharacters_match_literally(db: Database, make_actor: Any) -> None:
    officer = make_actor("duty_officer")
    incidents.create_incident(db, officer, _draft(description="plain text"))
    for probe in ("%", "_", "' OR '1'='1", "\\"):
        assert query_incidents(db, QueueQuery(text=probe)).rows == ()


@pytest.mark.parametrize("field", ["description", "address", "reporter_name"])
def test_100_kb_text_is_refused_with_the_field_named(db: Database, make_actor: Any, field: str) -> None:
    officer = make_actor("duty_officer")
    with pytest.raises(ValidationError, match="at most") as err:
        incidents.create_incident(db, officer, _draft(**{field: BIG}))
    assert err.value.field == field
    assert query_incidents(db).rows == ()


@pytest.mark.parametrize("field", ["description", "address", "reporter_name", "reporter_phone"])
def test_nul_is_refused_before_it_reaches_the_database(db: Database, make_actor: Any, field: str) -> None:
    officer = make_actor("duty_officer")
    with pytest.raises(ValidationError, match="U\\+0000") as err:
        incidents.create_incident(db, officer, _draft(**{field: "before\x00after"}))
    assert err.value.field == field


def test_nul_and_huge_notes_are_refused(db: Database, make_actor: Any) -> None:
    officer = make_actor("duty_officer")
    row = incidents.create_incident(db, officer, _draft()).row
    for bad in ("a\x00b", BIG):
        with pytest.raises(ValidationError):
            incidents.add_note(db, officer, row.id, bad)
    assert audit.verify(db).ok


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_display_names_are_stored_exactly(db: Database, make_actor: Any, kind: str) -> None:
    admin = make_actor("admin", "root")
    value = HOSTILE[kind]
    users.add_user(db, admin, username=f"u-{kind}", password="pass1", role="duty_officer", display_name=value)
    actor = users.authenticate(db, f"u-{kind}", "pass1", value[:100])  # the station name too
    assert actor.display_name == value and actor.station == value[:100]
    assert audit.verify(db).ok


@pytest.mark.parametrize("name", ["a\x00b", "x" * 101, BIG, "two\nlines"])
def test_bad_display_names_are_refused(db: Database, make_actor: Any, name: str) -> None:
    admin = make_actor("admin", "root")
    with pytest.raises(ValidationError) as err:
        users.add_user(db, admin, username="bad", password="pass1", role="observer", display_name=name)
    assert err.value.field == "display_name"


@pytest.mark.parametrize("username", ["root\x00", "x' OR '1'='1", "a" * 100_000, "\u202etoor", ""])
def test_hostile_user_names_at_sign_in_are_just_wrong(db: Database, make_actor: Any, username: str) -> None:
    make_actor("admin", "root")
    with pytest.raises(AuthenticationFailed, match="Wrong user name or password"):
        users.authenticate(db, username, "pw", "ws-1")
    with pytest.raises(AuthenticationFailed):
        users.authenticate(db, "root", "pw\x00", "ws-1")


def test_hostile_user_names_are_stored_exactly_or_refused(db: Database, make_actor: Any) -> None:
    admin = make_actor("admin", "root")
    name = "o'brien\"<b>;--"
    users.add_user(db, admin, username=name, password="pass1", role="observer")
    assert users.authenticate(db, name, "pass1", "ws").username == name
    for bad in ("with space", "nul\x00", "z" * 65, "tab\there"):
        with pytest.raises(ValidationError) as err:
            users.add_user(db, admin, username=bad, password="pass1", role="observer")
        assert err.value.field == "username"


@pytest.mark.gui
def test_hostile_text_renders_as_plain_text_in_the_console(qtbot: Any, sqlite_db: Database,
                                                           system: Actor) -> None:
    """The queue, the selected incident's panels and every label show the characters, not markup."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QLabel

    from dispatch_console.kernel.config import Resources
    from dispatch_console.kernel.console import ConsoleContext
    from station import composition
    from ui.shell.main_window import MainWindow

    with sqlite_db.write() as s:
        users.create_user(s, system, username="wang", password="pw", role="duty_officer",
                          display_name=HOSTILE["html"])
    officer = users.authenticate(sqlite_db, "wang", "pw", "ws-1")
    markup = "<b>bold</b> <img src=x onerror=alert(1)>"
    row = incidents.create_incident(sqlite_db, officer, _draft(description=markup,
                                                               address=HOSTILE["rtl"])).row
    console = ConsoleContext(sqlite_db, "ws-1", Resources())
    console.actor = officer
    window = MainWindow(console, panels=composition.panels(), start_feed=False)
    qtbot.addWidget(window)
    window.show()
    model = window.central.model  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=10000)
    shown = [model.data(model.index(0, c)) for c in range(model.columnCount())]
    assert markup in shown
    window.ui.selection.select(row.id)
    qtbot.waitUntil(lambda: window.runner.pending == 0, timeout=10000)
    hostile_labels = [lbl for lbl in window.findChildren(QLabel)
                      if "<img" in lbl.text() or "</script>" in lbl.text()]
    assert len(hostile_labels) >= 2  # the incident detail and the status bar show them
    assert all(lbl.textFormat() == Qt.TextFormat.PlainText for lbl in hostile_labels), [
        lbl.objectName() for lbl in hostile_labels if lbl.textFormat() != Qt.TextFormat.PlainText]
    assert HOSTILE["html"] in window.windowTitle()
    window.session_guard.lock()
    assert window.session_guard.lock_screen.who.textFormat() == Qt.TextFormat.PlainText
    assert HOSTILE["html"] in window.session_guard.lock_screen.who.text()
    window.shutdown()
