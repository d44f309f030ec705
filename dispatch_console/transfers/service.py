"""Sending an incident to another duty room, taking what arrives, and the status that flows back.

Every package leaves through the exchange's outbox: a ``transfer_package`` row written in the
same transaction as the change it reports, delivered to the shared folder afterwards
(:func:`deliver`: tmp + rename into ``<exchange>/<peer>/inbox``, a copy in our own ``outbox``) —
so a rolled-back change sends nothing and a folder that is away loses nothing. Every package
taken is a row under a unique (direction, package_id): however many workstations poll the same
inbox, one takes it, the others find it taken. A package that fails its schema or its HMAC is
kept as a refused transfer with the reason, and the refusal goes back to the sender.

On the sender's side the receipt deadline is a timer (``transfer_receipt``) that tells the shift
leader once when no receipt came in time; an accepted or refused answer cancels it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import Assignment, Case, Incident, IncidentEvent, Timer, Transfer, TransferPackage, Unit
from dispatch_console.cases.records import add_event as add_case_event
from dispatch_console.cases.records import changed as case_changed
from dispatch_console.cases.vocabulary import OPEN_CASE_STATUSES
from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.incidents.lifecycle import add_event
from dispatch_console.incidents.service import add_incident
from dispatch_console.kernel import categories
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changes import record, serialise_writers
from dispatch_console.kernel.errors import NotFound, ValidationError
from dispatch_console.kernel.i18n import N_, _
from dispatch_console.kernel.permissions import require
from dispatch_console.notifications.service import notify
from dispatch_console.timers.engine import cancel, schedule, set_outcome
from dispatch_console.transfers import case_package
from dispatch_console.transfers import config as transfer_config
from dispatch_console.transfers import package as pkg
from dispatch_console.transfers.config import TransferConfig
from dispatch_console.transfers.exchange import ExchangeUnavailable, PostgresExchange
from dispatch_console.transfers.package import PackageRefused

if TYPE_CHECKING:
    from dispatch_console.timers.engine import TimerEngine

log = logging.getLogger(__name__)

RECEIPT_KIND = "transfer_receipt"
MAX_FILES = 500  # per poll, oldest first
NOTE_CHARS = 2000
# the statuses of a transfer, as each side sees it
OUT_STATUSES = ("sent", "overdue", "accepted", "refused", "rejected", "dispatched", "resolved", "closed")
IN_STATUSES = ("pending", "accepted", "refused", "rejected", "dispatched", "resolved", "closed")
STATUS_LABELS: dict[str, str] = {
    "sent": N_("sent, awaiting receipt"), "overdue": N_("no receipt in time"), "pending": N_("awaiting decision"),
    "accepted": N_("taken over"), "refused": N_("refused"), "rejected": N_("package refused (invalid)"),
    "dispatched": N_("dispatched"), "resolved": N_("resolved"), "closed": N_("case closed"),
}
# a status package moves a transfer forward only (a late "dispatched" never undoes "resolved")
_RANK = {"sent": 0, "overdue": 0, "pending": 0, "accepted": 1, "dispatched": 2, "resolved": 3, "closed": 3,
         "refused": 3, "rejected": 3}


def status_label(status: str) -> str:
    return _(STATUS_LABELS[status]) if status in STATUS_LABELS else status


@dataclass(frozen=True)
class TransferRow:
    id: int
    direction: str
    peer_room: str
    peer_name: str
    status: str
    sender_number: str
    receiver_number: str | None
    incident_id: int | None
    category: str | None
    severity: int | None
    address: str | None
    description: str
    reason: str | None
    created_at: datetime
    updated_at: datetime
    version: int
    subject: str = "incident"  # incident | case
    case_id: int | None = None

    @property
    def status_text(self) -> str:
        return status_label(self.status)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "direction": self.direction, "room": self.peer_room, "room_name": self.peer_name,
                "status": self.status, "sender_number": self.sender_number, "receiver_number": self.receiver_number,
                "incident_id": self.incident_id, "category": self.category, "severity": self.severity,
                "address": self.address, "description": self.description, "reason": self.reason,
                "created_at": self.created_at.isoformat(), "updated_at": self.updated_at.isoformat(),
                "subject": self.subject, "case_id": self.case_id}


@dataclass(frozen=True)
class Taken:
    """What became of one file of the inbox: taken, duplicate (another workstation had it) or refused."""

    file: str
    status: str
    reason: str | None = None
    transfer_id: int | None = None


@dataclass
class PollReport:
    taken: list[Taken] = field(default_factory=list)
    delivered: int = 0
    closed: int = 0  # accepted cases closed here, reported back
    unreachable: list[str] = field(default_factory=list)  # exchanges that could not be read, why

    def count(self, status: str) -> int:
        return sum(1 for t in self.taken if t.status == status)


def _row(t: Transfer, cfg: TransferConfig | None) -> TransferRow:
    summary = t.summary or {}
    peer = cfg.rooms.get(t.peer_room) if cfg is not None else None
    return TransferRow(
        id=t.id, direction=t.direction, peer_room=t.peer_room, peer_name=peer.name if peer else t.peer_room,
        status=t.status, sender_number=t.sender_number, receiver_number=t.receiver_number, incident_id=t.incident_id,
        category=summary.get("category"), severity=summary.get("severity"), address=summary.get("address"),
        description=str(summary.get("description") or summary.get("file") or ""), reason=t.reason,
        created_at=t.created_at, updated_at=t.updated_at, version=t.version, subject=t.subject or "incident",
        case_id=t.case_id)


def _config(cfg: TransferConfig | None) -> TransferConfig:
    return cfg if cfg is not None else transfer_config.load()


def _note(note: str | None) -> str | None:
    text = (note or "").strip()
    if len(text) > NOTE_CHARS:
        raise ValidationError(_("The note is longer than {n} characters.").format(n=NOTE_CHARS), "note")
    return text or None


# ---------------------------------------------------------------------------------------------
# Building packages.


def _incident_package(s: Session, cfg: TransferConfig, inc: Incident, to: str, now: datetime) -> dict[str, Any]:
    notes = [
        {"noteDateTimeStamp": pkg.timestamp(e.at), "noteText": (e.note or "")[:4000],
         **({"noteAuthorText": e.username[:200]} if e.username else {})}
        for e in s.execute(select(IncidentEvent).where(IncidentEvent.incident_id == inc.id,
                                                       IncidentEvent.kind == "note", IncidentEvent.note.is_not(None))
                           .order_by(IncidentEvent.at, IncidentEvent.id).limit(200)).scalars()
    ]
    units = [
        {"resourceNameText": name[:200], "resourceTypeText": kind[:64], "resourceStatusText": status[:16],
         "dispatchTimeStamp": pkg.timestamp(at)}
        for name, kind, status, at in s.execute(
            select(Unit.name, Unit.kind, Assignment.status, Assignment.assigned_at)
            .join(Unit, Unit.id == Assignment.unit_id).where(Assignment.incident_id == inc.id)
            .order_by(Assignment.assigned_at, Assignment.id).limit(100))
    ]
    incident: dict[str, Any] = {
        "incidentTrackingIdentifier": inc.number, "incidentTypeCommonRegistryText": inc.category,
        "incidentSeverity": inc.severity, "incidentStatusCommonRegistryText": inc.status,
        "incidentCreationTimeStamp": pkg.timestamp(inc.created_at),
        "incidentDescriptionText": inc.description[:4000],
    }
    if inc.reported_at is not None:
        incident["incidentReportedTimeStamp"] = pkg.timestamp(inc.reported_at)
    if inc.people_count is not None:
        incident["peopleInvolvedCount"] = inc.people_count
    location: dict[str, Any] = {}
    if inc.address:
        location["civicAddressText"] = inc.address[:500]
    if inc.lon is not None and inc.lat is not None:
        location["longitude"], location["latitude"] = inc.lon, inc.lat
    body: dict[str, Any] = {
        "packageVersion": 1, "eidoMessageIdentifier": pkg.new_identifier(), "kind": "transfer",
        "sendingRoom": cfg.room, "sendingRoomName": cfg.room_name[:200], "receivingRoom": to,
        "lastUpdateTimeStamp": pkg.timestamp(now), "incidentComponent": incident,
    }
    if location:
        body["locationComponent"] = location
    if notes:
        body["notesComponent"] = notes
    if units:
        body["emergencyResourceComponent"] = units
    return body


def _queue_status(s: Session, cfg: TransferConfig, transfer: Transfer | None, *, to: str, referenced: str,
                  status: str, tracking: str, receiver_number: str | None, reason: str | None,
                  now: datetime) -> TransferPackage:
    """A status package for the sender, in the outbox (signed and delivered after the commit)."""
    component: dict[str, Any] = {"referencedMessageIdentifier": referenced[:64], "transferStatusText": status}
    if receiver_number:
        component["receiverIncidentTrackingIdentifier"] = receiver_number
    if reason:
        component["reasonText"] = reason[:2000]
    body = {
        "packageVersion": 1, "eidoMessageIdentifier": pkg.new_identifier(), "kind": "status",
        "sendingRoom": cfg.room, "sendingRoomName": cfg.room_name[:200], "receivingRoom": to,
        "lastUpdateTimeStamp": pkg.timestamp(now),
        "incidentComponent": {"incidentTrackingIdentifier": tracking[:32] or "-"},
        "statusComponent": component,
    }
    row = TransferPackage(direction="out", package_id=body["eidoMessageIdentifier"], kind="status", peer_room=to,
                          transfer_id=transfer.id if transfer is not None else None, status=status,
                          outcome=None, body=body, at=now)
    s.add(row)
    s.flush()
    return row


# ---------------------------------------------------------------------------------------------
# The sender's side.


def send(db: Database, actor: Actor, number: str, to: str, *, note: str | None = None,
         cfg: TransferConfig | None = None) -> TransferRow:
    """``transfer send NUMBER --to ROOM``: hand the incident (or the case, TYJ-…/TYX-…) over; the receipt
    deadline starts."""
    require(actor, "transfer.send")
    cfg = _config(cfg)
    cfg.peer(to)
    cfg.key(to)  # refused before anything is written when the key is missing
    text = _note(note)
    with db.write() as s:
        serialise_writers(s)
        inc = s.execute(select(Incident).where(Incident.number == number.strip())).scalar_one_or_none()
        if inc is None:
            case = s.execute(select(Case).where(Case.number == number.strip().upper())).scalar_one_or_none()
            if case is None:
                raise NotFound(_("No incident or case numbered {number}.").format(number=number))
            row = _send_case(s, actor, cfg, case, to, text)
        else:
            row = _send_incident(s, actor, cfg, inc, to, text)
    deliver(db, cfg)
    return row


def _send_incident(s: Session, actor: Actor, cfg: TransferConfig, inc: Incident, to: str,
                   text: str | None) -> TransferRow:
    peer = cfg.peer(to)
    if inc.is_drill:
        raise ValidationError(_("Incident {number} is a drill: drills stay in this duty room.").format(
            number=inc.number), "number")
    if inc.status in ("closed", "cancelled"):
        raise ValidationError(_("Incident {number} is {status}: it cannot be handed over.").format(
            number=inc.number, status=categories.load_catalog().status_label(inc.status)), "number")
    open_one = s.execute(select(Transfer.id).where(
        Transfer.direction == "out", Transfer.incident_id == inc.id, Transfer.peer_room == to,
        Transfer.status.in_(("sent", "overdue", "accepted", "dispatched")))).scalar()
    if open_one is not None:
        raise ValidationError(_("Incident {number} is already with {room} (transfer {id}).").format(
            number=inc.number, room=peer.name, id=open_one), "number")
    now = db_now(s)
    if text:
        add_event(s, actor, inc, "note", now, note=text)
    body = _incident_package(s, cfg, inc, to, now)
    transfer = Transfer(
        direction="out", package_id=body["eidoMessageIdentifier"], peer_room=to, incident_id=inc.id,
        sender_number=inc.number, status="sent", summary=_summary(body), created_at=now, updated_at=now,
        version=1)
    s.add(transfer)
    s.flush()
    s.add(TransferPackage(direction="out", package_id=transfer.package_id, kind="transfer", peer_room=to,
                          transfer_id=transfer.id, body=body, at=now))
    due = now + cfg.receipt_deadline
    add_event(s, actor, inc, "transfer_sent", now, note=_("Handed over to {room}; receipt due by {due}.").format(
        room=peer.name, due=pkg.timestamp(due)), data={"transfer_id": transfer.id, "room": to,
                                                       "package": transfer.package_id})
    record(s, actor, entity="transfer", entity_id=transfer.id, op="create", action="transfer.send",
           after={"room": to, "number": inc.number, "package": transfer.package_id, "receipt_due": due}, at=now)
    schedule(s, kind=RECEIPT_KIND, due_at=due, incident_id=inc.id, target_role=cfg.notify_role,
             payload={"transfer_id": transfer.id, "room": to}, is_drill=inc.is_drill, actor=actor)
    return _row(transfer, cfg)


def _send_case(s: Session, actor: Actor, cfg: TransferConfig, case: Case, to: str, text: str | None) -> TransferRow:
    """A dispute or petition case as a package (``case_package``); the case's timeline says so."""
    peer = cfg.peer(to)
    if case.is_drill:
        raise ValidationError(_("Case {number} is a drill: drills stay in this duty room.").format(
            number=case.number), "number")
    if case.status not in OPEN_CASE_STATUSES:
        raise ValidationError(_("Case {number} is closed: it cannot be handed over.").format(number=case.number),
                              "number")
    open_one = s.execute(select(Transfer.id).where(
        Transfer.direction == "out", Transfer.case_id == case.id, Transfer.peer_room == to,
        Transfer.status.in_(("sent", "overdue", "accepted")))).scalar()
    if open_one is not None:
        raise ValidationError(_("Case {number} is already with {room} (transfer {id}).").format(
            number=case.number, room=peer.name, id=open_one), "number")
    now = db_now(s)
    component = case_package.case_body(s, case, cfg.key(to))
    body: dict[str, Any] = {
        "packageVersion": 1, "eidoMessageIdentifier": pkg.new_identifier(), "kind": "case",
        "sendingRoom": cfg.room, "sendingRoomName": cfg.room_name[:200], "receivingRoom": to,
        "lastUpdateTimeStamp": pkg.timestamp(now), "caseComponent": component,
    }
    if text:
        body["notesComponent"] = [{"noteDateTimeStamp": pkg.timestamp(now), "noteText": text,
                                   "noteAuthorText": actor.username[:200]}]
    transfer = Transfer(
        direction="out", subject="case", package_id=body["eidoMessageIdentifier"], peer_room=to, case_id=case.id,
        sender_number=case.number, status="sent", summary=case_package.summary_of(component, cfg.room_name),
        created_at=now, updated_at=now, version=1)
    s.add(transfer)
    s.flush()
    s.add(TransferPackage(direction="out", package_id=transfer.package_id, kind="case", peer_room=to,
                          transfer_id=transfer.id, body=body, at=now))
    due = now + cfg.receipt_deadline
    case_changed(s, actor, case, "transfer", now, event="transfer_sent",
                 after={"room": to, "transfer_id": transfer.id, "package": transfer.package_id, "receipt_due": due},
                 note=_("Handed over to {room}; receipt due by {due}.").format(room=peer.name, due=pkg.timestamp(due))
                 + (f" {text}" if text else ""), data={"transfer_id": transfer.id, "room": to})
    record(s, actor, entity="transfer", entity_id=transfer.id, op="create", action="transfer.send",
           after={"room": to, "case": case.number, "package": transfer.package_id, "receipt_due": due}, at=now)
    schedule(s, kind=RECEIPT_KIND, due_at=due, case_id=case.id, target_role=cfg.notify_role,
             payload={"transfer_id": transfer.id, "room": to}, is_drill=case.is_drill, actor=actor)
    return _row(transfer, cfg)


def _summary(body: dict[str, Any]) -> dict[str, Any]:
    inc = body.get("incidentComponent", {})
    loc = body.get("locationComponent", {})
    return {"category": inc.get("incidentTypeCommonRegistryText"), "severity": inc.get("incidentSeverity"),
            "description": inc.get("incidentDescriptionText", ""), "address": loc.get("civicAddressText"),
            "room_name": body.get("sendingRoomName")}


def on_timer(session: Session, timer: Timer, now: datetime, fired_by: str) -> None:
    """The receipt deadline passed: if still no answer, tell the shift leader (once: the timer's claim)."""
    transfer = session.get(Transfer, int((timer.payload or {}).get("transfer_id", 0)))
    if transfer is None or transfer.status != "sent":
        set_outcome(timer, _("No longer needed: the transfer was answered."))
        return
    actor = Actor.system(fired_by)
    transfer.status, transfer.updated_at, transfer.version = "overdue", now, transfer.version + 1
    title = _("No receipt from {room} for {number}").format(room=transfer.peer_room, number=transfer.sender_number)
    body = _("The transfer was sent at {sent}; nobody accepted or refused it in time. "
             "Call the other duty room.").format(sent=pkg.timestamp(transfer.created_at))
    notify(session, kind="transfer_overdue", title=title, body=body, level="critical",
           target_role=timer.target_role or "shift_leader", incident_id=transfer.incident_id, timer_id=timer.id,
           is_drill=bool(timer.is_drill), actor=actor, at=now)
    record(session, actor, entity="transfer", entity_id=transfer.id, op="update", action="transfer.overdue",
           after={"room": transfer.peer_room, "number": transfer.sender_number}, at=now)
    set_outcome(timer, title)


def _take_status(s: Session, cfg: TransferConfig, body: dict[str, Any], now: datetime, actor: Actor) -> int | None:
    """A status package from the receiver: the transfer moves on, our incident's timeline says so."""
    comp = body["statusComponent"]
    status = str(comp["transferStatusText"])
    transfer = s.execute(select(Transfer).where(
        Transfer.direction == "out", Transfer.package_id == comp["referencedMessageIdentifier"],
        Transfer.peer_room == body["sendingRoom"])).scalar_one_or_none()
    if transfer is None:
        log.warning("status package %s names no transfer of ours", body["eidoMessageIdentifier"])
        return None
    reason = comp.get("reasonText")
    if _RANK.get(status, 0) >= _RANK.get(transfer.status, 0) and transfer.status not in ("refused", "rejected"):
        transfer.status = status
    if comp.get("receiverIncidentTrackingIdentifier"):
        transfer.receiver_number = str(comp["receiverIncidentTrackingIdentifier"])
    if reason:
        transfer.reason = str(reason)
    transfer.updated_at, transfer.version = now, transfer.version + 1
    peer = cfg.rooms.get(transfer.peer_room)
    room = peer.name if peer else transfer.peer_room
    text = _("{room}: {status}").format(room=room, status=status_label(status))
    if transfer.receiver_number:
        text += _(" (their number {number})").format(number=transfer.receiver_number)
    if reason:
        text += f" — {reason}"
    data = {"transfer_id": transfer.id, "status": status, "receiver_number": transfer.receiver_number}
    inc = s.get(Incident, transfer.incident_id) if transfer.incident_id is not None else None
    case = s.get(Case, transfer.case_id) if inc is None and transfer.case_id is not None else None
    ours: Incident | Case | None = inc if inc is not None else case
    if inc is not None:  # our incident's timeline, or our case's, says what became of it
        add_event(s, actor, inc, "transfer_status", now, note=text, data=data)
    elif case is not None:
        add_case_event(s, actor, case.id, "transfer_status", text, now, data=data)
    if ours is not None and status in ("accepted", "refused", "rejected"):
        cancel(s, reason=f"transfer {status}", incident_id=inc.id if inc is not None else None,
               case_id=ours.id if inc is None else None, kinds=[RECEIPT_KIND], actor=actor)
    if ours is not None and status in ("refused", "rejected"):
        notify(s, kind="transfer_refused", title=_("{room} did not take {number}").format(
            room=room, number=transfer.sender_number), body=reason, level="warning", target_role=cfg.notify_role,
            incident_id=inc.id if inc is not None else None, is_drill=ours.is_drill, actor=actor, at=now)
    record(s, actor, entity="transfer", entity_id=transfer.id, op="update", action=f"transfer.{status}",
           after={"room": transfer.peer_room, "status": status, "receiver_number": transfer.receiver_number,
                  "reason": reason}, at=now)
    return transfer.id


# ---------------------------------------------------------------------------------------------
# The receiver's side.


def _take_transfer(s: Session, body: dict[str, Any], now: datetime, actor: Actor) -> int:
    if body["kind"] == "case":
        c = body["caseComponent"]
        inc = {"incidentDescriptionText": c["caseTitleText"]}
        number, subject = c["caseTrackingIdentifier"], "case"
        summary = case_package.summary_of(c, body.get("sendingRoomName"))
    else:
        inc = body["incidentComponent"]
        number, subject, summary = inc["incidentTrackingIdentifier"], "incident", _summary(body)
    transfer = Transfer(direction="in", subject=subject, package_id=body["eidoMessageIdentifier"],
                        peer_room=body["sendingRoom"], sender_number=number, status="pending", summary=summary,
                        created_at=now, updated_at=now, version=1)
    s.add(transfer)
    s.flush()
    record(s, actor, entity="transfer", entity_id=transfer.id, op="create", action="transfer.receive",
           after={"room": transfer.peer_room, "number": transfer.sender_number, "package": transfer.package_id},
           at=now)
    notify(s, kind="transfer_in", title=_("Transfer from {room}: {number}").format(
        room=body.get("sendingRoomName") or transfer.peer_room, number=transfer.sender_number),
        body=str(inc.get("incidentDescriptionText", ""))[:500], level="warning", target_role="duty_officer",
        actor=actor, external=False, at=now)
    return transfer.id


def _refuse_package(s: Session, cfg: TransferConfig, raw: bytes, name: str, exc: PackageRefused,
                    now: datetime, actor: Actor) -> Taken:
    """Keep a refused package (once, by its bytes) with the reason; tell its sender when we know who."""
    key = "refused:" + hashlib.sha256(raw).hexdigest()[:55]
    if s.execute(select(TransferPackage.id).where(TransferPackage.direction == "in",
                                                  TransferPackage.package_id == key)).scalar() is not None:
        return Taken(name, "duplicate", exc.reason)
    data: dict[str, Any] = exc.package or {}
    claimed = data.get("sendingRoom")
    sender = claimed if isinstance(claimed, str) else None
    known = sender in cfg.rooms
    component = data.get("incidentComponent")
    inc: dict[str, Any] = component if isinstance(component, dict) else {}
    case_c = data.get("caseComponent")
    case: dict[str, Any] = case_c if isinstance(case_c, dict) else {}
    number = str(inc.get("incidentTrackingIdentifier") or case.get("caseTrackingIdentifier") or "-")[:32]
    transfer = Transfer(direction="in", package_id=key, peer_room=(sender if known and sender else "?")[:64],
                        sender_number=number, status="rejected", reason=exc.reason,
                        summary={"file": name[:200],
                                 "description": str(inc.get("incidentDescriptionText") or "")[:500]},
                        created_at=now, updated_at=now, version=1)
    s.add(transfer)
    s.flush()
    s.add(TransferPackage(direction="in", package_id=key, kind=str(data.get("kind") or "?")[:16],
                          peer_room=transfer.peer_room, transfer_id=transfer.id, outcome=exc.reason, at=now))
    record(s, actor, entity="transfer", entity_id=transfer.id, op="create", action="transfer.rejected",
           after={"file": name, "reason": exc.reason, "room": transfer.peer_room}, at=now)
    referenced = data.get("eidoMessageIdentifier")
    if known and sender is not None and isinstance(referenced, str) and data.get("kind") != "status":
        _queue_status(s, cfg, transfer, to=sender, referenced=referenced, status="rejected", tracking=number,
                      receiver_number=None, reason=exc.reason, now=now)
    return Taken(name, "refused", exc.reason, transfer.id)


def _refused(db: Database, cfg: TransferConfig, raw: bytes, name: str, exc: PackageRefused, actor: Actor) -> Taken:
    try:
        with db.write() as s:
            return _refuse_package(s, cfg, raw, name, exc, db_now(s), actor)
    except IntegrityError:  # another workstation refused the same file between our look and our insert
        return Taken(name, "duplicate", exc.reason)


def take(db: Database, actor: Actor, raw: bytes, name: str, cfg: TransferConfig) -> Taken:
    """Take one package (its bytes): checked, then stored once under its identifier."""
    try:
        body = pkg.parse(raw, name)
        if body["receivingRoom"] != cfg.room:
            raise PackageRefused(_("addressed to {room}, not to this duty room").format(room=body["receivingRoom"]),
                                 body)
        if body["sendingRoom"] not in cfg.rooms:
            raise PackageRefused(_("from {room}, a duty room not in policies/transfers.toml").format(
                room=body["sendingRoom"]), body)
        try:
            key = cfg.key(body["sendingRoom"])
        except ValidationError as exc:
            raise PackageRefused(str(exc), body) from None
        pkg.verify(body, key)
    except PackageRefused as exc:
        log.warning("transfer package %s refused: %s", name, exc.reason)
        return _refused(db, cfg, raw, name, exc, actor)
    try:
        with db.write() as s:
            serialise_writers(s)
            ident = body["eidoMessageIdentifier"]
            if s.execute(select(TransferPackage.id).where(TransferPackage.direction == "in",
                                                          TransferPackage.package_id == ident)).scalar() is not None:
                return Taken(name, "duplicate")
            now = db_now(s)
            if body["kind"] in ("transfer", "case"):
                transfer_id: int | None = _take_transfer(s, body, now, actor)
                status = None
            else:
                transfer_id = _take_status(s, cfg, body, now, actor)
                status = body["statusComponent"]["transferStatusText"]
            s.add(TransferPackage(direction="in", package_id=ident, kind=body["kind"], peer_room=body["sendingRoom"],
                                  transfer_id=transfer_id, status=status, outcome="taken", body=body, at=now))
            s.flush()
            return Taken(name, "taken", None, transfer_id)
    except IntegrityError:  # another workstation took it between our look and our insert
        return Taken(name, "duplicate")


def _decide(db: Database, actor: Actor, transfer_id: int, version: int | None, cfg: TransferConfig,
            status: str, note: str | None) -> TransferRow:
    with db.write() as s:
        serialise_writers(s)
        t = s.get(Transfer, transfer_id)
        if t is None or t.direction != "in":
            raise NotFound(_("No incoming transfer {id}.").format(id=transfer_id))
        if version is not None and t.version != version:
            raise ValidationError(_("Transfer {id} was changed meanwhile: reload.").format(id=transfer_id), "version")
        if t.status != "pending":
            raise ValidationError(_("Transfer {id} is {status} already.").format(
                id=transfer_id, status=status_label(t.status)), "status")
        now = db_now(s)
        if status == "accepted" and t.subject == "case":
            body = s.execute(select(TransferPackage.body).where(
                TransferPackage.direction == "in", TransferPackage.package_id == t.package_id)).scalar_one()
            room_name = (t.summary or {}).get("room_name") or t.peer_room
            try:
                key: bytes | None = cfg.key(t.peer_room)
            except ValidationError:
                key = None
            case = case_package.open_local_case(s, actor, body, room_name=room_name, key=key, note=note)
            add_case_event(s, actor, case.id, "transfer_accepted", _("Accepted from {room} ({number}).").format(
                room=room_name, number=t.sender_number), now,
                data={"transfer_id": t.id, "room": t.peer_room, "sender_number": t.sender_number})
            t.case_id, t.receiver_number = case.id, case.number
        elif status == "accepted":
            body = s.execute(select(TransferPackage.body).where(
                TransferPackage.direction == "in", TransferPackage.package_id == t.package_id)).scalar_one()
            inc_c, loc = body["incidentComponent"], body.get("locationComponent", {})
            catalog = categories.load_catalog()
            category = str(inc_c["incidentTypeCommonRegistryText"])
            room_name = (t.summary or {}).get("room_name") or t.peer_room
            lines = [_("Handed over by {room}, their number {number}.").format(room=room_name, number=t.sender_number),
                     str(inc_c["incidentDescriptionText"])]
            if category not in {c.code for c in catalog.categories}:
                lines.append(_("Their incident type: {type}").format(type=category))
                category = "other"
            reported = inc_c.get("incidentReportedTimeStamp") or inc_c["incidentCreationTimeStamp"]
            draft = IncidentDraft(
                category=category, severity=int(inc_c["incidentSeverity"]), source="transfer",
                description="\n".join(lines)[:4000], address=loc.get("civicAddressText"),
                lon=loc.get("longitude"), lat=loc.get("latitude"), people_count=inc_c.get("peopleInvolvedCount"),
                reported_at=datetime.fromisoformat(reported).astimezone(UTC),
                external_id=f"transfer:{t.peer_room}:{t.sender_number}:{t.package_id[:16]}"[:128])
            inc, _dup = add_incident(s, actor, draft)
            for n in body.get("notesComponent", []):
                add_event(s, actor, inc, "note", now, note=_("[{room} {time}] {text}").format(
                    room=room_name, time=n["noteDateTimeStamp"], text=n["noteText"]))
            units = "、".join(u["resourceNameText"] for u in body.get("emergencyResourceComponent", []))
            add_event(s, actor, inc, "transfer_accepted", now,
                      note=_("Accepted from {room} ({number}).").format(room=room_name, number=t.sender_number)
                      + (_(" Their units: {units}.").format(units=units) if units else "")
                      + (f" {note}" if note else ""),
                      data={"transfer_id": t.id, "room": t.peer_room, "sender_number": t.sender_number})
            t.incident_id, t.receiver_number = inc.id, inc.number
        t.status, t.reason, t.updated_at, t.version = status, note, now, t.version + 1
        record(s, actor, entity="transfer", entity_id=t.id, op="update", action=f"transfer.{status}",
               after={"room": t.peer_room, "number": t.sender_number, "receiver_number": t.receiver_number,
                      "note": note}, at=now)
        if t.peer_room in cfg.rooms:
            _queue_status(s, cfg, t, to=t.peer_room, referenced=t.package_id, status=status,
                          tracking=t.sender_number, receiver_number=t.receiver_number, reason=note, now=now)
        row = _row(t, cfg)
    deliver(db, cfg)
    return row


def accept(db: Database, actor: Actor, transfer_id: int, *, note: str | None = None, version: int | None = None,
           cfg: TransferConfig | None = None) -> TransferRow:
    """``transfer accept ID``: a local incident linked to the sender's number; the sender is told."""
    require(actor, "transfer.decide")
    return _decide(db, actor, transfer_id, version, _config(cfg), "accepted", _note(note))


def refuse(db: Database, actor: Actor, transfer_id: int, *, note: str | None = None, version: int | None = None,
           cfg: TransferConfig | None = None) -> TransferRow:
    """``transfer refuse ID --note WHY``: not ours; the sender is told why."""
    require(actor, "transfer.decide")
    return _decide(db, actor, transfer_id, version, _config(cfg), "refused", _note(note))


def on_incident_change(session: Session, actor: Actor, incident: Incident, change: str,
                       before: dict[str, Any] | None) -> None:
    """A transferred-in incident dispatched or resolved here: the sender hears of it (a status package)."""
    if change not in ("dispatched", "resolved"):
        return
    transfers = list(session.execute(select(Transfer).where(
        Transfer.direction == "in", Transfer.incident_id == incident.id)).scalars())
    if not transfers:
        return
    try:
        cfg = transfer_config.load()
    except Exception:
        log.exception("policies/transfers.toml could not be read: %s not told of %s", "the sender", change)
        return
    now = db_now(session)
    for t in transfers:
        if _RANK.get(change, 0) <= _RANK.get(t.status, 0) or t.peer_room not in cfg.rooms:
            continue
        t.status, t.updated_at, t.version = change, now, t.version + 1
        _queue_status(session, cfg, t, to=t.peer_room, referenced=t.package_id, status=change,
                      tracking=t.sender_number, receiver_number=t.receiver_number, reason=None, now=now)
        record(session, actor, entity="transfer", entity_id=t.id, op="update", action=f"transfer.{change}",
               after={"room": t.peer_room, "receiver_number": t.receiver_number}, at=now)


# ---------------------------------------------------------------------------------------------
# Reading.


def transfers(db: Database, *, direction: str | None = None, status: str | None = None,
              cfg: TransferConfig | None = None, limit: int = 500) -> list[TransferRow]:
    """Transfers, the newest first (``direction`` in/out, ``status`` one of them)."""
    if cfg is None:
        try:
            cfg = transfer_config.load()
        except Exception:  # the list still reads without a policy; room names are the codes then
            cfg = None
    query = select(Transfer).order_by(Transfer.created_at.desc(), Transfer.id.desc()).limit(limit)
    if direction is not None:
        query = query.where(Transfer.direction == direction)
    if status is not None:
        query = query.where(Transfer.status == status)
    with db.read() as s:
        return [_row(t, cfg) for t in s.execute(query).scalars()]


def inbox(db: Database, *, cfg: TransferConfig | None = None, pending_only: bool = False) -> list[TransferRow]:
    """``transfer inbox``: the incoming transfers, awaiting a decision first."""
    rows = transfers(db, direction="in", status="pending" if pending_only else None, cfg=cfg)
    return sorted(rows, key=lambda r: (r.status != "pending", -r.created_at.timestamp(), -r.id))


# ---------------------------------------------------------------------------------------------
# The exchange folder.


def deliver(db: Database, cfg: TransferConfig | None = None) -> int:
    """Put the outbox's packages on each peer's exchange (folder or PostgreSQL); returns how many. An
    exchange that is away leaves them in the outbox for the next try."""
    cfg = _config(cfg)
    if not cfg.exchanges():
        return 0
    with db.read() as s:
        pending = [(p.id, p.package_id, p.peer_room, p.body) for p in s.execute(
            select(TransferPackage).where(TransferPackage.direction == "out", TransferPackage.delivered_at.is_(None))
            .order_by(TransferPackage.id).limit(MAX_FILES)).scalars()]
    done = 0
    away: set[str] = set()  # peers whose exchange failed in this round: the rest of theirs waits too
    for pid, ident, peer, body in pending:
        if peer in away:
            continue
        try:
            data = pkg.encode(pkg.sign(body or {}, cfg.key(peer)))
            cfg.exchange_for(peer).put(cfg.room, peer, ident, data)
        except ValidationError as exc:  # the key or the exchange is not set: the package waits in the outbox
            log.warning("transfer package %s for %s waits: %s", ident, peer, exc)
            continue
        except ExchangeUnavailable as exc:
            log.warning("transfer package %s not delivered to %s yet: %s", ident, peer, exc)
            away.add(peer)
            continue
        with db.write() as s:
            row = s.get(TransferPackage, pid)
            if row is not None and row.delivered_at is None:
                row.delivered_at = db_now(s)
        done += 1
    return done


def poll(db: Database, station: str, cfg: TransferConfig | None = None) -> PollReport:
    """Read every exchange once: take every package for us (once), then report closed cases and deliver."""
    cfg = _config(cfg)
    report = PollReport()
    exchanges = cfg.exchanges()
    if not exchanges:
        return report
    actor = Actor.system(station)

    def handle(raw: bytes, name: str, problem: PackageRefused | None) -> str:
        taken = (_refused(db, cfg, raw, name, problem, actor) if problem is not None
                 else take(db, actor, raw, name, cfg))
        report.taken.append(taken)
        return taken.status

    for exchange in exchanges:
        try:
            exchange.take(cfg.room, station, handle)
        except ExchangeUnavailable as exc:
            log.warning("transfer exchange %s not read: %s", exchange.describe(), exc)
            report.unreachable.append(str(exc))
    report.closed = report_closed_cases(db, actor, cfg)
    report.delivered = deliver(db, cfg)
    return report


def report_closed_cases(db: Database, actor: Actor, cfg: TransferConfig | None = None) -> int:
    """Cases accepted from another room and closed here since: the sender is told (once, a status package).

    The cases room knows nothing of transfers; the exchange's poll looks for them instead.
    """
    cfg = _config(cfg)
    with db.read() as s:
        waiting = list(s.execute(select(Transfer.id).join(Case, Case.id == Transfer.case_id).where(
            Transfer.direction == "in", Transfer.subject == "case", Transfer.status == "accepted",
            Case.status == "closed")).scalars())
    done = 0
    for transfer_id in waiting:
        with db.write() as s:
            serialise_writers(s)
            t = s.get(Transfer, transfer_id)
            if t is None or t.status != "accepted" or t.peer_room not in cfg.rooms:
                continue  # another workstation told them meanwhile
            now = db_now(s)
            t.status, t.updated_at, t.version = "closed", now, t.version + 1
            _queue_status(s, cfg, t, to=t.peer_room, referenced=t.package_id, status="closed",
                          tracking=t.sender_number, receiver_number=t.receiver_number, reason=None, now=now)
            record(s, actor, entity="transfer", entity_id=t.id, op="update", action="transfer.closed",
                   after={"room": t.peer_room, "receiver_number": t.receiver_number}, at=now)
            done += 1
    return done


def setup_exchange(db: Database, actor: Actor, peer: str, cfg: TransferConfig | None = None) -> str:
    """``transfer exchange-setup ROOM``: make the exchange with ``peer`` ready (its PostgreSQL table, or the
    folder's inbox and outbox); returns where it is. Needs ``transfer.configure``."""
    require(actor, "transfer.configure")
    cfg = _config(cfg)
    exchange = cfg.exchange_for(peer)
    if isinstance(exchange, PostgresExchange):
        exchange.setup()
    else:
        try:
            for folder in (cfg.inbox(), cfg.outbox(), cfg.inbox(peer)):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ExchangeUnavailable(str(exc.strerror or exc)) from None
    with db.write() as s:
        record(s, actor, entity="transfer", entity_id=None, op="configure", action="transfer.configure",
               after={"room": peer, "exchange": exchange.describe()})
    return exchange.describe()


def attach(engine: TimerEngine) -> None:
    """Timer engine companion: poll the exchange folder every ``poll_every`` (nothing when unset)."""
    try:
        cfg = transfer_config.load()
    except Exception:
        log.exception("policies/transfers.toml could not be read: transfers are not polled")
        return
    if not cfg.exchanges():
        return

    def run() -> None:
        try:
            poll(engine.db, engine.station)
        except Exception:
            log.exception("the transfer exchange folder could not be read on %s", engine.station)

    engine.add_job(run, "interval", job_id="transfer-exchange", seconds=cfg.poll_every.total_seconds(),
                   next_run_time=datetime.now(UTC))
