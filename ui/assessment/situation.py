"""The situation view (研判): pyqtgraph charts of the figures of ``assessment.situation``.

Four charts on tabs — reports per day by category (30 / 90 / 365 days, stacked bars), open incidents by age,
response times as 90th percentiles against the policy's targets per severity, warnings by rule —
and the shelters: each one's status, the people in it, its capacity and free places, with the
total. The figures are read off the GUI thread and again when incidents, warnings or shelters
change (at most once per refresh interval). Drills never count.

Every bar stands for incidents: clicking it, or reaching it with the arrow keys and pressing
Enter (``ui/assessment/bars.py``), shows exactly those incidents in the queue (``ui.exact``; Esc
there shows the whole queue again). A day's bar: that category's reports of the day; an age's:
the open incidents of that age; a p90 bar: the reports of that severity whose step was measured
(the times the p90 is taken from), the grey target bar beside it: the reports that breached the
target as the on-time rate counts them (the step reached late, or not yet and overdue); a rule's
bar: the incidents its warnings link to. A bar that stands for no incident (a
rule over the cases, a target nobody missed) says so in the cursor line and leaves the queue as
it is.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from dispatch_console import assessment as figures
from dispatch_console.assessment import TARGETS
from dispatch_console.incidents import ExactScope, QueueQuery, query_incidents
from dispatch_console.kernel.categories import load_catalog
from dispatch_console.kernel.i18n import _
from dispatch_console.warnings import RULES
from ui.assessment.bars import BarChart, Layer
from ui.shell.context import UiContext
from ui.shell.tables import refill

PALETTE = ("#1976d2", "#d32f2f", "#388e3c", "#f57c00", "#7b1fa2", "#0097a7", "#5d4037", "#c2185b", "#455a64",
           "#afb42b", "#512da8", "#00796b")
REFRESH_MS = 5000
REDRAW_ENTITIES = ("incident", "warning", "shelter")  # a shelter's status and arrivals/departures
SHELTER_COLOURS = {"open": "#2e7d32", "full": "#c62828", "closed": "#757575"}
TARGET_COLOUR = "#bdbdbd"  # the target: grey, beside the p90 measured against it
TARGET_LAYER = 0  # the response chart's layers: the target, then the p90
# The response chart's scale, in minutes: logarithmic, because the targets run from minutes
# (acknowledge) to days (resolve) and on a linear scale every bar but the resolve ones was a line.
RESPONSE_TICKS_MIN = (0, 1, 5, 15, 60, 240, 1440, 4320, 10080)


def log_minutes(minutes: float) -> float:
    """A response bar's height: ``log10(1 + minutes)`` (0 stays 0; 9 minutes is 1, 99 is 2)."""
    return math.log10(1.0 + max(minutes, 0.0))


def _cell(text: object, *, number: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(str(text))
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if number:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def shelter_summary(shelters: figures.Shelters) -> str:
    """One line for the top of the view: how many open / full / closed, people in them, free places."""
    return _("Shelters: {open} open, {full} full, {closed} closed; {people} people in them, "
             "{free} free places in the open ones").format(
        open=shelters.count("open"), full=shelters.count("full"), closed=shelters.count("closed"),
        people=shelters.people, free=shelters.free)


def _read(db: Any, days: int) -> tuple[figures.Situation, dict[str, figures.RuleLinks]]:
    """The figures, and what each rule's warnings in their window link to (off the GUI thread)."""
    data = figures.recent_situation(db, days)
    return data, figures.warning_links(db, data.days[0], data.days[-1])


class SituationPanel(QDockWidget):
    screenshot_name = "situation"
    default_visible = False  # the director opens it (View menu); the duty floor's layout stays as it was

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(_("Situation"), parent)
        self.setObjectName("situation")
        self.default_area = Qt.DockWidgetArea.BottomDockWidgetArea
        self.ui = ui
        self.data: figures.Situation | None = None
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        self.span = QComboBox(body)
        self.span.setObjectName("situation-window")
        for days in figures.WINDOWS:
            self.span.addItem(_("Last {n} days").format(n=days), days)
        self.span.currentIndexChanged.connect(lambda _i: self.reload())
        self.summary = QLabel(body)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        top.addWidget(self.span)
        top.addWidget(self.summary, 1)
        self.cursor_text = QLabel(body)
        self.cursor_text.setObjectName("situation-cursor")
        self.cursor_text.setTextFormat(Qt.TextFormat.PlainText)
        self.tabs = QTabWidget(body)
        self.per_day = BarChart(body, legend=True)
        self.per_day.setObjectName("situation-per-day")
        self.ages = BarChart(body)
        self.ages.setObjectName("situation-ages")
        self.response = BarChart(body, legend=True)
        self.response.setObjectName("situation-response")
        self.response.describer = self._describe_response
        self.by_rule = BarChart(body)
        self.by_rule.setObjectName("situation-by-rule")
        self.by_rule.describer = self._describe_rule
        for chart in (self.per_day, self.ages, self.response, self.by_rule):
            chart.setToolTip(_("Click a bar, or choose one with the arrow keys and Enter, to show "
                               "exactly those incidents in the queue"))
            chart.cursor_moved.connect(self._say_cursor)
        self.per_day.setAccessibleName(_("Reports per day"))
        self.ages.setAccessibleName(_("Open by age"))
        self.response.setAccessibleName(_("Response p90 against the target (min)"))
        self.response.setLabel("left", _("minutes, logarithmic scale"))
        self.by_rule.setAccessibleName(_("Warnings by rule"))
        self.per_day.chosen.connect(self._day_chosen)
        self.ages.chosen.connect(self._age_chosen)
        self.response.chosen.connect(self._response_chosen)
        self.by_rule.chosen.connect(self._rule_chosen)
        self.per_day_layers: list[str] = []  # the category of each layer of the reports per day
        self.response_columns: list[tuple[int, str]] = []  # (severity, step) of each response column
        self.rules: list[str] = []  # the rule of each column of the warnings by rule
        self.links: dict[str, figures.RuleLinks] = {}  # what each rule's warnings link to
        self.tabs.addTab(self.per_day, _("Reports per day"))
        self.tabs.addTab(self.ages, _("Open by age"))
        self.tabs.addTab(self.response, _("Response p90 against the target (min)"))
        self.tabs.addTab(self.by_rule, _("Warnings by rule"))
        self.shelters = QTableWidget(0, 6, body)
        self.shelters.setObjectName("situation-shelters")
        self.shelters.setHorizontalHeaderLabels([_("Shelter"), _("Community"), _("Status"), _("Occupancy"),
                                                 _("Capacity"), _("Free places")])
        self.shelters.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.shelters.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.shelters.verticalHeader().setVisible(False)
        self.shelters.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        # the total's status cell ("1 open, 1 full, 1 closed") is the widest: never elided
        self.shelters.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.tabs.addTab(self.shelters, _("Shelters"))
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.cursor_text)
        self.setWidget(body)
        self._loading = False
        self._stale = False
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._refresh_if_stale)
        self._timer.start()
        ui.feed.changed.connect(self._on_changes)
        self.reload()

    def days(self) -> int:
        return int(self.span.currentData() or 30)

    def reload(self) -> None:
        if self._loading:
            self._stale = True
            return
        self._loading = True
        db, days = self.ui.console.db, self.days()
        self.ui.runner.run(lambda: _read(db, days), on_success=self._read, on_failure=self._failed)

    def _refresh_if_stale(self) -> None:
        if self._stale and not self._loading and self.isVisible():  # a hidden dock: at the tick after it is shown
            self._stale = False
            self.reload()

    def _on_changes(self, changes: list[Any]) -> None:
        if any(getattr(c, "entity", None) in REDRAW_ENTITIES for c in changes):
            self._stale = True  # redrawn at the next tick, not once per change of a busy minute

    def _failed(self, exc: BaseException) -> None:
        self._loading = False
        self.summary.setText(_("Could not read the situation: {error}").format(error=exc))

    def _read(self, read: tuple[figures.Situation, dict[str, figures.RuleLinks]]) -> None:
        data, self.links = read
        self._loaded(data)

    def _loaded(self, data: figures.Situation) -> None:
        self._loading = False
        self.data = data
        catalog = load_catalog()
        summary = _("{n} reports, {open} open").format(n=data.total, open=sum(data.open_by_age.values()))
        if data.shelters.rows:
            summary += "\n" + shelter_summary(data.shelters)
        self.summary.setText(summary)
        self._fill_shelters(data.shelters)
        ordered = sorted(data.per_day.items(), key=lambda kv: -sum(kv[1]))  # the most reported at the bottom
        self.per_day_layers = [category for category, _counts in ordered]
        self.per_day.set_bars([d.strftime("%m-%d") for d in data.days],
                              [Layer(catalog.category_label(category), PALETTE[i % len(PALETTE)],
                                     tuple(float(v) for v in counts)) for i, (category, counts) in enumerate(ordered)],
                              tick_every=max(len(data.days) // 10, 1))
        self.ages.set_bars(list(data.open_by_age),
                           [Layer("", PALETTE[0], tuple(float(v) for v in data.open_by_age.values()))])
        self.response_columns = [(severity, kind) for severity, per in data.response.items() for kind in per]
        # the grey target beside the p90 measured against it, in each column
        self.response.set_bars(
            [f"{severity}·{_(TARGETS[kind])}" for severity, kind in self.response_columns],
            [Layer(_("Target"), TARGET_COLOUR, tuple(log_minutes(data.response[sev][kind].target_s / 60)
                                                     for sev, kind in self.response_columns)),
             Layer(_("p90"), PALETTE[1], tuple(log_minutes((data.response[sev][kind].p90_s or 0.0) / 60)
                                               for sev, kind in self.response_columns))],
            grouped=True)
        self.response.getAxis("left").setTicks([[(log_minutes(m), str(m)) for m in RESPONSE_TICKS_MIN]])
        self.rules = list(RULES)
        self.by_rule.set_bars([_(RULES[r]) for r in self.rules],
                              [Layer("", PALETTE[3], tuple(float(data.warnings_by_rule.get(r, 0))
                                                           for r in self.rules))])
        if self._stale:
            self._stale = False
            self.reload()

    # -- a bar chosen: exactly those incidents in the queue ------------------------------------
    def _say_cursor(self, text: str) -> None:
        self.cursor_text.setText(text)

    def _day_chosen(self, column: int, layer: int) -> None:
        if self.data is None or not 0 <= layer < len(self.per_day_layers) or not 0 <= column < len(self.data.days):
            return
        self.ui.exact.show(figures.reports_scope(self.per_day_layers[layer], self.data.days[column]))

    def _age_chosen(self, column: int, _layer: int) -> None:
        if self.data is None or self.data.made_at is None:
            return
        buckets = list(self.data.open_by_age)
        if 0 <= column < len(buckets):
            self.ui.exact.show(figures.age_scope(buckets[column], self.data.made_at))

    def _response(self, column: int) -> tuple[int, str, figures.Response] | None:
        if self.data is None or not 0 <= column < len(self.response_columns):
            return None
        severity, kind = self.response_columns[column]
        found = self.data.response.get(severity, {}).get(kind)
        return (severity, kind, found) if found is not None else None

    def _describe_response(self, column: int, layer: int) -> str:
        found = self._response(column)
        if found is None:
            return ""
        severity, kind, r = found
        values = {"severity": severity, "step": _(TARGETS[kind]), "target": figures.minutes_text(r.target_s),
                  "p90": figures.minutes_text(r.p90_s) if r.p90_s is not None else "—"}
        if layer == TARGET_LAYER:
            return _("Severity {severity}, {step}: target {target} min (p90 {p90} min); Enter shows the "
                     "incidents later than the target").format(**values)
        return _("Severity {severity}, {step}: p90 {p90} min (target {target} min); Enter shows the "
                 "incidents it is taken from").format(**values)

    def _response_chosen(self, column: int, layer: int) -> None:
        found = self._response(column)
        if found is None or self.data is None:
            return
        severity, kind, r = found
        first, last = self.data.days[0], self.data.days[-1]
        if layer != TARGET_LAYER:
            self.ui.exact.show(figures.response_scope(severity, kind, first, last))
            return
        if self.data.made_at is None:
            return
        scope = figures.late_scope(severity, kind, first, last, r.target_s, self.data.made_at)
        empty = _("Severity {severity}, {step}: none later than the {target} min target; the queue stays as "
                  "it is").format(severity=severity, step=_(TARGETS[kind]), target=figures.minutes_text(r.target_s))
        self._show_unless_empty(scope, empty)

    def _show_unless_empty(self, scope: ExactScope, empty: str) -> None:
        """Exactly the scope's incidents in the queue; when there are none, say so and leave the queue."""
        db = self.ui.console.db

        def shown(total: int) -> None:
            if total:
                self.ui.exact.show(scope)
            else:
                self.cursor_text.setText(empty)

        self.ui.runner.run(lambda: query_incidents(db, QueueQuery(exact=scope, limit=0)).total,
                           on_success=shown, on_failure=lambda exc: self.cursor_text.setText(
                               _("Could not read the situation: {error}").format(error=exc)))

    def _describe_rule(self, column: int, _layer: int) -> str:
        if self.data is None or not 0 <= column < len(self.rules):
            return ""
        rule = self.rules[column]
        links = self.links.get(rule, figures.RuleLinks(0, 0))
        values = {"rule": _(RULES[rule]), "n": self.data.warnings_by_rule.get(rule, 0),
                  "incidents": links.incidents, "cases": links.cases}
        if links.incidents:
            return _("{rule}: {n} warnings, linked to {incidents} incidents; Enter shows them").format(**values)
        if links.cases:
            return _("{rule}: {n} warnings, linked to {cases} cases and no incident: nothing to show "
                     "in the queue").format(**values)
        return _("{rule}: {n} warnings, linked to no incident: nothing to show in the queue").format(**values)

    def _rule_chosen(self, column: int, _layer: int) -> None:
        if self.data is None or not 0 <= column < len(self.rules):
            return
        rule = self.rules[column]
        if not self.links.get(rule, figures.RuleLinks(0, 0)).incidents:
            self.cursor_text.setText(self._describe_rule(column, 0))  # said again: the queue stays as it is
            return
        self.ui.exact.show(figures.warnings_scope(rule, self.data.days[0], self.data.days[-1]))

    def _fill_shelters(self, shelters: figures.Shelters) -> None:
        rows: list[list[QTableWidgetItem]] = []
        for r in shelters.rows:
            status = _cell(r.status_label)
            status.setForeground(QColor(SHELTER_COLOURS.get(r.status, "#757575")))
            rows.append([_cell(r.name), _cell(r.community or "—"), status, _cell(r.occupancy, number=True),
                         _cell(r.capacity, number=True),
                         _cell(r.free if r.status != "closed" else "—", number=True)])
        if shelters.rows:
            total = [_cell(_("Total")), _cell(""), _cell(_("{open} open, {full} full, {closed} closed").format(
                open=shelters.count("open"), full=shelters.count("full"), closed=shelters.count("closed"))),
                     _cell(shelters.people, number=True), _cell(shelters.capacity, number=True),
                     _cell(shelters.free, number=True)]
            bold = QFont()
            bold.setBold(True)
            for item in total:
                item.setFont(bold)
            rows.append(total)
        refill(self.shelters, rows)
