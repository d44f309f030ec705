"""What a new incident needs, and the one validation that the intake form and ``intake`` share.

Text is stored exactly as sent (quotes, SQL-looking text, HTML, right-to-left marks): it is
only limited in length and refused when it carries control characters, which no person types
and which break logs, exports and the map.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from dispatch_console.kernel import bounded_input
from dispatch_console.kernel.categories import SEVERITIES, Catalog, shipped_catalog
from dispatch_console.kernel.errors import ValidationError
from dispatch_console.kernel.i18n import _

MAX_DESCRIPTION = 4000
MAX_ADDRESS = 500
MAX_NAME = 100
MAX_PHONE = 32
MAX_GRID = 200
MAX_EXTERNAL_ID = 128
MAX_PEOPLE = 1_000_000

# Digits with the usual separators, an optional leading +, an optional extension (转 / ext / x).
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]*([ ]?(转|ext\.?|x)[ ]?[0-9]+)?$", re.IGNORECASE)


@dataclass(frozen=True)
class IncidentDraft:
    """A new incident as the form or an intake line gives it (nothing stored yet)."""

    category: str
    severity: int
    source: str
    description: str
    address: str | None = None
    lon: float | None = None
    lat: float | None = None
    grid: str | None = None  # a grid's code or name
    grid_id: int | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    people_count: int | None = None
    reported_at: datetime | None = None
    external_id: str | None = None
    is_drill: bool = False
    drill_run_id: int | None = None


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


def text_problem(value: object, field: str, limit: int, label: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` is not acceptable text for ``field``, or None."""
    if value is None:
        return None
    if not isinstance(value, str):
        return _("{field} must be text.").format(field=label)
    if len(value) > limit:
        return _("{field} is {length} characters long; at most {limit} are allowed.").format(
            field=label, length=len(value), limit=limit)
    allowed = "\n\t" if multiline else ""
    for ch in value:
        kind = unicodedata.category(ch)
        if kind == "Cc" and ch not in allowed:
            return _("{field} contains a control character (U+{code:04X}).").format(field=label, code=ord(ch))
        if kind == "Cs":
            return _("{field} contains an unpaired surrogate (U+{code:04X}).").format(field=label, code=ord(ch))
    return None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _within(value: object, bounds: tuple[float, float]) -> bool:
    """A finite number within ``bounds`` — a 400-digit int too, without overflowing a float."""
    try:
        bounded_input.check_number(value, *bounds, bounded_input.Position(""))
    except bounded_input.InputError:
        return False
    return True


def coordinate_problems(lon: object, lat: object) -> list[Problem]:
    if lon is None and lat is None:
        return []
    if lon is None or lat is None:
        return [Problem("lon", _("Give both longitude and latitude, or neither."))]
    out = []
    if not _within(lon, bounded_input.LONGITUDE):
        out.append(Problem("lon", _("Longitude {value} is not a number between -180 and 180.").format(
            value=lon)))
    if not _within(lat, bounded_input.LATITUDE):
        out.append(Problem("lat", _("Latitude {value} is not a number between -90 and 90.").format(
            value=lat)))
    return out


def draft_problems(draft: IncidentDraft, catalog: Catalog | None = None) -> list[Problem]:
    """Every problem of the draft, field by field (empty when it may be stored)."""
    catalog = catalog or shipped_catalog()
    out: list[Problem] = []
    if not isinstance(draft.category, str) or draft.category not in catalog.category_codes:
        out.append(Problem("category", _("Unknown category {code}.").format(code=draft.category)))
    if not isinstance(draft.source, str) or draft.source not in catalog.source_codes:
        out.append(Problem("source", _("Unknown source {code}.").format(code=draft.source)))
    if not _is_int(draft.severity) or draft.severity not in SEVERITIES:
        out.append(Problem("severity", _("Severity must be a whole number from 1 to 4, not {value}.").format(
            value=draft.severity)))
    if not isinstance(draft.description, str) or not draft.description.strip():
        out.append(Problem("description", _("A description is required.")))
    texts = (
        ("description", draft.description, MAX_DESCRIPTION, _("Description"), True),
        ("address", draft.address, MAX_ADDRESS, _("Address"), False),
        ("reporter_name", draft.reporter_name, MAX_NAME, _("Reporter name"), False),
        ("reporter_phone", draft.reporter_phone, MAX_PHONE, _("Reporter phone"), False),
        ("grid", draft.grid, MAX_GRID, _("Grid"), False),
        ("external_id", draft.external_id, MAX_EXTERNAL_ID, _("External id"), False),
    )
    for field, value, limit, label, multiline in texts:
        problem = text_problem(value, field, limit, label, multiline=multiline)
        if problem:
            out.append(Problem(field, problem))
    phone = draft.reporter_phone
    if (isinstance(phone, str) and phone and not any(p.field == "reporter_phone" for p in out)
            and (not _PHONE.match(phone) or sum(ch.isdigit() for ch in phone) < 3)):
        out.append(Problem("reporter_phone", _("{value} does not look like a phone number.").format(
            value=phone)))
    out.extend(coordinate_problems(draft.lon, draft.lat))
    if draft.people_count is not None and (
        not _is_int(draft.people_count) or not 0 <= draft.people_count <= MAX_PEOPLE
    ):
        out.append(Problem("people_count", _("The number of people must be a whole number of 0 or more.")))
    if draft.reported_at is not None and (
        not isinstance(draft.reported_at, datetime) or draft.reported_at.tzinfo is None
    ):
        out.append(Problem("reported_at", _("The report time needs a date, a time and a time zone.")))
    elif draft.reported_at is not None and not (
        bounded_input.YEAR_MIN <= draft.reported_at.year <= bounded_input.YEAR_MAX
        and bounded_input.YEAR_MIN <= _utc_year(draft.reported_at) <= bounded_input.YEAR_MAX
    ):
        out.append(Problem("reported_at", _("The report time must be between the years {low} and {high}.").format(
            low=bounded_input.YEAR_MIN, high=bounded_input.YEAR_MAX)))
    if draft.grid_id is not None and not _is_int(draft.grid_id):
        out.append(Problem("grid_id", _("Unknown grid {grid}.").format(grid=draft.grid_id)))
    if not isinstance(draft.is_drill, bool):
        out.append(Problem("is_drill", _("is_drill must be true or false.")))
    return out


def _utc_year(moment: datetime) -> int:
    try:
        return moment.astimezone(UTC).year
    except (OverflowError, ValueError):  # year 1 at +08:00 is year 0 in UTC
        return 0


def validate_draft(draft: IncidentDraft, catalog: Catalog | None = None) -> None:
    """Raise ValidationError (naming the field) for the draft's first problem."""
    problems = draft_problems(draft, catalog)
    if problems:
        raise ValidationError(problems[0].message, problems[0].field)
