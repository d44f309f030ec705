"""The change vocabulary: every entity and operation that ``change_log`` carries is a member of
``change_kinds``, so a subscriber testing a member never waits for a change spelt otherwise."""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import select

from db.engine import Database
from db.models import AuditLog, ChangeLog
from dispatch_console.demo.seed import seed_demo
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.change_kinds import Entity, Op, entities
from dispatch_console.timers import engine as timers

ROOT = Path(__file__).resolve().parents[2]


def test_every_entity_and_op_recorded_by_the_demo_and_its_deadlines_is_in_the_vocabulary(
        db: Database, system: Actor) -> None:
    seed_demo(db, system)
    timers.fire_due(db, "ws-vocabulary")  # the demo's overdue deadlines: firings, escalations
    with db.read() as s:
        recorded = set(s.execute(select(ChangeLog.entity).distinct()).scalars())
        ops = set(s.execute(select(ChangeLog.op).distinct()).scalars())
        audited = set(s.execute(select(AuditLog.entity).distinct()).scalars())
    assert {"database", "timer", "case", "checklist", "notification"} <= recorded  # the scan saw the demo
    assert recorded - set(Entity) == set() and audited - set(Entity) == set()
    assert ops - set(Op) == set()


def _literal_keywords(name: str) -> set[str]:
    """Every string literal passed as ``name=`` to ``record`` or ``update_versioned`` in the core."""
    found: set[str] = set()
    for path in (ROOT / "dispatch_console").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called not in ("record", "update_versioned"):
                continue
            for kw in node.keywords:
                if kw.arg == name and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                    found.add(kw.value.value)
    return found


def test_every_entity_and_op_written_in_the_code_is_in_the_vocabulary() -> None:
    written = _literal_keywords("entity")
    assert "incident" in written and "handover" in written  # the scan found the recording sites
    assert written - set(Entity) == set()
    assert _literal_keywords("op") - set(Op) == set()


def test_members_are_their_text() -> None:
    assert Entity.INCIDENT == "incident" and Op.FIRE == "fire"
    assert "incident" in {Entity.INCIDENT} and Entity.TIMER in {"timer"}  # either way round

    class Row:
        entity = "checklist"

    assert entities([Row()]) == {Entity.CHECKLIST}
