"""Answers to the call-taking questions: stored on the incident and its timeline, reason when overridden."""

from __future__ import annotations

import pytest
from sqlalchemy import delete
from support.world import make_world

from db.engine import Database
from db.models import IncidentAnswers
from dispatch_console.incidents import service as incidents
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.errors import ValidationError
from dispatch_console.protocols import answers_of, load_sets, record_answers

GAS = {"smell_now": "strong", "valve": "cannot", "source": "cylinder", "casualties": "symptoms",
       "people_nearby": "building"}  # 20 + 10 + 8 + 15 + 10 = 63: severity 1 suggested


def gas_set():  # type: ignore[no-untyped-def]
    return next(s for s in load_sets(Resources())[0] if s.code == "gas_leak")


def test_answers_are_stored_with_score_and_suggestion_and_shown_on_the_timeline(db: Database) -> None:
    world = make_world(db)
    row = world.record("出租屋液化气瓶漏气", category="rental_housing", severity=1)
    stored = record_answers(db, world.officers[0], row.id, gas_set(), GAS)
    assert (stored.score, stored.suggested_severity, stored.chosen_severity, stored.reason) == (63, 1, 1, None)
    assert [a.choice for a in stored.answers] == ["strong", "cannot", "cylinder", "symptoms", "building"]
    assert answers_of(db, row.id) == [stored]
    event = next(e for e in incidents.get_incident(db, row.id).events if e.kind == "questions_answered")
    assert "瓶装液化气" in (event.note or "")


def test_a_severity_other_than_the_suggested_one_needs_a_reason(db: Database) -> None:
    world = make_world(db)
    row = world.record("燃气味", category="rental_housing", severity=3)
    with pytest.raises(ValidationError) as refused:
        record_answers(db, world.officers[0], row.id, gas_set(), GAS)
    assert refused.value.field == "reason"
    assert answers_of(db, row.id) == []  # nothing stored half
    why = "报警人为老人，描述夸大，网格员已到场核实"
    stored = record_answers(db, world.officers[0], row.id, gas_set(), GAS, reason=why)
    assert (stored.suggested_severity, stored.chosen_severity) == (1, 3)
    assert stored.reason and "网格员" in stored.reason


def test_an_answer_that_is_not_a_choice_is_refused_and_the_record_cannot_be_deleted(db: Database) -> None:
    world = make_world(db)
    row = world.record("燃气味", category="rental_housing", severity=1)
    with pytest.raises(ValidationError):
        record_answers(db, world.officers[0], row.id, gas_set(), {**GAS, "valve": "maybe"})
    record_answers(db, world.officers[0], row.id, gas_set(), GAS)
    with pytest.raises(Exception, match="append-only"), db.write() as s:
        s.execute(delete(IncidentAnswers))
