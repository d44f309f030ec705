"""Resolving with required checklist steps open: the officer is told which before typing — in the
note's prompt (policy ``allow``, the default), asked for a reason (``reason``) or refused without a
dialog (``refuse``). The policy is the site's config folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import support.world as support
from PySide6.QtCore import Qt
from support.world import Workstation, make_world

from db.engine import Database
from dispatch_console.checklists import service as checklists
from dispatch_console.incidents import service as incidents
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.errors import ValidationError
from ui.incidents import actions as incident_actions

isolated_settings = support.isolated_settings
workstations = support.workstations


def site_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> Resources:
    (tmp_path / "site" / "policies").mkdir(parents=True)
    (tmp_path / "site" / "policies" / "checklists.toml").write_text(
        f'resolve_with_required_open = "{value}"\n', encoding="utf-8")
    monkeypatch.setenv("DISPATCH_CONFIG_DIR", str(tmp_path / "site"))
    monkeypatch.setattr(checklists, "_active", None)
    return Resources.from_env()


def _press_r_on(qtbot: Any, ws: Workstation, incident_id: int) -> None:
    ws.show()
    ws.settle()
    ws.queue.table.setFocus()
    qtbot.waitUntil(ws.queue.table.hasFocus, timeout=5000)
    qtbot.keyClick(ws.queue.table, Qt.Key.Key_Home)
    while ws.ui.selection.current != incident_id:
        qtbot.keyClick(ws.queue.table, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: ws.queue.actions_.actions["resolve"].isEnabled(), timeout=10000)
    qtbot.keyClick(ws.queue.table, Qt.Key.Key_R)


def test_resolve_names_the_open_required_steps_before_the_note(
        qtbot, db: Database, workstations, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    w = make_world(db)
    fire = w.record("仓库冒烟", category="fire", severity=2)
    incidents.acknowledge(db, w.officers[0], fire.id, fire.version)
    first_open = next(i.text for i in checklists.items_for(db, fire.id) if i.required and not i.done)
    asked: list[tuple[str, bool]] = []
    monkeypatch.setattr(incident_actions, "ask_note",
                        lambda _p, _t, prompt, *, required=False: asked.append((prompt, required)) or "")
    ws = workstations(db, w.officers[0], window=True)
    _press_r_on(qtbot, ws, fire.id)
    qtbot.waitUntil(lambda: incidents.get_incident(db, fire.id).row.status == "resolved", timeout=10000)
    (prompt, required), = asked
    assert first_open in prompt and not required


def test_a_site_that_wants_a_reason_asks_for_one_naming_the_open_steps(
        qtbot, db: Database, workstations, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    resources = site_policy(tmp_path, monkeypatch, "reason")
    w = make_world(db)
    fire = w.record("仓库冒烟", category="fire", severity=2)
    incidents.acknowledge(db, w.officers[0], fire.id, fire.version)
    open_required = [i.text for i in checklists.items_for(db, fire.id) if i.required and not i.done]
    assert open_required
    asked: list[tuple[str, bool]] = []

    def answer(_parent: Any, _title: str, prompt: str, *, required: bool = False) -> str:
        asked.append((prompt, required))
        return "火已扑灭，余下报送由消防补报"

    monkeypatch.setattr(incident_actions, "ask_note", answer)
    ws = workstations(db, w.officers[0], window=True)
    ws.console.resources = resources
    _press_r_on(qtbot, ws, fire.id)
    qtbot.waitUntil(lambda: incidents.get_incident(db, fire.id).row.status == "resolved", timeout=10000)
    (prompt, required), = asked
    assert required and all(text in prompt for text in open_required)  # before the officer typed
    assert any(e.note == "火已扑灭，余下报送由消防补报" for e in incidents.get_incident(db, fire.id).events)

    # the service holds the same line for every caller: no reason, no resolve
    other = w.record("厂房冒烟", category="fire", severity=2)
    incidents.acknowledge(db, w.officers[0], other.id, other.version)
    with pytest.raises(ValidationError, match="required checklist steps are still open"):
        incidents.resolve(db, w.officers[0], other.id, other.version + 1)


def test_a_site_that_refuses_says_so_without_asking_for_a_note(
        qtbot, db: Database, workstations, monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    resources = site_policy(tmp_path, monkeypatch, "refuse")
    w = make_world(db)
    fire = w.record("仓库冒烟", category="fire", severity=2)
    incidents.acknowledge(db, w.officers[0], fire.id, fire.version)
    first_open = next(i.text for i in checklists.items_for(db, fire.id) if i.required and not i.done)
    asked: list[str] = []
    monkeypatch.setattr(incident_actions, "ask_note", lambda *a, **k: asked.append(a[2]) or "x")
    ws = workstations(db, w.officers[0], window=True)
    ws.console.resources = resources
    _press_r_on(qtbot, ws, fire.id)
    qtbot.waitUntil(lambda: "cannot be resolved" in ws.queue.message.text(), timeout=10000)
    assert first_open in ws.queue.message.text() and asked == []
    assert incidents.get_incident(db, fire.id).row.status == "acknowledged"
    with pytest.raises(ValidationError, match="tick them before resolving"):
        incidents.resolve(db, w.officers[0], fire.id, fire.version + 1, "试试")
