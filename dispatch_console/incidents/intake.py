"""Intake: incidents arriving as JSON Lines from the hotline, 110, video systems and scripts.

One incident per line. Each line is decoded and validated on its own (one bad byte or a
broken line spoils nothing else), each good line is stored in its own transaction, and each
bad line is reported with its number and reason. A repeated ``external_id`` is a duplicate: the
incident stored earlier is named and nothing is stored twice.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from db.engine import Database
from dispatch_console.incidents.draft import IncidentDraft, draft_problems
from dispatch_console.incidents.service import CreateResult, create_incident
from dispatch_console.kernel import transient
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.categories import Catalog, shipped_catalog
from dispatch_console.kernel.errors import ValidationError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import require
from dispatch_console.kernel.timefmt import LOCAL_TZ

log = logging.getLogger(__name__)

REQUIRED_FIELDS = ("category", "severity", "source", "description")
OPTIONAL_FIELDS = ("address", "lon", "lat", "grid", "reporter_name", "reporter_phone", "people_count",
                   "reported_at", "external_id", "is_drill")
FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS
MAX_LINE_BYTES = 64 * 1024


@dataclass(frozen=True)
class LineOutcome:
    line: int
    outcome: str  # stored | duplicate | rejected
    number: str | None = None
    incident_id: int | None = None
    reason: str | None = None
    gave_up: bool = False  # the database stayed away: this line is not confirmed, none after it read

    def ack(self) -> dict[str, Any]:
        """The acknowledgement a sender reads: ``{"line", "status", "number", "reason"}``."""
        return {"line": self.line, "status": self.outcome, "number": self.number, "reason": self.reason}


@dataclass
class IntakeSummary:
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0

    def add(self, outcome: LineOutcome) -> None:
        if outcome.outcome == "stored":
            self.stored += 1
        elif outcome.outcome == "duplicate":
            self.duplicates += 1
        else:
            self.rejected += 1

    def describe(self) -> str:
        return _("{stored} stored, {duplicates} duplicates, {rejected} rejected.").format(
            stored=self.stored, duplicates=self.duplicates, rejected=self.rejected)


def _no_constants(name: str) -> Any:
    raise ValueError(_("{name} is not a number JSON allows").format(name=name))


def _reported_at(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValidationError(_("reported_at must be an ISO 8601 date and time."), "reported_at")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            _("reported_at {value} is not an ISO 8601 date and time.").format(value=value), "reported_at"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=LOCAL_TZ)  # local time when no zone given


def parse_line(raw: bytes, catalog: Catalog | None = None) -> IncidentDraft:
    """One intake line as a validated draft; ValidationError says what is wrong."""
    if len(raw) > MAX_LINE_BYTES:
        raise ValidationError(_("The line is longer than {limit} bytes.").format(limit=MAX_LINE_BYTES))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(_("Not valid UTF-8 (byte {pos}).").format(pos=exc.start + 1)) from None
    try:
        data = json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise ValidationError(_("Not valid JSON: {error} (column {column}).").format(
            error=exc.msg, column=exc.colno)) from None
    except ValueError as exc:  # NaN / Infinity
        raise ValidationError(_("Not valid JSON: {error}.").format(error=exc)) from None
    if not isinstance(data, dict):
        raise ValidationError(_("Expected a JSON object with the incident's fields."))
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise ValidationError(_("Unknown field(s): {fields}.").format(fields=", ".join(unknown)))
    missing = [f for f in REQUIRED_FIELDS if data.get(f) is None]
    if missing:
        raise ValidationError(_("Missing field(s): {fields}.").format(fields=", ".join(missing)), missing[0])
    values = dict(data)
    if values.get("reported_at") is not None:
        values["reported_at"] = _reported_at(values["reported_at"])
    if isinstance(values.get("grid"), int) and not isinstance(values.get("grid"), bool):
        values["grid"] = str(values["grid"])  # grid codes are digits; a sender may send them as numbers
    if "is_drill" in values and values["is_drill"] is None:
        values["is_drill"] = False
    draft = IncidentDraft(**values)
    problems = draft_problems(draft, catalog)
    if problems:
        raise ValidationError(" ".join(p.message for p in problems), problems[0].field)
    return draft


def lines_of(stream: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes without the line end) for every line that is not blank."""
    for number, raw in enumerate(stream, start=1):
        line = raw.rstrip(b"\r\n")
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]  # a UTF-8 byte-order mark from Windows tools
        if line.strip():
            yield number, line


# How long one line waits for a database that went away before intake gives up (a restart or a
# failover takes seconds; a longer outage is told, and the lines not yet read stay unread).
INTAKE_RETRY = transient.RetryPolicy(attempts=10_000, within=300.0, first=0.1, cap=2.0)


@dataclass
class IntakeWeather:
    """How the store loop rides out a database that goes away: its bound, stop signal and log."""

    policy: transient.RetryPolicy = INTAKE_RETRY
    stop: threading.Event | None = None
    outage: transient.Outage | None = None


def store_line(db: Database, actor: Actor, number: int, draft: IncidentDraft, catalog: Catalog,
               weather: IntakeWeather) -> CreateResult:
    """Store one parsed line, tried again while the database is away.

    The line's request id is made once, here, so a try whose commit went through but whose answer
    was lost is found by the next try instead of being stored twice.
    """
    request_id = uuid.uuid4().hex
    return transient.retry(
        lambda: create_incident(db, actor, draft, catalog, request_id=request_id),
        what=_("line {line}").format(line=number), policy=weather.policy, stop=weather.stop,
        outage=weather.outage)


def intake_line(db: Database, actor: Actor, number: int, line: bytes, catalog: Catalog,
                weather: IntakeWeather) -> LineOutcome:
    """What became of one line: stored, duplicate, rejected — or given up on (database away)."""
    try:
        draft = parse_line(line, catalog)
        result = store_line(db, actor, number, draft, catalog, weather)
    except ValidationError as exc:
        return LineOutcome(number, "rejected", reason=str(exc))
    except transient.DatabaseGone as exc:
        return LineOutcome(number, "rejected", reason=str(exc), gave_up=True)
    except SQLAlchemyError as exc:  # the database refused this line (not weather): say why, go on
        return LineOutcome(number, "rejected", reason=_("The database refused the line: {reason}").format(
            reason=transient.describe(exc, db.url)))
    return LineOutcome(number, "duplicate" if result.duplicate else "stored", result.row.number,
                       result.row.id)


def intake_lines(
    db: Database, actor: Actor, stream: Iterable[bytes], catalog: Catalog | None = None,
    weather: IntakeWeather | None = None,
) -> Iterator[LineOutcome]:
    """Store every good line (each in its own transaction) and say what became of each line.

    A lost connection is waited out (``weather``); if the database stays away beyond its bound,
    the line in hand is given up on (``gave_up``) and nothing more is read.
    """
    require(actor, "incident.create")
    catalog = catalog or shipped_catalog()
    weather = weather or IntakeWeather(outage=transient.Outage(log, "intake"))
    for number, line in lines_of(stream):
        outcome = intake_line(db, actor, number, line, catalog, weather)
        yield outcome
        if outcome.gave_up:
            return
