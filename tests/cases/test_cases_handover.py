"""The handover draft and its PDF list the case follow-ups and petition deadlines of the next shift."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pypdf
import pytest
from support.case_world import make_case_world, shorten
from support.handover_fixtures import now_to_next

from db.engine import Database
from dispatch_console.cases import petition, policy, service
from dispatch_console.cases.parties import PartyDraft
from dispatch_console.cases.reads import get_case
from dispatch_console.handover import service as handover
from dispatch_console.handover.report import handover_html
from dispatch_console.kernel.actor import Actor
from station.launcher import main

SOON = """
follow_up_days = ["2h", 30]
[subtypes]
neighbour = { zh = "邻里纠纷", en = "Neighbours", kinds = ["dispute"] }
"""
SOON_PETITION = 'accept_within = "3h"\n'


@pytest.fixture(autouse=True)
def soon(tmp_path: Path) -> Iterator[None]:
    shorten(tmp_path / "site", petition_toml=SOON_PETITION, cases_toml=SOON)
    yield
    policy.configure()


def test_the_handover_lists_follow_ups_and_petition_deadlines_of_the_next_shift(
        db: Database, system: Actor, tmp_path: Path) -> None:
    room = now_to_next(db, system)
    make_case_world(db)
    dispute = service.open_case(db, room.zhang, service.CaseDraft(
        kind="dispute", title="Leaking ceiling", subtype="neighbour", grid="G1",
        parties=(PartyDraft("张三", "applicant"),)))
    service.mediate(db, room.zhang, dispute, service.SessionDraft(
        mediator="王调解", outcome="mediated", agreement="修复防水层"))
    pet = service.open_case(db, room.zhang, service.CaseDraft(kind="petition", title="Compensation"))
    later = service.open_case(db, room.zhang, service.CaseDraft(kind="petition", title="Accepted already"))
    petition.accept(db, room.zhang, later)  # its 60 days are not in the next shift
    record = handover.draft(db, room.wang, room.outgoing)
    numbers = [c.case_number for c in record.situation.cases]
    d, p = get_case(db, dispute).row.number, get_case(db, pet).row.number
    assert numbers == [d, p]  # the 2-hour visit, then the 3-hour acceptance (the 30-day visit is later)
    assert [c.who for c in record.situation.cases] == ["李网格", None]
    html = handover_html(record)
    assert "Case follow-ups and petition deadlines (2)" in html and d in html and p in html
    out = tmp_path / "handover.pdf"
    url = db.url.render_as_string(hide_password=False)
    assert main(["--db", url, "handover", "report", "--shift", str(room.outgoing), "--pdf", str(out)]) == 0
    flat = re.sub(r"\s+", "", "\n".join(page.extract_text() for page in pypdf.PdfReader(str(out)).pages))
    assert d in flat and p in flat and get_case(db, later).row.number not in flat
