"""Follow-up visits and satisfaction in the assessment (against a hand computation, both backends),
the situation report over a range of dates and the weekly / monthly duty work report.

The seeded month, November 2026 (local time). Case K1 in grid G1, unit 桃源派出所 responsible;
case K2 in grid G2, no unit; K3 a drill in G1. Visits (due → visited, satisfaction):

    K1  v1  11-05 → 11-04  满意         on time
    K1  v2  11-10 → 11-12  基本满意     late
    K1  v3  11-20 → never               missed (its due time has passed when the report is made)
    K2  v4  11-15 → 11-15 (at the due time)  不满意   on time
    K2  v5  11-25, cancelled            never counts
    K2  v6  12-02 → 12-02               December's, not November's
    K3  v7  11-08 → 11-08  满意         a drill: never counts

By hand — the street: 4 due, 2 on time, 1 late, 1 missed, on-time rate 2/4; satisfaction
1 满意, 1 基本满意, 1 不满意: rate (1 + 1) / 3. Grid G1 (and the unit): 3 due, 1 on time, 1 late,
1 missed, rate 1/3; satisfaction 2 of 2. Grid G2: 1 due, on time; 0 of 1 satisfied.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from pypdf import PdfReader
from support.street import Street, make_street

from db.engine import Database
from db.models import Area, Case, CaseVisit, Unit
from dispatch_console import assessment
from dispatch_console.assessment.duty import duty_report, week_period
from dispatch_console.assessment.situation import situation_between
from dispatch_console.kernel.errors import ValidationError
from dispatch_console.kernel.timefmt import LOCAL_TZ
from station.launcher import main


def _at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 10, 0, tzinfo=LOCAL_TZ).astimezone(UTC)


def _case(s: Any, number: str, grid: str, unit_id: int | None, *, drill: bool = False) -> int:
    grid_id = s.query(Area.id).filter(Area.level == "grid", Area.code == grid).scalar()
    case = Case(number=number, kind="dispute", title="邻里纠纷", status="closed", grid_id=grid_id,
                responsible_unit_id=unit_id, is_drill=drill, created_at=_at(10, 1), closed_at=_at(10, 30))
    s.add(case)
    s.flush()
    return int(case.id)


def _visit(s: Any, case_id: int, due: datetime, visited: datetime | None, satisfaction: str | None, *,
           state: str | None = None) -> None:
    s.add(CaseVisit(case_id=case_id, due_at=due, days=30, state=state or ("done" if visited else "due"),
                    visited_at=visited, satisfaction=satisfaction, result="performed" if visited else None,
                    missed_at=due if visited is None and state is None else None))


@pytest.fixture
def visits(db: Database) -> Street:
    street = make_street(db)
    with db.write() as s:
        unit = Unit(code="PCS", name="桃源派出所", kind="police", status="available", version=1)
        s.add(unit)
        s.flush()
        k1, k2 = _case(s, "TYJ-K1", "G1", unit.id), _case(s, "TYJ-K2", "G2", None)
        k3 = _case(s, "TYJ-K3", "G1", unit.id, drill=True)
        _visit(s, k1, _at(11, 5), _at(11, 4), "satisfied")
        _visit(s, k1, _at(11, 10), _at(11, 12), "basically")
        _visit(s, k1, _at(11, 20), None, None)
        _visit(s, k2, _at(11, 15), _at(11, 15), "dissatisfied")
        _visit(s, k2, _at(11, 25), None, None, state="cancelled")
        _visit(s, k2, _at(12, 2), _at(12, 2), "satisfied")
        _visit(s, k3, _at(11, 8), _at(11, 8), "satisfied")
    return street


def _figures(v: Any) -> tuple[Any, ...]:
    return (v.due, v.on_time, v.late, v.missed, v.on_time_rate, v.satisfied, v.basically, v.dissatisfied,
            v.satisfaction_rate)


def test_visits_on_time_and_satisfaction_match_the_hand_computation(db: Database, visits: Street) -> None:
    report = assessment.assess(db, "2026-11")
    v = report.visits
    assert _figures(v.street) == (4, 2, 1, 1, 0.5, 1, 1, 1, 2 / 3)
    grids = {g.name: g for g in v.grids}
    assert _figures(grids["峰景社区第1网格"]) == (3, 1, 1, 1, 1 / 3, 1, 1, 0, 1.0)
    assert _figures(grids["峰景社区第2网格"]) == (1, 1, 0, 0, 1.0, 0, 0, 1, 0.0)
    (community,) = v.communities
    assert community.name == "峰景社区" and _figures(community) == _figures(v.street)
    (unit,) = v.units
    assert unit.name == "桃源派出所" and _figures(unit) == _figures(grids["峰景社区第1网格"])
    december = assessment.assess(db, "2026-12").visits.street
    assert (december.due, december.on_time, december.satisfied) == (1, 1, 1)


def test_visits_in_json_workbook_and_pdf(db: Database, db_url: str, visits: Street, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    xlsx, pdf = tmp_path / "a.xlsx", tmp_path / "a.pdf"
    assert main(["--db", db_url, "--lang", "zh_CN", "report", "assess", "--month", "2026-11", "--json",
                 "--xlsx", str(xlsx), "--pdf", str(pdf)]) == 0
    data = json.loads(capsys.readouterr().out)["visits"]
    assert data["street"]["due"] == 4 and data["street"]["missed"] == 1
    assert data["street"]["satisfaction_rate"] == pytest.approx(2 / 3)
    assert [u["name"] for u in data["units"]] == ["桃源派出所"]
    wb = openpyxl.load_workbook(xlsx)
    (sheet,) = [ws for ws in wb.worksheets if ws.cell(row=1, column=13).value == "满意率"]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert rows[0] == ["街道", "全街道", 4, 2, 1, 1, 0, 0.5, 1, 1, 1, 3, 0.6667]
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    text = _text(pdf)
    assert "回访按时情况及群众满意度" in text and "满意率" in text


def _text(pdf: Path) -> str:
    return "".join(unicodedata.normalize("NFKC", "".join(p.extract_text() for p in PdfReader(pdf).pages)).split())


def _images(pdf: Path) -> int:
    return sum(len(page.images) for page in PdfReader(pdf).pages)


def test_the_situation_report_over_a_range_with_its_charts(db: Database, db_url: str, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    street = make_street(db)
    street.report("纠纷1")
    street.report("消防隐患", category="fire", days_ago=3)
    street.report("演练", drill=True)
    street.report("很久以前", days_ago=40)
    with db.read() as s:
        from db.engine import db_now

        today = db_now(s).astimezone(LOCAL_TZ).date()
    first = today - timedelta(days=9)
    data = situation_between(db, first, today)
    assert len(data.days) == 10 and data.total == 2  # the drill never, 40 days ago outside
    assert sum(data.open_by_age.values()) == 3
    pdf = tmp_path / "situation.pdf"
    assert main(["--db", db_url, "--lang", "zh_CN", "report", "situation", "--from", first.isoformat(),
                 "--to", today.isoformat(), "--pdf", str(pdf), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total"] == 2 and out["per_day"]["dispute"][-1] == 1
    text = _text(pdf)
    for heading in ("态势研判报告", "每日事件数", "未办结事件和案件", "响应时间", "各类预警数", "避难场所"):
        assert heading in text
    assert _images(pdf) == 4  # the four charts
    # bounded: reversed, too long, not a date — one line each, exit 1
    for args in ((today.isoformat(), first.isoformat()), ("2025-01-01", "2026-06-30"), ("2026-11-31", "2026-12-01")):
        assert main(["--db", db_url, "report", "situation", "--from", args[0], "--to", args[1]]) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in err
    with pytest.raises(ValidationError):
        situation_between(db, today, first)


def test_the_weekly_and_monthly_duty_reports(db: Database, db_url: str, visits: Street, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    street = visits
    street.report("纠纷1")
    street.report("消防隐患", category="fire")
    street.report("上周纠纷", days_ago=7)
    street.report("演练", drill=True)
    with db.read() as s:
        from db.engine import db_now

        year, week, _day = db_now(s).astimezone(LOCAL_TZ).isocalendar()
    label = f"{year}-W{week:02d}"
    report = duty_report(db, week=label)
    assert report.period.label == label and report.previous.first == report.period.first - timedelta(days=7)
    assert (report.totals.incidents, report.previous_totals.incidents) == (2, 1)
    assert report.by_category == {"dispute": (1, 1), "fire": (1, 0)}
    assert report.by_community == {"峰景社区": (2, 1)}
    november = duty_report(db, month="2026-11")
    assert (november.totals.visits_due, november.totals.visits_done) == (4, 3)
    assert november.previous.label == "2026-10"
    assert (november.previous_totals.cases_opened, november.previous_totals.cases_closed) == (2, 2)  # K3 a drill
    pdf = tmp_path / "week.pdf"
    assert main(["--db", db_url, "--lang", "zh_CN", "report", "duty", "--week", label, "--pdf", str(pdf)]) == 0
    capsys.readouterr()
    text = _text(pdf)
    for heading in ("值班工作周报", "一、总体情况", "二、事件类别分布", "三、各社区事件分布", "五、响应时间",
                    "六、超时事项及责任倒查", "七、回访按时情况及群众满意度", "八、预警情况"):
        assert heading in text
    assert _images(pdf) == 6
    pdf = tmp_path / "month.pdf"
    assert main(["--db", db_url, "--lang", "zh_CN", "report", "duty", "--month", "2026-11", "--pdf", str(pdf),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["visits"]["street"]["due"] == 4
    assert "值班工作月报" in _text(pdf)
    for bad in ("2026-W54", "2026-48", "1999-W01"):
        assert main(["--db", db_url, "report", "duty", "--week", bad]) == 1
        err = capsys.readouterr().err.strip()
        assert bad in err and len(err.splitlines()) == 1
    assert week_period("2026-w1").label == "2026-W01"


def test_the_response_figures_aggregated_in_sql_match_the_hand_computation(db: Database) -> None:
    """Four incidents of severity Ⅲ recorded two days ago (acknowledge 5 min, dispatch 15 min):
    acknowledged after 3, 8, 4, 2 minutes — p90 (nearest rank 4 of 4) 8 min, on time 3 of 4;
    dispatched after 10, 20, 14 minutes and one never — p90 of [10, 14, 20] 20 min, on time 2 of 4
    (the one never dispatched is past its deadline). A drill never counts."""
    from sqlalchemy import update

    from db.engine import db_now
    from db.models import Incident

    street = make_street(db)
    with db.read() as s:
        now = db_now(s)
    at = now - timedelta(days=2)
    for ack, dispatch in ((3, 10), (8, 20), (4, 14), (2, None)):
        iid = street.report("纠纷")
        with db.write() as s:
            s.execute(update(Incident).where(Incident.id == iid).values(
                created_at=at, acknowledged_at=at + timedelta(minutes=ack),
                dispatched_at=at + timedelta(minutes=dispatch) if dispatch is not None else None))
    drill = street.report("演练", drill=True)
    with db.write() as s:
        s.execute(update(Incident).where(Incident.id == drill).values(created_at=at,
                                                                        acknowledged_at=at + timedelta(hours=5)))
    today = now.astimezone(LOCAL_TZ).date()
    r = situation_between(db, today - timedelta(days=6), today).response[3]
    assert (r["ack"].p90_s, r["ack"].on_time_rate) == (pytest.approx(8 * 60, abs=0.01), 0.75)
    assert (r["dispatch"].p90_s, r["dispatch"].on_time_rate) == (pytest.approx(20 * 60, abs=0.01), 0.5)
    assert r["ack"].target_s == 5 * 60 and r["arrive"].p90_s is None and r["arrive"].on_time_rate == 0.0
