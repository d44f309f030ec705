"""A bar of the situation stands for incidents: the queue shows exactly those, by click or by keys.

The expected incidents are worked out here from the rows themselves (their local day, category,
status, drill and merge), never from the figure, so the figure, the scope and the queue are each
checked against the same hand-made answer. No test depends on the time of day: the day of each
incident is read back, not assumed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from PySide6.QtCore import Qt
from sqlalchemy import select
from support.street import make_street
from support.world import isolated_settings, workstations  # noqa: F401

from db.engine import Database
from db.models import Incident
from dispatch_console.assessment import situation as figures
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.incidents.queue import QueueQuery, query_incidents
from dispatch_console.kernel.categories import OPEN_STATUSES
from dispatch_console.kernel.i18n import set_language
from dispatch_console.kernel.timefmt import LOCAL_TZ
from ui.assessment.situation import SituationPanel


def _seed(db: Database) -> Any:
    street = make_street(db)
    a = street.report("纠纷甲")
    street.report("纠纷乙")
    street.report("消防隐患", category="fire")
    street.report("三天前的纠纷", days_ago=3)
    street.report("五天前的纠纷，已办结", days_ago=5)
    street.report("演练纠纷", drill=True)
    street.report("很久以前", days_ago=40)
    dup = incidents.create_incident(db, street.officer, IncidentDraft(
        category="dispute", severity=3, source="hotline_12345", description="重复上报", grid="G1")).row
    incidents.merge_duplicate(db, street.officer, dup.id, dup.version, a)
    done = street.made[4]
    row = incidents.acknowledge(db, street.officer, done, 1)
    incidents.resolve(db, street.officer, done, row.version)
    return street


def _rows(db: Database) -> list[Any]:
    with db.read() as s:
        return list(s.execute(select(Incident.id, Incident.category, Incident.created_at, Incident.status,
                                     Incident.is_drill, Incident.merged_into_id)).all())


def _reported(db: Database, category: str, day: Any) -> set[int]:
    """By hand: the reports of that category on that local day, not drills, not merged away."""
    return {r.id for r in _rows(db) if r.category == category and not r.is_drill and r.merged_into_id is None
            and r.created_at.astimezone(LOCAL_TZ).date() == day}


def _open_aged(db: Database, now: Any, low_days: int | None, high_days: int | None) -> set[int]:
    return {r.id for r in _rows(db) if r.status in OPEN_STATUSES and not r.is_drill
            and (low_days is None or now - r.created_at >= timedelta(days=low_days))
            and (high_days is None or now - r.created_at < timedelta(days=high_days))}


def _queue(db: Database, scope: Any) -> set[int]:
    page = query_incidents(db, QueueQuery(exact=scope, limit=1000))
    assert page.total == len(page.rows)
    return {r.id for r in page.rows}


def test_every_bar_stands_for_exactly_the_incidents_it_counts(db: Database) -> None:
    _seed(db)
    data = figures.situation(db, 30)
    assert data.made_at is not None
    seen = 0
    for category, counts in data.per_day.items():
        for day, count in zip(data.days, counts, strict=True):
            expected = _reported(db, category, day)
            assert len(expected) == count
            assert _queue(db, figures.reports_scope(category, day)) == expected
            seen += len(expected)
    assert seen == data.total == 5  # 纠纷甲乙, 消防, three and five days ago; not the merged one, the drill, day 40
    bounds = {"<1d": (None, 1), "1-3d": (1, 3), "3-7d": (3, 7), ">7d": (7, None)}
    for bucket, count in data.open_by_age.items():
        expected = _open_aged(db, data.made_at, *bounds[bucket])
        assert len(expected) == count
        assert _queue(db, figures.age_scope(bucket, data.made_at)) == expected
    assert data.open_by_age == {"<1d": 3, "1-3d": 0, "3-7d": 1, ">7d": 1}  # the resolved one is not open


def _click_bar(qtbot: Any, chart: Any, column: int, layer: int) -> None:
    box = chart.getPlotItem().vb
    point = chart.mapFromScene(box.mapViewToScene(chart.bar_centre(column, layer)))
    qtbot.mouseClick(chart.viewport(), Qt.MouseButton.LeftButton, pos=point)


def _shown(ws: Any) -> set[int]:
    ws.settle()
    assert ws.queue.model.total == ws.queue.model.rowCount()
    return set(ws.queue.model.ids)


def test_a_click_or_enter_on_a_bar_shows_exactly_those_incidents_and_esc_the_whole_queue(
        qtbot: Any, db: Database, workstations: Any) -> None:  # noqa: F811
    street = _seed(db)
    set_language("zh_CN")
    ws = workstations(db, street.leader)
    panel = SituationPanel(ws.ui, ws.host)
    ws.show()
    panel.show()
    qtbot.waitUntil(lambda: panel.data is not None, timeout=15000)
    ws.settle()
    whole = set(ws.queue.model.ids)
    data = panel.data
    assert data is not None
    chart = panel.per_day
    chart.getPlotItem().vb.autoRange(padding=0.05)
    qtbot.wait(50)

    # a click on today's dispute bar
    today = len(data.days) - 1
    layer = panel.per_day_layers.index("dispute")
    _click_bar(qtbot, chart, today, layer)
    expected = _reported(db, "dispute", data.days[today])
    assert len(expected) == 2
    qtbot.waitUntil(lambda: ws.ui.exact.current is not None, timeout=5000)
    assert _shown(ws) == expected
    assert ws.queue.exact_bar.isVisible()
    dispute = ws.queue.catalog.category_label("dispute")
    assert ws.queue.exact_label.text() == f"只显示：{data.days[today]:%m-%d} 上报的{dispute}"
    assert not ws.queue.status.isEnabled()  # the filter bar stands aside while the scope holds

    # exact as incidents change: another dispute today joins, a fire does not
    joined = street.report("又一起纠纷")
    street.report("又一起火情", category="fire")
    qtbot.waitUntil(lambda: joined in ws.queue.model.ids, timeout=15000)
    assert _shown(ws) == expected | {joined}

    # Esc in the queue: the whole queue again
    ws.queue.table.setFocus()
    qtbot.keyClick(ws.queue.table, Qt.Key.Key_Escape)
    assert ws.ui.exact.current is None and not ws.queue.exact_bar.isVisible()
    assert _shown(ws) == whole | {joined, street.made[-1]}

    # the keyboard: into the chart, Home goes to the oldest day with a report, Enter shows it
    qtbot.waitUntil(lambda: panel.data is not None and panel.data.total == 7, timeout=20000)
    data = panel.data
    chart.setFocus()
    qtbot.keyClick(chart, Qt.Key.Key_Home)
    assert chart.cursor is not None
    column, layer = chart.cursor
    oldest = min(n for n in range(len(data.days)) if any(c[n] for c in data.per_day.values()))
    assert column == oldest and panel.per_day_layers[layer] == "dispute"
    assert panel.cursor_text.text().startswith(data.days[oldest].strftime("%m-%d"))
    qtbot.keyClick(chart, Qt.Key.Key_Return)
    assert _shown(ws) == _reported(db, "dispute", data.days[oldest])
    # Right moves to the next day that has a report; Up to another category of that day
    qtbot.keyClick(chart, Qt.Key.Key_End)
    assert chart.cursor[0] == len(data.days) - 1
    qtbot.keyClick(chart, Qt.Key.Key_Up)
    category = panel.per_day_layers[chart.cursor[1]]
    qtbot.keyClick(chart, Qt.Key.Key_Enter)
    assert _shown(ws) == _reported(db, category, data.days[-1])

    # the open incidents by age: the youngest bar, by click and by keys
    panel.tabs.setCurrentWidget(panel.ages)
    ages = panel.ages
    qtbot.waitUntil(ages.isVisible, timeout=5000)
    ages.getPlotItem().vb.autoRange(padding=0.05)
    qtbot.wait(50)
    now = panel.data.made_at
    _click_bar(qtbot, ages, 0, 0)
    assert _shown(ws) == _open_aged(db, now, None, 1)
    assert len(_open_aged(db, now, None, 1)) == 5
    ages.setFocus()
    qtbot.keyClick(ages, Qt.Key.Key_Right)  # 1-3d is empty: the cursor goes on to 3-7d
    assert ages.cursor == (2, 0)
    qtbot.keyClick(ages, Qt.Key.Key_Return)
    assert _shown(ws) == _open_aged(db, now, 3, 7) and len(_open_aged(db, now, 3, 7)) == 1
    ws.queue.table.setFocus()
    qtbot.keyClick(ws.queue.table, Qt.Key.Key_Escape)
    assert ws.ui.exact.current is None
