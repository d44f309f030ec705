"""A dispute case handed to another duty room (two databases, both backends): the package carries the case's
fields and no full ID number; accepting opens a local case linked to the sender's number; accepted and
closed flow back; both sides keep the history; the transfer.* permissions are enforced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from support.two_rooms import SHARED_KEY, Room

from db.engine import Database
from db.models import AuditLog, Case, CaseEvent, CaseParty, Incident, Timer
from dispatch_console.cases import service as cases
from dispatch_console.cases.parties import PartyDraft, make_id_number
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.errors import PermissionDenied
from dispatch_console.transfers import service
from dispatch_console.transfers.case_package import party_digest

ID_ZHANG = make_id_number("44030519900101123")


def _case(db: Database, case_id: int) -> Case:
    with db.read() as s:
        case = s.get(Case, case_id)
        assert case is not None
        return case


def _events(db: Database, case_id: int) -> list[tuple[str, str]]:
    with db.read() as s:
        return [(e.kind, e.note or "") for e in s.execute(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                                          .order_by(CaseEvent.id)).scalars()]


def _actions(db: Database) -> list[str]:
    with db.read() as s:
        return [a for a in s.execute(select(AuditLog.action).order_by(AuditLog.id)).scalars()
                if a.startswith("transfer.")]


def test_a_case_is_sent_accepted_closed_and_the_status_flows_back(rooms: tuple[Room, Room], tmp_path: Path) -> None:
    taoyuan, district = rooms
    incident_id = taoyuan.street.report("两户因围墙边界争执", category="city_management")
    with taoyuan.db.read() as s:
        number = s.execute(select(Incident.number).where(Incident.id == incident_id)).scalar_one()
    officer = taoyuan.street.officer
    case_id = cases.open_case(taoyuan.db, officer, cases.CaseDraft(
        kind="dispute", title="围墙边界纠纷", subtype="neighbour", grid="G1", risk="medium", incidents=(number,),
        parties=(PartyDraft("张三", "applicant", "13800138000", ID_ZHANG), PartyDraft("李四", "respondent"))))
    cases.mediate(taoyuan.db, officer, case_id, cases.SessionDraft(
        mediator="王调解", summary="双方同意请区国土所测量边界"))
    # the district already knows 张三 from a case of its own
    known = cases.open_case(district.db, district.street.officer, cases.CaseDraft(
        kind="petition", title="张三反映拆迁补偿", parties=(PartyDraft("张三", "applicant", None, ID_ZHANG),)))
    case_number = _case(taoyuan.db, case_id).number

    sent = service.send(taoyuan.db, officer, case_number, "district", note="边界涉及区属地块", cfg=taoyuan.cfg)
    assert (sent.subject, sent.case_id, sent.status, sent.sender_number) == ("case", case_id, "sent", case_number)
    files = sorted((tmp_path / "exchange" / "district" / "inbox").glob("*.json"))
    raw = files[0].read_bytes()
    package = json.loads(raw)
    component = package["caseComponent"]
    assert package["kind"] == "case" and component["caseTrackingIdentifier"] == case_number
    assert (component["caseKindText"], component["caseSubtypeText"], component["riskLevelText"]) == (
        "dispute", "neighbour", "medium")
    assert component["linkedIncidentIdentifiers"] == [number]
    assert component["sessionComponent"][0]["sessionSummaryText"] == "双方同意请区国土所测量边界"
    zhang = component["partyComponent"][0]
    assert zhang["partyIdMaskedText"] == ID_ZHANG[:3] + "*" * 11 + ID_ZHANG[-4:]
    assert zhang["partyIdDigest"] == party_digest(SHARED_KEY.encode("utf-8"), ID_ZHANG)
    assert ID_ZHANG.encode() not in raw and ID_ZHANG[6:14].encode() not in raw  # nor the date of birth
    assert "transfer_sent" in [k for k, _n in _events(taoyuan.db, case_id)]

    service.poll(district.db, "区值班台1", district.cfg)
    [waiting] = [r for r in service.inbox(district.db, cfg=district.cfg) if r.status == "pending"]
    assert (waiting.subject, waiting.sender_number, waiting.description) == ("case", case_number, "围墙边界纠纷")
    accepted = service.accept(district.db, district.street.officer, waiting.id, note="区司法所接手",
                              cfg=district.cfg)
    assert accepted.subject == "case" and accepted.case_id is not None and accepted.receiver_number
    local = _case(district.db, accepted.case_id)
    assert (local.number, local.kind, local.title, local.risk, local.opened_by) == (
        accepted.receiver_number, "dispute", "围墙边界纠纷", "medium", "transfer")
    assert case_number in (local.description or "") and "区司法所接手" in (local.description or "")
    assert "双方同意请区国土所测量边界" in (local.description or "")
    assert _case(district.db, known).number in (local.description or "")  # the same person, by the digest
    with district.db.read() as s:
        parties = list(s.execute(select(CaseParty.name, CaseParty.phone, CaseParty.id_number)
                                 .where(CaseParty.case_id == local.id).order_by(CaseParty.id)))
    assert [tuple(p) for p in parties] == [("张三", "13800138000", None), ("李四", None, None)]
    assert "transfer_accepted" in [k for k, _n in _events(district.db, local.id)]

    service.poll(taoyuan.db, "值班台1", taoyuan.cfg)
    [out] = service.transfers(taoyuan.db, direction="out", cfg=taoyuan.cfg)
    assert (out.status, out.receiver_number) == ("accepted", local.number)
    with taoyuan.db.read() as s:
        receipt = s.execute(select(Timer).where(Timer.case_id == case_id,
                                                Timer.kind == service.RECEIPT_KIND)).scalar_one()
        assert receipt.cancelled_at is not None and receipt.fired_at is None

    cases.close_case(district.db, district.street.officer, local.id, note="测量后双方撤回")
    assert service.poll(district.db, "区值班台1", district.cfg).closed == 1
    assert service.poll(district.db, "区值班台2", district.cfg).closed == 0  # once
    service.poll(taoyuan.db, "值班台1", taoyuan.cfg)
    [out] = service.transfers(taoyuan.db, direction="out", cfg=taoyuan.cfg)
    assert out.status == "closed"
    history = [n for k, n in _events(taoyuan.db, case_id) if k == "transfer_status"]
    assert len(history) == 2 and local.number in history[0]
    assert _actions(taoyuan.db) == ["transfer.send", "transfer.accepted", "transfer.closed"]
    assert _actions(district.db) == ["transfer.receive", "transfer.accepted", "transfer.closed"]


def test_transfer_permissions_are_enforced(rooms: tuple[Room, Room]) -> None:
    taoyuan, district = rooms
    incident_id = taoyuan.street.report("外区商户占道", category="city_management")
    with taoyuan.db.read() as s:
        number = s.execute(select(Incident.number).where(Incident.id == incident_id)).scalar_one()
    observer = Actor(user_id=None, username="guest", role="observer", station="ws")
    with pytest.raises(PermissionDenied, match="send an incident or a case"):
        service.send(taoyuan.db, observer, number, "district", cfg=taoyuan.cfg)
    service.send(taoyuan.db, taoyuan.street.officer, number, "district", cfg=taoyuan.cfg)
    service.poll(district.db, "区值班台1", district.cfg)
    [row] = service.inbox(district.db, cfg=district.cfg)
    for decide in (service.accept, service.refuse):
        with pytest.raises(PermissionDenied, match="accept or refuse a transfer"):
            decide(district.db, observer, row.id, cfg=district.cfg)
    assert service.inbox(district.db, cfg=district.cfg)[0].status == "pending"
