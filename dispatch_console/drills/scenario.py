"""Drill scenarios (演练脚本): a TOML file of objectives, participants and timed injects.

A scenario names its objectives and participants, then lists *injects* at scenario-time offsets:
a new incident (``kind = "incident"``), a change to one (``kind = "update"``: the caller moves,
the severity rises, more people gather) or a unit that becomes unavailable
(``kind = "unit_unavailable"``). Each inject may list expected actions with target times
(acknowledge within 60 s, dispatch within 5 min, checklist step ``evacuate`` ticked within
10 min …); the after-action report measures the officers against them.

Every problem is reported with the file and line: TOML syntax errors with tomllib's line, schema
errors at the line of the offending key (see :func:`key_lines`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dispatch_console.incidents.draft import IncidentDraft, draft_problems
from dispatch_console.kernel import bounded_input
from dispatch_console.kernel.categories import Catalog, load_catalog
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.errors import DispatchError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.policies import parse_duration

SCENARIO_FOLDER = "drills"
INJECT_KINDS = ("incident", "update", "unit_unavailable")
ACTIONS = ("acknowledge", "dispatch", "arrive", "checklist", "resolve")
INCIDENT_FIELDS = ("category", "severity", "source", "description", "address", "lon", "lat", "grid",
                   "reporter_name", "reporter_phone", "people_count")
UPDATE_FIELDS = ("severity", "description", "address", "lon", "lat", "grid", "people_count")
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_TOP_KEYS = {"code", "name", "description", "duration", "objectives", "participants", "injects"}
_INJECT_KEYS = {"key", "at", "kind", "title", "target", "unit", "note", "expect", *INCIDENT_FIELDS}
_EXPECT_KEYS = {"action", "within", "step", "unit_kind", "incident"}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario file, where it is."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class ScenarioError(DispatchError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Expectation:
    action: str
    within_s: float
    step: str | None = None  # checklist step key
    unit_kind: str | None = None  # dispatch / arrive: a unit of this kind
    incident: str | None = None  # the inject whose incident is meant (default: this inject's)


@dataclass(frozen=True)
class Inject:
    key: str
    at_s: float
    kind: str
    title: str
    fields: Mapping[str, Any]  # incident fields (incident) or the changed ones (update)
    target: str | None = None  # update: the incident inject it changes
    unit: str | None = None  # unit_unavailable: the unit's code
    note: str | None = None
    expect: tuple[Expectation, ...] = ()

    @property
    def incident_key(self) -> str | None:
        """The inject that created the incident this one is about."""
        return self.key if self.kind == "incident" else self.target


@dataclass(frozen=True)
class Participant:
    role: str
    count: int
    duty: str


@dataclass(frozen=True)
class Scenario:
    code: str
    name: str
    description: str
    duration_s: float
    objectives: tuple[str, ...]
    participants: tuple[Participant, ...]
    injects: tuple[Inject, ...]
    source: str
    data: Mapping[str, Any]  # the file's content as parsed (stored with each run)

    def inject(self, key: str) -> Inject:
        return next(i for i in self.injects if i.key == key)


# ---------------------------------------------------------------------------------------------
# Where a key is in the file.


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\".]+)\s*=")


def key_lines(text: str) -> dict[tuple[str | int, ...], int]:
    """The first line (1-based) of every table, array-of-tables element and key in ``text``.

    Paths look like ``("injects", 2, "expect", 0, "within")``. Keys of inline tables and elements
    of arrays are not tracked: :func:`locate` falls back to the enclosing key's line.
    """
    lines: dict[tuple[str | int, ...], int] = {}
    counters: dict[tuple[str | int, ...], int] = {}
    current: tuple[str | int, ...] = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(raw)
        if header:
            names = [part.strip().strip('"') for part in header.group(2).split(".")]
            path: tuple[str | int, ...] = ()
            for name in names[:-1]:  # a parent array of tables means its latest element
                path = (*path, name)
                if path in counters:
                    path = (*path, counters[path])
            path = (*path, names[-1])
            if header.group(1) == "[[":
                counters[path] = counters.get(path, -1) + 1
                path = (*path, counters[path])
            current = path
            lines.setdefault(path, number)
            continue
        key = _KEY.match(raw)
        if key:
            parts = tuple(p.strip('"') for p in key.group(1).split("."))
            lines.setdefault((*current, *parts), number)
    return lines


def locate(lines: Mapping[tuple[str | int, ...], int], path: tuple[str | int, ...]) -> int | None:
    """The line of ``path``, or of its nearest enclosing key or table."""
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


# ---------------------------------------------------------------------------------------------
# Reading and checking.


class _Checker:
    def __init__(self, source: str, text: str | None, catalog: Catalog) -> None:
        self.source = source
        self.lines = key_lines(text) if text is not None else {}
        self.catalog = catalog
        self.problems: list[Problem] = []

    def fail(self, path: tuple[str | int, ...], message: str) -> None:
        self.problems.append(Problem(self.source, locate(self.lines, path), message))

    def text(self, table: Mapping[str, Any], key: str, path: tuple[str | int, ...], *, required: bool = True,
             limit: int = 200) -> str:
        value = table.get(key)
        if value is None:
            if required:
                self.fail(path, _("{key} is required.").format(key=key))
            return ""
        if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
            self.fail((*path, key), _("{key} must be text of at most {limit} characters.").format(
                key=key, limit=limit))
            return ""
        return value

    def duration(self, table: Mapping[str, Any], key: str, path: tuple[str | int, ...]) -> float:
        try:
            return parse_duration(table.get(key)).total_seconds()
        except ValueError:
            self.fail((*path, key), _("{key} must be a duration such as 90s, 5m or 1h30m, not {value!r}.")
                      .format(key=key, value=table.get(key)))
            return 0.0

    def unknown(self, table: Mapping[str, Any], allowed: set[str], path: tuple[str | int, ...]) -> None:
        for key in sorted(set(table) - allowed):
            self.fail((*path, key), _("unknown key {key}.").format(key=key))

    def tables(self, data: Mapping[str, Any], key: str, path: tuple[str | int, ...]) -> list[dict[str, Any]]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.fail((*path, key), _("{key} must be a list of tables ([[{key}]]).").format(key=key))
            return []
        return value


def _expectations(c: _Checker, inject: dict[str, Any], path: tuple[str | int, ...],
                  keys: set[str]) -> tuple[Expectation, ...]:
    out = []
    for j, table in enumerate(c.tables(inject, "expect", path)):
        where = (*path, "expect", j)
        c.unknown(table, _EXPECT_KEYS, where)
        action = table.get("action")
        if action not in ACTIONS:
            c.fail((*where, "action"), _("action must be one of {choices}.").format(choices=", ".join(ACTIONS)))
            continue
        step = table.get("step")
        if action == "checklist" and (not isinstance(step, str) or not step):
            c.fail((*where, "step"), _("A checklist expectation names its step (the step's key)."))
        incident = table.get("incident")
        if incident is not None and incident not in keys:
            c.fail((*where, "incident"), _("No earlier incident inject has the key {key}.").format(key=incident))
        if inject.get("kind") == "unit_unavailable" and incident is None:
            c.fail(where, _("An expectation of a unit inject names the incident (incident = \"key\")."))
        unit_kind = table.get("unit_kind")
        if unit_kind is not None and not isinstance(unit_kind, str):
            c.fail((*where, "unit_kind"), _("unit_kind must be text."))
        within = c.duration(table, "within", where)
        out.append(Expectation(str(action), within, step if isinstance(step, str) else None,
                               unit_kind if isinstance(unit_kind, str) else None,
                               incident if isinstance(incident, str) else None))
    return tuple(out)


def _inject(c: _Checker, table: dict[str, Any], i: int, incident_keys: set[str], seen: set[str]) -> Inject | None:
    path: tuple[str | int, ...] = ("injects", i)
    c.unknown(table, _INJECT_KEYS, path)
    key = table.get("key")
    if not isinstance(key, str) or not _CODE.match(key):
        c.fail((*path, "key"), _("key must be a short code of lowercase letters, digits, - and _."))
        return None
    if key in seen:
        c.fail((*path, "key"), _("The key {key} is used twice.").format(key=key))
    seen.add(key)
    at = c.duration(table, "at", path)
    kind = table.get("kind")
    if kind not in INJECT_KINDS:
        c.fail((*path, "kind"), _("kind must be one of {choices}.").format(choices=", ".join(INJECT_KINDS)))
        return None
    title = c.text(table, "title", path, required=False) or str(table.get("description") or key)[:60]
    note = c.text(table, "note", path, required=False, limit=1000) or None
    fields: dict[str, Any] = {}
    target = unit = None
    if kind == "incident":
        fields = {k: table[k] for k in INCIDENT_FIELDS if k in table}
        draft = IncidentDraft(**{"category": None, "severity": None, "source": None, "description": None,
                                 **fields})  # type: ignore[arg-type]
        for problem in draft_problems(draft, c.catalog):
            c.fail((*path, problem.field), problem.message)
        incident_keys.add(key)
    elif kind == "update":
        target = table.get("target")
        if target not in incident_keys:
            c.fail((*path, "target"), _("target must name an earlier incident inject."))
        fields = {k: table[k] for k in UPDATE_FIELDS if k in table}
        extra = sorted(set(INCIDENT_FIELDS) & set(table) - set(UPDATE_FIELDS))
        for name in extra:
            c.fail((*path, name), _("An update cannot change {key}.").format(key=name))
        if not fields and not note:
            c.fail(path, _("An update changes at least one field or adds a note."))
        probe = IncidentDraft(category="other", severity=fields.get("severity", 4), source="other",
                              description=fields.get("description", "-"), address=fields.get("address"),
                              lon=fields.get("lon"), lat=fields.get("lat"), grid=fields.get("grid"),
                              people_count=fields.get("people_count"))
        for problem in draft_problems(probe, c.catalog):
            c.fail((*path, problem.field), problem.message)
    else:
        unit = table.get("unit")
        if not isinstance(unit, str) or not unit:
            c.fail((*path, "unit"), _("unit must be the code of a unit (e.g. mbfd-taoyuan)."))
        for name in sorted(set(INCIDENT_FIELDS) & set(table)):
            c.fail((*path, name), _("A unit inject has no {key}.").format(key=name))
    expect = _expectations(c, table, path, incident_keys)
    return Inject(key, at, str(kind), title, fields, target if isinstance(target, str) else None,
                  unit if isinstance(unit, str) else None, note, expect)


def parse_scenario(data: Mapping[str, Any], source: str, text: str | None = None,
                   resources: Resources | None = None) -> Scenario:
    """Check a parsed scenario; ScenarioError lists every problem with its file and line."""
    c = _Checker(source, text, load_catalog(resources))
    c.unknown(data, _TOP_KEYS, ())
    code = c.text(data, "code", ())
    if code and not _CODE.match(code):
        c.fail(("code",), _("code must be a short code of lowercase letters, digits, - and _."))
    name = c.text(data, "name", ())
    description = c.text(data, "description", (), required=False, limit=4000)
    duration = c.duration(data, "duration", ())
    objectives = data.get("objectives")
    if not isinstance(objectives, list) or not objectives or not all(isinstance(o, str) and o for o in objectives):
        c.fail(("objectives",), _("objectives must be a list of one or more texts."))
        objectives = []
    participants = []
    for i, table in enumerate(c.tables(data, "participants", ())):
        c.unknown(table, {"role", "count", "duty"}, ("participants", i))
        role = c.text(table, "role", ("participants", i), limit=64)
        count = table.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            c.fail(("participants", i, "count"), _("count must be a whole number of 1 or more."))
            count = 1
        participants.append(Participant(role, count, c.text(table, "duty", ("participants", i), required=False,
                                                            limit=500)))
    injects: list[Inject] = []
    incident_keys: set[str] = set()
    seen: set[str] = set()
    raw_injects = c.tables(data, "injects", ())
    if (not raw_injects and "injects" in data) or "injects" not in data:
        c.fail(("injects",), _("A scenario needs at least one inject ([[injects]])."))
    for i, table in enumerate(raw_injects):
        inject = _inject(c, table, i, incident_keys, seen)
        if inject is None:
            continue
        if injects and inject.at_s < injects[-1].at_s:
            c.fail(("injects", i, "at"), _("Injects are listed in time order; this one comes before the previous."))
        if duration and inject.at_s > duration:
            c.fail(("injects", i, "at"), _("This inject comes after the end of the drill (duration)."))
        injects.append(inject)
    if not c.problems:
        _check_steps(c, injects, resources)
    if c.problems:
        raise ScenarioError(c.problems)
    return Scenario(code, name, description, duration, tuple(objectives), tuple(participants), tuple(injects),
                    source, dict(data))


def _check_steps(c: _Checker, injects: list[Inject], resources: Resources | None) -> None:
    """A checklist expectation names a step the incident's checklist will have (else it can never be met)."""
    from dispatch_console.checklists import templates as ct

    res = resources or Resources.from_env()
    templates, _errors = ct.load_templates(res)
    policy, _policy_errors = ct.load_reporting_policy(res)
    steps: dict[str, set[str]] = {}
    by_key = {i.key: i for i in injects}
    for inject in injects:
        key = inject.incident_key
        if key is None or inject.kind == "unit_unavailable":
            continue
        fields = {**by_key[key].fields, **(inject.fields if inject.kind == "update" else {})}
        severity = int(fields.get("severity", 4))
        template = ct.best_template(templates, str(fields.get("category")), severity,
                                    str(fields.get("description", "")), fields.get("people_count"))
        found = steps.setdefault(key, set())
        found.update(step.key for step in (template.steps if template else ()))
        if policy is not None:
            found.update(step.key for step in policy.steps_for(severity))
    for i, inject in enumerate(injects):
        for j, e in enumerate(inject.expect):
            target = e.incident or inject.incident_key
            if e.action == "checklist" and target in steps and e.step not in steps[target]:
                c.fail(("injects", i, "expect", j, "step"),
                       _("The checklist of {key} has no step {step} (it has: {steps}).").format(
                           key=target, step=e.step, steps=", ".join(sorted(steps[target]))))


def load_scenario(path: str | Path, resources: Resources | None = None) -> Scenario:
    """Read and check a scenario file."""
    path = Path(path)
    source = str(path)
    where = bounded_input.Position(source)
    try:  # bounded: size, UTF-8, no NUL, nesting checked before tomllib recurses
        text = bounded_input.read_text(path, bounded_input.SITE_FILE_LIMITS)
        bounded_input.check_toml_depth(text, where, bounded_input.SITE_FILE_LIMITS)
    except bounded_input.InputError as exc:
        raise ScenarioError([Problem(source, exc.position.line, exc.reason)]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"at line (\d+), column (\d+)", str(exc))
        line = int(match.group(1)) if match else None
        raise ScenarioError([Problem(source, line, _("TOML syntax error: {error}").format(error=exc))]) from None
    try:
        bounded_input.check_value(data, where, bounded_input.SITE_FILE_LIMITS)
    except bounded_input.InputError as exc:
        raise ScenarioError([Problem(source, None, _("{field}: {reason}").format(
            field=exc.position.field, reason=exc.reason) if exc.position.field else exc.reason)]) from None
    return parse_scenario(data, source, text, resources)


def shipped_scenarios(resources: Resources | None = None) -> list[Path]:
    """The scenario files: the shipped ones, overridden by same-named files of the config folder."""
    return (resources or Resources.from_env()).files(SCENARIO_FOLDER, ".toml")
