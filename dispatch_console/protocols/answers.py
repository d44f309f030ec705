"""The answers to an incident's call-taking questions: stored on the incident and its timeline.

The score is computed again here from the set in force, never taken from the form: the form only
says which choice was given to which question. When the incident's severity differs from the one
the score suggests, the officer's reason is required (the officer decides; the record says why).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from db.engine import Database, db_now
from db.models import Incident, IncidentAnswers
from dispatch_console.incidents.lifecycle import add_event
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changes import record, serialise_writers
from dispatch_console.kernel.errors import NotFound, ValidationError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import require
from dispatch_console.protocols.questions import QuestionSet

REASON_MAX = 500


@dataclass(frozen=True)
class Answer:
    question: str
    question_text: str
    choice: str
    choice_text: str
    weight: int


@dataclass(frozen=True)
class AnswersRow:
    incident_id: int
    set_code: str
    set_version: str
    answers: tuple[Answer, ...]
    score: int
    suggested_severity: int
    chosen_severity: int
    reason: str | None
    recorded_at: datetime
    recorded_by: int | None


def walked_answers(qs: QuestionSet, answers: Mapping[str, str]) -> list[Answer]:
    """The answers on the path the questions took (an answer to a question skipped is dropped)."""
    return [Answer(q.key, q.text, c.key, c.text, c.weight) for q, c in qs.walk(answers) if c is not None]


def needs_reason(qs: QuestionSet, answers: Mapping[str, str], severity: int) -> bool:
    return bool(walked_answers(qs, answers)) and qs.suggested_severity(answers) != severity


def record_answers(db: Database, actor: Actor, incident_id: int, qs: QuestionSet, answers: Mapping[str, str],
                   reason: str | None = None) -> AnswersRow:
    """Store the answers given for ``incident_id`` (a row of its own and a timeline entry)."""
    require(actor, "incident.edit")
    walked = walked_answers(qs, answers)
    if not walked:
        raise ValidationError(_("No question was answered."), "answers")
    for key, choice in answers.items():
        question = qs.question(key)
        if question is None or question.choice(choice) is None:
            raise ValidationError(_("\"{choice}\" is not an answer to \"{question}\" in {set}.").format(
                choice=choice, question=key, set=qs.name), "answers")
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > REASON_MAX:
        raise ValidationError(_("The reason is at most {n} characters.").format(n=REASON_MAX), "reason")
    score = sum(a.weight for a in walked)
    suggested = qs.suggested_severity(answers)
    with db.write() as s:
        serialise_writers(s)
        incident = s.get(Incident, incident_id)
        if incident is None:
            raise NotFound(_("No incident with id {id}.").format(id=incident_id))
        if incident.severity != suggested and reason is None:
            raise ValidationError(_("The answers suggest severity {suggested}; say why it is {chosen}.").format(
                suggested=suggested, chosen=incident.severity), "reason")
        now = db_now(s)
        stored: list[dict[str, Any]] = [
            {"question": a.question, "question_text": a.question_text, "choice": a.choice,
             "choice_text": a.choice_text, "weight": a.weight} for a in walked]
        row = IncidentAnswers(incident_id=incident.id, set_code=qs.code, set_version=qs.version,
                              set_hash=qs.content_hash, answers=stored, score=score, suggested_severity=suggested,
                              chosen_severity=incident.severity, reason=reason, recorded_at=now,
                              recorded_by=actor.user_id)
        s.add(row)
        s.flush()
        summary = "；".join(f"{a.question_text} {a.choice_text}" for a in walked)
        add_event(s, actor, incident, "questions_answered", now, note=summary, data={
            "set": qs.code, "version": qs.version, "score": score, "suggested_severity": suggested,
            "chosen_severity": incident.severity, "reason": reason,
            "answers": {a.question: a.choice for a in walked}})
        record(s, actor, entity="incident", entity_id=incident.id, op="update", action="incident.answers",
               after={"set": qs.code, "score": score, "suggested_severity": suggested,
                      "chosen_severity": incident.severity, "reason": reason}, at=now)
        return _row(row)


def _row(r: IncidentAnswers) -> AnswersRow:
    return AnswersRow(
        incident_id=r.incident_id, set_code=r.set_code, set_version=r.set_version,
        answers=tuple(Answer(a["question"], a["question_text"], a["choice"], a["choice_text"], int(a["weight"]))
                      for a in r.answers),
        score=r.score, suggested_severity=r.suggested_severity, chosen_severity=r.chosen_severity,
        reason=r.reason, recorded_at=r.recorded_at, recorded_by=r.recorded_by)


def answers_of(db: Database, incident_id: int) -> list[AnswersRow]:
    """Every set of answers recorded for the incident, the first first."""
    with db.read() as s:
        return [_row(r) for r in s.execute(
            select(IncidentAnswers).where(IncidentAnswers.incident_id == incident_id)
            .order_by(IncidentAnswers.id)).scalars()]
