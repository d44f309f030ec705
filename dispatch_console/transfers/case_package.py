"""A dispute or petition case (案件) as a transfer package, and the local case opened when one is accepted.

What crosses (``caseComponent`` of the schema): the case's number, kind, sub-type, title,
description, status, risk and the 可能激化 flag, when it was registered, its outcome, referral and
agreement, the mediation sessions (when, who mediated, a summary), the numbers of the incidents it is
linked to (numbers only: the incidents stay where they were recorded), and the parties.

The parties: name, role and phone cross in full — the receiving room takes over the mediation and
must be able to reach them. The resident ID number does not: the package lies in a folder or a
table that more people can read than either room's database, and the HMAC of the package only proves
it unchanged, it hides nothing. So an ID number crosses masked as the lists show it
(``440***********123X``) and as a digest keyed with the key the two rooms share
(HMAC-SHA256 of ``party-id:<number>``). Without the key the digest says nothing; with it the
receiving room can tell that a party is one of its own (its own parties' numbers give the same
digest) without the number ever being written outside the sender's database. Whoever needs the
full number asks the sending room, where looking at it is audited (``privacy.reveal``).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Case, CaseIncident, CaseParty, CaseSession, Incident
from dispatch_console.cases import policy as case_policy
from dispatch_console.cases.parties import PartyDraft, mask_id
from dispatch_console.cases.service import CaseDraft, open_in
from dispatch_console.cases.vocabulary import KIND_LABELS, RISK_LABELS, label
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.i18n import _
from dispatch_console.transfers import package as pkg

MAX_SESSIONS = 100
MAX_LINKED = 50


def party_digest(key: bytes, id_number: str) -> str:
    """The keyed digest of a resident ID number: equal numbers give equal digests under one key."""
    return hmac.new(key, b"party-id:" + id_number.strip().upper().encode("ascii"), hashlib.sha256).hexdigest()


def case_body(s: Session, case: Case, key: bytes) -> dict[str, Any]:
    """The ``caseComponent`` of a case (ID numbers masked and digested under ``key``)."""
    parties = []
    for p in s.execute(select(CaseParty).where(CaseParty.case_id == case.id).order_by(CaseParty.id).limit(50)
                       ).scalars():
        party: dict[str, Any] = {"partyRoleText": p.role, "partyNameText": p.name[:100]}
        if p.phone:
            party["partyPhoneText"] = p.phone[:32]
        if p.id_number and len(p.id_number) == 18:
            party["partyIdMaskedText"] = mask_id(p.id_number)
            party["partyIdDigest"] = party_digest(key, p.id_number)
        parties.append(party)
    sessions = [
        {"sessionTimeStamp": pkg.timestamp(x.held_at), "mediatorText": x.mediator[:100],
         "mediatorOrgText": x.mediator_org[:32], **({"sessionSummaryText": x.summary[:4000]} if x.summary else {})}
        for x in s.execute(select(CaseSession).where(CaseSession.case_id == case.id)
                           .order_by(CaseSession.held_at, CaseSession.id).limit(MAX_SESSIONS)).scalars()
    ]
    linked = list(s.execute(select(Incident.number).join(CaseIncident, CaseIncident.incident_id == Incident.id)
                            .where(CaseIncident.case_id == case.id).order_by(CaseIncident.id).limit(MAX_LINKED))
                  .scalars())
    body: dict[str, Any] = {
        "caseTrackingIdentifier": case.number, "caseKindText": case.kind, "caseTitleText": case.title[:200],
        "caseStatusText": case.status[:16], "riskLevelText": case.risk, "mayEscalate": bool(case.may_escalate),
        "caseRegisteredTimeStamp": pkg.timestamp(case.registered_at or case.created_at),
    }
    optional = {"caseSubtypeText": case.subtype, "caseDescriptionText": (case.description or "")[:8000] or None,
                "caseOutcomeText": case.outcome, "caseReferralText": case.referral,
                "agreementText": (case.agreement_text or "")[:8000] or None}
    body.update({k: v for k, v in optional.items() if v})
    if parties:
        body["partyComponent"] = parties
    if sessions:
        body["sessionComponent"] = sessions
    if linked:
        body["linkedIncidentIdentifiers"] = linked
    return body


def summary_of(component: dict[str, Any], room_name: str | None) -> dict[str, Any]:
    """What the transfer lists show of a case package."""
    return {"kind": component.get("caseKindText"), "risk": component.get("riskLevelText"),
            "description": component.get("caseTitleText", ""), "room_name": room_name}


def _same_people(s: Session, key: bytes, parties: list[dict[str, Any]]) -> list[str]:
    """Parties of the package who are parties of a case here already (by the keyed digest)."""
    found = []
    for p in parties:
        masked, digest = p.get("partyIdMaskedText"), p.get("partyIdDigest")
        if not masked or not digest:
            continue
        rows = s.execute(select(CaseParty.id_number, Case.number).join(Case, Case.id == CaseParty.case_id).where(
            CaseParty.id_number.like(f"{masked[:3]}%{masked[-4:]}"))).all()
        numbers = sorted({n for id_number, n in rows
                          if id_number and hmac.compare_digest(party_digest(key, id_number), digest)})
        if numbers:
            found.append(_("{name} is a party of {cases} here").format(name=p["partyNameText"],
                                                                      cases="、".join(numbers)))
    return found


def open_local_case(s: Session, actor: Actor, body: dict[str, Any], *, room_name: str, key: bytes | None,
                    note: str | None) -> Case:
    """The case accepted here: opened like any other, its description saying where it came from."""
    c = body["caseComponent"]
    pol = case_policy.cases()
    subtype = c.get("caseSubtypeText")
    sub = pol.subtype(subtype) if subtype else None
    lines = [_("Handed over by {room}, their number {number} ({kind}, their status {status}).").format(
        room=room_name, number=c["caseTrackingIdentifier"], kind=label(KIND_LABELS, c["caseKindText"]),
        status=c["caseStatusText"])]
    if subtype and (sub is None or c["caseKindText"] not in sub.kinds):
        lines.append(_("Their sub-type: {type}").format(type=subtype))
        subtype = None
    if c.get("caseDescriptionText"):
        lines.append(str(c["caseDescriptionText"]))
    for x in c.get("sessionComponent", []):
        lines.append(_("Their mediation session {time} by {mediator}: {summary}").format(
            time=x["sessionTimeStamp"], mediator=x["mediatorText"], summary=x.get("sessionSummaryText") or "-"))
    if c.get("caseOutcomeText"):
        lines.append(_("Their outcome: {outcome} {referral}").format(
            outcome=c["caseOutcomeText"], referral=c.get("caseReferralText") or ""))
    if c.get("agreementText"):
        lines.append(_("Their agreement: {text}").format(text=c["agreementText"]))
    if c.get("linkedIncidentIdentifiers"):
        lines.append(_("Their incidents: {numbers}").format(numbers="、".join(c["linkedIncidentIdentifiers"])))
    parties = list(c.get("partyComponent", []))
    for p in parties:
        if p.get("partyIdMaskedText"):
            lines.append(_("{name}: ID number {masked} (in full only from {room})").format(
                name=p["partyNameText"], masked=p["partyIdMaskedText"], room=room_name))
    if key is not None:
        lines.extend(_same_people(s, key, parties))
    if note:
        lines.append(note)
    draft = CaseDraft(
        kind=c["caseKindText"], title=c["caseTitleText"], description="\n".join(lines)[:20_000], subtype=subtype,
        risk=c["riskLevelText"] if c["riskLevelText"] in RISK_LABELS else "low",
        may_escalate=bool(c.get("mayEscalate")),
        parties=tuple(PartyDraft(name=p["partyNameText"], role=p["partyRoleText"], phone=p.get("partyPhoneText"))
                      for p in parties))
    return open_in(s, actor, draft, opened_by="transfer")
