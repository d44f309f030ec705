"""Official warnings in: CAP 1.2 files and folders, stored once, followed through Update and Cancel.

Each file is one transaction: a refused file stores nothing and the next file is read all the
same. A message is stored once per (identifier, sender, sent); Update and Cancel join the chain
of the message they name in ``references`` (its ``thread_key``) and mark the earlier messages
updated or cancelled. Areas are matched to the jurisdiction by polygon and circle (shapely) or by
geocode. An ``Actual`` message in force that covers the street raises one warning per chain
(``cap:<thread>``), which notifies the shift leader once and offers the matching checklist —
:func:`start_response` records the incident that starts it.

The drop folder (:func:`attach`, a timer-engine companion) reads a configured folder every few
seconds with the same code; any number of workstations may read one share, as a message already
stored is a duplicate.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from shapely import affinity
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import Area, CapMessage, EarlyWarning
from dispatch_console.checklists import service as checklists
from dispatch_console.checklists.templates import best_template
from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.incidents.queue import IncidentRow, row_in
from dispatch_console.incidents.service import add_incident
from dispatch_console.jurisdiction import areas_intersecting
from dispatch_console.kernel import bounded_input
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changes import record, serialise_writers
from dispatch_console.kernel.errors import NotFound, ValidationError
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.permissions import require
from dispatch_console.warnings import cap as cap_format
from dispatch_console.warnings.board import link_incidents, raise_warning
from dispatch_console.warnings.cap import CapMessageData, CapRefused
from dispatch_console.warnings.rules import WarningPolicy, current_policy

if TYPE_CHECKING:
    from dispatch_console.timers.engine import TimerEngine

log = logging.getLogger(__name__)

SUFFIXES = (".xml", ".cap")
MAX_FILES = 2000  # per folder and read; the newest first
COLOUR_LEVEL = {"red": "critical", "orange": "critical", "yellow": "warning", "blue": "warning"}
COLOUR_SEVERITY = {"red": 1, "orange": 2, "yellow": 3, "blue": 4}
COLOUR_LABEL = {"red": "红色", "orange": "橙色", "yellow": "黄色", "blue": "蓝色"}
# CAP <category> → the incident category a response is recorded under
CAP_CATEGORY = {"Met": "natural_disaster", "Geo": "natural_disaster", "Env": "natural_disaster",
                "Rescue": "natural_disaster", "Fire": "fire", "Health": "public_health",
                "Safety": "public_order", "Security": "public_order", "CBRNE": "work_safety",
                "Infra": "city_management", "Transport": "city_management", "Other": "natural_disaster"}


@dataclass(frozen=True)
class Outcome:
    """What became of one file: stored, duplicate, ignored (Ack/Error, not a warning) or refused."""

    file: str
    status: str
    reason: str | None = None
    identifier: str | None = None
    msg_type: str | None = None
    covers_street: bool = False
    warning_id: int | None = None
    new_warning: bool = False


@dataclass
class ImportReport:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def refused(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "refused"]

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def describe(self) -> str:
        return _("{stored} stored, {dup} already stored, {ignored} ignored, {refused} refused; "
                 "{warnings} new warnings for the street.").format(
            stored=self.count("stored"), dup=self.count("duplicate"), ignored=self.count("ignored"),
            refused=self.count("refused"), warnings=sum(1 for o in self.outcomes if o.new_warning))


# ---------------------------------------------------------------------------------------------
# Where a message applies.


def _circle(lon: float, lat: float, radius_km: float) -> BaseGeometry:
    """A circle of ``radius_km`` on the ground as a lon/lat ellipse (good enough at a street's scale)."""
    if radius_km <= 0:
        return Point(lon, lat)
    km_per_deg_lat = 110.574
    km_per_deg_lon = max(111.320 * math.cos(math.radians(lat)), 1e-6)
    return affinity.scale(Point(lon, lat).buffer(1.0, 64), xfact=radius_km / km_per_deg_lon,
                          yfact=radius_km / km_per_deg_lat)


def message_shape(msg: CapMessageData) -> BaseGeometry | None:
    shapes: list[BaseGeometry] = []
    for area in msg.areas:
        for ring in area.polygons:
            poly = Polygon(ring)
            shapes.append(poly if poly.is_valid else poly.buffer(0))
        shapes.extend(_circle(*c) for c in area.circles)
    return unary_union(shapes) if shapes else None


def coverage(session: Session, msg: CapMessageData, policy: WarningPolicy) -> tuple[bool, list[str]]:
    """Whether the message covers the street, and the names of our areas it covers."""
    names: list[str] = []
    geom = message_shape(msg)
    if geom is not None and not geom.is_empty:
        hits = areas_intersecting(session, geom)
        # named as a duty officer reads it: the street and its communities; grids only when the
        # warning reaches no whole community's name (a small polygon inside one grid)
        broad = [a.name for a in hits if a.level != "grid"]
        names.extend(broad if broad else [a.name for a in hits])
    codes = {v.strip() for a in msg.areas for _n, v in a.geocodes if v.strip()}
    if codes:
        if codes & set(policy.cap.geocodes):
            street = session.execute(select(Area.name).where(Area.level == "street").order_by(Area.id)).scalar()
            names.append(street or _("the street"))
        names.extend(session.execute(select(Area.name).where(
            Area.level.in_(("street", "community", "grid")), Area.code.in_(codes)).order_by(Area.id)).scalars())
    unique = list(dict.fromkeys(names))
    return bool(unique), unique[:50]


# ---------------------------------------------------------------------------------------------
# Storing one message.


def _thread_key(session: Session, msg: CapMessageData) -> str:
    """The chain a message belongs to: its own for an Alert, its first reference's otherwise."""
    for ref in msg.references:
        found = session.execute(select(CapMessage.thread_key).where(
            CapMessage.identifier == ref.identifier, CapMessage.sender == ref.sender)).scalar()
        if found is not None:
            return str(found)
    if msg.references:  # the message it replaces never reached us: the chain starts with its name
        ref = msg.references[0]
        return f"{ref.sender} {ref.identifier}"[:520]
    return f"{msg.sender} {msg.identifier}"[:520]


def _title(msg: CapMessageData) -> str:
    text = msg.headline or msg.event or msg.identifier
    if msg.colour and COLOUR_LABEL[msg.colour] not in text:
        text = f"[{COLOUR_LABEL[msg.colour]}] {text}"
    return text


def _body(msg: CapMessageData, names: Sequence[str]) -> str:
    parts = [p for p in (msg.description, msg.instruction) if p]
    if names:
        parts.append(_("Covers: {areas}").format(areas="、".join(names[:10])))
    if msg.expires is not None:
        parts.append(_("In force until {time}").format(time=msg.expires.isoformat()))
    parts.append(_("Issued by {sender}").format(sender=msg.sender_name or msg.sender))
    return "\n".join(parts)


def response_category(msg: CapMessageData) -> str:
    return next((CAP_CATEGORY[c] for c in msg.categories if c in CAP_CATEGORY), "natural_disaster")


def _checklist_for(msg: CapMessageData) -> str | None:
    text = " ".join(t for t in (msg.event, msg.headline, msg.description) if t)
    template = best_template(list(checklists.catalog().templates), response_category(msg),
                             COLOUR_SEVERITY.get(msg.colour or "", 3), text)
    return template.code if template is not None else None


def store_message(session: Session, actor: Actor, msg: CapMessageData, source: str,
                  policy: WarningPolicy) -> Outcome:
    """Store one parsed message in the caller's write transaction (once), and raise its warning."""
    serialise_writers(session)
    dup = session.execute(select(CapMessage.id).where(
        CapMessage.identifier == msg.identifier, CapMessage.sender == msg.sender,
        CapMessage.sent_text == msg.sent_text)).scalar()
    if dup is not None:
        return Outcome(source, "duplicate", _("stored already (same identifier, sender and sent)"),
                       msg.identifier, msg.msg_type)
    if msg.msg_type not in ("Alert", "Update", "Cancel"):
        return Outcome(source, "ignored", _("a {type} message carries no warning").format(type=msg.msg_type),
                       msg.identifier, msg.msg_type)
    now = db_now(session)
    thread = _thread_key(session, msg)
    earlier = list(session.execute(select(CapMessage).where(CapMessage.thread_key == thread)).scalars())
    covers, names = coverage(session, msg, policy)
    if msg.msg_type == "Cancel":
        state = "cancelled"
        for m in earlier:
            m.state, m.version = "cancelled", m.version + 1
    elif any(m.sent > msg.sent for m in earlier):
        state = "updated"  # arrived after a newer message of its chain: on record, not in force
    else:
        state = "active"
        for m in earlier:
            if m.state == "active":
                m.state, m.version = "updated", m.version + 1
    row = CapMessage(
        identifier=msg.identifier[:255], sender=msg.sender[:255], sent_text=msg.sent_text[:40],
        sent=msg.sent.astimezone(UTC), status=msg.status, msg_type=msg.msg_type, scope=msg.scope,
        refs=msg.references_text, thread_key=thread, event=msg.event and msg.event[:255],
        headline=msg.headline and msg.headline[:500], description=msg.description, instruction=msg.instruction,
        sender_name=msg.sender_name and msg.sender_name[:255], language=msg.language and msg.language[:32],
        categories=list(msg.categories), severity=msg.severity, urgency=msg.urgency, certainty=msg.certainty,
        colour=msg.colour, effective=msg.effective, onset=msg.onset, expires=msg.expires,
        areas=msg.areas_json(), covers_street=covers, covered_areas=names, state=state,
        source_file=source[-500:], received_at=now, received_by=actor.station, xml=msg.xml, version=1,
    )
    session.add(row)
    session.flush()
    record(session, actor, entity="cap_message", entity_id=row.id, op="create", action="cap.import",
           after={"identifier": msg.identifier, "sender": msg.sender, "sent": msg.sent_text,
                  "msg_type": msg.msg_type, "thread": thread, "covers_street": covers, "file": source}, at=now)
    warning_id, new = _warn(session, actor, msg, row, names, policy, now)
    return Outcome(source, "stored", None, msg.identifier, msg.msg_type, covers, warning_id, new)


def _warn(session: Session, actor: Actor, msg: CapMessageData, row: CapMessage, names: list[str],
          policy: WarningPolicy, now: datetime) -> tuple[int | None, bool]:
    """The chain's warning: raised by the first Actual message in force that covers the street."""
    key = f"cap:{row.thread_key}"
    existing = session.execute(select(EarlyWarning).where(EarlyWarning.episode_key == key)).scalar()
    if existing is not None:
        if row.state == "active" and row.covers_street:
            # the latest word of the chain: the board shows what is in force now (told once)
            existing.title, existing.body = _title(msg)[:300], _body(msg, names)
            existing.level = COLOUR_LEVEL.get(msg.colour or "", "warning")
            existing.version += 1
            record(session, actor, entity="warning", entity_id=existing.id, op="update", action="warning.cap_update",
                   after={"identifier": msg.identifier, "msg_type": msg.msg_type}, at=now)
        return existing.id, False
    if msg.status != "Actual" or row.state != "active" or not row.covers_street:
        return None, False  # an exercise, a test, a cancel, or somewhere else: stored, nobody paged
    if msg.expires is not None and msg.expires <= now:
        return None, False  # over before it reached us
    raised = raise_warning(
        session, actor, rule="cap", episode_key=key, level=COLOUR_LEVEL.get(msg.colour or "", "warning"),
        target_role=policy.cap.notify_role, title=_title(msg), body=_body(msg, names),
        details={"identifier": msg.identifier, "sender": msg.sender, "event": msg.event, "colour": msg.colour},
        checklist_code=_checklist_for(msg), cap_thread_key=row.thread_key, at=now)
    return raised.warning_id, raised.new


# ---------------------------------------------------------------------------------------------
# Files and folders.


def read_bounded(path: Path, limit: int = cap_format.MAX_BYTES) -> bytes:
    """At most ``limit`` bytes of the file (the kernel's bounded reader), or CapRefused with why."""
    try:
        return bounded_input.read_bytes(path, replace(bounded_input.Limits(), file_bytes=limit))
    except bounded_input.InputError as exc:
        raise CapRefused(exc.reason) from None


def files_in(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The files named, and in each folder named the .xml and .cap files (newest last, at most MAX_FILES)."""
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found = [f for f in path.iterdir() if f.is_file() and f.suffix.lower() in SUFFIXES]
            found.sort(key=lambda f: (f.stat().st_mtime, f.name))
            out.extend(found[-MAX_FILES:])
        else:
            out.append(path)
    return out


def import_one(db: Database, actor: Actor, path: Path, policy: WarningPolicy) -> Outcome:
    try:
        msg = cap_format.parse(read_bounded(path))
        with db.write() as s:
            return store_message(s, actor, msg, str(path), policy)
    except CapRefused as exc:
        return Outcome(str(path), "refused", str(exc))


def import_paths(db: Database, actor: Actor, paths: Iterable[str | os.PathLike[str]],
                 policy: WarningPolicy | None = None) -> ImportReport:
    """``cap import FILE|DIR``: every file on its own; the refused ones named with their reason."""
    require(actor, "warning.import")
    policy = policy or current_policy()
    report = ImportReport()
    for p in paths:
        if not Path(p).exists():
            report.outcomes.append(Outcome(str(p), "refused", _("no such file or folder")))
    for path in files_in(p for p in paths if Path(p).exists()):
        report.outcomes.append(import_one(db, actor, path, policy))
    return report


# ---------------------------------------------------------------------------------------------
# Offering the checklist.


def start_response(db: Database, actor: Actor, warning_id: int) -> IncidentRow:
    """Record the incident that starts the warning's checklist (once: a second call returns it)."""
    require(actor, "incident.create")
    with db.write() as s:
        w = s.get(EarlyWarning, warning_id)
        if w is None:
            raise NotFound(_("Warning {id} does not exist.").format(id=warning_id))
        if w.response_incident_id is not None:
            return row_in(s, w.response_incident_id)
        if w.rule != "cap" or w.cap_thread_key is None:
            raise ValidationError(_("Only an official warning starts a checklist of its own."), "warning")
        latest = s.execute(select(CapMessage).where(CapMessage.thread_key == w.cap_thread_key)
                           .order_by(CapMessage.sent.desc(), CapMessage.id.desc()).limit(1)).scalar_one()
        category = next((CAP_CATEGORY[c] for c in latest.categories or [] if c in CAP_CATEGORY),
                        "natural_disaster")
        text = "\n".join(t for t in (w.title, latest.description, latest.instruction) if t)[:4000]
        draft = IncidentDraft(category=category, severity=COLOUR_SEVERITY.get(latest.colour or "", 3),
                              source="official_warning", description=text,
                              external_id=f"warning:{w.id}")
        incident, _dup = add_incident(s, actor, draft)
        w.response_incident_id = incident.id
        w.version += 1
        link_incidents(s, w.id, [incident.id])
        record(s, actor, entity="warning", entity_id=w.id, op="update", action="warning.respond",
               after={"incident_id": incident.id, "checklist": w.checklist_code})
        return row_in(s, incident.id)


# ---------------------------------------------------------------------------------------------
# The drop folder.


class DropFolder:
    """Reads new files of the configured folder; each file once per process (by name, size and time)."""

    def __init__(self, db: Database, station: str) -> None:
        self.db = db
        self.actor = Actor.system(station)
        self.seen: dict[str, tuple[float, int]] = {}

    def scan(self, policy: WarningPolicy | None = None) -> ImportReport:
        policy = policy or current_policy()
        report = ImportReport()
        folder = Path(policy.cap.drop_folder) if policy.cap.drop_folder else None
        if folder is None:
            return report
        if not folder.is_dir():
            log.warning("CAP drop folder %s is not a folder (policies/warning.toml, cap.drop_folder)", folder)
            return report
        for path in files_in([folder]):
            try:
                st = path.stat()
            except OSError:
                continue
            stamp = (st.st_mtime, st.st_size)
            if self.seen.get(str(path)) == stamp:
                continue
            outcome = import_one(self.db, self.actor, path, policy)
            if outcome.status == "refused":
                log.warning("CAP file %s refused: %s", path, outcome.reason)
                self._tell_refused(path, st.st_mtime_ns, st.st_size, outcome.reason or "")
            self.seen[str(path)] = stamp
            report.outcomes.append(outcome)
        return report


    def _tell_refused(self, path: Path, mtime_ns: int, size: int, reason: str) -> None:
        """An official warning that could not be read must not go unnoticed: a warning on the board
        (once per version of the file, however many workstations read the share) for the duty officer."""
        with self.db.write() as s:
            raise_warning(
                s, self.actor, rule="cap_refused", episode_key=f"cap_refused:{path}:{mtime_ns}:{size}"[:600],
                level="warning", target_role="duty_officer",
                title=_("An official warning file could not be read: {file}").format(file=path.name),
                body=_("{file}: {reason}. Ask the district duty office to send it again.").format(
                    file=path, reason=reason))


def attach(engine: TimerEngine) -> None:
    """Timer engine companion: read the CAP drop folder every ``cap.scan_every`` (nothing when unset)."""
    policy = current_policy()
    if not policy.cap.drop_folder:
        return
    folder = DropFolder(engine.db, engine.station)

    def run() -> None:
        try:
            folder.scan()
        except Exception:
            log.exception("CAP drop folder could not be read on %s", engine.station)

    engine.add_job(run, "interval", job_id="cap-drop-folder", seconds=policy.cap.scan_every.total_seconds(),
                   next_run_time=datetime.now(UTC))
