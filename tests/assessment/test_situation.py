"""The situation figures (drills never count) and the situation view drawing them."""

from __future__ import annotations

from typing import Any

import pytest
from support.street import make_street
from support.world import isolated_settings, workstations  # noqa: F401

from db.engine import Database
from dispatch_console.assessment import situation as figures
from dispatch_console.kernel.errors import ValidationError
from dispatch_console.kernel.i18n import set_language
from ui.assessment.situation import SituationPanel


def test_reports_per_day_open_by_age_and_response_without_drills(db: Database) -> None:
    street = make_street(db)
    street.report("纠纷1")
    street.report("纠纷2")
    street.report("消防隐患", category="fire", days_ago=3)
    street.report("演练", drill=True)
    street.report("很久以前", days_ago=40)
    data = figures.situation(db, 30)
    assert len(data.days) == 30 and data.total == 3
    assert data.per_day["dispute"][-1] == 2 and sum(data.per_day["fire"]) == 1
    assert data.open_by_age == {"<1d": 2, "1-3d": 0, "3-7d": 1, ">7d": 1}  # the drill is not open business
    assert data.response[3]["ack"].target_s == 5 * 60
    assert figures.situation(db, 90).total == 4
    with pytest.raises(ValidationError):
        figures.situation(db, 7)


def test_the_situation_view_draws_the_figures(qtbot: Any, db: Database, workstations: Any) -> None:  # noqa: F811
    street = make_street(db)
    set_language("zh_CN")
    street.report("纠纷1")
    street.report("消防隐患", category="fire")
    ws = workstations(db, street.leader)
    panel = SituationPanel(ws.ui, ws.host)
    ws.show()
    panel.show()
    qtbot.waitUntil(lambda: panel.data is not None, timeout=15000)
    assert panel.summary.text() == "2 起事件，2 起未办结"
    # a stacked series of bars per category (equal totals: in the catalogue's order)
    assert panel.per_day_layers == ["dispute", "fire"]
    assert [layer.name for layer in panel.per_day.layers] == ["矛盾纠纷", "消防"]
    panel.span.setCurrentIndex(2)
    qtbot.waitUntil(lambda: panel.data is not None and len(panel.data.days) == 365, timeout=15000)


def _shelters(db: Database) -> Any:
    from dispatch_console.kernel.actor import Actor
    from dispatch_console.supplies.shelters import add_shelter

    system = Actor.system("test")
    add_shelter(db, system, code="S1", name="桃源中学避难场所", capacity=100)
    add_shelter(db, system, code="S2", name="平山公园避难场所", capacity=30)
    add_shelter(db, system, code="S3", name="塘朗山避难场所", capacity=500)


def test_the_shelters_open_full_closed_with_people_and_free_places(db: Database) -> None:
    """S1 open with 40 people, S2 filled to its 30 places (full), S3 closed: by hand 1 open, 1 full,
    1 closed; 70 people; free places in open shelters 100 − 40 = 60 (the closed one's 500 not counted)."""
    from dispatch_console.supplies.shelters import record_people, set_status

    street = make_street(db)
    _shelters(db)
    for code, people in (("S1", 40), ("S2", 30)):
        set_status(db, street.officer, code, "open")
        record_people(db, street.officer, code, people)
    shelters = figures.situation(db, 30).shelters
    assert [(r.code, r.status, r.occupancy, r.free) for r in shelters.rows] == [
        ("S1", "open", 40, 60), ("S2", "full", 30, 0), ("S3", "closed", 0, 500)]
    assert (shelters.count("open"), shelters.count("full"), shelters.count("closed")) == (1, 1, 1)
    assert (shelters.people, shelters.capacity, shelters.free) == (70, 630, 60)


def test_the_situation_view_shows_the_shelters_and_follows_the_change_feed(
        qtbot: Any, db: Database, workstations: Any) -> None:  # noqa: F811
    from dispatch_console.supplies.shelters import record_people, set_status

    street = make_street(db)
    set_language("zh_CN")
    _shelters(db)
    set_status(db, street.officer, "S1", "open")
    record_people(db, street.officer, "S1", 40)
    ws = workstations(db, street.leader)
    panel = SituationPanel(ws.ui, ws.host)
    ws.show()
    panel.show()
    qtbot.waitUntil(lambda: panel.data is not None and panel.shelters.rowCount() == 4, timeout=15000)

    def row(n: int) -> list[str]:
        return [panel.shelters.item(n, c).text() for c in range(panel.shelters.columnCount())]

    assert row(0) == ["桃源中学避难场所", "—", "开放中", "40", "100", "60"]
    assert row(2) == ["塘朗山避难场所", "—", "未开放", "0", "500", "—"]
    assert row(3) == ["合计", "", "开放 1，已满 0，未开放 2", "40", "630", "60"]
    assert "避难场所：开放 1 处，已满 0 处，未开放 2 处；安置 40 人，开放场所空余 60 个位置" in panel.summary.text()

    # another workstation opens 平山公园 and fills it: the view follows through the change feed
    set_status(db, street.officer, "S2", "open")
    record_people(db, street.officer, "S2", 30)
    qtbot.waitUntil(lambda: panel.shelters.rowCount() == 4 and row(1)[2] == "已满", timeout=20000)
    assert row(1) == ["平山公园避难场所", "—", "已满", "30", "30", "0"]
    assert row(3) == ["合计", "", "开放 1，已满 1，未开放 1", "70", "630", "60"]
    assert "安置 70 人" in panel.summary.text()
