"""Dispatch protocols: the call-taking question sets (接警问询) and the run cards (推荐处置力量).

- ``questions``: the question sets of ``resources/protocols/*.toml`` (choices with weights, "ask
  next" branches, instructions to read to the caller, the severity the score suggests);
- ``answers``: the answers stored on the incident and its timeline;
- ``run_cards``: ``policies/run_cards.toml`` and the ranked units it proposes for an incident,
  and dispatching them with what was proposed kept beside what was sent;
- ``compare``: what was proposed beside what was sent, per incident (the after-action report and
  the monthly assessment count alike).

This is the room's public face: what the views and the command line use.
"""

from dispatch_console.protocols.answers import AnswersRow, answers_of, needs_reason, record_answers
from dispatch_console.protocols.compare import VERDICTS, DispatchComparison, compare_dispatch
from dispatch_console.protocols.questions import Choice, Question, QuestionSet, load_sets, sets_for
from dispatch_console.protocols.run_cards import (
    Candidate,
    KindLine,
    Proposal,
    RunCards,
    dispatch,
    load_run_cards,
    proposals_of,
    propose,
)

__all__ = [
    "VERDICTS", "AnswersRow", "Candidate", "Choice", "DispatchComparison", "KindLine", "Proposal", "Question",
    "QuestionSet", "RunCards", "answers_of", "compare_dispatch", "dispatch", "load_run_cards", "load_sets",
    "needs_reason", "proposals_of", "propose", "record_answers", "sets_for",
]
