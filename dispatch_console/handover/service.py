"""Shift handover (交接班): drafting, signing, acceptance, addenda, and the timers' effects.

A handover record belongs to one shift and hands it to the next. It is drafted from the
database (:mod:`dispatch_console.handover.content`), reviewed by the outgoing shift leader, who
adds notes and ticks the equipment and keys, and signed by re-entering their password: the
content is then frozen and ``content_hash`` covers it. The incoming shift leader re-acknowledges
each open serious incident one by one (becoming its owner) and accepts with their password;
incidents owned by the outgoing officers move to the incoming shift. A ``handover_accept`` timer
alerts the director when nobody accepts in time. Later facts go in as signed addenda; an incident
recorded between signing and acceptance becomes an addendum by itself (``followups``).

Every write is in one transaction with ``changes.record`` (entity ``handover``) and the database
clock; drills never appear in a handover record.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.engine import Database, db_now
from db.models import AuditLog, Handover, HandoverAddendum, HandoverIncident, Incident, Timer, User
from dispatch_console.handover.content import (
    HandoverPolicy,
    Situation,
    gather,
    load_policy,
    next_shift_id,
    shift_or_current,
    shift_row,
    shift_user_ids,
)
from dispatch_console.incidents import lifecycle as incident_state
from dispatch_console.kernel.actor import SYSTEM_ROLE, Actor
from dispatch_console.kernel.categories import OPEN_STATUSES
from dispatch_console.kernel.changes import canonical_json, record, serialise_writers, update_versioned
from dispatch_console.kernel.errors import NotFound, PermissionDenied, ValidationError
from dispatch_console.kernel.i18n import N_, _
from dispatch_console.kernel.permissions import require
from dispatch_console.kernel.text import summary
from dispatch_console.kernel.timefmt import fmt_local
from dispatch_console.notifications.service import notify
from dispatch_console.rosters import LEADER_ROLE, ShiftRow, describe_shift
from dispatch_console.timers import engine as timers

MAX_NOTES = 4000
MAX_NOTE = 200
MAX_ADDENDUM = 2000
STAND_IN_ROLES = ("director", "admin", SYSTEM_ROLE)  # may sign or accept for an absent leader
STATUS_LABELS = {"preview": N_("not drafted yet"), "draft": N_("draft"), "signed": N_("signed, awaiting acceptance"),
                 "accepted": N_("accepted")}


def status_label(status: str) -> str:
    return _(STATUS_LABELS.get(status, status))


def signed_refusal() -> ValidationError:
    return ValidationError(_("A signed handover record cannot be changed; add an addendum instead."))


# ---------------------------------------------------------------------------------------------
# Rows for the console, the report and the command line.


@dataclass(frozen=True)
class Signature:
    name: str
    at: datetime
    station: str | None
    # the audit row that recorded the signature: its hash anchors the paper to the audit chain
    audit_id: int | None = None
    audit_hash: str | None = None


@dataclass(frozen=True)
class EquipmentCheck:
    code: str
    label: str
    ok: bool | None  # None: not checked yet
    note: str


@dataclass(frozen=True)
class HandoverIncidentRow:
    incident_id: int
    number: str
    severity: int
    status: str
    owner_name: str | None
    must_reacknowledge: bool
    accepted_at: datetime | None
    accepted_by_name: str | None


@dataclass(frozen=True)
class AddendumRow:
    id: int
    at: datetime
    text: str
    incident_number: str | None
    signed: Signature | None  # None: written by the console itself (an incident arrived)


@dataclass(frozen=True)
class HandoverRecord:
    id: int | None  # None: a preview nobody has drafted yet
    shift: ShiftRow
    next_shift: ShiftRow | None
    status: str  # preview | draft | signed | accepted
    drafted_at: datetime | None
    situation: Situation
    notes: str
    equipment: tuple[EquipmentCheck, ...]
    signed: Signature | None
    accepted: Signature | None
    content_hash: str | None
    incidents: tuple[HandoverIncidentRow, ...]
    addenda: tuple[AddendumRow, ...]
    version: int

    @property
    def pending_reacknowledgements(self) -> tuple[HandoverIncidentRow, ...]:
        return tuple(r for r in self.incidents if r.must_reacknowledge and r.accepted_at is None
                     and r.status in OPEN_STATUSES)


@dataclass(frozen=True)
class StaffAccount:
    user_id: int
    name: str
    role: str


# ---------------------------------------------------------------------------------------------
# Reading.


def _names(s: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return {uid: name for uid, name in s.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))}


def _equipment(policy: HandoverPolicy, stored: dict[str, Any] | None) -> tuple[EquipmentCheck, ...]:
    stored = stored or {}
    items = [EquipmentCheck(e.code, e.label, (stored.get(e.code) or {}).get("ok"),
                            str((stored.get(e.code) or {}).get("note") or "")) for e in policy.equipment]
    known = {e.code for e in policy.equipment}
    items += [EquipmentCheck(code, code, v.get("ok"), str(v.get("note") or ""))
              for code, v in sorted(stored.items()) if code not in known]
    return tuple(items)


def _record(s: Session, h: Handover, policy: HandoverPolicy) -> HandoverRecord:
    shift = shift_row(s, h.shift_id)
    assert shift is not None
    nxt = shift_row(s, h.next_shift_id) if h.next_shift_id else None
    his = s.execute(select(HandoverIncident, Incident).join(Incident, Incident.id == HandoverIncident.incident_id)
                    .where(HandoverIncident.handover_id == h.id).order_by(Incident.severity, Incident.id)).all()
    adds = s.execute(select(HandoverAddendum, Incident.number)
                     .outerjoin(Incident, Incident.id == HandoverAddendum.incident_id)
                     .where(HandoverAddendum.handover_id == h.id)
                     .order_by(HandoverAddendum.at, HandoverAddendum.id)).all()
    names = _names(s, {h.signed_by, h.accepted_by, *(hi.accepted_by for hi, _i in his),
                       *(i.owner_user_id for _h, i in his), *(a.signed_by for a, _n in adds)})

    def sig(user_id: int | None, at: datetime | None, station: str | None,
            audit_row: tuple[int, str] | None = None) -> Signature | None:
        if user_id is None or not at:
            return None
        return Signature(names.get(user_id, "?"), at, station, *(audit_row or (None, None)))

    anchors = {str(r.action): (int(r.id), str(r.hash)) for r in s.execute(
        select(AuditLog.action, AuditLog.id, AuditLog.hash)
        .where(AuditLog.entity == "handover", AuditLog.entity_id == h.id,
               AuditLog.action.in_(("handover.sign", "handover.accept")))
        .order_by(AuditLog.id))}  # the last of each (a record signed again after a reopen)
    return HandoverRecord(
        h.id, shift, nxt, h.status, h.drafted_at, Situation.from_content(h.content or {}), h.notes or "",
        _equipment(policy, h.equipment), sig(h.signed_by, h.signed_at, h.signed_station, anchors.get("handover.sign")),
        sig(h.accepted_by, h.accepted_at, h.accepted_station, anchors.get("handover.accept")), h.content_hash,
        tuple(HandoverIncidentRow(i.id, i.number, i.severity, i.status, names.get(i.owner_user_id or 0),
                                  bool(hi.must_reacknowledge), hi.accepted_at, names.get(hi.accepted_by or 0))
              for hi, i in his),
        tuple(AddendumRow(a.id, a.at, a.text, number, sig(a.signed_by, a.signed_at, a.station))
              for a, number in adds),
        h.version,
    )




def get(db: Database, handover_id: int) -> HandoverRecord:
    policy = load_policy()
    with db.read() as s:
        h = s.get(Handover, handover_id)
        if h is None:
            raise NotFound(_("Handover record {id} does not exist.").format(id=handover_id))
        return _record(s, h, policy)


def preview(db: Database, shift_id: int | None = None) -> HandoverRecord:
    """The shift's record if it was drafted, else the situation now as an unsaved preview.

    ``shift_id`` None: the shift running at the database time.
    """
    policy = load_policy()
    with db.read() as s:
        shift = shift_or_current(s, shift_id)
        h = s.execute(select(Handover).where(Handover.shift_id == shift.id)).scalar_one_or_none()
        if h is not None:
            return _record(s, h, policy)
        nxt_id = next_shift_id(s, shift)
        nxt = shift_row(s, nxt_id) if nxt_id else None
        content = gather(s, shift, nxt, db_now(s), policy)
        return HandoverRecord(None, shift, nxt, "preview", None, Situation.from_content(content), "",
                              _equipment(policy, None), None, None, None, (), (), 0)


@dataclass(frozen=True)
class HandoverOverview:
    """What the handover panel shows: the running shift's record and any awaiting acceptance."""

    at: datetime
    current: HandoverRecord | None  # the running shift's record or preview
    awaiting: tuple[HandoverRecord, ...]  # signed, not yet accepted


def overview(db: Database) -> HandoverOverview:
    policy = load_policy()
    with db.read() as s:
        now = db_now(s)
        waiting = s.execute(select(Handover).where(Handover.status == "signed").order_by(Handover.signed_at)).scalars()
        awaiting = tuple(_record(s, h, policy) for h in waiting)
    try:
        current = preview(db)
    except NotFound:
        current = None
    return HandoverOverview(now, current, awaiting)


def incoming_staff(db: Database, handover_id: int) -> list[StaffAccount]:
    """Accounts of the next shift's people: whom carried-over incidents may be given to."""
    from db.models import RosterEntry

    with db.read() as s:
        h = s.get(Handover, handover_id)
        if h is None or h.next_shift_id is None:
            return []
        rows = s.execute(select(User.id, User.display_name, RosterEntry.role)
                         .join(RosterEntry, RosterEntry.person_id == User.person_id)
                         .where(RosterEntry.shift_id == h.next_shift_id, RosterEntry.active.is_(True),
                                User.disabled.is_(False))
                         .order_by(RosterEntry.role.desc(), User.display_name)).all()
        return [StaffAccount(uid, name, role) for uid, name, role in rows]


def content_hash(h: Handover) -> str:
    """sha256 over the canonical signed content: situation, notes, equipment, signer, time, station."""
    return hashlib.sha256(canonical_json({
        "handover_id": h.id, "shift_id": h.shift_id, "next_shift_id": h.next_shift_id, "content": h.content,
        "notes": h.notes or "", "equipment": h.equipment or {}, "signed_by": h.signed_by,
        "signed_at": h.signed_at, "signed_station": h.signed_station,
    }).encode("utf-8")).hexdigest()


def verify(db: Database, handover_id: int) -> bool:
    """True if the signed record is exactly what was signed."""
    with db.read() as s:
        h = s.get(Handover, handover_id)
        if h is None:
            raise NotFound(_("Handover record {id} does not exist.").format(id=handover_id))
        return h.content_hash is not None and h.content_hash == content_hash(h)


# ---------------------------------------------------------------------------------------------
# Drafting and reviewing.


def _check_leader(s: Session, actor: Actor, shift_id: int | None, what: str) -> None:
    if actor.role in STAND_IN_ROLES:
        return
    if actor.user_id is None or actor.user_id not in shift_user_ids(s, shift_id, LEADER_ROLE):
        shift = shift_row(s, shift_id) if shift_id else None
        raise PermissionDenied(_("{user} is not the shift leader of {shift}; only they may {action}.").format(
            user=actor.label, shift=describe_shift(shift) if shift else _("the next shift"), action=what))


def _confirm_password(db: Database, actor: Actor, password: str) -> None:
    from dispatch_console.users.accounts import authenticate

    if actor.user_id is None:
        raise PermissionDenied(_("Only a person can sign."))
    confirmed = authenticate(db, actor.username, password, actor.station)
    if confirmed.user_id != actor.user_id:
        raise PermissionDenied(_("Only a person can sign."))


def _load(s: Session, handover_id: int) -> Handover:
    serialise_writers(s)
    h = s.get(Handover, handover_id)
    if h is None:
        raise NotFound(_("Handover record {id} does not exist.").format(id=handover_id))
    return h


def _draft_in(s: Session, actor: Actor, shift_id: int | None, policy: HandoverPolicy) -> Handover:
    serialise_writers(s)
    shift = shift_or_current(s, shift_id)
    h = s.execute(select(Handover).where(Handover.shift_id == shift.id)).scalar_one_or_none()
    if h is not None and h.status != "draft":
        raise signed_refusal()
    nxt_id = next_shift_id(s, shift)
    now = db_now(s)
    content = gather(s, shift, shift_row(s, nxt_id) if nxt_id else None, now, policy)
    if h is None:
        h = Handover(shift_id=shift.id, next_shift_id=nxt_id, status="draft", drafted_at=now, content=content,
                     notes=None, equipment={}, version=1)
        s.add(h)
        s.flush()
        op = "draft"
    else:
        update_versioned(s, Handover, h.id, h.version, {"content": content, "drafted_at": now,
                                                        "next_shift_id": nxt_id}, entity="handover")
        s.refresh(h)
        op = "refresh"
    record(s, actor, entity="handover", entity_id=h.id, op=op, action=f"handover.{op}",
           after={"shift_id": shift.id, "next_shift_id": nxt_id, "incidents": len(content["incidents"])}, at=now)
    return h


def draft(db: Database, actor: Actor, shift_id: int | None = None) -> HandoverRecord:
    """Draft the shift's handover record from the database, or refresh a draft (notes are kept)."""
    require(actor, "handover.sign")
    policy = load_policy()
    with db.write() as s:
        h = _draft_in(s, actor, shift_id, policy)
        return _record(s, h, policy)


def _clean(notes: str | None, equipment: dict[str, Any] | None, policy: HandoverPolicy,
           h: Handover) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if notes is not None:
        if len(notes) > MAX_NOTES:
            raise ValidationError(_("Handover notes have at most {n} characters.").format(n=MAX_NOTES), "notes")
        if "\x00" in notes:
            raise ValidationError(_("Handover notes may not contain the NUL character."), "notes")
        values["notes"] = notes.strip() or None
    if equipment is not None:
        known = {e.code for e in policy.equipment}
        clean: dict[str, Any] = {}
        for code, value in equipment.items():
            if code not in known:
                raise ValidationError(_("Unknown equipment item {code}.").format(code=code), "equipment")
            ok = value.get("ok") if isinstance(value, dict) else value
            note = str(value.get("note") or "").strip() if isinstance(value, dict) else ""
            if len(note) > MAX_NOTE or "\x00" in note:
                raise ValidationError(_("An equipment note has at most {n} characters.").format(n=MAX_NOTE),
                                      "equipment")
            clean[code] = {"ok": None if ok is None else bool(ok), "note": note}
        values["equipment"] = {**(h.equipment or {}), **clean}
    return values


def save(db: Database, actor: Actor, handover_id: int, version: int, *, notes: str | None = None,
         equipment: dict[str, Any] | None = None) -> HandoverRecord:
    """Store the outgoing leader's notes and equipment checks on a draft."""
    require(actor, "handover.sign")
    policy = load_policy()
    with db.write() as s:
        h = _load(s, handover_id)
        if h.status != "draft":
            raise signed_refusal()
        _check_leader(s, actor, h.shift_id, _("edit this handover"))
        values = _clean(notes, equipment, policy, h)
        if values:
            update_versioned(s, Handover, h.id, version, values, entity="handover")
            s.refresh(h)
            record(s, actor, entity="handover", entity_id=h.id, op="edit", action="handover.edit", after=values)
        return _record(s, h, policy)


# ---------------------------------------------------------------------------------------------
# Signing.


def _open_ids(s: Session) -> set[int]:
    return set(s.execute(select(Incident.id).where(Incident.status.in_(OPEN_STATUSES),
                                                   Incident.is_drill.is_(False))).scalars())


def sign(db: Database, actor: Actor, handover_id: int, version: int, password: str, *,
         notes: str | None = None, equipment: dict[str, Any] | None = None) -> HandoverRecord:
    """The outgoing leader signs what they reviewed; the content is frozen and hashed.

    Refused when incidents opened or closed since the draft (refresh and review again), when
    the password is wrong, or when the record is already signed.
    """
    require(actor, "handover.sign")
    policy = load_policy()
    with db.read() as s:
        h = s.get(Handover, handover_id)
        if h is not None and h.status != "draft":
            raise signed_refusal()
    _confirm_password(db, actor, password)
    with db.write() as s:
        h = _load(s, handover_id)
        if h.status != "draft":
            raise signed_refusal()
        _check_leader(s, actor, h.shift_id, _("sign this handover"))
        if h.version != version:
            update_versioned(s, Handover, h.id, version, {}, entity="handover")  # says who changed it
        reviewed = {int(i["id"]) for i in (h.content or {}).get("incidents", [])}
        changed = reviewed ^ _open_ids(s)
        if changed:
            raise ValidationError(_("{n} incidents opened or closed since this draft: refresh it, review it "
                                    "again, then sign.").format(n=len(changed)))
        values = _clean(notes, equipment, policy, h)
        shift = shift_row(s, h.shift_id)
        assert shift is not None
        now = db_now(s)
        h.next_shift_id = next_shift_id(s, shift)
        for key, value in values.items():
            setattr(h, key, value)
        h.status, h.signed_by, h.signed_at, h.signed_station = "signed", actor.user_id, now, actor.station
        s.flush()
        s.refresh(h)  # the stored form of every value (timestamps) is what the hash covers
        digest = content_hash(h)
        update_versioned(s, Handover, h.id, version, {**values, "status": "signed", "signed_by": actor.user_id,
                                                      "signed_at": h.signed_at, "signed_station": actor.station,
                                                      "next_shift_id": h.next_shift_id, "content_hash": digest},
                         entity="handover")
        for item in (h.content or {}).get("incidents", []):
            s.add(HandoverIncident(handover_id=h.id, incident_id=int(item["id"]),
                                   must_reacknowledge=bool(item.get("must_reacknowledge"))))
        timers.schedule(s, kind="handover_accept", due_at=now + policy.accept_within, handover_id=h.id,
                        shift_id=h.next_shift_id, target_role="director", actor=actor,
                        payload={"shift": describe_shift(shift)})
        s.refresh(h)
        record(s, actor, entity="handover", entity_id=h.id, op="sign", action="handover.sign",
               after={"content_hash": digest, "signed_at": now, "next_shift_id": h.next_shift_id}, at=now)
        return _record(s, h, policy)


# ---------------------------------------------------------------------------------------------
# Acceptance.


def _signed_for_acceptance(s: Session, actor: Actor, handover_id: int) -> Handover:
    h = _load(s, handover_id)
    if h.status == "draft":
        raise ValidationError(_("This handover record is not signed yet."))
    if h.status == "accepted":
        raise ValidationError(_("This handover was already accepted."))
    _check_leader(s, actor, h.next_shift_id, _("accept this handover"))
    return h


def _allowed_owners(s: Session, actor: Actor, h: Handover) -> set[int]:
    return shift_user_ids(s, h.next_shift_id) | ({actor.user_id} if actor.user_id is not None else set())


def _hand_over(s: Session, actor: Actor, h: Handover, incident: Incident, owner: int | None,
               now: datetime) -> None:
    """Give an open incident to its new owner with a timeline entry (and its change record)."""
    if incident.status not in OPEN_STATUSES or owner is None or incident.owner_user_id == owner:
        return
    names = _names(s, {incident.owner_user_id, owner})
    note = _("Handed over at the shift change: {before} → {after}.").format(
        before=names.get(incident.owner_user_id or 0, _("nobody")), after=names.get(owner, "?"))
    incident_state.transition(s, actor, incident, incident.status, now, {"owner_user_id": owner}, note=note,
                              event="handed_over", change="handed_over",
                              data={"handover_id": h.id, "from_owner": incident.owner_user_id, "to_owner": owner})


def reacknowledge(db: Database, actor: Actor, handover_id: int, incident_id: int, *,
                  owner_user_id: int | None = None) -> HandoverRecord:
    """The incoming leader takes over one serious incident: they (or whom they choose) own it now."""
    require(actor, "handover.accept")
    policy = load_policy()
    with db.write() as s:
        h = _signed_for_acceptance(s, actor, handover_id)
        hi = s.execute(select(HandoverIncident).where(HandoverIncident.handover_id == h.id,
                                                      HandoverIncident.incident_id == incident_id)).scalar_one_or_none()
        if hi is None:
            raise NotFound(_("That incident is not part of this handover."))
        if hi.accepted_at is not None:
            who = _names(s, {hi.accepted_by}).get(hi.accepted_by or 0, "?")
            raise ValidationError(_("Already re-acknowledged by {who} at {when}.").format(
                who=who, when=fmt_local(hi.accepted_at)))
        owner = owner_user_id or actor.user_id
        if owner_user_id is not None and owner_user_id not in _allowed_owners(s, actor, h):
            raise ValidationError(_("Carried-over incidents go to people of the incoming shift."), "owner")
        incident = s.get(Incident, incident_id)
        assert incident is not None
        now = db_now(s)
        hi.accepted_at, hi.accepted_by = now, actor.user_id
        _hand_over(s, actor, h, incident, owner, now)
        record(s, actor, entity="handover", entity_id=h.id, op="reacknowledge", action="handover.reacknowledge",
               after={"incident_id": incident_id, "number": incident.number, "owner_user_id": owner}, at=now)
        s.flush()
        return _record(s, h, policy)


def accept(db: Database, actor: Actor, handover_id: int, version: int, password: str, *,
           owners: dict[int, int] | None = None) -> HandoverRecord:
    """The incoming leader accepts: every serious incident must have been re-acknowledged first.

    Open incidents owned by somebody not on the incoming shift move to ``owners[incident_id]``
    (a person of the incoming shift) or to the accepting leader.
    """
    require(actor, "handover.accept")
    policy = load_policy()
    owners = owners or {}
    _confirm_password(db, actor, password)
    with db.write() as s:
        h = _signed_for_acceptance(s, actor, handover_id)
        if h.version != version:
            update_versioned(s, Handover, h.id, version, {}, entity="handover")
        rows = s.execute(select(HandoverIncident, Incident).join(Incident, Incident.id == HandoverIncident.incident_id)
                         .where(HandoverIncident.handover_id == h.id).order_by(Incident.id)).all()
        pending = [i.number for hi, i in rows
                   if hi.must_reacknowledge and hi.accepted_at is None and i.status in OPEN_STATUSES]
        if pending:
            raise ValidationError(_("Re-acknowledge these serious incidents first: {numbers}").format(
                numbers=", ".join(pending)))
        allowed_owners = _allowed_owners(s, actor, h)
        wrong = sorted(set(owners.values()) - allowed_owners)
        if wrong:
            raise ValidationError(_("Carried-over incidents go to people of the incoming shift."), "owner")
        incoming = shift_user_ids(s, h.next_shift_id)
        now = db_now(s)
        moved = []
        for hi, incident in rows:
            if hi.accepted_at is not None:
                continue
            hi.accepted_at, hi.accepted_by = now, actor.user_id
            if incident.owner_user_id is not None and incident.owner_user_id not in incoming:
                _hand_over(s, actor, h, incident, owners.get(incident.id, actor.user_id), now)
                moved.append(incident.number)
        update_versioned(s, Handover, h.id, version, {"status": "accepted", "accepted_by": actor.user_id,
                                                      "accepted_at": now, "accepted_station": actor.station},
                         entity="handover")
        timers.cancel(s, reason="handover_accepted", handover_id=h.id, kinds=["handover_accept"], actor=actor)
        s.refresh(h)
        record(s, actor, entity="handover", entity_id=h.id, op="accept", action="handover.accept",
               after={"accepted_at": now, "moved": moved}, at=now)
        return _record(s, h, policy)


# ---------------------------------------------------------------------------------------------
# Addenda.


def add_addendum(db: Database, actor: Actor, handover_id: int, text: str, password: str, *,
                 incident_id: int | None = None) -> HandoverRecord:
    """A later fact on a signed record, itself signed with the officer's password."""
    require(actor, "handover.addendum")
    text = (text or "").strip()
    if not text:
        raise ValidationError(_("An addendum needs some text."), "text")
    if len(text) > MAX_ADDENDUM or "\x00" in text:
        raise ValidationError(_("An addendum has at most {n} characters.").format(n=MAX_ADDENDUM), "text")
    policy = load_policy()
    with db.read() as s:
        h = s.get(Handover, handover_id)
        if h is None:
            raise NotFound(_("Handover record {id} does not exist.").format(id=handover_id))
        if h.status == "draft":
            raise ValidationError(_("This record is still a draft: write it into the notes."))
    _confirm_password(db, actor, password)
    with db.write() as s:
        h = _load(s, handover_id)
        if incident_id is not None and s.get(Incident, incident_id) is None:
            raise NotFound(_("No incident with id {id}.").format(id=incident_id))
        now = db_now(s)
        add = HandoverAddendum(handover_id=h.id, at=now, text=text, incident_id=incident_id,
                               signed_by=actor.user_id, signed_at=now, station=actor.station)
        s.add(add)
        s.flush()
        record(s, actor, entity="handover", entity_id=h.id, op="addendum", action="handover.addendum",
               after={"addendum_id": add.id, "text": text, "incident_id": incident_id}, at=now)
        return _record(s, h, policy)


def on_incident_change(session: Session, actor: Actor, incident: Incident, change: str,
                       before: dict[str, Any] | None = None) -> None:
    """An incident recorded during a handover (signed, not yet accepted) becomes an addendum.

    Only ``created`` matters here, and drills never reach a handover record.
    """
    if change != "created" or incident.is_drill:
        return
    waiting = session.execute(select(Handover.id).where(Handover.status == "signed")).scalars().all()
    if not waiting:
        return
    # the addendum names the incident: take the writers' lock now, which gives a new incident its
    # number (on PostgreSQL it is otherwise taken at the end of the transaction)
    serialise_writers(session)
    policy = load_policy()
    now = db_now(session)
    text = _("New incident during the handover: {number} (severity {severity}) — {description}").format(
        number=incident.number, severity=incident.severity, description=summary(incident.description, 200))
    for handover_id in waiting:
        add = HandoverAddendum(handover_id=handover_id, at=now, text=text, incident_id=incident.id,
                               station=actor.station)
        session.add(add)
        session.add(HandoverIncident(handover_id=handover_id, incident_id=incident.id,
                                     must_reacknowledge=incident.severity <= policy.reacknowledge_severity))
        session.flush()
        record(session, actor, entity="handover", entity_id=handover_id, op="addendum",
               action="handover.addendum_auto",
               after={"addendum_id": add.id, "incident_id": incident.id, "number": incident.number}, at=now)


# ---------------------------------------------------------------------------------------------
# The timers' effects (run by the timer engine when a handover timer fires).


def on_timer(session: Session, timer: Timer, now: datetime, fired_by: str) -> None:
    if timer.kind == "handover_reminder":
        _remind(session, timer, fired_by)
    else:
        _not_accepted(session, timer, fired_by)


def _remind(session: Session, timer: Timer, fired_by: str) -> None:
    """Remind the outgoing leader and have the draft ready for them."""
    shift = shift_row(session, timer.shift_id) if timer.shift_id else None
    if shift is None:
        timers.set_outcome(timer, _("The shift no longer exists."))
        return
    h = session.execute(select(Handover).where(Handover.shift_id == shift.id)).scalar_one_or_none()
    if h is not None and h.status != "draft":
        timers.set_outcome(timer, _("The handover was already signed."))
        return
    system = Actor.system(fired_by)
    h = _draft_in(session, system, shift.id, load_policy())
    notify(session, kind="handover_reminder",
           title=_("Handover: {shift} ends at {time}").format(shift=shift.name, time=fmt_local(shift.ends_at, "%H:%M")),
           body=_("Review the handover record of {shift} ({n} open incidents), add notes, check the equipment "
                  "and keys, and sign it.").format(shift=describe_shift(shift),
                                                   n=len((h.content or {}).get("incidents", []))),
           level="warning", target_role="shift_leader", timer_id=timer.id, actor=system)


def _not_accepted(session: Session, timer: Timer, fired_by: str) -> None:
    """Nobody accepted in time: the director is alerted (critical)."""
    h = session.get(Handover, timer.handover_id) if timer.handover_id else None
    if h is None or h.status == "accepted":
        timers.set_outcome(timer, _("The handover was accepted in time."))
        return
    shift = shift_row(session, h.shift_id)
    assert shift is not None
    pending = session.execute(
        select(Incident.number).join(HandoverIncident, HandoverIncident.incident_id == Incident.id)
        .where(HandoverIncident.handover_id == h.id, HandoverIncident.must_reacknowledge.is_(True),
               HandoverIncident.accepted_at.is_(None), Incident.status.in_(OPEN_STATUSES))
        .order_by(Incident.number)).scalars().all()
    body = _("The handover of {shift}, signed at {signed}, was not accepted by the incoming shift leader "
             "in time.").format(shift=describe_shift(shift), signed=fmt_local(h.signed_at))
    if pending:
        body += "\n" + _("Serious incidents not re-acknowledged: {numbers}").format(numbers=", ".join(pending))
    notify(session, kind="escalation", title=_("Handover not accepted in time: {shift}").format(
        shift=describe_shift(shift)), body=body, level="critical", target_role="director", timer_id=timer.id,
        actor=Actor.system(fired_by))
    timers.set_outcome(timer, _("The director was alerted."))
