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
    assert len(panel.per_day.getPlotItem().listDataItems()) == 2
    panel.span.setCurrentIndex(2)
    qtbot.waitUntil(lambda: panel.data is not None and len(panel.data.days) == 365, timeout=15000)
