"""The demo street's cases: about thirty disputes and petitions in every state, relative to now,
and one screening campaign in progress (three of four grids reported, one overdue).

Each case is worked through the cases room's own services (so its timeline, audit rows, visits
and deadlines are the real thing) and, between its steps, moved back in time as if the step had
happened that long ago (``_age``: the case's times, its visits, sessions, timeline and pending
deadlines). A deadline that lies in the past then fires at the first start of a console, as it
would have. The plan is deterministic; only the times follow the database clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from db.engine import Database, db_now
from db.models import Campaign, CampaignGrid, Case, CaseEvent, CaseSession, CaseTerm, CaseVisit, Incident, Timer
from dispatch_console.cases import campaigns, petition, service
from dispatch_console.cases.parties import PartyDraft, make_id_number
from dispatch_console.cases.reads import find_case
from dispatch_console.cases.service import CaseDraft, SessionDraft, Term
from dispatch_console.kernel.actor import Actor

DAY = 86400.0
Step = Callable[[Database, Actor, int], object]  # what a step returns is not used


@dataclass(frozen=True)
class DemoCase:
    draft: CaseDraft
    # (seconds ago the case was opened … then each step and how long ago it happened)
    opened_ago: float
    steps: tuple[tuple[Step, float], ...] = ()


def _id(n: int) -> str:
    return make_id_number(f"440305{1960 + n % 40}{(n % 12) + 1:02d}{(n % 27) + 1:02d}{n % 1000:03d}")


def _parties(n: int, applicant: str, respondent: str | None = None) -> tuple[PartyDraft, ...]:
    out = [PartyDraft(applicant, "applicant", f"1380013{n:04d}", _id(n))]
    if respondent:
        out.append(PartyDraft(respondent, "respondent", f"1390013{n:04d}"))
    return tuple(out)


def _session(outcome: str | None = None, agreement: str | None = None, referral: str | None = None,
             terms: tuple[Term, ...] = ()) -> Step:
    return lambda db, actor, case_id: service.mediate(db, actor, case_id, SessionDraft(
        mediator="刘调解", mediator_org="people_committee", place="社区人民调解室", attendees="双方当事人、网格员",
        summary="听取双方意见，释法说理", outcome=outcome, agreement=agreement, referral=referral, terms=terms))


def _visit(result: str, satisfaction: str | None) -> Step:
    def step(db: Database, actor: Actor, case_id: int) -> object:
        visit_id, version = service.due_visit(db, case_id)
        return service.record_visit(db, actor, case_id, visit_id, version, result=result, satisfaction=satisfaction,
                                    note="网格员上门回访")
    return step


def _close(note: str | None = None) -> Step:
    return lambda db, actor, case_id: service.close_case(db, actor, case_id, note)


def _accept(db: Database, actor: Actor, case_id: int) -> None:
    petition.accept(db, actor, case_id)


def _refuse(db: Database, actor: Actor, case_id: int) -> None:
    petition.accept(db, actor, case_id, refuse=True, note="属于诉讼途径解决的事项，已告知信访人")


def _reply(db: Database, actor: Actor, case_id: int) -> None:
    petition.reply(db, actor, case_id, "经调查核实，已书面答复信访人")


def _review(db: Database, actor: Actor, case_id: int) -> None:
    petition.request_review(db, actor, case_id, "信访人不服答复意见")


def _extend(db: Database, actor: Actor, case_id: int) -> None:
    petition.extend(db, actor, case_id, days=30, reason="涉及多个职能部门，需联合调查",
                    approver="街道党工委副书记")


AGREEMENT = "被申请人于十五日内修复漏水并赔偿申请人损失人民币八百元，双方不再追究"
WAGES = "企业于三十日内分两期支付拖欠工资共计人民币十二万元"


def _dispute(n: int, title: str, subtype: str, grid: str, applicant: str, respondent: str, *, risk: str = "low",
             may_escalate: bool = False, unit: str = "sfs-taoyuan", incident: str | None = None) -> CaseDraft:
    return CaseDraft(kind="dispute", title=title, subtype=subtype, grid=grid, risk=risk, may_escalate=may_escalate,
                     responsible_unit=unit, responsible_person="司法所 陈所长" if unit == "sfs-taoyuan" else None,
                     parties=_parties(n, applicant, respondent), incidents=(incident,) if incident else ())


def _petition(n: int, title: str, subtype: str, grid: str, applicant: str) -> CaseDraft:
    return CaseDraft(kind="petition", title=title, subtype=subtype, grid=grid, responsible_unit="xfb-taoyuan",
                     responsible_person="信访办 周主任", parties=_parties(n, applicant))


def plan(dispute_incidents: list[str]) -> list[DemoCase]:
    """The demo cases; the first open dispute-category incidents are linked to the first disputes."""
    inc = [*dispute_incidents, None, None, None, None]
    agreed = _session("mediated", AGREEMENT, terms=(Term("修复漏水"), Term("赔偿损失八百元")))
    wages = _session("mediated", WAGES, terms=(Term("第一期工资六万元"), Term("第二期工资六万元")))
    return [
        # open, not yet mediated
        DemoCase(_dispute(1, "楼上卫生间漏水致楼下墙面发霉", "neighbour", "TY-PS-01", "黄秀英", "吴建国",
                          incident=inc[0]), 0.2 * DAY),
        DemoCase(_dispute(2, "租户拖欠三个月房租拒不搬离", "rental", "TY-ZG-02", "林志强", "张海涛",
                          unit="zls-taoyuan", incident=inc[1]), 1.5 * DAY),
        DemoCase(_dispute(3, "工地拖欠二十名工人工资，工人聚集讨薪", "labour", "TY-GQ-03", "王大力", "某建筑劳务公司",
                          risk="high", may_escalate=True, unit="zgh-taoyuan", incident=inc[2]), 0.5 * DAY),
        DemoCase(_dispute(4, "小区停车位被占用引发争吵", "property", "TY-LG-01", "李梅", "某物业公司"), 3 * DAY),
        # mediating
        DemoCase(_dispute(5, "夫妻因子女抚养问题争执", "family", "TY-FJ-02", "陈丽", "赵军"), 6 * DAY,
                 ((_session(), 2 * DAY),)),
        DemoCase(_dispute(6, "装修噪音扰民", "neighbour", "TY-DXC-01", "孙晓燕", "周鹏"), 4 * DAY,
                 ((_session(), 1 * DAY),)),
        DemoCase(_dispute(7, "医疗费用争议", "medical", "TY-TL-02", "何桂兰", "某社康中心", risk="medium"), 9 * DAY,
                 ((_session(), 5 * DAY), (_session(), 1 * DAY))),
        # agreed, follow-ups in every state
        DemoCase(_dispute(8, "邻里漏水赔偿纠纷", "neighbour", "TY-PS-02", "郑小红", "冯伟"), 5 * DAY,
                 ((agreed, 3 * DAY),)),                                    # first visit in 4 days
        DemoCase(_dispute(9, "商铺押金退还纠纷", "consumer", "TY-ZG-01", "许强", "某商户"), 8 * DAY,
                 ((agreed, 6.8 * DAY),)),                                  # first visit in the next shift
        DemoCase(_dispute(10, "宠物狗咬伤邻居", "neighbour", "TY-FG-01", "曹敏", "彭磊"), 12 * DAY,
                 ((agreed, 9 * DAY),)),                                    # first visit missed: escalates
        DemoCase(_dispute(11, "拖欠工资纠纷（劳务派遣）", "labour", "TY-LL-02", "罗建华", "某物流公司",
                          unit="zgh-taoyuan"), 15 * DAY,
                 ((wages, 12 * DAY), (_visit("performing", "basically"), 5 * DAY))),   # 30-day visit later
        DemoCase(_dispute(12, "租赁合同提前解约纠纷", "rental", "TY-TL-01", "谢芳", "某公寓", unit="zls-taoyuan"),
                 28 * DAY, ((agreed, 26 * DAY), (_visit("performing", "satisfied"), 19 * DAY))),  # 司法确认 reminder
        DemoCase(_dispute(13, "交通事故赔偿纠纷", "traffic", "TY-GQ-01", "邓超", "韩冰"), 45 * DAY,
                 ((agreed, 40 * DAY), (_visit("performing", "satisfied"), 33 * DAY),
                  (_visit("performed", "satisfied"), 9 * DAY), (_close(), 8 * DAY))),   # closed, performed
        # relapsed (反弹): reopened
        DemoCase(_dispute(14, "宅基地边界纠纷再起", "land", "TY-PS-03", "潘德明", "潘德福", risk="medium"), 20 * DAY,
                 ((agreed, 16 * DAY), (_visit("relapsed", "dissatisfied"), 1 * DAY))),
        DemoCase(_dispute(15, "物业费拖欠纠纷", "property", "TY-LG-02", "某物业公司", "钱某"), 30 * DAY,
                 ((_session("mediated", "业主于十日内补缴物业费"), 25 * DAY),
                  (_visit("not_performed", "dissatisfied"), 2 * DAY))),
        # referred
        DemoCase(_dispute(16, "房屋买卖合同纠纷", "other", "TY-FJ-01", "蒋文", "沈杰"), 10 * DAY,
                 ((_session("failed", referral="litigation"), 6 * DAY),)),
        DemoCase(_dispute(17, "工伤待遇争议", "labour", "TY-GQ-02", "韦小宝", "某电子厂", unit="zgh-taoyuan"), 14 * DAY,
                 ((_session("failed", referral="arbitration"), 9 * DAY), (_close("已引导申请劳动仲裁"), 8 * DAY))),
        # closed without a session
        DemoCase(_dispute(18, "噪音投诉（经核实已停止）", "neighbour", "TY-DXC-02", "毛丽", "夜市摊主"), 5 * DAY,
                 ((_close("经核实噪音源已停止经营，申请人撤回"), 4 * DAY),)),
        DemoCase(_dispute(19, "快递丢失赔偿纠纷", "consumer", "TY-LL-01", "石磊", "某快递网点"), 3 * DAY,
                 ((_session("mediated", "快递网点赔偿三百元"), 2.5 * DAY), (_close(), 2 * DAY))),
        DemoCase(_dispute(20, "出租屋消防整改费用分摊纠纷", "rental", "TY-ZG-03", "杜鹃", "房东甘某",
                          unit="zls-taoyuan"), 2 * DAY),
        # petitions near every deadline
        DemoCase(_petition(21, "反映征地补偿款发放标准", "land", "TY-PS-04", "潘老伯"), 2 * DAY),  # accept in 13 d
        DemoCase(_petition(22, "反映小区周边道路积水", "other", "TY-LG-03", "王女士"),
                 14.8 * DAY),  # accept in the next shift
        DemoCase(_petition(23, "反映企业欠薪未处理", "labour", "TY-GQ-04", "刘师傅"), 16 * DAY),  # accept overdue
        DemoCase(_petition(24, "反映物业违规收费", "property", "TY-LG-04", "张阿姨"), 12 * DAY,
                 ((_accept, 10 * DAY),)),                                                         # conclude in 50 d
        DemoCase(_petition(25, "反映拆迁安置房分配", "land", "TY-TL-03", "黄先生"), 60 * DAY,
                 ((_accept, 58.5 * DAY),)),                                                       # conclude in 1.5 d
        DemoCase(_petition(26, "反映低保资格认定", "policy", "TY-FG-02", "赵大爷"), 75 * DAY,
                 ((_accept, 72 * DAY), (_extend, 20 * DAY))),                                   # extended
        DemoCase(_petition(27, "反映违建未拆除", "other", "TY-ZG-04", "吴先生"), 20 * DAY,
                 ((_accept, 18 * DAY), (_reply, 5 * DAY))),                                      # review window open
        DemoCase(_petition(28, "反映社保补缴问题", "policy", "TY-DXC-03", "钟女士"), 70 * DAY,
                 ((_accept, 68 * DAY), (_reply, 40 * DAY), (_review, 25 * DAY))),               # review due in 5 d
        DemoCase(_petition(29, "反映邻里纠纷处理不公", "other", "TY-TY-01", "郭某"), 6 * DAY,
                 ((_refuse, 5 * DAY),)),                                                          # not accepted
        DemoCase(_petition(30, "反映学位分配问题", "policy", "TY-TY-02", "林女士"), 75 * DAY,
                 ((_accept, 72 * DAY), (_reply, 32 * DAY))),                                     # window lapsed: closes
    ]


def _age(db: Database, case_id: int, seconds: float) -> None:
    """Move what the case holds so far ``seconds`` into the past (audit rows keep their real times)."""
    if seconds <= 0:
        return
    back = timedelta(seconds=seconds)
    with db.write() as s:
        case = s.get(Case, case_id)
        assert case is not None
        for name in ("created_at", "registered_at", "accepted_at", "replied_at", "agreement_at", "closed_at",
                     "step_due_at", "updated_at", "judicial_confirmed_at"):
            value = getattr(case, name)
            if value is not None:
                setattr(case, name, value - back)
        for table, columns in ((CaseVisit, ("due_at", "visited_at", "missed_at")),
                               (CaseSession, ("held_at", "recorded_at")), (CaseTerm, ("due_at",)),
                               (CaseEvent, ("at",))):
            for row in s.execute(select(table).where(table.case_id == case_id)).scalars():
                for column in columns:
                    value = getattr(row, column)
                    if value is not None:
                        setattr(row, column, value - back)
        for timer in s.execute(select(Timer).where(Timer.case_id == case_id, Timer.fired_at.is_(None))).scalars():
            timer.due_at, timer.created_at = timer.due_at - back, timer.created_at - back


def seed_cases(db: Database, actor: Actor) -> int:
    """Seed the demo cases into a demo database that has none yet; returns how many."""
    with db.read() as s:
        if s.execute(select(func.count()).select_from(Case)).scalar():
            return 0
        linked = list(s.execute(select(Incident.number).where(
            Incident.category.in_(("dispute", "labor", "rental_housing")), Incident.is_drill.is_(False))
            .order_by(Incident.id).limit(3)).scalars())
    count = 0
    for spec in plan(linked):
        case_id = service.open_case(db, actor, spec.draft)
        ago = spec.opened_ago
        for step, when in spec.steps:
            _age(db, case_id, ago - when)
            step(db, actor, case_id)
            ago = when
        _age(db, case_id, ago)
        count += 1
    return count + seed_campaign(db, actor)


CAMPAIGN_GRIDS = ("TY-PS-01", "TY-ZG-02", "TY-GQ-03", "TY-LG-01")


def _age_campaign(db: Database, campaign_id: int, seconds: float) -> None:
    """Move the campaign, its grids' reports and its pending deadline ``seconds`` into the past."""
    back = timedelta(seconds=seconds)
    with db.write() as s:
        campaign = s.get(Campaign, campaign_id)
        assert campaign is not None
        campaign.created_at, campaign.due_at = campaign.created_at - back, campaign.due_at - back
        if campaign.updated_at is not None:
            campaign.updated_at = campaign.updated_at - back
        for line in s.execute(select(CampaignGrid).where(CampaignGrid.campaign_id == campaign_id)).scalars():
            if line.reported_at is not None:
                line.reported_at = line.reported_at - back
        for timer in s.execute(select(Timer).where(Timer.kind == campaigns.CAMPAIGN_DUE_KIND,
                                                   Timer.fired_at.is_(None))).scalars():
            if (timer.payload or {}).get("campaign_id") == campaign_id:
                timer.due_at, timer.created_at = timer.due_at - back, timer.created_at - back


def seed_campaign(db: Database, actor: Actor) -> int:
    """The month's screening: started 6 days ago, due 6 hours ago; TY-LG-01 has not reported (overdue,
    escalated at the first start of a console). Returns how many cases its reports opened."""
    with db.read() as s:
        due = db_now(s) + timedelta(seconds=5.75 * DAY)
    campaign_id = campaigns.start(db, actor, campaigns.CampaignDraft(
        title="十二月矛盾纠纷排查", due_at=due, grids=CAMPAIGN_GRIDS, reason="monthly",
        note="各网格员对辖区矛盾纠纷进行全面排查，无新增的报“无新增”"))
    _age_campaign(db, campaign_id, 2 * DAY)             # 4 days ago
    campaigns.report(db, actor, campaign_id, "TY-PS-01", nothing_new=True)
    _age_campaign(db, campaign_id, 3 * DAY)             # 1 day ago
    found = campaigns.report(db, actor, campaign_id, "TY-ZG-02", found=("小区电梯长期停运，业主与物业矛盾激化",))
    campaigns.report(db, actor, campaign_id, "TY-GQ-03", nothing_new=True)
    _age_campaign(db, campaign_id, 1 * DAY)
    for number in found:
        _age(db, find_case(db, number), 1 * DAY)
    return len(found)
