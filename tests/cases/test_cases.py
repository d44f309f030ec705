"""Cases: opened from incidents by policy, mediated, followed up, reopened; bad input refused whole."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from support.case_world import advance, make_case_world

from db.engine import Database
from db.models import AuditLog, Case, CaseEvent, CaseParty, ChangeLog, Notification, Timer
from dispatch_console.cases import policy, service
from dispatch_console.cases.parties import PartyDraft, id_problem, make_id_number, mask_id
from dispatch_console.cases.reads import CaseQuery, get_case, list_cases
from dispatch_console.cases.vocabulary import FOLLOW_UP_KIND, JUDICIAL_KIND
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.errors import ConcurrentChange, IllegalTransition, ValidationError
from dispatch_console.timers import engine as timers

ID_OK = make_id_number("44030519900101123")


@pytest.fixture(autouse=True)
def shipped_policy() -> Iterator[None]:
    policy.configure()
    yield
    policy.configure()


def _dispute(db: Database, actor: Actor, **overrides: object) -> int:
    values: dict[str, object] = {
        "kind": "dispute", "title": "楼上漏水邻里纠纷", "subtype": "neighbour", "grid": "G1",
        "parties": (PartyDraft("张三", "applicant", "13800138000", ID_OK), PartyDraft("李四", "respondent")),
    }
    values.update(overrides)
    return service.open_case(db, actor, service.CaseDraft(**values))  # type: ignore[arg-type]


def _agree(db: Database, actor: Actor, case_id: int) -> None:
    service.mediate(db, actor, case_id, service.SessionDraft(
        mediator="王调解", mediator_org="people_committee", place="社区调解室", outcome="mediated",
        agreement="李四于十日内修复防水层并赔偿 800 元",
        terms=(service.Term("修复防水层"), service.Term("赔偿 800 元"))))


def test_a_dispute_incident_opens_a_case_by_policy(db: Database, make_actor: Callable[..., Actor]) -> None:
    make_case_world(db)
    officer = make_actor("duty_officer")
    inc = incidents.create_incident(db, officer, IncidentDraft(
        category="labor", severity=3, source="hotline_12345", description="某厂拖欠 20 名工人三个月工资",
        grid="G1", reporter_name="赵工", reporter_phone="13700001111")).row
    fire = incidents.create_incident(db, officer, IncidentDraft(
        category="fire", severity=3, source="hotline_12345", description="垃圾桶着火", grid="G1")).row
    rows = list_cases(db)
    assert len(rows) == 1
    detail = get_case(db, rows[0].id)
    assert detail.row.number.startswith("TYJ-") and detail.row.kind == "dispute"
    assert detail.row.subtype == "labour" and detail.opened_by == "policy"
    assert [i.number for i in detail.incidents] == [inc.number]
    assert fire.number not in [i.number for i in detail.incidents]
    assert [(p.role, p.name, p.phone) for p in detail.parties] == [("applicant", "赵工", "137****1111")]
    petition = incidents.create_incident(db, officer, IncidentDraft(
        category="petition", severity=4, source="walk_in", description="征地补偿标准有异议", grid="G2"))
    petitions = list_cases(db, CaseQuery(kind="petition"))
    assert len(petitions) == 1 and petitions[0].number.startswith("TYX-")
    assert petitions[0].status == "registered" and petitions[0].step_due_at is not None
    assert petition.row.id in [i.id for i in get_case(db, petitions[0].id).incidents]


def test_an_agreement_schedules_the_follow_ups_at_the_policy_days(db: Database,
                                                                  make_actor: Callable[..., Actor]) -> None:
    make_case_world(db)
    officer = make_actor("duty_officer")
    case_id = _dispute(db, officer)
    service.mediate(db, officer, case_id, service.SessionDraft(mediator="王调解", summary="双方各执一词"))
    assert get_case(db, case_id).row.status == "mediating"
    _agree(db, officer, case_id)
    d = get_case(db, case_id)
    assert d.row.status == "agreed" and d.outcome == "mediated" and len(d.terms) == 2 and len(d.sessions) == 2
    assert d.agreement_at is not None
    assert [v.due_at - d.agreement_at for v in d.visits] == [timedelta(days=7), timedelta(days=30)]
    assert {v.assignee for v in d.visits} == {"李网格"}  # the grid's 网格管理员
    kinds = sorted((t.kind, t.due_at - d.agreement_at) for t in d.deadlines if t.state == "pending")
    assert kinds == [(FOLLOW_UP_KIND, timedelta(days=8)), (FOLLOW_UP_KIND, timedelta(days=31)),
                     (JUDICIAL_KIND, timedelta(days=25))]
    assert d.row.next_visit_at == d.visits[0].due_at


def test_a_relapse_visit_reopens_the_case(db: Database, make_actor: Callable[..., Actor]) -> None:
    make_case_world(db)
    officer = make_actor("duty_officer")
    case_id = _dispute(db, officer)
    _agree(db, officer, case_id)
    visit_id, version = service.due_visit(db, case_id)
    assert service.record_visit(db, officer, case_id, visit_id, version, result="performing",
                                satisfaction="basically") is False
    visit_id, version = service.due_visit(db, case_id)
    assert service.record_visit(db, officer, case_id, visit_id, version, result="relapsed",
                                satisfaction="dissatisfied", note="又漏水了") is True
    d = get_case(db, case_id)
    assert d.row.status == "open" and d.row.reopen_count == 1 and d.outcome is None
    assert [v.state for v in d.visits] == ["done", "done"]
    assert not [t for t in d.deadlines if t.state == "pending"]  # no visit or reminder left armed
    with Database(db.url).read() as s:
        assert s.execute(select(Notification.kind).where(Notification.kind == "case_reopened")).scalars().all()
    with pytest.raises(ValidationError, match="no agreement"):
        service.due_visit(db, case_id)


def test_two_officers_recording_the_same_visit_one_wins_the_other_is_told(
        db: Database, make_actor: Callable[..., Actor]) -> None:
    make_case_world(db)
    first = make_actor("duty_officer", "officer-li")
    second = make_actor("duty_officer", "officer-wu", station="ws-2")
    case_id = _dispute(db, first)
    _agree(db, first, case_id)
    visit_id, version = service.due_visit(db, case_id)  # both opened the same visit
    service.record_visit(db, first, case_id, visit_id, version, result="performed", satisfaction="satisfied")
    with pytest.raises(ConcurrentChange) as told:
        service.record_visit(db, second, case_id, visit_id, version, result="not_performed", satisfaction=None)
    assert "officer-li@ws-1" in str(told.value)
    d = get_case(db, case_id)
    assert d.visits[0].result == "performed" and d.row.status == "agreed"


def test_bad_input_is_refused_with_the_reason_and_nothing_is_stored(
        db: Database, make_actor: Callable[..., Actor]) -> None:
    make_case_world(db)
    officer = make_actor("duty_officer")
    with db.read() as s:
        audit_before = s.execute(select(func.count()).select_from(AuditLog)).scalar()
    wrong = ID_OK[:-1] + ("0" if ID_OK[-1] != "0" else "1")
    with pytest.raises(ValidationError, match=r"party 2.*check digit"):
        _dispute(db, officer, parties=(PartyDraft("张三", "applicant"), PartyDraft("李四", "respondent", None, wrong)))
    with pytest.raises(ValidationError, match="18 characters"):
        _dispute(db, officer, parties=(PartyDraft("张三", "applicant", None, "12345"),))
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Case)).scalar() == 0
        assert s.execute(select(func.count()).select_from(CaseParty)).scalar() == 0
        assert s.execute(select(func.count()).select_from(AuditLog)).scalar() == audit_before
    case_id = _dispute(db, officer)
    assert get_case(db, case_id).row.number.endswith("-0001")  # the refused ones took no number
    with pytest.raises(ValidationError, match="no agreement"):
        service.due_visit(db, case_id)
    with pytest.raises(ValidationError, match="agreement's text"):
        service.mediate(db, officer, case_id, service.SessionDraft(mediator="王调解", outcome="mediated"))
    with pytest.raises(ValidationError, match="referral"):
        service.mediate(db, officer, case_id, service.SessionDraft(mediator="王调解", outcome="failed"))
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(CaseEvent)).scalar() == 1  # "opened" only
    assert get_case(db, case_id).sessions == ()


def test_id_numbers_follow_gb_11643_and_are_masked() -> None:
    assert id_problem(ID_OK) is None
    assert id_problem("11010519491231002X") is None  # the standard's own example
    assert "check digit" in (id_problem("110105194912310021") or "")
    assert "date of birth" in (id_problem(make_id_number("11010519491331002")) or "")
    assert mask_id("11010519491231002X") == "110***********002X"


def test_may_escalate_tells_the_stability_lead_at_once_and_repeat_parties_show(
        db: Database, make_actor: Callable[..., Actor]) -> None:
    make_case_world(db)
    officer = make_actor("duty_officer")
    first = _dispute(db, officer)
    second = _dispute(db, officer, title="又因漏水争吵", may_escalate=True, risk="high",
                      parties=(PartyDraft("张三", "applicant", "13800138000"),))
    with db.read() as s:
        notes = s.execute(select(Notification).where(Notification.kind == "case_risk")).scalars().all()
    assert [(n.target_role, n.level) for n in notes] == [("director", "critical")]
    d = get_case(db, second)
    assert d.parties[0].repeat_cases == (get_case(db, first).row.number,)
    row = get_case(db, first).row
    service.set_risk(db, officer, first, row.version, risk="medium", may_escalate=True)
    with pytest.raises(ConcurrentChange):
        service.set_risk(db, officer, first, row.version, risk="low", may_escalate=False)
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Notification)
                         .where(Notification.kind == "case_risk")).scalar() == 2


def test_every_write_is_audited_and_on_the_change_feed_and_revealing_an_id_is_audited(
        db: Database, make_actor: Callable[..., Actor]) -> None:
    make_case_world(db)
    officer = make_actor("duty_officer")
    case_id = _dispute(db, officer)
    _agree(db, officer, case_id)
    with db.read() as s:
        ops = s.execute(select(ChangeLog.op).where(ChangeLog.entity == "case", ChangeLog.entity_id == case_id)
                        .order_by(ChangeLog.seq)).scalars().all()
    assert ops == ["create", "mediate"]
    party = get_case(db, case_id).parties[0]
    assert party.id_number == mask_id(ID_OK)
    assert service.reveal_party(db, officer, party.id) == ID_OK
    with db.read() as s:
        audit = s.execute(select(AuditLog).where(AuditLog.action == "privacy.reveal")).scalars().one()
    assert audit.username == officer.username and audit.after == {"field": "id_number", "party_id": party.id}


def test_a_missed_visit_escalates_once(db: Database, make_actor: Callable[..., Actor]) -> None:
    make_case_world(db)
    officer = make_actor("duty_officer")
    case_id = _dispute(db, officer)
    _agree(db, officer, case_id)
    advance(db, 8 * 86400 + 60)
    fired = timers.fire_due(db, "ws-1")
    assert [f.kind for f in fired] == [FOLLOW_UP_KIND]
    assert timers.fire_due(db, "ws-1") == []
    d = get_case(db, case_id)
    assert d.visits[0].missed and d.row.overdue
    with db.read() as s:
        notes = s.execute(select(Notification).where(Notification.kind == "case_visit_missed")).scalars().all()
    assert [n.target_role for n in notes] == ["shift_leader"]
    assert list_cases(db, CaseQuery(overdue=True))[0].id == case_id
    visit_id, version = service.due_visit(db, case_id)  # a late visit is still recorded
    service.record_visit(db, officer, case_id, visit_id, version, result="performed", satisfaction="satisfied")


def test_closing_without_an_agreement_needs_a_reason_and_schedules_visits(
        db: Database, make_actor: Callable[..., Actor]) -> None:
    make_case_world(db)
    officer = make_actor("duty_officer")
    case_id = _dispute(db, officer)
    with pytest.raises(IllegalTransition, match="no outcome"):
        service.close_case(db, officer, case_id)
    service.mediate(db, officer, case_id, service.SessionDraft(mediator="王调解", outcome="failed",
                                                               referral="litigation"))
    service.close_case(db, officer, case_id)
    d = get_case(db, case_id)
    assert d.row.status == "closed" and d.referral == "litigation" and len(d.visits) == 2
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Timer).where(Timer.case_id == case_id)).scalar() == 2


def test_a_reporter_phone_the_case_refuses_leaves_the_incident_whole(db: Database,
                                                                   make_actor: Callable[..., Actor]) -> None:
    """The case opened by policy refuses the reporter's phone and is opened without the party; the
    incident keeps its real number and its audit rows (the case's retry must not roll them back)."""
    from dispatch_console.kernel import audit

    make_case_world(db)
    officer = make_actor("duty_officer")
    inc = incidents.create_incident(db, officer, IncidentDraft(
        category="dispute", severity=3, source="hotline_12345", description="楼上漏水，邻里争吵",
        grid="G1", reporter_name="钱女士", reporter_phone="0755-86001234转8001")).row
    stored = incidents.get_incident(db, inc.number).row
    assert stored.number == inc.number and stored.number.startswith("TY-")
    [case] = list_cases(db)
    assert get_case(db, case.id).parties == () or list(get_case(db, case.id).parties) == []
    assert audit.verify(db).ok
