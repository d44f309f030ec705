"""Petition deadlines: each step's deadline fires exactly once on the database clock; steps in order."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from support.case_world import advance, make_case_world, shorten

from db.engine import Database
from db.models import AuditLog, Notification
from dispatch_console.cases import petition, policy, service
from dispatch_console.cases.reads import get_case
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.errors import IllegalTransition, PermissionDenied, ValidationError
from dispatch_console.kernel.policies import PolicyError
from dispatch_console.timers import engine as timers


@pytest.fixture(autouse=True)
def short_policy(tmp_path: Path) -> Iterator[None]:
    shorten(tmp_path / "site")
    yield
    policy.configure()


def _petition(db: Database, actor: Actor) -> int:
    return service.open_case(db, actor, service.CaseDraft(kind="petition", title="征地补偿标准有异议",
                                                          subtype="land", grid="G2", responsible_unit="XFB"))


def _escalations(db: Database) -> list[str]:
    with db.read() as s:
        return [n.body or "" for n in s.execute(select(Notification).where(Notification.kind == "case_deadline")
                                               .order_by(Notification.id)).scalars()]


def test_the_15_60_30_steps_fire_exactly_once_with_a_shortened_policy(
        db: Database, make_actor: Callable[..., Actor]) -> None:
    make_case_world(db)
    officer = make_actor("duty_officer")
    case_id = _petition(db, officer)
    d = get_case(db, case_id)
    assert d.row.status == "registered" and d.registered_at is not None
    assert d.row.step_due_at is not None and (d.row.step_due_at - d.registered_at).total_seconds() == 15
    assert timers.fire_due(db, "ws-1") == []            # not due yet
    advance(db, 16)
    assert [f.kind for f in timers.fire_due(db, "ws-1")] == ["petition_accept"]
    assert [f.kind for f in timers.fire_due(db, "ws-2")] == []   # a second console: nothing left to fire
    assert len(_escalations(db)) == 1 and get_case(db, case_id).row.overdue
    petition.accept(db, officer, case_id)               # late, but accepted: the 60 starts
    d = get_case(db, case_id)
    assert d.row.status == "accepted" and not d.row.overdue
    assert d.accepted_at is not None and d.row.step_due_at is not None
    assert (d.row.step_due_at - d.accepted_at).total_seconds() == 60
    advance(db, 61)
    assert [f.kind for f in timers.fire_due(db, "ws-1")] == ["petition_conclude"]
    advance(db, 3600)
    assert timers.fire_due(db, "ws-1") == []            # escalated once, not again
    petition.reply(db, officer, case_id, "依据补偿方案答复")
    assert get_case(db, case_id).row.status == "replied"
    petition.request_review(db, officer, case_id, "申请人不服，申请复查")
    assert get_case(db, case_id).row.status == "review"
    advance(db, 31)
    assert [f.kind for f in timers.fire_due(db, "ws-1")] == ["petition_review"]
    assert len(_escalations(db)) == 3
    petition.reply(db, officer, case_id, "复查维持原答复")
    advance(db, 31)                                     # no re-review asked for: the reply stands
    assert [f.kind for f in timers.fire_due(db, "ws-1")] == ["petition_window"]
    d = get_case(db, case_id)
    assert d.row.status == "closed" and len(d.visits) == 2   # follow-ups after the closure
    assert sorted((t.kind, t.state) for t in d.deadlines if t.kind.startswith("petition")) == [
        ("petition_accept", "fired"), ("petition_conclude", "fired"), ("petition_review", "fired"),
        ("petition_window", "cancelled"),   # the review was asked for within the window
        ("petition_window", "fired")]


def test_an_extension_beyond_30_days_is_refused_and_only_one_is_allowed(
        db: Database, make_actor: Callable[..., Actor]) -> None:
    make_case_world(db)
    officer = make_actor("duty_officer")
    leader = make_actor("shift_leader")
    case_id = _petition(db, officer)
    petition.accept(db, officer, case_id)
    before = get_case(db, case_id)
    with db.read() as s:
        audit_rows = s.execute(select(func.count()).select_from(AuditLog)).scalar()
    with pytest.raises(ValidationError, match="31 is not allowed"):
        petition.extend(db, leader, case_id, days=31, reason="情况复杂", approver="街道分管领导")
    with pytest.raises(ValidationError, match="reason"):
        petition.extend(db, leader, case_id, days=10, reason=" ", approver="街道分管领导")
    with pytest.raises(PermissionDenied):
        petition.extend(db, officer, case_id, days=10, reason="情况复杂", approver="街道分管领导")
    after = get_case(db, case_id)
    assert after.row.version == before.row.version and after.row.step_due_at == before.row.step_due_at
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(AuditLog)).scalar() == audit_rows
    petition.extend(db, leader, case_id, days=30, reason="涉及多个部门", approver="街道分管领导")
    d = get_case(db, case_id)
    assert before.row.step_due_at is not None and d.row.step_due_at is not None
    assert (d.row.step_due_at - before.row.step_due_at).days == 30 and d.extension_approver == "街道分管领导"
    assert [t.state for t in d.deadlines if t.kind == "petition_conclude"] == ["cancelled", "pending"]
    with pytest.raises(IllegalTransition, match="only one extension"):
        petition.extend(db, leader, case_id, days=5, reason="再延", approver="街道分管领导")


def test_steps_out_of_order_are_refused_with_the_step_the_case_is_at(
        db: Database, make_actor: Callable[..., Actor]) -> None:
    make_case_world(db)
    officer = make_actor("duty_officer")
    case_id = _petition(db, officer)
    with pytest.raises(IllegalTransition, match="registered: a reply is not the next step"):
        petition.reply(db, officer, case_id, "答复")
    with pytest.raises(IllegalTransition, match="review request"):
        petition.request_review(db, officer, case_id)
    with pytest.raises(IllegalTransition, match="petition"):
        service.mediate(db, officer, case_id, service.SessionDraft(mediator="王调解"))
    with pytest.raises(IllegalTransition, match="reply first"):
        service.close_case(db, officer, case_id, "撤回")
    petition.accept(db, officer, case_id)
    with pytest.raises(IllegalTransition, match="acceptance"):
        petition.accept(db, officer, case_id)
    petition.reply(db, officer, case_id, "答复")
    advance(db, 31)
    with pytest.raises(IllegalTransition, match="window"):
        petition.request_review(db, officer, case_id)
    assert get_case(db, case_id).row.status == "replied"


def test_a_petition_not_accepted_closes_with_the_reason(db: Database, make_actor: Callable[..., Actor]) -> None:
    make_case_world(db)
    officer = make_actor("duty_officer")
    case_id = _petition(db, officer)
    with pytest.raises(ValidationError, match="note"):
        petition.accept(db, officer, case_id, refuse=True)
    petition.accept(db, officer, case_id, refuse=True, note="属于诉讼途径解决的事项")
    d = get_case(db, case_id)
    assert d.row.status == "closed" and "诉讼" in (d.close_note or "")
    assert [t.state for t in d.deadlines if t.kind == "petition_accept"] == ["cancelled"]


def test_a_wrong_policy_names_the_file_and_the_key(tmp_path: Path) -> None:
    shorten(tmp_path / "bad", petition_toml='accept_within = "soon"\n')
    with pytest.raises(PolicyError, match=r"petition\.toml: accept_within"):
        policy.petition()
    shorten(tmp_path / "bad2", cases_toml='follow_up_days = [7, 0]\nstability_lead_role = "mayor"\n')
    with pytest.raises(PolicyError, match=r"cases\.toml: follow_up_days"):
        policy.cases()
