"""Every bar of the situation filters the queue: the response p90 against the target, and the
warnings by rule (issue #24; the reports per day and the open by age are test_situation_filters).

A small known street: reports of severity 3 acknowledged after 2, 4, 8 and 12 minutes (the
target is 5), one a day old and never acknowledged (overdue), one of severity 2 acknowledged in
a minute (its target is 2: on time); a drill, a cancelled report and one 40 days old, all
acknowledged late, that must not count. Warnings of four rules: a grid surge linking two reports
(and a drill), an older grid surge outside the window, a repeat address linking one, an official
warning answered by one incident, and a case that may escalate, which links a case and no
incident. The expected incidents are worked out here from the rows themselves (their step
times, status, drill flag, day), never from the figure, so the figure, the scope and the queue
are each checked against the same hand-made answer; times are compared at the figure's own
moment, so nothing depends on the time of day or on how long the test takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import select, update
from support.street import make_street
from support.world import isolated_settings, workstations  # noqa: F401

from db.engine import Database
from db.models import EarlyWarning, Incident
from dispatch_console.assessment import situation as figures
from dispatch_console.cases import service as cases
from dispatch_console.incidents.queue import QueueQuery, query_incidents
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.i18n import set_language
from dispatch_console.kernel.timefmt import LOCAL_TZ
from dispatch_console.warnings.board import raise_warning
from ui.assessment.bars import BAR_WIDTH, BarChart, Layer
from ui.assessment.situation import SituationPanel, log_minutes

STEPS = {"ack": "acknowledged_at", "dispatch": "dispatched_at", "arrive": "on_scene_at", "resolve": "resolved_at"}


@dataclass
class Seeded:
    street: Any
    ids: dict[str, int]
    case_id: int


def _acknowledged_after(db: Database, incident_id: int, minutes: float) -> None:
    with db.write() as s:
        created = s.execute(select(Incident.created_at).where(Incident.id == incident_id)).scalar_one()
        s.execute(update(Incident).where(Incident.id == incident_id).values(
            acknowledged_at=created + timedelta(minutes=minutes), status="acknowledged"))


def _seed(db: Database) -> Seeded:
    street = make_street(db)
    ids: dict[str, int] = {}
    for name, minutes, kwargs in (("a", 2, {}), ("b", 4, {}), ("c", 8, {}), ("d", 12, {"days_ago": 3}),
                                  ("e", None, {"days_ago": 1}), ("drill", 20, {"drill": True}),
                                  ("cancelled", 30, {}), ("old", 30, {"days_ago": 40}),
                                  ("h", 1, {"severity": 2})):
        ids[name] = street.report(f"响应{name}", **kwargs)  # type: ignore[arg-type]
        if minutes is not None:
            _acknowledged_after(db, ids[name], minutes)
    with db.write() as s:
        s.execute(update(Incident).where(Incident.id == ids["cancelled"]).values(status="cancelled"))
    case_id = cases.open_case(db, street.officer, cases.CaseDraft(kind="dispute", title="楼上漏水邻里纠纷", grid="G1"))
    system = Actor.system("test")
    with db.write() as s:
        def warn(rule: str, key: str, incidents: tuple[int, ...] = (), **kwargs: Any) -> int:
            return raise_warning(s, system, rule=rule, episode_key=key, level="warning", target_role=None,
                                 title=key, body=None, incident_ids=incidents, notify=False, **kwargs).warning_id

        warn("grid_surge", "surge-now", (ids["a"], ids["c"], ids["drill"]))
        warn("grid_surge", "surge-long-ago", (ids["d"],), at=s.execute(select(Incident.created_at).where(
            Incident.id == ids["old"])).scalar_one())
        warn("repeat_address", "address-now", (ids["b"],))
        official = warn("cap", "cap-now")
        s.execute(update(EarlyWarning).where(EarlyWarning.id == official).values(response_incident_id=ids["h"]))
        warn("case_may_escalate", "case-now", case_ids=(case_id,))
    return Seeded(street, ids, case_id)


def _rows(db: Database) -> list[Any]:
    with db.read() as s:
        return list(s.execute(select(Incident)).scalars())


def _in_window(inc: Incident, data: figures.Situation) -> bool:
    return (data.days[0] <= inc.created_at.astimezone(LOCAL_TZ).date() <= data.days[-1] and not inc.is_drill
            and inc.merged_into_id is None and inc.status != "cancelled")


def _taken(inc: Incident, kind: str) -> float | None:
    reached: datetime | None = getattr(inc, STEPS[kind])
    return None if reached is None else max((reached - inc.created_at).total_seconds(), 0.0)


def _measured(db: Database, data: figures.Situation, severity: int, kind: str) -> dict[int, float]:
    """By hand: the reports of the window of that severity with the step measured, and its time."""
    return {inc.id: t for inc in _rows(db) if _in_window(inc, data) and inc.severity == severity
            and (t := _taken(inc, kind)) is not None}


def _late(db: Database, data: figures.Situation, severity: int, kind: str, target_s: float) -> set[int]:
    """By hand: reached after the target, or not reached and overdue at the figure's moment."""
    assert data.made_at is not None
    out = set()
    for inc in _rows(db):
        if not (_in_window(inc, data) and inc.severity == severity):
            continue
        taken = _taken(inc, kind)
        if (taken if taken is not None else (data.made_at - inc.created_at).total_seconds()) > target_s:
            out.add(inc.id)
    return out


def _p90(times: list[float]) -> float | None:
    ordered = sorted(times)
    return ordered[-(-9 * len(ordered) // 10) - 1] if ordered else None


def _queue(db: Database, scope: Any) -> set[int]:
    page = query_incidents(db, QueueQuery(exact=scope, limit=1000))
    assert page.total == len(page.rows)
    return {r.id for r in page.rows}


def test_each_response_bar_stands_for_the_incidents_its_p90_and_its_breaches_are_counted_from(db: Database) -> None:
    seeded = _seed(db)
    ids = seeded.ids
    data = figures.situation(db, 30)
    assert data.made_at is not None
    first, last = data.days[0], data.days[-1]
    assert sorted(data.response) == [2, 3]
    seen = 0
    for severity, per in data.response.items():
        for kind, r in per.items():
            measured = _measured(db, data, severity, kind)
            shown = _queue(db, figures.response_scope(severity, kind, first, last))
            # the scope's incidents are the ones the p90 is computed from: the same set, so the same count
            assert shown == set(measured)
            assert r.p90_s == (pytest.approx(_p90(list(measured.values())), abs=1e-3) if measured else None)
            late = _late(db, data, severity, kind, r.target_s)
            assert _queue(db, figures.late_scope(severity, kind, first, last, r.target_s, data.made_at)) == late
            # and the breaches are the ones the on-time rate counts against: met / (met + late)
            met = sum(1 for t in measured.values() if t <= r.target_s)
            assert r.on_time_rate == (pytest.approx(met / (met + len(late))) if met + len(late) else None)
            seen += len(shown)
    assert seen == 5  # a, b, c, d acknowledged and h; not e (never), the drill, the cancelled, day 40
    ack = data.response[3]["ack"]
    assert ack.target_s == 300 and ack.p90_s == pytest.approx(720, abs=1e-3)  # the 4th of 4: 12 minutes
    assert _queue(db, figures.response_scope(3, "ack", first, last)) == {ids[n] for n in "abcd"}
    assert _queue(db, figures.late_scope(3, "ack", first, last, ack.target_s, data.made_at)) == {
        ids["c"], ids["d"], ids["e"]}
    assert ack.on_time_rate == pytest.approx(2 / 5)
    assert _queue(db, figures.late_scope(2, "ack", first, last, data.response[2]["ack"].target_s,
                                         data.made_at)) == set()


def test_each_rule_bar_stands_for_the_incidents_its_warnings_link_and_a_case_rule_for_none(db: Database) -> None:
    seeded = _seed(db)
    ids = seeded.ids
    data = figures.situation(db, 30)
    first, last = data.days[0], data.days[-1]
    assert data.warnings_by_rule == {"grid_surge": 1, "repeat_address": 1, "cap": 1, "case_may_escalate": 1}
    assert _queue(db, figures.warnings_scope("grid_surge", first, last)) == {ids["a"], ids["c"]}  # not the drill
    assert _queue(db, figures.warnings_scope("repeat_address", first, last)) == {ids["b"]}
    assert _queue(db, figures.warnings_scope("cap", first, last)) == {ids["h"]}  # the incident answering it
    assert _queue(db, figures.warnings_scope("case_may_escalate", first, last)) == set()
    assert figures.warning_links(db, first, last) == {
        "grid_surge": figures.RuleLinks(2, 0), "repeat_address": figures.RuleLinks(1, 0),
        "cap": figures.RuleLinks(1, 0), "case_may_escalate": figures.RuleLinks(0, 1)}
    # the 90 days take in the older surge and the report it linked
    wide = figures.situation(db, 90)
    assert wide.warnings_by_rule["grid_surge"] == 2
    assert _queue(db, figures.warnings_scope("grid_surge", wide.days[0], wide.days[-1])) == {
        ids["a"], ids["c"], ids["d"]}


def test_grouped_bars_stand_side_by_side_and_are_found_by_point_and_by_key(qtbot: Any) -> None:
    chart = BarChart()
    qtbot.addWidget(chart)
    chosen: list[tuple[int, int]] = []
    said: list[str] = []
    chart.chosen.connect(lambda c, n: chosen.append((c, n)))
    chart.cursor_moved.connect(said.append)
    chart.set_bars(["a", "b"], [Layer("target", "#bdbdbd", (5.0, 5.0)), Layer("p90", "#d32f2f", (12.0, 0.0))],
                   grouped=True)
    # side by side in a column of width BAR_WIDTH: the target left of the middle, the p90 right of it
    for column, layer in ((0, 0), (0, 1), (1, 0)):
        centre = chart.bar_centre(column, layer)
        assert (centre.x() < column) == (layer == 0) and abs(centre.x() - column) < BAR_WIDTH / 2
        assert chart.bar_at(centre.x(), centre.y()) == (column, layer)
        assert centre.y() == chart.value(column, layer) / 2  # from the axis, never stacked
    assert chart.bar_at(0.5, 1.0) is None  # between the columns
    assert chart.bar_at(chart.bar_centre(0, 0).x(), 6.0) is None  # above the target, beside the p90
    assert chart.bar_at(chart.bar_centre(0, 1).x(), 6.0) == (0, 1)
    assert chart.bar_at(1 + BAR_WIDTH / 4, 1.0) is None  # column b's p90 is empty
    chart.describer = lambda column, layer: f"{chart.columns[column]}/{chart.layers[layer].name}"
    chart.show()
    qtbot.waitExposed(chart)
    chart.setFocus()
    qtbot.keyClick(chart, Qt.Key.Key_End)
    assert chart.cursor == (1, 0) and said[-1] == "b/target"
    qtbot.keyClick(chart, Qt.Key.Key_Up)  # b has no p90 bar: the cursor stays
    assert chart.cursor == (1, 0)
    qtbot.keyClick(chart, Qt.Key.Key_Left)
    qtbot.keyClick(chart, Qt.Key.Key_Up)
    assert chart.cursor == (0, 1) and said[-1] == "a/p90"
    qtbot.keyClick(chart, Qt.Key.Key_Return)
    assert chosen == [(0, 1)]
    # stacked again (the reports per day): one bar on top of the other, as before
    chart.describer = None
    chart.set_bars(["a"], [Layer("x", "#1976d2", (2.0,)), Layer("y", "#d32f2f", (3.0,))])
    assert not chart.grouped and chart.bar_at(0.0, 1.0) == (0, 0) and chart.bar_at(0.0, 4.0) == (0, 1)
    assert chart.bar_centre(0, 1).y() == 3.5 and chart.describe(0, 1) == "a · y: 3"


def _click_bar(qtbot: Any, chart: Any, column: int, layer: int) -> None:
    box = chart.getPlotItem().vb
    point = chart.mapFromScene(box.mapViewToScene(chart.bar_centre(column, layer)))
    qtbot.mouseClick(chart.viewport(), Qt.MouseButton.LeftButton, pos=point)


def _numbers(db: Database, wanted: set[int]) -> set[str]:
    with db.read() as s:
        return set(s.execute(select(Incident.number).where(Incident.id.in_(wanted))).scalars())


def _shown(qtbot: Any, ws: Any, label: str) -> set[str]:
    """What the queue shows once the scope labelled ``label`` holds (a target bar asks first whether
    anything breached it, off the GUI thread)."""
    qtbot.waitUntil(lambda: ws.ui.exact.current is not None and ws.ui.exact.current.label == label, timeout=15000)
    ws.settle()
    assert ws.queue.model.total == ws.queue.model.rowCount()
    return set(ws.numbers())


def _fit(qtbot: Any, chart: Any, top: float) -> None:
    """Show the bottom of the chart (minutes beside a 24-hour target are a few pixels high)."""
    qtbot.waitUntil(chart.isVisible, timeout=5000)
    chart.getPlotItem().vb.setRange(xRange=(-0.6, len(chart.columns) - 0.4), yRange=(0, top), padding=0)
    qtbot.wait(50)


def test_a_click_or_enter_on_a_response_or_rule_bar_shows_exactly_those_incidents(
        qtbot: Any, db: Database, workstations: Any) -> None:  # noqa: F811
    seeded = _seed(db)
    ids = seeded.ids
    set_language("zh_CN")
    ws = workstations(db, seeded.street.leader)
    panel = SituationPanel(ws.ui, ws.host)
    ws.show()
    panel.show()
    qtbot.waitUntil(lambda: panel.data is not None, timeout=15000)
    ws.settle()
    data = panel.data
    assert data is not None and data.made_at is not None
    first, last = data.days[0], data.days[-1]
    days = f"{first:%m-%d}–{last:%m-%d}"

    # the response chart: per severity × step, the grey target beside the p90
    chart = panel.response
    panel.tabs.setCurrentWidget(chart)
    assert chart.grouped and [layer.name for layer in chart.layers] == ["时限", "P90"]
    assert chart.accessibleName() == "响应用时 P90 与时限（分钟）"
    ack3 = panel.response_columns.index((3, "ack"))
    assert chart.columns[ack3] == "3·受理"
    # heights in minutes on a logarithmic scale: 5 minutes stand readable beside a 24-hour target
    assert chart.layers[0].values[ack3] == log_minutes(5)
    assert chart.layers[1].values[ack3] == pytest.approx(log_minutes(12), abs=1e-4)
    qtbot.waitUntil(chart.isVisible, timeout=5000)  # clicked as drawn: no zooming in first
    qtbot.wait(50)
    _click_bar(qtbot, chart, ack3, 1)  # the p90 bar: every severity-3 report acknowledged
    label = figures.response_scope(3, "ack", first, last).label
    assert label == f"{days} 上报的3级事件中已受理的"
    assert _shown(qtbot, ws, label) == _numbers(db, {ids[n] for n in "abcd"})
    assert ws.queue.exact_label.text() == f"只显示：{label}"
    assert panel.cursor_text.text() == "3级 · 受理：P90 12 分钟（时限 5 分钟）；按回车显示据以计算的事件"
    _click_bar(qtbot, chart, ack3, 0)  # the target bar beside it: those later than 5 minutes
    late = figures.late_scope(3, "ack", first, last, 300, data.made_at).label
    assert late == f"{days} 上报的3级事件中受理超过 5 分钟时限的"
    assert _shown(qtbot, ws, late) == _numbers(db, {ids["c"], ids["d"], ids["e"]})

    # the keyboard: Home to severity 2's acknowledgement, its target bar (nobody late) leaves the queue
    chart.setFocus()
    qtbot.keyClick(chart, Qt.Key.Key_Home)
    assert chart.cursor == (panel.response_columns.index((2, "ack")), 0)
    assert panel.cursor_text.text().startswith("2级 · 受理：时限 2 分钟（P90 1 分钟）")
    held = ws.ui.exact.current
    qtbot.keyClick(chart, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: panel.cursor_text.text() == "2级 · 受理：没有超过 2 分钟时限的事件，事件队列保持不变",
                    timeout=15000)
    assert ws.ui.exact.current is held and set(ws.numbers()) == _numbers(db, {ids["c"], ids["d"], ids["e"]})
    qtbot.keyClick(chart, Qt.Key.Key_Up)  # the p90 beside it
    assert chart.cursor == (panel.response_columns.index((2, "ack")), 1)
    qtbot.keyClick(chart, Qt.Key.Key_Space)
    assert _shown(qtbot, ws, figures.response_scope(2, "ack", first, last).label) == _numbers(db, {ids["h"]})
    for _step in range(ack3):
        qtbot.keyClick(chart, Qt.Key.Key_Right)  # each column of severity 2 has its target bar
    assert chart.cursor is not None and chart.cursor[0] == ack3
    qtbot.keyClick(chart, Qt.Key.Key_Down)
    assert chart.cursor == (ack3, 0)
    qtbot.keyClick(chart, Qt.Key.Key_Enter)
    assert _shown(qtbot, ws, late) == _numbers(db, {ids["c"], ids["d"], ids["e"]})

    # the warnings by rule
    rules = panel.by_rule
    panel.tabs.setCurrentWidget(rules)
    assert rules.accessibleName() == "各类预警数"
    _fit(qtbot, rules, 1.5)
    surge = panel.rules.index("grid_surge")
    _click_bar(qtbot, rules, surge, 0)
    surge_label = figures.warnings_scope("grid_surge", first, last).label
    assert surge_label == f"{days} 发出的“网格激增”预警所关联的事件"
    assert _shown(qtbot, ws, surge_label) == _numbers(db, {ids["a"], ids["c"]})
    rules.setFocus()
    qtbot.keyClick(rules, Qt.Key.Key_Home)  # the first rule with warnings: the repeat address
    assert rules.cursor == (panel.rules.index("repeat_address"), 0)
    qtbot.keyClick(rules, Qt.Key.Key_Return)
    assert _shown(qtbot, ws, figures.warnings_scope("repeat_address", first, last).label) == _numbers(db, {ids["b"]})
    qtbot.keyClick(rules, Qt.Key.Key_Right)
    assert rules.cursor == (surge, 0)
    qtbot.keyClick(rules, Qt.Key.Key_Right)  # past the rules with no warning, to the case rule
    assert rules.cursor is not None and panel.rules[rules.cursor[0]] == "case_may_escalate"
    said = panel.cursor_text.text()
    assert said.endswith("只关联案件 1 件，没有关联事件，事件队列保持不变")
    held = ws.ui.exact.current
    qtbot.keyClick(rules, Qt.Key.Key_Return)  # links only a case: said, and the queue is not emptied
    assert panel.cursor_text.text() == said
    ws.settle()
    assert ws.ui.exact.current is held and set(ws.numbers()) == _numbers(db, {ids["b"]})
    qtbot.keyClick(rules, Qt.Key.Key_Right)  # the official warning: the incident started in answer to it
    assert rules.cursor is not None and panel.rules[rules.cursor[0]] == "cap"
    qtbot.keyClick(rules, Qt.Key.Key_Return)
    assert _shown(qtbot, ws, figures.warnings_scope("cap", first, last).label) == _numbers(db, {ids["h"]})
    ws.queue.table.setFocus()
    qtbot.keyClick(ws.queue.table, Qt.Key.Key_Escape)
    assert ws.ui.exact.current is None


def test_a_chart_with_nothing_to_count_shows_a_scale_from_zero(qtbot: Any) -> None:
    chart = BarChart()
    qtbot.addWidget(chart)
    chart.show()
    qtbot.waitExposed(chart)
    chart.set_bars(["a", "b"], [Layer("warnings", "#d32f2f", (0.0, 0.0))])
    chart.getViewBox().updateAutoRange()  # as drawing the chart does
    low, high = chart.getViewBox().viewRange()[1]
    assert low == 0 and high == 1  # not a band of negative counts around the zero line
    chart.set_bars(["a", "b"], [Layer("warnings", "#d32f2f", (3.0, 7.0))])
    chart.getViewBox().updateAutoRange()
    low, high = chart.getViewBox().viewRange()[1]
    assert low <= 0 and high >= 7  # counts again: the scale follows them
