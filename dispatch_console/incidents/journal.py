"""The offline journal: reports taken while the database is unreachable, kept on this machine.

When the intake form cannot reach the database, the report is appended to a journal in the
station's data folder (one JSON Lines file per station, flushed and fsync'd before the officer
is told it is kept), and replayed when the database is back, oldest first (the reports, then the
notes). Every report and note carries the request id it was given, so replay stores it once
however often it is tried: after a lost answer, a console killed mid-replay, or a restart
(:func:`dispatch_console.incidents.service.create_incident` finds the incident its request id
already stored, :func:`~dispatch_console.incidents.service.add_note` the note).

The file only grows by appending whole lines:

* ``{"kind": "report", "request_id": …, "taken_at": …, "actor": {…}, "draft": {…}, "answers": {…}}``
  (the call-taking answers given with it, when there were: stored with the incident by the
  ``after_report`` the replay is given, since the questions' room stands above this one);
* ``{"kind": "note", "request_id": …, "taken_at": …, "actor": {…}, "text": …, "incident_id": …,
  "number": …}`` a note on an incident the database has, or ``"report": <request id>`` on a
  report still waiting here: it waits for that report's number;
* ``{"kind": "stored", "request_id": …, "number": …, "incident_id": …}`` once the database has it;
* ``{"kind": "refused", "request_id": …, "reason": …}`` when the database refused it (not
  weather: a grid that no longer exists, the officer's account disabled …) — kept, and shown,
  until the officer has seen it (``{"kind": "dismissed", …}``).

A line torn by a crash while it was written is skipped when the file is read (its report was
never confirmed to the officer). When nothing is left to replay or show, the file is rewritten
empty (atomically). The journal is bounded: at most :data:`MAX_REPORTS` reports waiting and
:data:`MAX_BYTES` of file; beyond that it refuses, so the officer knows to write on paper.

Qt-free; safe to share between threads (one lock per journal).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from db.engine import Database
from dispatch_console.incidents.draft import IncidentDraft, draft_problems
from dispatch_console.incidents.service import CreateResult, add_note, create_incident
from dispatch_console.kernel import transient
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.categories import Catalog
from dispatch_console.kernel.config import data_dir
from dispatch_console.kernel.errors import DispatchError
from dispatch_console.kernel.i18n import _

log = logging.getLogger(__name__)

MAX_REPORTS = 500  # waiting at once: a long night offline at one station
MAX_BYTES = 8 * 1024 * 1024
MAX_LINE = 64 * 1024  # a report's line (a description is at most 4,000 characters)
FOLDER = "offline-journal"

# How long the form waits for a write before it keeps the report in the journal instead.
FORM_POLICY = transient.RetryPolicy(attempts=3, within=2.0, first=0.2, cap=1.0)
# A replay's write: short, the next round comes soon.
REPLAY_POLICY = transient.RetryPolicy(attempts=2, within=1.0, first=0.2, cap=0.5)


class JournalFull(DispatchError):
    """The journal holds as many reports as it may: the officer must keep this one on paper."""


@dataclass(frozen=True)
class JournalEntry:
    """A report in the journal, and what has become of it."""

    request_id: str
    taken_at: datetime
    actor: Actor
    draft: IncidentDraft
    state: str = "waiting"  # waiting | stored | refused | dismissed
    number: str | None = None
    reason: str | None = None
    answers: dict[str, Any] | None = None  # the call-taking answers given with it (JSON)
    incident_id: int | None = None  # once stored


@dataclass(frozen=True)
class JournalNote:
    """A note taken while the database was away: on an incident it has, or on a waiting report."""

    request_id: str
    taken_at: datetime
    actor: Actor
    text: str
    incident_id: int | None = None
    number: str | None = None  # the incident's number (once known for a note on a report)
    report_id: str | None = None  # the report in this journal it belongs to
    state: str = "waiting"
    reason: str | None = None


# Whatever the replay must do with a stored report's extras (its call-taking answers): given the
# entry and the incident it became. It may raise weather (the round stops, and it is asked again
# for the same incident later: it must do its work once) or a DispatchError (said, not refused).
AfterReport = Callable[[JournalEntry, CreateResult], None]


@dataclass(frozen=True)
class ReplayOutcome:
    """What one replay round did: the reports it stored, those refused, and whether it finished."""

    stored: tuple[JournalEntry, ...] = ()
    refused: tuple[JournalEntry, ...] = ()
    waiting: int = 0  # reports and notes still waiting (the database went away again)
    reason: str | None = None  # why it stopped early
    notes: tuple[JournalNote, ...] = ()  # notes stored
    refused_notes: tuple[JournalNote, ...] = ()
    warnings: tuple[str, ...] = ()  # a report stored, but not all that came with it


def journal_path(station: str, folder: Path | None = None) -> Path:
    """The station's journal file: its name readable, and distinct for any station name."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", station)[:40].strip("._") or "station"
    digest = hashlib.sha256(station.encode("utf-8")).hexdigest()[:10]
    return (folder or data_dir() / FOLDER) / f"{slug}-{digest}.jsonl"


def _draft_json(draft: IncidentDraft) -> dict[str, Any]:
    out = asdict(draft)
    if draft.reported_at is not None:
        out["reported_at"] = draft.reported_at.isoformat()
    return out


_DRAFT_FIELDS = {f.name for f in fields(IncidentDraft)}
_ACTOR_FIELDS = {f.name for f in fields(Actor)}


def _parse_time(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("not a time")
    when = datetime.fromisoformat(value)
    if when.tzinfo is None or not 2000 <= when.year <= 2100:
        raise ValueError("a time without zone or out of range")
    return when


def _draft_from(data: object) -> IncidentDraft:
    if not isinstance(data, dict) or set(data) - _DRAFT_FIELDS:
        raise ValueError("not a draft")
    values = dict(data)
    if values.get("reported_at") is not None:
        values["reported_at"] = _parse_time(values["reported_at"])
    return IncidentDraft(**values)


def _optional_int(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("not an id")
    return value


def _optional_str(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("not a text")
    return value


def _note_from(request_id: str, data: dict[str, Any]) -> JournalNote:
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a note without text")
    note = JournalNote(request_id, _parse_time(data.get("taken_at")), _actor_from(data.get("actor")), text,
                       _optional_int(data.get("incident_id")), _optional_str(data.get("number")),
                       _optional_str(data.get("report")))
    if note.incident_id is None and note.report_id is None:
        raise ValueError("a note on no incident")
    return note


def _actor_from(data: object) -> Actor:
    if not isinstance(data, dict) or set(data) - _ACTOR_FIELDS:
        raise ValueError("not an actor")
    actor = Actor(**data)
    if not isinstance(actor.username, str) or not isinstance(actor.station, str):
        raise ValueError("not an actor")
    return actor


class OfflineJournal:
    """The journal of one station (see the module's text)."""

    def __init__(self, station: str, *, folder: Path | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.station = station
        self.path = journal_path(station, folder)
        self._clock = clock
        self._lock = threading.RLock()
        self._replaying = threading.Lock()
        self._entries: dict[str, JournalEntry] = {}
        self._notes: dict[str, JournalNote] = {}
        self._load()

    # -- reading -----------------------------------------------------------------------------
    def _lines(self) -> Iterator[tuple[int, dict[str, Any]]]:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return
        if size > MAX_BYTES * 2:
            log.error("offline journal %s is %d bytes: only its first %d are read", self.path, size, MAX_BYTES * 2)
        with self.path.open("rb") as fh:
            budget = MAX_BYTES * 2
            for number, raw in enumerate(fh, start=1):
                budget -= len(raw)
                if budget < 0:
                    break
                if not raw.strip():
                    continue
                if len(raw) > MAX_LINE or not raw.endswith(b"\n"):
                    log.warning("offline journal %s: line %d is torn or too long; skipped", self.path, number)
                    continue
                try:
                    data = json.loads(raw)
                except (ValueError, RecursionError):
                    log.warning("offline journal %s: line %d is not JSON; skipped", self.path, number)
                    continue
                if isinstance(data, dict):
                    yield number, data

    def _load(self) -> None:
        entries: dict[str, JournalEntry] = {}
        notes: dict[str, JournalNote] = {}
        for number, data in self._lines():
            kind, request_id = data.get("kind"), data.get("request_id")
            if not isinstance(request_id, str) or not request_id:
                continue
            try:
                if kind == "report" and request_id not in notes:
                    answers = data.get("answers")
                    if answers is not None and not isinstance(answers, dict):
                        raise ValueError("answers that are not an object")
                    entries.setdefault(request_id, JournalEntry(
                        request_id, _parse_time(data.get("taken_at")), _actor_from(data.get("actor")),
                        _draft_from(data.get("draft")), answers=answers))
                elif kind == "note" and request_id not in entries:
                    notes.setdefault(request_id, _note_from(request_id, data))
                elif kind in ("stored", "refused", "dismissed"):
                    number_ = data.get("number")
                    reason = data.get("reason")
                    incident_id = data.get("incident_id")
                    changes: dict[str, Any] = {"state": str(kind),
                                               "number": number_ if isinstance(number_, str) else None,
                                               "reason": reason if isinstance(reason, str) else None}
                    if isinstance(incident_id, int) and not isinstance(incident_id, bool):
                        changes["incident_id"] = incident_id
                    if request_id in entries:
                        entries[request_id] = _with(entries[request_id], **changes)
                    elif request_id in notes:
                        if changes["number"] is None:
                            changes["number"] = notes[request_id].number
                        notes[request_id] = replace(notes[request_id], **changes)
            except (TypeError, ValueError) as exc:
                log.warning("offline journal %s: line %d is not a report (%s); skipped", self.path, number, exc)
        self._entries = entries
        self._notes = notes

    # -- what it holds -----------------------------------------------------------------------
    def entries(self) -> list[JournalEntry]:
        """Every report not yet dismissed, oldest first: waiting, stored (this run) and refused."""
        with self._lock:
            return [e for e in self._entries.values() if e.state != "dismissed"]

    def waiting(self) -> list[JournalEntry]:
        with self._lock:
            return [e for e in self._entries.values() if e.state == "waiting"]

    def refused(self) -> list[JournalEntry]:
        with self._lock:
            return [e for e in self._entries.values() if e.state == "refused"]

    @property
    def count(self) -> int:
        """The reports waiting (the notes are :attr:`notes_count`)."""
        return len(self.waiting())

    def notes(self) -> list[JournalNote]:
        """Every note not yet dismissed, in the order taken."""
        with self._lock:
            return [n for n in self._notes.values() if n.state != "dismissed"]

    def notes_waiting(self) -> list[JournalNote]:
        with self._lock:
            return [n for n in self._notes.values() if n.state == "waiting"]

    @property
    def notes_count(self) -> int:
        return len(self.notes_waiting())

    @property
    def pending(self) -> int:
        """Everything still to be sent: reports and notes."""
        return self.count + self.notes_count

    def notes_for(self, *, incident_id: int | None = None, report_id: str | None = None) -> list[JournalNote]:
        """The notes kept for one incident (by id, or by the report it was recorded from)."""
        with self._lock:
            reports = {e.request_id: e.incident_id for e in self._entries.values()}
            return [n for n in self._notes.values() if n.state in ("waiting", "refused") and (
                (report_id is not None and n.report_id == report_id)
                or (incident_id is not None and (n.incident_id == incident_id
                                                 or (n.report_id is not None
                                                     and reports.get(n.report_id) == incident_id))))]

    # -- writing -----------------------------------------------------------------------------
    def _append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
        if len(line) > MAX_LINE:
            raise JournalFull(_("This report is too long to keep offline."))
        created = not self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_folder(self.path.parent)

    def keep(self, actor: Actor, draft: IncidentDraft, request_id: str | None = None, *,
             answers: dict[str, Any] | None = None) -> JournalEntry:
        """Keep a report that could not be stored; it is on disk when this returns.

        The draft must be valid (the form checked it); when it was taken is its report time.
        ``answers`` (JSON) are the call-taking answers given with it.
        """
        problems = draft_problems(draft)
        if problems:
            raise DispatchError(problems[0].message)
        taken = self._clock()
        if draft.reported_at is None:
            draft = replace(draft, reported_at=taken)
        entry = JournalEntry(request_id or uuid.uuid4().hex, taken, actor, draft, answers=answers)
        with self._lock:
            self._check_room()
            self._append(_report_record(entry))
            self._entries[entry.request_id] = entry
        log.warning("station %s: report %s kept offline (%d waiting)", self.station, entry.request_id, self.count)
        return entry

    def _check_room(self) -> None:
        if self.pending >= MAX_REPORTS or self._size() >= MAX_BYTES:
            raise JournalFull(_("{count} reports are already waiting offline: keep this one on paper "
                                "and record it when the database is back.").format(count=self.pending))

    def keep_note(self, actor: Actor, text: str, *, incident_id: int | None = None, number: str | None = None,
                  report_id: str | None = None, request_id: str | None = None) -> JournalNote:
        """Keep a note for an incident the database has (``incident_id``) or for a report waiting
        here (``report_id``); it is on disk when this returns."""
        text = text.strip() if isinstance(text, str) else ""
        if not text:
            raise DispatchError(_("A note needs some text."))
        if (incident_id is None) == (report_id is None):
            raise DispatchError(_("A note belongs to one incident."))
        with self._lock:
            report = self._entries.get(report_id) if report_id is not None else None
            if report_id is not None and report is None:
                raise DispatchError(_("That report is no longer waiting offline."))
            if report is not None and report.incident_id is not None:  # stored meanwhile
                incident_id, number, report_id = report.incident_id, report.number, None
            note = JournalNote(request_id or uuid.uuid4().hex, self._clock(), actor, text, incident_id, number,
                               report_id)
            self._check_room()
            self._append(_note_record(note))
            self._notes[note.request_id] = note
        log.warning("station %s: note %s kept offline (%d waiting)", self.station, note.request_id, self.pending)
        return note

    def _size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def _mark(self, entry: JournalEntry, state: str, **extra: Any) -> JournalEntry:
        with self._lock:
            self._append({"kind": state, "request_id": entry.request_id, **extra})
            done = _with(entry, state=state, number=extra.get("number"), reason=extra.get("reason"),
                         incident_id=extra.get("incident_id"))
            self._entries[entry.request_id] = done
            return done

    def _mark_note(self, note: JournalNote, state: str, **extra: Any) -> JournalNote:
        with self._lock:
            self._append({"kind": state, "request_id": note.request_id, **extra})
            done = replace(note, state=state, number=extra.get("number") or note.number,
                           incident_id=extra.get("incident_id") or note.incident_id, reason=extra.get("reason"))
            self._notes[note.request_id] = done
            return done

    def dismiss_refused(self) -> int:
        """The officer has seen the refused reports: drop them from the list."""
        with self._lock:
            refused = self.refused()
            for entry in refused:
                self._mark(entry, "dismissed")
            notes = [n for n in self._notes.values() if n.state == "refused"]
            for note in notes:
                self._mark_note(note, "dismissed")
            self.compact()
            return len(refused) + len(notes)

    def compact(self) -> None:
        """Rewrite the file with only what is still waiting or refused (atomically)."""
        with self._lock:
            keep = [e for e in self._entries.values() if e.state in ("waiting", "refused")]
            # a note outlives its report's entry: it takes the incident the report became
            notes = [self._resolved(n) for n in self._notes.values() if n.state in ("waiting", "refused")]
            if len(keep) == len(self._entries) and len(notes) == len(self._notes):
                return  # nothing to drop
            if any(n.report_id is not None and n.report_id not in {e.request_id for e in keep} for n in notes):
                return  # a note still needs a report that is gone: keep everything as it is
            tmp = self.path.with_suffix(".tmp")
            self.path.parent.mkdir(parents=True, exist_ok=True)

            def line(record: dict[str, Any]) -> bytes:
                return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"

            with tmp.open("wb") as fh:
                for e in keep:
                    fh.write(line(_report_record(e)))
                    if e.state == "refused":
                        fh.write(line({"kind": "refused", "request_id": e.request_id, "reason": e.reason}))
                for n in notes:
                    fh.write(line(_note_record(n)))
                    if n.state == "refused":
                        fh.write(line({"kind": "refused", "request_id": n.request_id, "reason": n.reason}))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            _fsync_folder(self.path.parent)
            self._entries = {e.request_id: e for e in keep}
            self._notes = {n.request_id: n for n in notes}

    def _resolved(self, note: JournalNote) -> JournalNote:
        report = self._entries.get(note.report_id) if note.report_id is not None else None
        if report is not None and report.incident_id is not None:
            return replace(note, incident_id=report.incident_id, number=report.number, report_id=None)
        return note

    # -- replaying ---------------------------------------------------------------------------
    def replay(self, db: Database, catalog: Catalog | None = None, *,
               policy: transient.RetryPolicy = REPLAY_POLICY,
               stop: threading.Event | None = None,
               after_report: AfterReport | None = None) -> ReplayOutcome:
        """Store the waiting reports, oldest first, each once, then the notes; stop at the first
        sign of weather.

        ``after_report`` stores what came with a report (its call-taking answers) once the
        incident is there, before the report is marked stored. Only one replay runs at a time in
        a process (another caller gets an empty outcome).
        """
        if not self._replaying.acquire(blocking=False):
            return ReplayOutcome(waiting=self.pending)
        try:
            stored: list[JournalEntry] = []
            refused: list[JournalEntry] = []
            warnings: list[str] = []

            def stopped(reason: str) -> ReplayOutcome:
                return ReplayOutcome(tuple(stored), tuple(refused), self.pending, reason, warnings=tuple(warnings))

            for entry in self.waiting():
                if stop is not None and stop.is_set():
                    break
                def store(e: JournalEntry = entry) -> CreateResult:
                    return create_incident(db, e.actor, e.draft, catalog, request_id=e.request_id)

                try:
                    result = transient.retry(
                        store,
                        what=_("the offline report of {time}").format(time=entry.taken_at.isoformat()),
                        policy=policy, stop=stop)
                except transient.DatabaseGone as exc:
                    return stopped(str(exc))
                except DispatchError as exc:  # the database's answer: this report cannot be stored
                    refused.append(self._mark(entry, "refused", reason=str(exc)))
                    continue
                except Exception as exc:
                    if transient.is_transient(exc):
                        return stopped(transient.describe(exc))
                    if not transient.is_database_error(exc):
                        raise
                    refused.append(self._mark(entry, "refused", reason=_(
                        "The database refused the report: {reason}").format(reason=transient.describe(exc))))
                    continue
                if after_report is not None and entry.answers:
                    def extras(e: JournalEntry = entry, r: CreateResult = result,
                               hook: AfterReport = after_report) -> None:
                        hook(e, r)

                    try:
                        what = _("the call-taking answers of {number}").format(number=result.row.number)
                        transient.retry(extras, what=what, policy=policy, stop=stop)
                    except transient.DatabaseGone as exc:  # asked again next round, for the same incident
                        return stopped(str(exc))
                    except DispatchError as exc:  # the incident is there: say so, do not refuse it
                        warnings.append(_("{number}: the call-taking answers were not stored: {reason}").format(
                            number=result.row.number, reason=exc))
                        log.warning("station %s: answers of %s not stored: %s", self.station, result.row.number, exc)
                stored.append(self._mark(entry, "stored", number=result.row.number, incident_id=result.row.id))
                log.info("station %s: offline report %s stored as %s%s", self.station, entry.request_id,
                         result.row.number, " (already stored)" if result.replayed else "")
            notes, refused_notes, reason = self._replay_notes(db, policy, stop)
            if not self.waiting() and not self.notes_waiting():
                self.compact()
            return ReplayOutcome(tuple(stored), tuple(refused), self.pending, reason, notes, refused_notes,
                                 tuple(warnings))
        finally:
            self._replaying.release()

    def _replay_notes(self, db: Database, policy: transient.RetryPolicy, stop: threading.Event | None
                      ) -> tuple[tuple[JournalNote, ...], tuple[JournalNote, ...], str | None]:
        """The notes, in the order taken, after the reports (a note waits for its report's number)."""
        stored: list[JournalNote] = []
        refused: list[JournalNote] = []
        for note in self.notes_waiting():
            if stop is not None and stop.is_set():
                break
            note = self._resolved(note)
            report = self._entries.get(note.report_id) if note.report_id is not None else None
            if note.incident_id is None:
                if report is not None and report.state == "waiting":
                    return tuple(stored), tuple(refused), None  # its report waits: so do the notes after it
                refused.append(self._mark_note(note, "refused", reason=_(
                    "The report this note belongs to was not recorded.")))
                continue
            incident_id = note.incident_id

            def store(n: JournalNote = note, i: int = incident_id) -> Any:
                return add_note(db, n.actor, i, n.text, request_id=n.request_id)

            try:
                transient.retry(store, what=_("the offline note of {time}").format(time=note.taken_at.isoformat()),
                                policy=policy, stop=stop)
            except transient.DatabaseGone as exc:
                return tuple(stored), tuple(refused), str(exc)
            except DispatchError as exc:
                refused.append(self._mark_note(note, "refused", reason=str(exc), number=note.number,
                                               incident_id=incident_id))
                continue
            except Exception as exc:
                if transient.is_transient(exc):
                    return tuple(stored), tuple(refused), transient.describe(exc)
                if not transient.is_database_error(exc):
                    raise
                refused.append(self._mark_note(note, "refused", reason=_(
                    "The database refused the note: {reason}").format(reason=transient.describe(exc))))
                continue
            stored.append(self._mark_note(note, "stored", number=note.number, incident_id=incident_id))
            log.info("station %s: offline note %s stored on %s", self.station, note.request_id,
                     note.number or incident_id)
        return tuple(stored), tuple(refused), None


def _with(entry: JournalEntry, **changes: Any) -> JournalEntry:
    return replace(entry, **changes)


def _report_record(e: JournalEntry) -> dict[str, Any]:
    record: dict[str, Any] = {"kind": "report", "request_id": e.request_id, "taken_at": e.taken_at.isoformat(),
                              "actor": asdict(e.actor), "draft": _draft_json(e.draft)}
    if e.answers:
        record["answers"] = e.answers
    return record


def _note_record(n: JournalNote) -> dict[str, Any]:
    record: dict[str, Any] = {"kind": "note", "request_id": n.request_id, "taken_at": n.taken_at.isoformat(),
                              "actor": asdict(n.actor), "text": n.text}
    if n.incident_id is not None:
        record["incident_id"] = n.incident_id
        record["number"] = n.number
    else:
        record["report"] = n.report_id
    return record


def _fsync_folder(folder: Path) -> None:
    """Make a created or replaced file's name durable too (POSIX; Windows has no folder fsync)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def record_or_keep(db: Database, journal: OfflineJournal, actor: Actor, draft: IncidentDraft,
                   catalog: Catalog | None = None, *,
                   policy: transient.RetryPolicy = FORM_POLICY,
                   answers: dict[str, Any] | None = None) -> CreateResult | JournalEntry:
    """Record the form's report, or keep it in the journal if the database cannot be reached.

    While reports wait in the journal a new one joins them (they are replayed in the order they
    were taken). The report's request id is made here, once: if the database stored it but its
    answer was lost, the replay finds it instead of storing it again.
    """
    request_id = uuid.uuid4().hex
    if journal.count == 0:
        try:
            return transient.retry(
                lambda: create_incident(db, actor, draft, catalog, request_id=request_id),
                what=_("The report"), policy=policy)
        except transient.DatabaseGone as exc:
            log.warning("station %s: the database is unreachable (%s); the report is kept offline",
                        journal.station, transient.describe(exc.cause))
    return journal.keep(actor, draft, request_id, answers=answers)


def note_or_keep(db: Database, journal: OfflineJournal, actor: Actor, incident_id: int, text: str, *,
                 number: str | None = None, offline: bool = False,
                 policy: transient.RetryPolicy = FORM_POLICY) -> JournalNote | None:
    """Add a note to an incident, or keep it in the journal if the database cannot be reached.

    Returns None when the note is stored, the kept note otherwise. While notes wait (or the
    console knows the database is away: ``offline``) a new one joins them, so they keep their order.
    """
    request_id = uuid.uuid4().hex
    if not offline and journal.notes_count == 0:
        try:
            transient.retry(lambda: add_note(db, actor, incident_id, text, request_id=request_id),
                            what=_("The note"), policy=policy)
            return None
        except transient.DatabaseGone as exc:
            log.warning("station %s: the database is unreachable (%s); the note is kept offline",
                        journal.station, transient.describe(exc.cause))
    return journal.keep_note(actor, text, incident_id=incident_id, number=number, request_id=request_id)
