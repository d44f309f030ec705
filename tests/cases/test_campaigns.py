"""Screening campaigns (矛盾纠纷排查): start, each grid's report, cases found, overdue escalated once."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from support.case_world import advance, make_case_world

from db.engine import Database, db_now
from db.models import AuditLog, Campaign, CampaignCase, CampaignGrid, Case, ChangeLog, Notification, Timer
from dispatch_console.cases import campaigns
from dispatch_console.cases.reads import find_case, get_case
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.errors import ConcurrentChange, IllegalTransition, PermissionDenied, ValidationError
from dispatch_console.timers import engine as timers
from station.launcher import main


def _start(db: Database, leader: Actor, *, grids: tuple[str, ...] = (), seconds: int = 30) -> int:
    with db.read() as s:
        due = db_now(s) + timedelta(seconds=seconds)
    return campaigns.start(db, leader, campaigns.CampaignDraft(title="十二月矛盾纠纷排查", due_at=due, grids=grids))


def _overdue_notes(db: Database) -> list[str]:
    with db.read() as s:
        return [n.body or "" for n in s.execute(select(Notification).where(Notification.kind == "campaign_overdue")
                                               .order_by(Notification.id)).scalars()]


def test_grids_report_nothing_new_or_disputes_that_open_cases_and_the_overdue_grid_escalates_once(
        db: Database, make_actor: Callable[..., Actor]) -> None:
    make_case_world(db)
    leader, officer = make_actor("shift_leader"), make_actor("duty_officer")
    campaign_id = _start(db, leader)
    d = campaigns.get_campaign(db, campaign_id)
    assert [x.code for x in d.lines] == ["G1", "G2"] and d.row.reported == 0 and d.row.overdue == 0
    numbers = campaigns.report(db, officer, campaign_id, "G1", found=("楼道堆物纠纷", "装修噪音扰民"))
    assert len(numbers) == 2 and all(n.startswith("TYJ-") for n in numbers)
    with db.read() as s:
        linked = s.execute(select(Case.title, Case.grid_id, Case.kind)
                           .join(CampaignCase, CampaignCase.case_id == Case.id).order_by(Case.id)).all()
    assert [r.title for r in linked] == ["楼道堆物纠纷", "装修噪音扰民"] and {r.kind for r in linked} == {"dispute"}
    d = campaigns.get_campaign(db, campaign_id)
    g1, g2 = d.lines
    assert g1.state == "found" and g1.cases == tuple(sorted(numbers)) and g1.reporter == "李网格"  # the grid's staff
    assert g2.state == "pending" and not g2.overdue and d.row.found == 2
    assert timers.fire_due(db, "ws-1") == []
    advance(db, 31)
    d = campaigns.get_campaign(db, campaign_id)
    assert [x.overdue for x in d.lines] == [False, True] and d.row.overdue == 1
    assert [f.kind for f in timers.fire_due(db, "ws-1")] == ["campaign_due"]
    assert timers.fire_due(db, "ws-2") == []             # another console: nothing left to fire
    notes = _overdue_notes(db)
    assert len(notes) == 1 and "测试社区第2网格" in notes[0] and "第1网格" not in notes[0]
    assert campaigns.get_campaign(db, campaign_id).lines[1].escalated_at is not None
    campaigns.report(db, officer, campaign_id, "G2", nothing_new=True, reporter="王网格")  # late, still taken
    d = campaigns.get_campaign(db, campaign_id)
    assert d.row.complete and d.lines[1].late and d.lines[1].state == "nothing_new" and d.lines[1].reporter == "王网格"
    with db.read() as s:
        ops = s.execute(select(ChangeLog.op).where(ChangeLog.entity == "campaign").order_by(ChangeLog.seq)).scalars()
        assert list(ops) == ["create", "report", "overdue", "report"]
        assert s.execute(select(func.count()).select_from(AuditLog)
                         .where(AuditLog.action.like("campaign.%"))).scalar() == 4
    assert len(_overdue_notes(db)) == 1


def test_a_campaign_with_every_grid_reported_in_time_escalates_nothing(
        db: Database, make_actor: Callable[..., Actor]) -> None:
    make_case_world(db)
    leader = make_actor("shift_leader")
    campaign_id = _start(db, leader, grids=("G2",))
    assert [x.code for x in campaigns.get_campaign(db, campaign_id).lines] == ["G2"]
    campaigns.report(db, leader, campaign_id, "测试社区第2网格", nothing_new=True)   # by name
    advance(db, 31)
    assert [f.kind for f in timers.fire_due(db, "ws-1")] == ["campaign_due"]
    assert _overdue_notes(db) == []


def test_bad_input_and_permissions_are_refused_with_the_reason_and_nothing_stored_half(
        db: Database, make_actor: Callable[..., Actor]) -> None:
    make_case_world(db)
    leader, officer, observer = make_actor("shift_leader"), make_actor("duty_officer"), make_actor("observer")
    with pytest.raises(PermissionDenied):
        _start(db, officer)
    with pytest.raises(ValidationError, match="G9"):
        _start(db, leader, grids=("G1", "G9"))
    with pytest.raises(ValidationError, match="passed"):
        _start(db, leader, seconds=-5)
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Campaign)).scalar() == 0
        assert s.execute(select(func.count()).select_from(CampaignGrid)).scalar() == 0
    campaign_id = _start(db, leader, grids=("G1",))
    with pytest.raises(PermissionDenied):
        campaigns.report(db, observer, campaign_id, "G1", nothing_new=True)
    with pytest.raises(ValidationError, match="not part"):
        campaigns.report(db, officer, campaign_id, "G2", nothing_new=True)
    with pytest.raises(ValidationError):
        campaigns.report(db, officer, campaign_id, "G1", nothing_new=True, found=("x",))
    with pytest.raises(ValidationError):
        campaigns.report(db, officer, campaign_id, "G1")
    with pytest.raises(ValidationError, match="200"):   # the second title too long: the first not opened either
        campaigns.report(db, officer, campaign_id, "G1", found=("邻里纠纷", "长" * 201))
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Case)).scalar() == 0
    version = campaigns.get_campaign(db, campaign_id).row.version
    campaigns.report(db, officer, campaign_id, "G1", nothing_new=True, seen_version=version)
    with pytest.raises(ConcurrentChange):     # a second workstation that saw the old version
        campaigns.report(db, leader, campaign_id, "G1", found=("x",), seen_version=version)
    with pytest.raises(IllegalTransition, match="reported already"):
        campaigns.report(db, leader, campaign_id, "G1", found=("x",))
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Case)).scalar() == 0


def _cli(db: Database, actor: Actor | None, *args: str) -> int:
    who = ["--user", actor.username, "--password", "pw"] if actor else []
    return main(["--db", db.url.render_as_string(hide_password=False), "--station", "ws-1", *who,
                 "cases", "campaign", *args])


def test_campaigns_from_the_command_line(db: Database, make_actor: Callable[..., Actor],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    make_case_world(db)
    leader, officer = make_actor("shift_leader", "leader-wu"), make_actor("duty_officer", "officer-li")
    assert _cli(db, officer, "start", "--title", "国庆前排查", "--due", "2099-09-30") == 1
    assert "start a dispute screening campaign" in capsys.readouterr().err
    assert _cli(db, leader, "start", "--title", "国庆前排查", "--due", "2099-13-30") == 2
    assert "not a date" in capsys.readouterr().err
    assert _cli(db, leader, "start", "--title", "国庆前排查", "--due", "1999-01-30") == 2
    assert "outside 2000–2100" in capsys.readouterr().err
    assert _cli(db, leader, "start", "--title", "国庆前排查", "--due", "2099-09-30", "--reason", "sensitive_date",
                "--json") == 0
    started = json.loads(capsys.readouterr().out)
    assert started["grids"] == 2 and started["reported"] == 0
    cid = str(started["id"])
    assert _cli(db, officer, "report", cid, "--grid", "G1", "--found", "拖欠工资纠纷") == 0
    out = capsys.readouterr().out
    assert "TYJ-" in out
    assert _cli(db, officer, "report", cid, "--grid", "G1", "--nothing-new") == 1
    err = capsys.readouterr().err
    assert "reported already" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert _cli(db, None, "show", cid, "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert [(g["code"], g["state"]) for g in shown["grid_reports"]] == [("G1", "found"), ("G2", "pending")]
    number = shown["grid_reports"][0]["cases"][0]
    assert get_case(db, find_case(db, number)).row.title == "拖欠工资纠纷"
    assert _cli(db, None, "list", "--json") == 0
    assert [(r["id"], r["reported"], r["found"]) for r in json.loads(capsys.readouterr().out)] == [
        (started["id"], 1, 1)]
    assert _cli(db, None, "show", cid) == 0
    assert "G2" in capsys.readouterr().out


def test_a_leader_closes_a_campaign_with_a_reason_for_grids_not_reported_and_it_escalates_no_more(
        db: Database, make_actor: Callable[..., Actor]) -> None:
    make_case_world(db)
    leader, officer = make_actor("shift_leader", "leader-wu"), make_actor("duty_officer", "officer-li")
    campaign_id = _start(db, leader)
    campaigns.report(db, officer, campaign_id, "G1", nothing_new=True)
    with pytest.raises(PermissionDenied):
        campaigns.close(db, officer, campaign_id, reason="x")  # a leader's
    with pytest.raises(ValidationError) as refused:
        campaigns.close(db, leader, campaign_id)  # G2 has not reported: a reason is needed
    assert "测试社区第2网格" in str(refused.value)
    version = campaigns.get_campaign(db, campaign_id).row.version
    row = campaigns.close(db, leader, campaign_id, reason="G2 网格员病假，下月补排", seen_version=version)
    assert row.closed and row.close_reason == "G2 网格员病假，下月补排" and row.closed_by == "leader-wu"
    assert (row.reported, row.grids, row.overdue) == (1, 2, 0)
    with pytest.raises(IllegalTransition):
        campaigns.close(db, leader, campaign_id, reason="again")
    with pytest.raises(IllegalTransition) as late:
        campaigns.report(db, officer, campaign_id, "G2", nothing_new=True)  # closed: no more reports
    assert "closed" in str(late.value)
    # the due time passes: nothing escalates (the timer was cancelled with the close)
    advance(db, 31)
    assert timers.fire_due(db, "ws-1") == []
    assert _overdue_notes(db) == []
    d = campaigns.get_campaign(db, campaign_id)
    assert [x.overdue for x in d.lines] == [False, False] and d.lines[1].escalated_at is None
    with db.read() as s:
        ops = list(s.execute(select(ChangeLog.op).where(ChangeLog.entity == "campaign").order_by(ChangeLog.seq))
                   .scalars())
        assert ops == ["create", "report", "close"]
        audit = s.execute(select(AuditLog.after).where(AuditLog.action == "campaign.close")).scalar_one()
        assert audit["reason"] == "G2 网格员病假，下月补排" and audit["not_reported"] == 1
        assert audit["timer_cancelled"] == 1
        assert s.execute(select(Campaign.closed_at)).scalar_one() is not None


def test_a_campaign_every_grid_reported_closes_without_a_reason_and_a_claimed_timer_finds_it_closed(
        db: Database, make_actor: Callable[..., Actor]) -> None:
    make_case_world(db)
    leader = make_actor("shift_leader", "leader-wu")
    campaign_id = _start(db, leader, grids=("G2",))
    campaigns.report(db, leader, campaign_id, "G2", nothing_new=True)
    assert campaigns.close(db, leader, campaign_id).closed
    # a timer claimed just before the close would have been cancelled: its effect checks again
    with db.write() as s:
        timer = timers.schedule(s, kind=campaigns.CAMPAIGN_DUE_KIND, due_at=db_now(s),
                                payload={"campaign_id": campaign_id})
        timer_id = timer.id
    fired = timers.fire_due(db, "ws-1")
    assert [f.kind for f in fired] == ["campaign_due"]
    assert _overdue_notes(db) == []
    with db.read() as s:
        timer = s.get(Timer, timer_id)
        assert timer is not None and "closed" in (timer.payload or {}).get("outcome", "")


def test_closing_a_campaign_from_the_command_line(db: Database, make_actor: Callable[..., Actor],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    make_case_world(db)
    leader = make_actor("shift_leader", "leader-wu")
    cid = str(_start(db, leader, seconds=3600))
    assert _cli(db, leader, "close", cid) == 1
    err = capsys.readouterr().err
    assert "2 grids have not reported" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert _cli(db, leader, "close", cid, "--reason", "台风停摆，改期", "--json") == 0
    closed = json.loads(capsys.readouterr().out)
    assert closed["close_reason"] == "台风停摆，改期" and closed["closed_at"] and closed["reported"] == 0
    assert _cli(db, leader, "close", cid, "--reason", "again") == 1
    assert "closed already" in capsys.readouterr().err
