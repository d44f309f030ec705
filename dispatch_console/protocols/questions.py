"""Call-taking question sets (接警问询) from ``resources/protocols/*.toml``.

A set names the incidents it is for (categories, optionally sources; or ``fallback = true`` for
the generic set), its questions in the order they are asked, and for each question its answer
choices with a weight. A choice (or a question) may say which question to ask next; a question
may carry an instruction to read to the caller, and a choice one too (燃气泄漏: 关阀、开窗、勿开关电器
when the caller can still reach the valve). The weights of the chosen answers add up to a score,
and ``[severity]`` says from which score each severity is suggested — the officer decides.

"Ask next" may only point forward in the file, so every walk ends. Loading shares the checklist
templates' reader (file, line and reason for every broken file; the good files still load).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dispatch_console.checklists.templates import (
    SEVERITIES,
    TemplateError,
    _find_line,
    _load,
    _need,
    _SchemaError,
    _str_list,
    content_hash,
)
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.i18n import _

FOLDER = "protocols"
END = "end"  # ``next = "end"``: no more questions
MAX_QUESTIONS = 40
MAX_CHOICES = 12
MAX_WEIGHT = 100
_TEXT_MAX = 300
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True)
class Choice:
    key: str
    text: str
    weight: int = 0
    next: str | None = None
    instruction: str | None = None


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    choices: tuple[Choice, ...]
    instruction: str | None = None
    next: str | None = None

    def choice(self, key: str) -> Choice | None:
        return next((c for c in self.choices if c.key == key), None)


@dataclass(frozen=True)
class QuestionSet:
    code: str
    name: str
    version: str
    questions: tuple[Question, ...]
    categories: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    fallback: bool = False
    # (severity, lowest score) from the most serious down; below every threshold: severity 4
    thresholds: tuple[tuple[int, int], ...] = ()
    content_hash: str = ""
    path: str = ""

    def question(self, key: str) -> Question | None:
        return next((q for q in self.questions if q.key == key), None)

    def fits(self, category: str, source: str | None) -> int:
        """How well the set fits: -1 not at all, 0 the generic set, 1 by category, 2 by category and source."""
        if self.fallback:
            return 0
        if category not in self.categories:
            return -1
        if self.sources:
            return 2 if source in self.sources else -1
        return 1

    def next_after(self, question: Question, choice: Choice | None) -> Question | None:
        """The question asked after ``question`` was answered with ``choice`` (None: the walk ends)."""
        target = (choice.next if choice else None) or question.next
        if target == END:
            return None
        if target is not None:
            return self.question(target)
        index = self.questions.index(question)
        return self.questions[index + 1] if index + 1 < len(self.questions) else None

    def walk(self, answers: Mapping[str, str]) -> list[tuple[Question, Choice | None]]:
        """The questions asked, in order, with the choice given to each (None: not answered yet)."""
        asked: list[tuple[Question, Choice | None]] = []
        question: Question | None = self.questions[0]
        while question is not None:
            choice = question.choice(answers.get(question.key, ""))
            asked.append((question, choice))
            if choice is None:
                break
            question = self.next_after(question, choice)
        return asked

    def score(self, answers: Mapping[str, str]) -> int:
        return sum(c.weight for _q, c in self.walk(answers) if c is not None)

    def suggested_severity(self, answers: Mapping[str, str]) -> int:
        score = self.score(answers)
        for severity, lowest in self.thresholds:
            if score >= lowest:
                return severity
        return 4

    def complete(self, answers: Mapping[str, str]) -> bool:
        walked = self.walk(answers)
        return bool(walked) and walked[-1][1] is not None


def _text(raw: dict[str, Any], key: str, where: tuple[str | None, int | None], *, required: bool) -> str | None:
    value = _need(raw, key, str, where, required=required)
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > _TEXT_MAX:
        raise _SchemaError(_("\"{key}\" must be 1–{n} characters").format(key=key, n=_TEXT_MAX), *where, key)
    return str(value)


def _key(raw: dict[str, Any], where: tuple[str | None, int | None]) -> str:
    key = _need(raw, "key", str, where)
    if not _KEY_RE.match(key) or key == END:
        raise _SchemaError(_("key \"{key}\" must be lower-case letters, digits and _").format(key=key),
                           *where, "key")
    return str(key)


def _extra(raw: dict[str, Any], known: set[str], where: tuple[str | None, int | None]) -> None:
    for extra in raw:
        if extra not in known:
            raise _SchemaError(_("unknown key \"{key}\"").format(key=extra), *where, extra)


def _parse_choice(raw: Any, index: int) -> Choice:
    where = ("questions.choices", index)
    if not isinstance(raw, dict):
        raise _SchemaError(_("a choice must be a table"), *where, None)
    weight = _need(raw, "weight", int, where, required=False) or 0
    if not -MAX_WEIGHT <= weight <= MAX_WEIGHT:
        raise _SchemaError(_("weight must be between -{n} and {n}").format(n=MAX_WEIGHT), *where, "weight")
    _extra(raw, {"key", "text", "weight", "next", "instruction"}, where)
    return Choice(key=_key(raw, where), text=_text(raw, "text", where, required=True) or "", weight=weight,
                  next=_need(raw, "next", str, where, required=False),
                  instruction=_text(raw, "instruction", where, required=False))


def _parse_questions(raws: Any) -> tuple[Question, ...]:
    if not isinstance(raws, list) or not raws:
        raise _SchemaError(_("at least one question is needed"), None, None, "questions")
    if len(raws) > MAX_QUESTIONS:
        raise _SchemaError(_("at most {n} questions").format(n=MAX_QUESTIONS), None, None, "questions")
    questions: list[Question] = []
    choice_index = 0  # [[questions.choices]] headers are counted through the whole file
    for i, raw in enumerate(raws):
        where = ("questions", i)
        if not isinstance(raw, dict):
            raise _SchemaError(_("a question must be a table"), *where, None)
        key = _key(raw, where)
        if any(q.key == key for q in questions):
            raise _SchemaError(_("duplicate question key \"{key}\"").format(key=key), *where, "key")
        raw_choices = raw.get("choices")
        if not isinstance(raw_choices, list) or not raw_choices:
            raise _SchemaError(_("a question needs at least one choice"), *where, None)
        if len(raw_choices) > MAX_CHOICES:
            raise _SchemaError(_("at most {n} choices").format(n=MAX_CHOICES), *where, None)
        choices: list[Choice] = []
        for raw_choice in raw_choices:
            choice = _parse_choice(raw_choice, choice_index)
            if any(c.key == choice.key for c in choices):
                raise _SchemaError(_("duplicate choice key \"{key}\"").format(key=choice.key),
                                   "questions.choices", choice_index, "key")
            choices.append(choice)
            choice_index += 1
        _extra(raw, {"key", "text", "choices", "instruction", "next"}, where)
        questions.append(Question(key=key, text=_text(raw, "text", where, required=True) or "",
                                  choices=tuple(choices), instruction=_text(raw, "instruction", where, required=False),
                                  next=_need(raw, "next", str, where, required=False)))
    _check_next(questions)
    return tuple(questions)


def _check_next(questions: list[Question]) -> None:
    """Every "ask next" names a later question (or "end"), so a walk always ends."""
    position = {q.key: i for i, q in enumerate(questions)}
    choice_index = 0
    for i, q in enumerate(questions):
        if q.next is not None and q.next != END and position.get(q.next, -1) <= i:
            raise _SchemaError(_("next = \"{key}\" must name a later question or \"end\"").format(key=q.next),
                               "questions", i, "next")
        for c in q.choices:
            if c.next is not None and c.next != END and position.get(c.next, -1) <= i:
                raise _SchemaError(_("next = \"{key}\" must name a later question or \"end\"").format(key=c.next),
                                   "questions.choices", choice_index, "next")
            choice_index += 1


def _parse_thresholds(raw: Any) -> tuple[tuple[int, int], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise _SchemaError(_("[severity] must be a table of severity = lowest score"), None, None, "severity")
    out: list[tuple[int, int]] = []
    for name, lowest in raw.items():
        if name not in {str(s) for s in SEVERITIES[:-1]}:
            raise _SchemaError(_("[severity] names severities 1, 2 and 3 (4 is below them all)"),
                               "severity", None, name)
        if isinstance(lowest, bool) or not isinstance(lowest, int):
            raise _SchemaError(_("\"{key}\" has the wrong type").format(key=name), "severity", None, name)
        out.append((int(name), lowest))
    out.sort()
    for (_s1, a), (s2, b) in itertools.pairwise(out):
        if b >= a:
            raise _SchemaError(_("a more serious severity needs a higher score"), "severity", None, str(s2))
    return tuple(out)


def parse_set(data: dict[str, Any], path: str = "") -> QuestionSet:
    top = (None, None)
    code = _need(data, "code", str, top)
    if not _KEY_RE.match(code):
        raise _SchemaError(_("code \"{code}\" must be lower-case letters, digits and _").format(code=code),
                           None, None, "code")
    name = _need(data, "name", str, top)
    version = _need(data, "version", (str, int, float), top)
    fallback = bool(_need(data, "fallback", bool, top, required=False))
    categories = _str_list(data, "categories", top)
    if not categories and not fallback:
        raise _SchemaError(_("a question set needs categories or fallback = true"), None, None, None)
    questions = _parse_questions(data.get("questions"))
    _extra(data, {"code", "name", "version", "fallback", "categories", "sources", "description", "severity",
                  "questions"}, top)
    return QuestionSet(code=code, name=name, version=str(version), questions=questions, categories=categories,
                       sources=_str_list(data, "sources", top), fallback=fallback,
                       thresholds=_parse_thresholds(data.get("severity")), content_hash=content_hash(data),
                       path=path)


def load_sets(resources: Resources, categories: frozenset[str] | None = None
              ) -> tuple[list[QuestionSet], list[TemplateError]]:
    """Every valid question set and an error (file, line, reason) for each broken one."""
    sets: list[QuestionSet] = []
    errors: list[TemplateError] = []
    codes: dict[str, str] = {}
    for path in resources.files(FOLDER, ".toml"):
        qs, error = _load(path, parse_set)
        if error is not None:
            errors.append(error)
            continue
        assert isinstance(qs, QuestionSet)
        text = path.read_text(encoding="utf-8")
        unknown = [c for c in qs.categories if categories is not None and c not in categories]
        if unknown:
            errors.append(TemplateError(qs.path, _find_line(text, None, None, "categories"), None,
                                        _("unknown category \"{code}\"").format(code=unknown[0])))
            continue
        if qs.code in codes:
            errors.append(TemplateError(qs.path, _find_line(text, None, None, "code"), None,
                                        _("code \"{code}\" is already used by {other}").format(
                                            code=qs.code, other=codes[qs.code])))
            continue
        codes[qs.code] = qs.path
        sets.append(qs)
    return sets, errors


def sets_for(sets: list[QuestionSet], category: str, source: str | None = None) -> list[QuestionSet]:
    """The sets that fit an incident, the best first (the generic set last)."""
    ranked = [(qs.fits(category, source), qs.code, qs) for qs in sets]
    return [qs for fit, _code, qs in sorted((r for r in ranked if r[0] >= 0), key=lambda r: (-r[0], r[1]))]
