"""``report assess`` against a hand computation on a small seeded month (both backends).

November 2026, severity Ⅲ (targets: acknowledge 5 min, dispatch 15 min, arrive 1 h, resolve 24 h).
Officer 李 records every incident, officer 张 acknowledges it. Minutes after recording:

    incident  grid  ack  dispatch  arrive  resolve   unit 派出所 arrives
    A         G1    3    10        40      600       40
    B         G1    8    20        50      1000      75
    C         G1    4    14        70      —
    D         G2    2    —         —       —
    (a drill in G1 and an incident of October: never counted)

By hand — the street: ack 3/4 on time (B late), p90 of [2, 3, 4, 8] = 8 min (nearest rank 4 of 4);
dispatch 2/4 (B late, D never), p90 of [10, 14, 20] = 20; arrive 2/4 (C late, D never), p90 of
[40, 50, 70] = 70; resolve 2/4 (C, D never), p90 of [600, 1000] = 1000. Grid G1: ack 2/3, p90 of
[3, 4, 8] = 8. The unit: arrive 1/2, p90 of [40, 75] = 75. Who held each breach: B's ack deadline
(minute 5) fell before 张 acknowledged (minute 8): 李, who recorded it; every later one: 张.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from pypdf import PdfReader
from sqlalchemy import update
from support.street import make_street

from db.engine import Database
from db.models import Assignment, AuditLog, ChecklistItem, DispatchProposal, Incident, Unit
from dispatch_console import assessment
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.errors import ValidationError
from dispatch_console.users.accounts import actor_for, create_user
from station.launcher import main

NOV = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shenzhen
M = 60.0


def _officer(db: Database, name: str, display: str) -> Actor:
    with db.write() as s:
        user = create_user(s, Actor.system("test"), username=name, password="pw", role="duty_officer",
                           display_name=display)
        return actor_for(user, "值班台1")


def _seed(db: Database, recorder: Actor, acker: Actor, grid: str, at: datetime, minutes: list[float | None], *,
          drill: bool = False, reports_met: bool = False) -> int:
    """An incident recorded and acknowledged through the services, then set into the seeded month."""
    row = incidents.create_incident(db, recorder, IncidentDraft(
        category="dispute", severity=3, source="hotline_12345", description="邻里纠纷", grid=grid,
        is_drill=drill)).row
    incidents.acknowledge(db, acker, row.id, row.version)
    ack, disp, arrive, resolve = (at + timedelta(minutes=m) if m is not None else None for m in minutes)
    with db.write() as s:
        s.execute(update(Incident).where(Incident.id == row.id).values(
            created_at=at, acknowledged_at=ack, dispatched_at=disp, on_scene_at=arrive, resolved_at=resolve))
        s.execute(update(AuditLog).where(AuditLog.entity == "incident", AuditLog.entity_id == row.id,
                                         AuditLog.action == "incident.create").values(at=at))
        s.execute(update(AuditLog).where(AuditLog.entity == "incident", AuditLog.entity_id == row.id,
                                         AuditLog.action == "incident.acknowledged").values(at=ack))
        for item in s.query(ChecklistItem).filter(ChecklistItem.incident_id == row.id,
                                                  ChecklistItem.deadline_minutes.is_not(None)):
            start = ack if item.deadline_from == "acknowledged" and ack else at
            item.due_at = start + timedelta(minutes=item.deadline_minutes or 0)
            item.done_at = at + timedelta(minutes=1) if reports_met else None
    return row.id


@pytest.fixture
def month(db: Database) -> dict[str, int]:
    make_street(db)
    li, zhang = _officer(db, "li", "李明"), _officer(db, "zhang", "张华")
    ids = {
        "A": _seed(db, li, zhang, "G1", NOV, [3, 10, 40, 600], reports_met=True),
        "B": _seed(db, li, zhang, "G1", NOV + timedelta(hours=1), [8, 20, 50, 1000]),
        "C": _seed(db, li, zhang, "G1", NOV + timedelta(hours=2), [4, 14, 70, None]),
        "D": _seed(db, li, zhang, "G2", NOV + timedelta(hours=3), [2, None, None, None]),
        "drill": _seed(db, li, zhang, "G1", NOV + timedelta(hours=4), [30, None, None, None], drill=True),
        "october": _seed(db, li, zhang, "G1", datetime(2026, 10, 20, 2, 0, tzinfo=UTC), [30, None, None, None]),
    }
    with db.write() as s:
        unit = Unit(code="PCS", name="桃源派出所", kind="police", status="available", version=1)
        s.add(unit)
        s.flush()
        for key, arrived in (("A", 40), ("B", 75)):
            at = NOV + timedelta(hours={"A": 0, "B": 1}[key])
            s.add(Assignment(incident_id=ids[key], unit_id=unit.id, status="on_scene", assigned_at=at,
                             arrived_at=at + timedelta(minutes=arrived), version=1))
    return ids


def _stats(row: assessment.GroupRow, kind: str) -> tuple[int, int, float | None, float | None]:
    t = row.targets[kind]
    return t.met, t.breached, t.on_time_rate, t.p90_seconds


def test_the_month_matches_the_hand_computation(db: Database, month: dict[str, int]) -> None:
    report = assessment.assess(db, "2026-11")
    assert report.street.incidents == 4  # the drill and October's left out
    assert _stats(report.street, "ack") == (3, 1, 0.75, 8 * M)
    assert _stats(report.street, "dispatch") == (2, 2, 0.5, 20 * M)
    assert _stats(report.street, "arrive") == (2, 2, 0.5, 70 * M)
    assert _stats(report.street, "resolve") == (2, 2, 0.5, 1000 * M)
    grids = {g.name: g for g in report.grids}
    g1, g2 = grids["峰景社区第1网格"], grids["峰景社区第2网格"]
    assert g1.incidents == 3 and _stats(g1, "ack") == (2, 1, 2 / 3, 8 * M)
    assert _stats(g1, "resolve") == (2, 1, 2 / 3, 1000 * M)
    assert g2.incidents == 1 and _stats(g2, "dispatch") == (0, 1, 0.0, None)
    (community,) = report.communities
    assert community.name == "峰景社区" and community.incidents == 4
    (unit,) = report.units
    assert unit.name == "桃源派出所" and _stats(unit, "arrive") == (1, 1, 0.5, 75 * M)
    ladder = {(b.number, b.target, b.unit): b.holder for b in report.breaches
              if b.target in assessment.TARGETS}
    number = {k: v for k, v in _numbers(db, month).items()}
    assert ladder == {
        (number["B"], "ack", None): "李明",          # due at minute 5, acknowledged at minute 8
        (number["B"], "dispatch", None): "张华",
        (number["B"], "arrive", "桃源派出所"): "张华",  # the unit arrived at minute 75
        (number["C"], "arrive", None): "张华",
        (number["C"], "resolve", None): "张华",
        (number["D"], "dispatch", None): "张华",
        (number["D"], "arrive", None): "张华",
        (number["D"], "resolve", None): "张华",
    }
    # the information-reporting steps: A's ticked in time, the others never
    reports = [b for b in report.breaches if b.target not in assessment.TARGETS]
    assert report.street.reports.met > 0 and report.street.reports.breached == len(reports) > 0
    assert {b.number for b in reports} == {number["B"], number["C"], number["D"]}


def test_a_quarter_holds_its_three_months(db: Database, month: dict[str, int]) -> None:
    quarter = assessment.assess(db, "2026-Q4")
    assert quarter.street.incidents == 5  # November's four and October's one; the drill never
    start, end = assessment.month_bounds("2026-q4")
    assert (start.isoformat(), end.isoformat()) == ("2026-09-30T16:00:00+00:00", "2026-12-31T16:00:00+00:00")
    with pytest.raises(ValidationError):
        assessment.month_bounds("2026-Q5")


def _numbers(db: Database, ids: dict[str, int]) -> dict[str, str]:
    with db.read() as s:
        return {k: s.get(Incident, v).number for k, v in ids.items()}  # type: ignore[union-attr]


def test_the_command_line_writes_json_a_safe_workbook_and_a_chinese_pdf(
        db: Database, db_url: str, month: dict[str, int], tmp_path, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    with db.write() as s:  # a unit name that a spreadsheet would take for a formula
        s.execute(update(Unit).values(name="=HYPERLINK(\"http://x\",\"派出所\")"))
    xlsx, pdf = tmp_path / "assess.xlsx", tmp_path / "assess.pdf"
    code = main(["--db", db_url, "--lang", "zh_CN", "report", "assess", "--month", "2026-11", "--json",
                 "--xlsx", str(xlsx), "--pdf", str(pdf)])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["street"]["targets"]["ack"]["on_time_rate"] == 0.75
    wb = openpyxl.load_workbook(xlsx)
    units = wb["处置力量"]
    cell = units.cell(row=2, column=2)
    assert cell.value == "=HYPERLINK(\"http://x\",\"派出所\")" and cell.data_type == "s" and cell.number_format == "@"
    assert all(c.data_type != "f" for ws in wb.worksheets for row in ws.iter_rows() for c in row)
    # NFKC: the CJK font's glyphs come back as compatibility radicals (⽹ for 网)
    # and table cells break lines inside words: compare without the whitespace
    text = "".join(unicodedata.normalize("NFKC", "".join(p.extract_text() for p in PdfReader(pdf).pages)).split())
    for heading in ("值班工作考核", "各社区", "各网格", "责任倒查", "承办人"):
        assert heading in text
    assert main(["--db", db_url, "report", "assess", "--month", "2026-13"]) == 1
    assert "2026-13" in capsys.readouterr().err


def _proposal(s, incident_id: int, proposed: list[int], sent: list[int]) -> None:  # type: ignore[no-untyped-def]
    """A run card's proposal as ``protocols.dispatch`` keeps it (the lines, then the grid's staff)."""
    lines = [{"kind": "police", "wanted": len(proposed), "short": 0,
              "proposed": [{"unit_id": u, "name": str(u)} for u in proposed]}, {"staff": []}]
    s.add(DispatchProposal(incident_id=incident_id, card="纠纷", category="dispute", severity=3, proposed=lines,
                           short=[], sent_unit_ids=sent, accepted=set(proposed) == set(sent), at=NOV))


def test_proposals_against_what_was_sent_match_the_hand_computation(
        db: Database, db_url: str, month: dict[str, int], tmp_path, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    """On the seeded month: A sent as its card proposed (派出所); B's proposal (派出所, 城管) changed to
    派出所, 民兵 — one unit added, one removed; C nothing sent; D made a fire and sent 民兵 with no
    proposal; the drill's proposal never counts. By hand — dispute × Ⅲ: 3 incidents, 2 with a
    proposal, 1 accepted, 1 changed (+1, −1), 0 without, 1 nothing sent; fire × Ⅲ: 1 incident,
    dispatched without a proposal."""
    with db.write() as s:
        pcs = s.query(Unit).filter(Unit.code == "PCS").one().id
        extra = {}
        for code, name in (("CG", "城管中队"), ("MB", "民兵应急分队")):
            unit = Unit(code=code, name=name, kind="militia", status="available", version=1)
            s.add(unit)
            s.flush()
            extra[code] = unit.id
        _proposal(s, month["A"], [pcs], [pcs])
        _proposal(s, month["B"], [pcs, extra["CG"]], [pcs, extra["MB"]])
        s.add(Assignment(incident_id=month["B"], unit_id=extra["MB"], status="dispatched", assigned_at=NOV,
                         version=1))
        _proposal(s, month["drill"], [pcs], [])
        s.execute(update(Incident).where(Incident.id == month["D"]).values(category="fire"))
        s.add(Assignment(incident_id=month["D"], unit_id=extra["MB"], status="dispatched", assigned_at=NOV,
                         version=1))
    report = assessment.assess(db, "2026-11")
    figures = {(p.category, p.severity): p.as_dict() for p in report.proposals}
    assert figures == {
        ("dispute", 3): {"category": "dispute", "severity": 3, "incidents": 3, "with_proposal": 2, "accepted": 1,
                         "changed": 1, "units_added": 1, "units_removed": 1, "without": 0, "not_sent": 1},
        ("fire", 3): {"category": "fire", "severity": 3, "incidents": 1, "with_proposal": 0, "accepted": 0,
                      "changed": 0, "units_added": 0, "units_removed": 0, "without": 1, "not_sent": 0},
    }
    xlsx, pdf = tmp_path / "assess.xlsx", tmp_path / "assess.pdf"
    assert main(["--db", db_url, "--lang", "zh_CN", "report", "assess", "--month", "2026-11", "--json",
                 "--xlsx", str(xlsx), "--pdf", str(pdf)]) == 0
    assert json.loads(capsys.readouterr().out)["proposals"] == [figures[("dispute", 3)], figures[("fire", 3)]]
    sheet = openpyxl.load_workbook(xlsx)["推荐力量对照"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][:4] == ["事件类别", "事件等级", "事件数", "有推荐方案"]
    assert rows[1:] == [["矛盾纠纷", 3, 3, 2, 1, 1, 1, 1, 0, 1], ["消防", 3, 1, 0, 0, 0, 0, 0, 1, 0],
                        ["全街道", None, 4, 2, 1, 1, 1, 1, 1, 1]]
    text = "".join(unicodedata.normalize("NFKC", "".join(p.extract_text() for p in PdfReader(pdf).pages)).split())
    assert "推荐处置力量与实际派遣对照" in text and "无推荐直接派遣" in text
    assert main(["--db", db_url, "--lang", "zh_CN", "report", "assess", "--month", "2026-11"]) == 0
    assert "推荐处置力量与实际派遣对照" in capsys.readouterr().out
