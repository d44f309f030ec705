"""The duty log lists the shift's casework: cases opened, mediation and agreements, visits,
deadlines fired, petition steps, cases closed, screening campaigns — in its HTML and its PDF."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pypdf
from support.case_world import advance, make_case_world, shorten
from support.handover_fixtures import now_to_next

from db.engine import Database, db_now
from dispatch_console.cases import campaigns, policy, service
from dispatch_console.cases.reads import get_case
from dispatch_console.handover.duty_log import duty_log
from dispatch_console.handover.report import duty_log_html
from dispatch_console.kernel.actor import Actor
from dispatch_console.timers import engine as timers
from station.launcher import main


def test_the_duty_log_lists_the_casework_of_the_shift_in_order_without_drills(
        db: Database, system: Actor, tmp_path: Path) -> None:
    shorten(tmp_path / "site")  # the petition's 15-day acceptance window 15 seconds long
    try:
        room = now_to_next(db, system)
        make_case_world(db)
        officer = room.zhang
        dispute = service.open_case(db, officer, service.CaseDraft(kind="dispute", title="楼上漏水邻里纠纷", grid="G1"))
        service.mediate(db, officer, dispute, service.SessionDraft(
            mediator="王调解", outcome="mediated", agreement="十日内修复防水层"))
        visit_id, version = service.due_visit(db, dispute)
        service.record_visit(db, officer, dispute, visit_id, version, result="performed", satisfaction="satisfied")
        service.close_case(db, officer, dispute, "协议已履行")
        petition_id = service.open_case(db, officer, service.CaseDraft(kind="petition", title="征地补偿异议"))
        drill = service.open_case(db, officer, service.CaseDraft(kind="dispute", title="演练纠纷", is_drill=True))
        advance(db, 16)
        assert "petition_accept" in [f.kind for f in timers.fire_due(db, "ws-1")]
        with db.read() as s:
            due = db_now(s) + timedelta(hours=2)
        campaign_id = campaigns.start(db, room.wang, campaigns.CampaignDraft(title="十二月排查", due_at=due))
        found = campaigns.report(db, officer, campaign_id, "G1", found=("楼道堆物纠纷",))
        campaigns.close(db, room.wang, campaign_id, reason="G2 改期")
    finally:
        policy.configure()

    log = duty_log(db, room.outgoing)
    assert [e.at for e in log.entries] == sorted(e.at for e in log.entries)
    cases = [e for e in log.entries if e.category == "case"]
    number = get_case(db, dispute).row.number
    petition_number = get_case(db, petition_id).row.number
    mine = [e.text.split(" — ")[0] for e in cases if e.incident_number == number]
    assert mine == ["Case opened", "Mediation session", "Follow-up visit recorded", "Case closed"]
    session = next(e for e in cases if e.incident_number == number and e.text.startswith("Mediation session"))
    assert "楼上漏水邻里纠纷" in session.text and "Agreement reached" in session.text  # the agreement, its note
    assert session.who == officer.username and session.station == officer.station
    deadline = [e for e in cases if e.incident_number == petition_number and e.text.startswith("Case deadline fired")]
    assert len(deadline) == 1 and deadline[0].who == "system"
    assert get_case(db, drill).row.number not in {e.incident_number for e in log.entries}
    texts = [e.text for e in cases if e.incident_number is None]
    assert texts[0].startswith("Screening campaign started — 十二月排查")
    assert any(t.startswith("Screening campaign: a grid reported") and found[0] in t for t in texts)
    assert texts[-1] == "Screening campaign closed — 十二月排查 — G2 改期"
    assert {e.category_label for e in cases} == {"Case"}
    html = duty_log_html(log)
    assert number in html and petition_number in html and "Incident or case" in html and "Case opened" in html

    out = tmp_path / "log.pdf"
    url = db.url.render_as_string(hide_password=False)
    assert main(["--db", url, "handover", "log", "--shift", str(room.outgoing), "--pdf", str(out)]) == 0
    flat = re.sub(r"\s+", "", "\n".join(p.extract_text() for p in pypdf.PdfReader(str(out)).pages))
    assert number in flat and petition_number in flat and "Caseopened" in flat and "Screeningcampaignclosed" in flat
