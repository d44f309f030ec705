"""The demo street has about thirty cases in every state, relative to the moment of seeding."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from db.engine import Database
from dispatch_console.cases import campaigns
from dispatch_console.cases.reads import CaseQuery, get_case, list_cases
from dispatch_console.demo.database import prepare_demo_database
from dispatch_console.kernel.actor import Actor
from dispatch_console.timers import engine as timers


def test_the_demo_cases_cover_every_state_and_their_deadlines_fire_once(db_url: str) -> None:
    prepare_demo_database(db_url, Actor.system("seed"))
    db = Database(db_url)
    try:
        rows = list_cases(db, CaseQuery(open_only=False))
        assert 28 <= len(rows) <= 32
        states = Counter((r.kind, r.status) for r in rows)
        for kind, status in (("dispute", "open"), ("dispute", "mediating"), ("dispute", "agreed"),
                             ("dispute", "referred"), ("dispute", "closed"), ("petition", "registered"),
                             ("petition", "accepted"), ("petition", "replied"), ("petition", "review"),
                             ("petition", "closed")):
            assert states[(kind, status)] >= 1, (kind, status)
        assert any(r.reopen_count for r in rows)                       # one 反弹
        assert any(r.may_escalate for r in rows)
        now = get_case(db, rows[0].id).now
        soon = [r for r in rows if r.next_due_at is not None and now < r.next_due_at < now + timedelta(hours=12)]
        assert soon                                                   # something due in the next shift
        assert any(r.overdue for r in rows)
        (campaign,) = campaigns.list_campaigns(db)                   # one screening in progress
        assert (campaign.grids, campaign.reported, campaign.overdue, campaign.found) == (4, 3, 1, 1)
        lines = campaigns.get_campaign(db, campaign.id).lines
        assert [x.code for x in lines if x.overdue] == ["TY-LG-01"] and not any(x.late for x in lines)
        fired = Counter(f.kind for f in timers.fire_due(db, "ws-1", limit=1000))
        assert fired["campaign_due"] == 1                              # the overdue grid escalated, once
        assert fired["case_follow_up"] >= 1 and fired["petition_accept"] == 1 and fired["petition_window"] == 1
        assert not [f for f in timers.fire_due(db, "ws-2", limit=1000) if f.kind.startswith(("case", "petition"))]
        assert prepare_demo_database(db_url, Actor.system("seed")) is False   # seeding again adds nothing
        assert len(list_cases(db, CaseQuery(open_only=False))) == len(rows)
    finally:
        db.dispose()
