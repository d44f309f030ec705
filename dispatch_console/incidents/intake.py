"""Intake: incidents arriving as JSON Lines from the hotline, 110, video systems and scripts.

One incident per line. Each line is decoded and validated on its own (one bad byte or a
broken line spoils nothing else), each good line is stored in its own transaction, and each
bad line is reported with its number and reason. A repeated ``external_id`` is a duplicate: the
incident stored earlier is named and nothing is stored twice.
"""

from __future__ import annotations

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
from dispatch_console.kernel import bounded_input, transient
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.bounded_input import InputError, Limits, Position
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
INTAKE_LIMITS = Limits(line_bytes=64 * 1024, field_chars=8 * 1024)  # no field of an incident is longer
MAX_LINE_BYTES = INTAKE_LIMITS.line_bytes


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


def _reported_at(value: Any) -> datetime:
    # local time when no zone is given; a year outside 2000–2100 is refused here, not at insert
    return bounded_input.parse_datetime(value, Position("", field="reported_at"), default_tz=LOCAL_TZ)


def parse_line(raw: bytes, catalog: Catalog | None = None, limits: Limits = INTAKE_LIMITS) -> IncidentDraft:
    """One intake line as a validated draft; ValidationError says what is wrong.

    The line goes through the bounded reader (size, UTF-8, nesting, number widths), then through
    the draft's validation (codes, text lengths, coordinates, people, the report time's year)."""
    where = Position("", 1)
    if len(raw) > limits.line_bytes:
        raise ValidationError(_("The line is longer than {limit} bytes.").format(limit=limits.line_bytes))
    try:
        data = bounded_input.decode_json(raw, where, limits)
    except InputError as exc:
        raise ValidationError(_reason(exc), exc.field) from None
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
        try:
            values["reported_at"] = _reported_at(values["reported_at"])
        except InputError as exc:
            raise ValidationError(_reason(exc), "reported_at") from None
    if isinstance(values.get("grid"), int) and not isinstance(values.get("grid"), bool):
        values["grid"] = str(values["grid"])  # grid codes are digits; a sender may send them as numbers
    if "is_drill" in values and values["is_drill"] is None:
        values["is_drill"] = False
    draft = IncidentDraft(**values)
    problems = draft_problems(draft, catalog)
    if problems:
        raise ValidationError(" ".join(p.message for p in problems), problems[0].field)
    return draft


def _reason(exc: InputError) -> str:
    """The reader's reason with the field it names (the caller says the line), as a sentence:
    senders match the start of an acknowledgement's reason ("Not valid JSON")."""
    if exc.position.field:
        return _("{field}: {reason}").format(field=exc.position.field, reason=exc.reason)
    return exc.reason[:1].upper() + exc.reason[1:]


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
    except (OverflowError, ValueError) as exc:  # a value the driver could not convert: this line only
        return LineOutcome(number, "rejected", reason=_("The database refused the line: {reason}").format(
            reason=exc))
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
