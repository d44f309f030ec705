"""The offline journal: reports taken while the database is unreachable, kept on this machine.

When the intake form cannot reach the database, the report is appended to a journal in the
station's data folder (one JSON Lines file per station, flushed and fsync'd before the officer
is told it is kept), and replayed when the database is back, oldest first. Every report carries
the request id the form gave it, so replay stores it once however often it is tried: after a
lost answer, a console killed mid-replay, or a restart (:func:`dispatch_console.incidents.service.create_incident`
finds the incident its request id already stored).

The file only grows by appending whole lines:

* ``{"kind": "report", "request_id": …, "taken_at": …, "actor": {…}, "draft": {…}}``
* ``{"kind": "stored", "request_id": …, "number": …}`` once the database has it;
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
from dispatch_console.incidents.service import CreateResult, create_incident
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


@dataclass(frozen=True)
class ReplayOutcome:
    """What one replay round did: the reports it stored, those refused, and whether it finished."""

    stored: tuple[JournalEntry, ...] = ()
    refused: tuple[JournalEntry, ...] = ()
    waiting: int = 0  # reports still waiting (the database went away again)
    reason: str | None = None  # why it stopped early


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
        for number, data in self._lines():
            kind, request_id = data.get("kind"), data.get("request_id")
            if not isinstance(request_id, str) or not request_id:
                continue
            try:
                if kind == "report":
                    entries.setdefault(request_id, JournalEntry(
                        request_id, _parse_time(data.get("taken_at")), _actor_from(data.get("actor")),
                        _draft_from(data.get("draft"))))
                elif request_id in entries and kind in ("stored", "refused", "dismissed"):
                    number_ = data.get("number")
                    reason = data.get("reason")
                    entries[request_id] = _with(entries[request_id], state=str(kind),
                                                number=number_ if isinstance(number_, str) else None,
                                                reason=reason if isinstance(reason, str) else None)
            except (TypeError, ValueError) as exc:
                log.warning("offline journal %s: line %d is not a report (%s); skipped", self.path, number, exc)
        self._entries = entries

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
        return len(self.waiting())

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

    def keep(self, actor: Actor, draft: IncidentDraft, request_id: str | None = None) -> JournalEntry:
        """Keep a report that could not be stored; it is on disk when this returns.

        The draft must be valid (the form checked it); when it was taken is its report time.
        """
        problems = draft_problems(draft)
        if problems:
            raise DispatchError(problems[0].message)
        taken = self._clock()
        if draft.reported_at is None:
            draft = replace(draft, reported_at=taken)
        entry = JournalEntry(request_id or uuid.uuid4().hex, taken, actor, draft)
        with self._lock:
            if self.count >= MAX_REPORTS or self._size() >= MAX_BYTES:
                raise JournalFull(_("{count} reports are already waiting offline: keep this one on paper "
                                    "and record it when the database is back.").format(count=self.count))
            self._append({"kind": "report", "request_id": entry.request_id, "taken_at": taken.isoformat(),
                          "actor": asdict(actor), "draft": _draft_json(entry.draft)})
            self._entries[entry.request_id] = entry
        log.warning("station %s: report %s kept offline (%d waiting)", self.station, entry.request_id, self.count)
        return entry

    def _size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def _mark(self, entry: JournalEntry, state: str, **extra: Any) -> JournalEntry:
        with self._lock:
            self._append({"kind": state, "request_id": entry.request_id, **extra})
            done = _with(entry, state=state, number=extra.get("number"), reason=extra.get("reason"))
            self._entries[entry.request_id] = done
            return done

    def dismiss_refused(self) -> int:
        """The officer has seen the refused reports: drop them from the list."""
        with self._lock:
            refused = self.refused()
            for entry in refused:
                self._mark(entry, "dismissed")
            self.compact()
            return len(refused)

    def compact(self) -> None:
        """Rewrite the file with only what is still waiting or refused (atomically)."""
        with self._lock:
            keep = [e for e in self._entries.values() if e.state in ("waiting", "refused")]
            if len(keep) == len(self._entries):
                return  # nothing to drop
            tmp = self.path.with_suffix(".tmp")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with tmp.open("wb") as fh:
                for e in keep:
                    fh.write(json.dumps({"kind": "report", "request_id": e.request_id,
                                         "taken_at": e.taken_at.isoformat(), "actor": asdict(e.actor),
                                         "draft": _draft_json(e.draft)},
                                        ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n")
                    if e.state == "refused":
                        fh.write(json.dumps({"kind": "refused", "request_id": e.request_id, "reason": e.reason},
                                            ensure_ascii=False).encode("utf-8") + b"\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            _fsync_folder(self.path.parent)
            self._entries = {e.request_id: e for e in keep}

    # -- replaying ---------------------------------------------------------------------------
    def replay(self, db: Database, catalog: Catalog | None = None, *,
               policy: transient.RetryPolicy = REPLAY_POLICY,
               stop: threading.Event | None = None) -> ReplayOutcome:
        """Store the waiting reports, oldest first, each once; stop at the first sign of weather.

        Only one replay runs at a time in a process (another caller gets an empty outcome).
        """
        if not self._replaying.acquire(blocking=False):
            return ReplayOutcome(waiting=self.count)
        try:
            stored: list[JournalEntry] = []
            refused: list[JournalEntry] = []
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
                    return ReplayOutcome(tuple(stored), tuple(refused), self.count, str(exc))
                except DispatchError as exc:  # the database's answer: this report cannot be stored
                    refused.append(self._mark(entry, "refused", reason=str(exc)))
                    continue
                except Exception as exc:
                    if transient.is_transient(exc):
                        return ReplayOutcome(tuple(stored), tuple(refused), self.count, transient.describe(exc))
                    if not transient.is_database_error(exc):
                        raise
                    refused.append(self._mark(entry, "refused", reason=_(
                        "The database refused the report: {reason}").format(reason=transient.describe(exc))))
                    continue
                stored.append(self._mark(entry, "stored", number=result.row.number))
                log.info("station %s: offline report %s stored as %s%s", self.station, entry.request_id,
                         result.row.number, " (already stored)" if result.replayed else "")
            if not self.waiting():
                self.compact()
            return ReplayOutcome(tuple(stored), tuple(refused), self.count)
        finally:
            self._replaying.release()


def _with(entry: JournalEntry, **changes: Any) -> JournalEntry:
    return replace(entry, **changes)


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
                   policy: transient.RetryPolicy = FORM_POLICY) -> CreateResult | JournalEntry:
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
    return journal.keep(actor, draft, request_id)
