"""Emergency-response checklist templates and the information-reporting policy, from TOML files.

Templates live in ``resources/checklists/*.toml``, one file per template; a site adds or replaces
files through its config folder (``Resources.files("checklists", ".toml")``). The reporting
policy is ``resources/policies/reporting.toml``; a locality with stricter deadlines overrides it
the same way.

Loading never stops at a broken file: :func:`load_templates` returns the valid templates and a
list of :class:`TemplateError` naming file, line and reason, so the console still starts and the
``checklists validate`` command can say what to fix.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dispatch_console.kernel import bounded_input
from dispatch_console.kernel.config import Resources, resources_root
from dispatch_console.kernel.i18n import N_, _

REPORTING_POLICY = "policies/reporting.toml"
REPORTING_CODE = "reporting"  # template_code of the report steps on checklist_item
DEADLINE_FROM = ("created", "acknowledged")
REPORT_KINDS = ("report_first", "report_followup", "report_final")
SEVERITIES = (1, 2, 3, 4)

# Who carries out a step: the duty room's own roles, the grid's 一格三员, and the kinds of unit it
# dispatches. Labels are for the checklist panel.
ROLE_LABELS: dict[str, str] = {
    "duty_officer": N_("Duty officer"),
    "shift_leader": N_("Shift leader"),
    "director": N_("Director"),
    "grid_manager": N_("Grid manager"),
    "grid_assistant": N_("Grid assistant"),
    "grid_supervisor": N_("Grid supervisor"),
    "police_station": N_("Police station"),
    "fire_station": N_("Fire and rescue station"),
    "law_enforcement": N_("Law-enforcement team"),
    "work_safety": N_("Work-safety section"),
    "petition_office": N_("Petition office"),
    "stability_office": N_("Stability office"),
    "comprehensive_governance": N_("Comprehensive-governance office"),
    "judicial_office": N_("Judicial office"),
    "mediation_centre": N_("Dispute mediation centre"),
    "rental_office": N_("Rental housing office"),
    "trade_union": N_("Trade union"),
    "family_planning": N_("Family-planning section"),
    "armed_forces": N_("Armed forces department"),
    "militia": N_("Militia emergency squad"),
    "social_worker": N_("Social workers"),
    "volunteer": N_("Volunteers"),
    "enterprise_team": N_("Enterprise emergency team"),
    "health_centre": N_("Community health centre"),
    "utility": N_("Utility repair crew"),
}

_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_TEXT_MAX = 500


@dataclass(frozen=True)
class Step:
    key: str
    text: str
    role: str | None = None
    deadline_minutes: float | None = None
    deadline_from: str = "created"
    required: bool = True
    report_kind: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "text": self.text, "role": self.role,
            "deadline_minutes": self.deadline_minutes, "deadline_from": self.deadline_from,
            "required": self.required, "report_kind": self.report_kind,
        }


@dataclass(frozen=True)
class MatchRule:
    """All given criteria must hold; the more criteria a rule names, the more specific it is."""

    categories: tuple[str, ...] = ()
    severities: tuple[int, ...] = ()
    keywords: tuple[str, ...] = ()
    min_people: int | None = None

    @property
    def specificity(self) -> int:
        # A description keyword says more about the case than its category does.
        return (4 * bool(self.keywords) + 2 * bool(self.categories) + bool(self.severities)
                + bool(self.min_people))

    def matches(self, category: str, severity: int, description: str, people: int | None) -> bool:
        if self.categories and category not in self.categories:
            return False
        if self.severities and severity not in self.severities:
            return False
        if self.min_people is not None and (people or 0) < self.min_people:
            return False
        return not self.keywords or any(k in (description or "") for k in self.keywords)


@dataclass(frozen=True)
class Template:
    code: str
    name: str
    version: str
    steps: tuple[Step, ...]
    rules: tuple[MatchRule, ...] = ()
    fallback: bool = False
    content_hash: str = ""
    body: dict[str, Any] = field(default_factory=dict, compare=False)
    path: str = ""

    def specificity(self, category: str, severity: int, description: str, people: int | None) -> int:
        """How well this template fits the incident: -1 if it does not, 0 for the generic one."""
        if self.fallback:
            return 0
        scores = [r.specificity for r in self.rules if r.matches(category, severity, description, people)]
        return max(scores) if scores else -1


@dataclass(frozen=True)
class ReportingLevel:
    name: str
    severities: tuple[int, ...]
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class ReportingPolicy:
    version: str
    levels: tuple[ReportingLevel, ...]
    content_hash: str
    path: str

    def steps_for(self, severity: int) -> tuple[Step, ...]:
        for level in self.levels:
            if severity in level.severities:
                return level.steps
        return ()


@dataclass(frozen=True)
class TemplateError:
    path: str
    line: int
    column: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" + (f":{self.column}" if self.column else "")
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "column": self.column, "message": self.message}


class _SchemaError(Exception):
    def __init__(self, message: str, section: str | None = None, index: int | None = None,
                 key: str | None = None, occurrence: int = 1) -> None:
        super().__init__(message)
        self.section, self.index, self.key, self.occurrence = section, index, key, occurrence


# ---------------------------------------------------------------------------------------------
# Finding the line of a schema error in the file's text.

_HEADER_RE = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.]+)\s*\]\]?")


def _find_line(text: str, section: str | None, index: int | None, key: str | None,
               occurrence: int = 1) -> int:
    """The 1-based line of ``key`` in the ``index``-th ``[[section]]`` (or top level)."""
    lines = text.splitlines()
    start, end = 0, len(lines)
    if section is not None:
        seen = -1
        for no, line in enumerate(lines):
            m = _HEADER_RE.match(line)
            if m and m.group(1) == section:
                seen += 1
                if index is None or seen == index:
                    start = no
                    break
        else:
            # Inline form (``steps = [...]``) or absent: point at the assignment if there is one.
            return _find_line(text, None, None, section.split(".")[0]) if key else 1
        for no in range(start + 1, len(lines)):
            if _HEADER_RE.match(lines[no]):
                end = no
                break
        if key is None:
            return start + 1
    else:
        for no, line in enumerate(lines):
            if _HEADER_RE.match(line):
                end = no
                break
    pattern = re.compile(rf"^\s*{re.escape(key or '')}\s*=")
    found = 0
    for no in range(start, end):
        if pattern.match(lines[no]):
            found += 1
            if found == occurrence:
                return no + 1
    return start + 1


_TOML_POS_RE = re.compile(r"\(at line (\d+), column (\d+)\)")


def _syntax_error(path: str, text: str, exc: tomllib.TOMLDecodeError) -> TemplateError:
    m = _TOML_POS_RE.search(str(exc))
    if m:
        line, col = int(m.group(1)), int(m.group(2))
    else:  # "at end of document"
        line, col = max(1, len(text.splitlines())), None
    reason = _TOML_POS_RE.sub("", str(exc)).replace("(at end of document)", "").strip()
    return TemplateError(path, line, col, _("TOML syntax error: {reason}").format(reason=reason))


# ---------------------------------------------------------------------------------------------
# Schema checks.


_Where = tuple[str | None, int | None]


def _need(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: _Where,
          *, required: bool = True) -> Any:
    section, index = where
    if key not in table:
        if required:
            raise _SchemaError(_("missing key \"{key}\"").format(key=key), section, index, None)
        return None
    value = table[key]
    # bool is an int in Python; a deadline of ``true`` is still a mistake.
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise _SchemaError(_("\"{key}\" has the wrong type").format(key=key), section, index, key)
    if not isinstance(value, kind):
        raise _SchemaError(_("\"{key}\" has the wrong type").format(key=key), section, index, key)
    return value


def _str_list(table: dict[str, Any], key: str, where: _Where) -> tuple[str, ...]:
    value = _need(table, key, list, where, required=False) or []
    if not all(isinstance(v, str) and v for v in value):
        raise _SchemaError(_("\"{key}\" must be a list of texts").format(key=key), *where, key)
    return tuple(value)


def _parse_step(raw: Any, section: str, index: int, *, report: bool) -> Step:
    where = (section, index)
    if not isinstance(raw, dict):
        raise _SchemaError(_("a step must be a table"), section, index, None)
    key = _need(raw, "key", str, where)
    if not _KEY_RE.match(key):
        raise _SchemaError(_("step key \"{key}\" must be lower-case letters, digits and _").format(key=key),
                           section, index, "key")
    text = _need(raw, "text", str, where).strip()
    if not text or len(text) > _TEXT_MAX:
        raise _SchemaError(_("step text must be 1–{n} characters").format(n=_TEXT_MAX),
                           section, index, "text")
    role = _need(raw, "role", str, where, required=False)
    if role is not None and role not in ROLE_LABELS:
        raise _SchemaError(_("unknown role \"{role}\"").format(role=role), section, index, "role")
    minutes = _need(raw, "deadline_minutes", (int, float), where, required=False)
    if minutes is not None and not 0 < minutes <= 60 * 24 * 30:
        raise _SchemaError(_("deadline_minutes must be between 0 and 30 days"), section, index,
                           "deadline_minutes")
    origin = _need(raw, "deadline_from", str, where, required=False) or "created"
    if origin not in DEADLINE_FROM:
        raise _SchemaError(_("deadline_from must be \"created\" or \"acknowledged\""), section, index,
                           "deadline_from")
    required = _need(raw, "required", bool, where, required=False)
    kind = None
    if report:
        kind = _need(raw, "report_kind", str, where)
        if kind not in REPORT_KINDS:
            raise _SchemaError(_("report_kind must be one of {kinds}").format(kinds=", ".join(REPORT_KINDS)),
                               section, index, "report_kind")
    elif "report_kind" in raw:
        raise _SchemaError(_("report steps come from the reporting policy, not from templates"),
                           section, index, "report_kind")
    known = {"key", "text", "role", "deadline_minutes", "deadline_from", "required", "report_kind"}
    for extra in raw:
        if extra not in known:
            raise _SchemaError(_("unknown key \"{key}\"").format(key=extra), section, index, extra)
    return Step(key=key, text=text, role=role, deadline_minutes=float(minutes) if minutes else None,
                deadline_from=origin, required=True if required is None else required, report_kind=kind)


def _parse_steps(raws: Any, section: str, *, report: bool) -> tuple[Step, ...]:
    if not isinstance(raws, list) or not raws:
        raise _SchemaError(_("at least one step is needed"), None, None, section.split(".")[-1])
    steps: list[Step] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(raws):
        step = _parse_step(raw, section, i, report=report)
        if step.key in seen:
            raise _SchemaError(_("duplicate step key \"{key}\"").format(key=step.key), section, i, "key")
        seen[step.key] = i
        steps.append(step)
    return tuple(steps)


def _parse_rule(raw: Any, index: int | None) -> MatchRule:
    where = ("match", index)
    if not isinstance(raw, dict):
        raise _SchemaError(_("match must be a table"), None, None, "match")
    severities = _need(raw, "severities", list, where, required=False) or []
    if not all(isinstance(s, int) and not isinstance(s, bool) and s in SEVERITIES for s in severities):
        raise _SchemaError(_("severities must be numbers from 1 to 4"), "match", index, "severities")
    people = _need(raw, "min_people", int, where, required=False)
    rule = MatchRule(categories=_str_list(raw, "categories", where), severities=tuple(severities),
                     keywords=_str_list(raw, "keywords", where), min_people=people)
    for extra in raw:
        if extra not in {"categories", "severities", "keywords", "min_people"}:
            raise _SchemaError(_("unknown key \"{key}\"").format(key=extra), "match", index, extra)
    if not (rule.categories or rule.keywords):
        raise _SchemaError(_("a match rule needs categories or keywords"), "match", index, None)
    return rule


def content_hash(data: dict[str, Any]) -> str:
    """The version's identity: the parsed content, so comments and spacing do not count."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def parse_template(data: dict[str, Any], path: str = "") -> Template:
    top = (None, None)
    code = _need(data, "code", str, top)
    if not _KEY_RE.match(code) or code == REPORTING_CODE:
        raise _SchemaError(_("template code \"{code}\" must be lower-case letters, digits and _").format(
            code=code), None, None, "code")
    name = _need(data, "name", str, top)
    version = _need(data, "version", (str, int, float), top)
    fallback = bool(_need(data, "fallback", bool, top, required=False))
    raw_match = data.get("match")
    rules: list[MatchRule] = []
    if isinstance(raw_match, list):
        rules = [_parse_rule(r, i) for i, r in enumerate(raw_match)]
    elif raw_match is not None:
        rules = [_parse_rule(raw_match, None)]
    if not rules and not fallback:
        raise _SchemaError(_("a template needs [match] rules or fallback = true"), None, None, None)
    steps = _parse_steps(data.get("steps"), "steps", report=False)
    for extra in data:
        if extra not in {"code", "name", "version", "fallback", "match", "steps", "description"}:
            raise _SchemaError(_("unknown key \"{key}\"").format(key=extra), None, None, extra)
    return Template(code=code, name=name, version=str(version), steps=steps, rules=tuple(rules),
                    fallback=fallback, content_hash=content_hash(data), body=data, path=path)


def parse_policy(data: dict[str, Any], path: str = "") -> ReportingPolicy:
    version = _need(data, "version", (str, int, float), (None, None))
    raws = _need(data, "levels", list, (None, None))
    levels: list[ReportingLevel] = []
    covered: set[int] = set()
    for i, raw in enumerate(raws):
        where = ("levels", i)
        if not isinstance(raw, dict):
            raise _SchemaError(_("a level must be a table"), "levels", i, None)
        severities = _need(raw, "severities", list, where)
        if not severities or not all(isinstance(s, int) and s in SEVERITIES for s in severities):
            raise _SchemaError(_("severities must be numbers from 1 to 4"), "levels", i, "severities")
        if covered & set(severities):
            raise _SchemaError(_("a severity is given in two levels"), "levels", i, "severities")
        covered |= set(severities)
        steps = _parse_steps_in_level(raw, i, data)
        levels.append(ReportingLevel(str(raw.get("name", "")), tuple(severities), steps))
    if covered != set(SEVERITIES):
        raise _SchemaError(_("every severity 1–4 needs a reporting level"), None, None, "levels")
    return ReportingPolicy(str(version), tuple(levels), content_hash(data), path)


def _parse_steps_in_level(raw: dict[str, Any], index: int, data: dict[str, Any]) -> tuple[Step, ...]:
    # Steps of level i are the i-th group of [[levels.steps]] headers; count headers before it.
    offset = sum(len(lv.get("steps", [])) for lv in data["levels"][:index] if isinstance(lv, dict))
    try:
        return _parse_steps(raw.get("steps"), "levels.steps", report=True)
    except _SchemaError as exc:
        if exc.section == "levels.steps" and exc.index is not None:
            exc.index += offset
        elif exc.section is None:
            exc.section, exc.index, exc.key = "levels", index, None
        raise


# ---------------------------------------------------------------------------------------------
# Loading.


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(resources_root().parent))
    except ValueError:
        return str(path)


def _load(path: Path, parse: Any) -> tuple[Any, TemplateError | None]:
    shown = _display(path)
    where = bounded_input.Position(shown)
    try:  # bounded: size, UTF-8, no NUL, nesting checked before tomllib recurses
        text = bounded_input.read_text(path, bounded_input.SITE_FILE_LIMITS)
        bounded_input.check_toml_depth(text, where, bounded_input.SITE_FILE_LIMITS)
    except bounded_input.InputError as exc:
        return None, TemplateError(shown, exc.position.line or 1, None, exc.reason)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return None, _syntax_error(shown, text, exc)
    except (RecursionError, ValueError) as exc:  # the scan above makes this unreachable; a file, not a crash
        return None, TemplateError(shown, 1, None, _("TOML syntax error: {reason}").format(reason=exc))
    try:
        bounded_input.check_value(data, where, bounded_input.SITE_FILE_LIMITS)
    except bounded_input.InputError as exc:
        return None, TemplateError(shown, 1, None, _("{field}: {reason}").format(
            field=exc.position.field, reason=exc.reason) if exc.position.field else exc.reason)
    try:
        return parse(data, shown), None
    except _SchemaError as exc:
        line = _find_line(text, exc.section, exc.index, exc.key, exc.occurrence)
        return None, TemplateError(shown, line, None, str(exc))


def load_templates(resources: Resources) -> tuple[list[Template], list[TemplateError]]:
    """Every valid template (shipped, or the site's replacement) and an error per broken file."""
    templates: list[Template] = []
    errors: list[TemplateError] = []
    codes: dict[str, str] = {}
    for path in resources.files("checklists", ".toml"):
        template, error = _load(path, parse_template)
        if error is not None:
            errors.append(error)
            continue
        if template.code in codes:
            text = path.read_text(encoding="utf-8")
            errors.append(TemplateError(template.path, _find_line(text, None, None, "code"), None,
                                        _("template code \"{code}\" is already used by {other}").format(
                                            code=template.code, other=codes[template.code])))
            continue
        codes[template.code] = template.path
        templates.append(template)
    if not any(t.fallback for t in templates):
        errors.append(TemplateError(
            "checklists/", 1, None,
            _("no generic template (fallback = true): unmatched incidents get no checklist")))
    return templates, errors


def load_reporting_policy(resources: Resources) -> tuple[ReportingPolicy | None, list[TemplateError]]:
    """The site's reporting policy; if the site's file is broken, the shipped one and the error."""
    policy, error = _load(resources.path(REPORTING_POLICY), parse_policy)
    if error is None:
        return policy, []
    shipped = resources_root() / REPORTING_POLICY
    if resources.path(REPORTING_POLICY) != shipped:
        fallback, second = _load(shipped, parse_policy)
        return fallback, [error] + ([second] if second else [])
    return None, [error]


def best_template(templates: list[Template], category: str, severity: int, description: str,
                  people: int | None = None) -> Template | None:
    """The most specific matching template; the generic one when nothing else fits."""
    ranked = [(t.specificity(category, severity, description, people), t.code, t) for t in templates]
    ranked = [r for r in ranked if r[0] >= 0]
    if not ranked:
        return None
    ranked.sort(key=lambda r: (-r[0], r[1]))
    return ranked[0][2]
