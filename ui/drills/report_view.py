"""The after-action report of a drill run: figures per inject, a timeline chart, who did what,
earlier runs of the same scenario, and a PDF of it all.

The figures come from ``drills.build_report`` off the GUI thread; the chart is pyqtgraph
(injects, escalations and each officer's actions on the drill clock, in minutes).
"""

from __future__ import annotations

import html
import tempfile
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dispatch_console import drills
from dispatch_console.drills import (
    DrillReport,
    RunFigures,
    action_text,
    dispatch_text,
    expectation_label,
    fmt_s,
    state_text,
    status_text,
)
from dispatch_console.kernel.i18n import _
from dispatch_console.kernel.timefmt import fmt_local
from ui.shell import theme
from ui.shell.context import UiContext
from ui.shell.tables import refill

STATE_COLOURS = {"met": "#2e7d32", "missed": "#c62828", "open": "#757575", "not_started": "#757575"}
VERDICT_COLOURS = {"accepted": "#2e7d32", "changed": "#ef6c00", "without": "#757575", "none": "#757575"}


def _item(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    return item


class DrillReportView(QDialog):
    def __init__(self, ui: UiContext, run_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("drill-report")
        self.setWindowTitle(_("After-action report"))
        self.resize(1100, 760)
        self.ui = ui
        self.run_id = run_id
        self.report: DrillReport | None = None
        self.runs: list[RunFigures] = []
        layout = QVBoxLayout(self)
        self.summary = QLabel(_("Loading…"), self)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.tabs = QTabWidget(self)
        self.figures = QTreeWidget(self)
        self.figures.setHeaderLabels([_("Inject / expected action"), _("Target"), _("Actual"), _("Result")])
        self.figures.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.chart = pg.PlotWidget(self, background=self.chart_background())
        self.who_did_what = QTableWidget(0, 5, self)
        self.who_did_what.setHorizontalHeaderLabels([_("Drill time"), _("Who acted"), _("Station"), _("Incident"),
                                                _("Action")])
        self.who_did_what.horizontalHeader().setStretchLastSection(True)
        self.comparison = QTableWidget(0, 0, self)
        self.tabs.addTab(self.figures, _("Figures"))
        self.tabs.addTab(self.chart, _("Timeline chart"))
        self.tabs.addTab(self.who_did_what, _("Who did what"))
        self.tabs.addTab(self.comparison, _("Earlier runs"))
        buttons = QHBoxLayout()
        self.export_button = QPushButton(_("Export PDF…"), self)
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.choose_pdf)
        close = QPushButton(_("Close"), self)
        close.clicked.connect(self.close)
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(close)
        layout.addWidget(self.summary)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(buttons)
        self.load()

    # -- loading -----------------------------------------------------------------------------
    def load(self) -> None:
        db, run_id = self.ui.console.db, self.run_id

        def work() -> tuple[DrillReport, list[RunFigures]]:
            report = drills.build_report(db, run_id)
            return report, drills.compare_runs(db, report.scenario_code)

        self.ui.runner.run(work, on_success=self.show_report,
                           on_failure=lambda exc: self.summary.setText(str(exc)))

    def is_ready(self) -> bool:
        return self.report is not None

    def show_report(self, loaded: tuple[DrillReport, list[RunFigures]]) -> None:
        self.report, self.runs = loaded
        self.summary.setText(self.summary_text())
        self._fill_figures()
        self._draw_chart()
        self._fill_actions()
        self._fill_comparison()
        self.export_button.setEnabled(True)

    def summary_text(self) -> str:
        r = self.report
        assert r is not None
        return "\n".join([
            _("{name} (run {id}), started {start}, ×{speed}, {status}").format(
                name=r.scenario_name, id=r.run_id, start=fmt_local(r.started_at), speed=f"{r.speed:g}",
                status=status_text(r.status)),
            _("Expected actions: {met} met, {missed} missed. Escalations: {escalations}.").format(
                met=r.met, missed=r.missed, escalations=r.escalation_count),
        ])

    # -- tabs --------------------------------------------------------------------------------
    def _fill_figures(self) -> None:
        assert self.report is not None
        self.figures.clear()
        for i in self.report.injects:
            top = QTreeWidgetItem([f"{fmt_s(i.offset_s)}  {i.title}  {i.incident_number or ''}", "", "",
                                   i.outcome or ""])
            if i.kind == "incident":
                top.setText(2, _("acknowledge {ack}, dispatch {dispatch}, arrive {arrive}, escalations {n}").format(
                    ack=fmt_s(i.acknowledge_s), dispatch=fmt_s(i.dispatch_s), arrive=fmt_s(i.arrive_s),
                    n=i.escalations))
            for e in i.expectations:
                child = QTreeWidgetItem([expectation_label(e), fmt_s(e.target_s), fmt_s(e.actual_s),
                                         state_text(e.state, e.margin_s)])
                child.setForeground(3, QColor(STATE_COLOURS[e.state]))
                top.addChild(child)
            for step in i.steps:
                child = QTreeWidgetItem([_("Checklist: {text}").format(text=step.text), fmt_s(step.target_s),
                                         fmt_s(step.done_s), state_text(step.state, step.margin_s)])
                child.setForeground(3, QColor(STATE_COLOURS[step.state]))
                top.addChild(child)
            if i.dispatch is not None:  # the run card's proposal beside the units sent (also in the PDF)
                child = QTreeWidgetItem([dispatch_text(i.dispatch, verdict=False), "", "", i.dispatch.verdict_label])
                child.setForeground(3, QColor(VERDICT_COLOURS[i.dispatch.verdict]))
                child.setToolTip(0, dispatch_text(i.dispatch))
                top.addChild(child)
            self.figures.addTopLevelItem(top)
            top.setExpanded(True)

    @staticmethod
    def chart_background() -> str:
        return "#1e2227" if theme.current() == "dark" else "w"

    def chart_rows(self) -> list[str]:
        """The chart's rows from the top: injects, escalations, then each officer."""
        assert self.report is not None
        officers = list(dict.fromkeys(a.user for a in self.report.actions))
        return [_("Injects"), _("Escalations"), *officers]

    def _draw_chart(self) -> None:
        r = self.report
        assert r is not None
        plot = self.chart.getPlotItem()
        plot.clear()
        rows = self.chart_rows()
        y_of = {name: len(rows) - 1 - i for i, name in enumerate(rows)}
        plot.getAxis("left").setTicks([[(y, name) for name, y in y_of.items()]])
        plot.setLabel("bottom", _("Drill time (minutes)"))
        plot.showGrid(x=True, y=True, alpha=0.3)
        injects = [(i.fired_s / 60, i.title) for i in r.injects if i.fired_s is not None]
        series: list[tuple[list[tuple[float, str]], float, str, str]] = [
            (injects, y_of[rows[0]], "t", theme.drill_colour().name()),
            ([(e.scenario_s / 60, e.title) for e in r.escalations], y_of[rows[1]], "d", "#c62828"),
        ]
        for officer in rows[2:]:
            series.append(([(a.scenario_s / 60, f"{a.incident_number} {action_text(a)}") for a in r.actions
                            if a.user == officer], y_of[officer], "o", "#1565c0"))
        for points, y, symbol, colour in series:
            if not points:
                continue
            scatter = pg.ScatterPlotItem(x=[p[0] for p in points], y=[y] * len(points), data=[p[1] for p in points],
                                         symbol=symbol, size=12, brush=pg.mkBrush(colour), pen=pg.mkPen(colour),
                                         hoverable=True, tip=lambda x, y, data: f"{fmt_s(x * 60)} {data}")
            plot.addItem(scatter)
        end = pg.mkPen("#757575", style=Qt.PenStyle.DashLine)
        plot.addItem(pg.InfiniteLine(pos=r.duration_s / 60, angle=90, pen=end))
        plot.setYRange(-0.5, len(rows) - 0.5)
        plot.setXRange(0, max(r.duration_s, r.elapsed_s) / 60 * 1.02)

    def _fill_actions(self) -> None:
        assert self.report is not None
        actions = self.report.actions
        refill(self.who_did_what, ([_item(text) for text in (fmt_s(a.scenario_s), a.user, a.station or "",
                                                       a.incident_number, action_text(a))] for a in actions))

    def comparison_table(self) -> tuple[list[str], list[list[str]]]:
        """Header and rows of the runs side by side (the table and the PDF show the same)."""
        keys = list(dict.fromkeys(k for r in self.runs for k in r.per_inject))
        titles = {i.key: i.title for i in self.report.injects} if self.report else {}
        header = [_("Run"), _("Started"), _("Speed"), _("Status"), _("Met"), _("Missed"), _("Escalations"),
                  *[_("{inject}: acknowledge / dispatch / arrive").format(inject=titles.get(k, k)) for k in keys]]
        rows = []
        for r in self.runs:
            rows.append([f"#{r.run_id}", fmt_local(r.started_at, "%m-%d %H:%M"), f"×{r.speed:g}",
                         status_text(r.status), str(r.met), str(r.missed), str(r.escalations),
                         *[" / ".join(fmt_s(v) for v in r.per_inject.get(k, (None, None, None))) for k in keys]])
        return header, rows

    def _fill_comparison(self) -> None:
        header, rows = self.comparison_table()
        self.comparison.setColumnCount(len(header))
        self.comparison.setHorizontalHeaderLabels(header)
        refill(self.comparison, ([_item(text) for text in row] for row in rows))

    # -- PDF ---------------------------------------------------------------------------------
    def choose_pdf(self) -> None:
        path, _filter = QFileDialog.getSaveFileName(self, _("Export PDF"), f"drill-{self.run_id}.pdf", "PDF (*.pdf)")
        if path:
            self.export_pdf(Path(path))

    def report_html(self, chart_png: Path | None) -> str:
        r = self.report
        assert r is not None
        e = html.escape
        parts = [f"<h2>{e(_('After-action report'))}: {e(r.scenario_name)}</h2>",
                 "<p>" + "<br/>".join(e(line) for line in self.summary_text().splitlines()) + "</p>",
                 f"<h3>{e(_('Objectives'))}</h3><ul>" + "".join(f"<li>{e(o)}</li>" for o in r.objectives) + "</ul>",
                 f"<h3>{e(_('Figures'))}</h3>", "<table border='1' cellspacing='0' cellpadding='3' width='100%'>"]
        parts.append("<tr>" + "".join(f"<th>{e(h)}</th>" for h in (
            _("Inject / expected action"), _("Target"), _("Actual"), _("Result"))) + "</tr>")
        for i in range(self.figures.topLevelItemCount()):
            top = self.figures.topLevelItem(i)
            assert top is not None
            parts.append(f"<tr><td colspan='4'><b>{e(top.text(0))}</b> {e(top.text(2))} {e(top.text(3))}</td></tr>")
            for j in range(top.childCount()):
                child = top.child(j)
                assert child is not None
                colour = child.foreground(3).color().name()
                parts.append("<tr>" + "".join(f"<td>{e(child.text(c))}</td>" for c in range(3))
                             + f"<td style='color:{colour}'>{e(child.text(3))}</td></tr>")
        parts.append("</table>")
        if chart_png is not None:
            parts.append(f"<h3>{e(_('Timeline chart'))}</h3><img src='{chart_png.as_uri()}' width='640'/>")
        parts.append(f"<h3>{e(_('Who did what'))}</h3><table border='1' cellspacing='0' cellpadding='3'>")
        for a in r.actions:
            parts.append("<tr>" + "".join(f"<td>{e(t)}</td>" for t in (
                fmt_s(a.scenario_s), a.user, a.station or "", a.incident_number, action_text(a))) + "</tr>")
        parts.append("</table>")
        header, rows = self.comparison_table()
        parts.append(f"<h3>{e(_('Earlier runs'))}</h3><table border='1' cellspacing='0' cellpadding='3'>")
        parts.append("<tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows]
        parts.append("</table>")
        return "\n".join(parts)

    def export_pdf(self, path: Path) -> int:
        """Write the report to ``path``; returns the number of pages."""
        from ui.shell.pdf_export import export_pdf

        assert self.report is not None
        with tempfile.TemporaryDirectory() as tmp:
            chart = Path(tmp) / "timeline.png"
            self.chart.resize(max(self.chart.width(), 900), max(self.chart.height(), 360))
            self.chart.setBackground("w")  # paper is white, whatever the theme on screen
            saved = self.chart.grab().save(str(chart))
            self.chart.setBackground(self.chart_background())
            pages = export_pdf(self.report_html(chart if saved else None), path,
                               title=_("Drill report {name} (run {id})").format(
                                   name=self.report.scenario_name, id=self.run_id))
        self.summary.setText(self.summary_text() + "\n" + _("Saved {path}").format(path=path))
        return pages

    def closeEvent(self, event: Any) -> None:
        self.chart.close()
        super().closeEvent(event)
