"""The drill dock (演练): pick a scenario, start / pause / resume / abort it, follow its injects.

Every console shows the state of the drill that runs now (from the database, refreshed by the
change feed) and, while one runs, a DRILL banner across the main window with the drill clock.
A console whose officer may run drills (drill director, director, administrator) also drives
the run: a heartbeat calls ``drills.tick`` off the GUI thread, which fires due injects and
timers as a claim, so two directors' consoles never fire anything twice.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dispatch_console import drills
from dispatch_console.drills import (
    DrillRunRow,
    InjectRow,
    Scenario,
    ScenarioError,
    fmt_s,
    load_scenario,
    shipped_scenarios,
)
from dispatch_console.kernel.i18n import N_, _
from dispatch_console.kernel.permissions import allowed, refusal
from ui.shell import theme
from ui.shell.context import UiContext

log = logging.getLogger(__name__)

TICK_MS = 250
REFRESH_EVERY = 4  # heartbeats between reads on a console that only watches
KIND_LABELS = {"incident": N_("new incident"), "update": N_("update"), "unit_unavailable": N_("unit unavailable")}
COLUMNS = (N_("Time"), N_("Inject"), N_("Kind"), N_("Incident"), N_("State"))


class DrillPanel(QDockWidget):
    screenshot_name = "drills"

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(_("Emergency drills"), parent)
        self.setObjectName("drills")
        self.default_area = Qt.DockWidgetArea.RightDockWidgetArea
        self.tabify_with = "checklist"
        self.ui = ui
        self.run: DrillRunRow | None = None
        self.injects: list[InjectRow] = []
        self.scenarios: list[Scenario] = []
        self.report_view: Any = None
        self._ticking = False
        self._reading = False
        self._beats = 0
        self._build()
        self._update_buttons()
        self.heartbeat = QTimer(self)
        self.heartbeat.setInterval(TICK_MS)
        self.heartbeat.timeout.connect(self._beat)
        self.heartbeat.start()
        ui.feed.changed.connect(self._on_changes)
        ui.session.actor_changed.connect(self._on_actor_changed)
        self.load_scenarios()
        self.refresh()

    # -- construction ------------------------------------------------------------------------
    def _build(self) -> None:
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        pick = QHBoxLayout()
        self.scenario = QComboBox(body)
        self.scenario.setObjectName("drill-scenario")
        self.scenario.setToolTip(_("Drill scenario"))
        self.open_file = QPushButton(_("Open scenario file…"), body)
        self.open_file.clicked.connect(self.choose_file)
        pick.addWidget(self.scenario, 1)
        pick.addWidget(self.open_file)
        controls = QHBoxLayout()
        self.speed = QDoubleSpinBox(body)
        self.speed.setRange(0.5, drills.MAX_SPEED)
        self.speed.setDecimals(1)
        self.speed.setValue(1.0)
        self.speed.setPrefix("×")
        self.speed.setToolTip(_("Drill clock speed: 60 makes a scenario minute pass in a second"))
        self.start_button = QPushButton(_("Start"), body)
        self.pause_button = QPushButton(_("Pause"), body)
        self.resume_button = QPushButton(_("Resume"), body)
        self.abort_button = QPushButton(_("Abort"), body)
        self.report_button = QPushButton(_("After-action report"), body)
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.pause)
        self.resume_button.clicked.connect(self.resume)
        self.abort_button.clicked.connect(self._abort_clicked)
        self.report_button.clicked.connect(self.open_report)
        controls.addWidget(QLabel(_("Speed"), body))
        for w in (self.speed, self.start_button, self.pause_button, self.resume_button, self.abort_button):
            controls.addWidget(w)
        controls.addStretch(1)
        self.state = QLabel(body)
        self.state.setTextFormat(Qt.TextFormat.PlainText)
        self.state.setWordWrap(True)
        self.progress = QProgressBar(body)
        self.progress.setFormat("%v / %m")
        self.tree = QTreeWidget(body)
        self.tree.setHeaderLabels([_(c) for c in COLUMNS])
        self.tree.setRootIsDecorated(False)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.message = QLabel(body)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.why_disabled = QLabel(body)  # a greyed-out panel says why, and who may use it
        self.why_disabled.setObjectName("drills-why-disabled")
        self.why_disabled.setTextFormat(Qt.TextFormat.PlainText)
        self.why_disabled.setWordWrap(True)
        layout.addWidget(self.why_disabled)
        layout.addLayout(pick)
        layout.addLayout(controls)
        layout.addWidget(self.state)
        layout.addWidget(self.progress)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.report_button)
        layout.addWidget(self.message)
        self.setWidget(body)

    # -- scenarios ---------------------------------------------------------------------------
    def load_scenarios(self) -> None:
        resources = self.ui.console.resources

        def work() -> tuple[list[Scenario], list[str]]:
            found, problems = [], []
            for path in shipped_scenarios(resources):
                try:
                    found.append(load_scenario(path, resources))
                except ScenarioError as exc:
                    problems.extend(str(p) for p in exc.problems)
            return found, problems

        self.ui.runner.run(work, on_success=self._scenarios_loaded)

    def _scenarios_loaded(self, loaded: tuple[list[Scenario], list[str]]) -> None:
        scenarios, problems = loaded
        for scenario in scenarios:
            self.add_scenario(scenario, select=False)
        if problems:
            self.show_message("\n".join(problems), error=True)

    def add_scenario(self, scenario: Scenario, *, select: bool = True) -> None:
        """Offer a scenario (replacing one with the same code); ``select`` makes it the current one."""
        for i, known in enumerate(self.scenarios):
            if known.code == scenario.code:
                self.scenarios[i] = scenario
                self.scenario.setItemText(i, scenario.name)
                break
        else:
            self.scenarios.append(scenario)
            self.scenario.addItem(scenario.name, scenario.code)
        if select:
            self.scenario.setCurrentIndex(self.scenario.findData(scenario.code))
        self._update_buttons()

    def choose_file(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(self, _("Open scenario file"), "", _("Drill scenarios (*.toml)"))
        if path:
            self.open_scenario(Path(path))

    def open_scenario(self, path: Path) -> None:
        resources = self.ui.console.resources
        self.ui.runner.run(lambda: load_scenario(path, resources), on_success=self.add_scenario,
                           on_failure=lambda exc: self.show_message(str(exc), error=True))

    def current_scenario(self) -> Scenario | None:
        code = self.scenario.currentData()
        return next((s for s in self.scenarios if s.code == code), None)

    # -- the director's controls -------------------------------------------------------------
    def _control(self, fn: Any, done: str) -> None:
        def ok(run: DrillRunRow) -> None:
            self.show_message(done)
            self._show_run(run)
            self.refresh()

        self.ui.runner.run(fn, on_success=ok, on_failure=lambda exc: self.show_message(str(exc), error=True))

    def start(self) -> None:
        scenario, actor, speed = self.current_scenario(), self.ui.console.actor, float(self.speed.value())
        if scenario is None or actor is None:
            return
        db = self.ui.console.db
        self._control(lambda: drills.start_drill(db, actor, scenario, speed),
                      _("Drill started: {name}").format(name=scenario.name))

    def pause(self) -> None:
        self._change(drills.pause_drill, _("Drill paused."))

    def resume(self) -> None:
        self._change(drills.resume_drill, _("Drill resumed."))

    def abort(self, confirm: bool = True) -> None:
        if confirm and self.run is not None and QMessageBox.question(
                self, _("Abort the drill"), _("End the drill {name} now? The report covers what happened so far.")
                .format(name=self.run.scenario_name)) != QMessageBox.StandardButton.Yes:
            return
        self._change(drills.abort_drill, _("Drill aborted."))

    def _abort_clicked(self) -> None:
        self.abort()

    def _on_actor_changed(self, _actor: object) -> None:
        self._update_buttons()

    def _change(self, fn: Any, done: str) -> None:
        run, actor, db = self.run, self.ui.console.actor, self.ui.console.db
        if run is None or actor is None:
            return
        self._control(lambda: fn(db, actor, run.id, run.version), done)

    def open_report(self) -> None:
        if self.run is None:
            return
        from ui.drills.report_view import DrillReportView

        self.report_view = DrillReportView(self.ui, self.run.id, self)
        self.report_view.show()

    # -- following the run -------------------------------------------------------------------
    def quit_concern(self) -> str | None:
        """Quitting mid-drill leaves the drill without its director's console."""
        run = self.run
        if run is None or not run.active:
            return None
        return _("The drill {name} (run {id}) is {status}; quitting leaves it without this console.").format(
            name=run.scenario_name, id=run.id, status=run.status_label)

    def drives(self) -> bool:
        actor = self.ui.console.actor
        return actor is not None and allowed(actor, "drill.run")

    def _beat(self) -> None:
        if self.run is None or not self.run.active:
            return
        if self.drives():
            if not self._ticking:
                self._ticking = True
                db, station = self.ui.console.db, self.ui.console.station
                self.ui.runner.run(lambda: drills.tick(db, station), on_success=self._ticked,
                                   on_failure=self._tick_failed)
        else:
            self._beats += 1
            if self._beats % REFRESH_EVERY == 0:
                self.refresh()

    def _ticked(self, result: drills.TickResult) -> None:
        self._ticking = False
        if result.fired or result.ended or result.run is None:
            self.refresh()
        else:
            self._show_run(result.run)

    def _tick_failed(self, exc: BaseException) -> None:
        self._ticking = False
        log.warning("drill tick failed: %s", exc)
        self.show_message(str(exc), error=True)

    def _on_changes(self, changes: list[Any]) -> None:
        if any(getattr(c, "entity", None) == "drill" for c in changes):
            self.refresh()

    def refresh(self) -> None:
        if self._reading:
            return
        self._reading = True
        db = self.ui.console.db

        def work() -> tuple[DrillRunRow | None, list[InjectRow]]:
            run = drills.active_run(db) or next(iter(drills.list_runs(db, limit=1)), None)
            return run, drills.injects_of(db, run.id) if run is not None else []

        def done(loaded: tuple[DrillRunRow | None, list[InjectRow]]) -> None:
            self._reading = False
            self.injects = loaded[1]
            self._show_run(loaded[0])
            self._show_injects()

        def failed(exc: BaseException) -> None:
            self._reading = False
            self.show_message(str(exc), error=True)

        self.ui.runner.run(work, on_success=done, on_failure=failed)

    def _show_run(self, run: DrillRunRow | None) -> None:
        self.run = run
        if run is None:
            self.state.setText(_("No drill has been run yet."))
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
        else:
            self.state.setText(_("{name} (run {id}): {status}, drill time {time} of {duration}, ×{speed}").format(
                name=run.scenario_name, id=run.id, status=run.status_label, time=fmt_s(run.scenario_s),
                duration=fmt_s(run.duration_s), speed=f"{run.speed:g}"))
            self.progress.setRange(0, max(1, run.injects_total))
            self.progress.setValue(run.injects_fired)
        self._show_banner()
        self._update_buttons()

    def _show_injects(self) -> None:
        self.tree.clear()
        colour = theme.drill_colour()
        for inject in self.injects:
            if inject.outcome:
                state = inject.outcome
            elif inject.fired_at is not None:
                state = _("arrived")
            else:
                state = _("waiting")
            item = QTreeWidgetItem([fmt_s(inject.offset_s), inject.title, _(KIND_LABELS.get(inject.kind, inject.kind)),
                                    inject.incident_number or "", state])
            if inject.fired_at is not None:
                item.setForeground(0, colour)
            else:
                item.setForeground(4, theme.muted_colour())
            self.tree.addTopLevelItem(item)

    def _show_banner(self) -> None:
        window = self.parent()
        show = getattr(window, "show_banner", None)
        if show is None:
            return
        run = self.run
        if run is None or not run.active:
            show("drill", None)
            return
        text = (_("DRILL — paused — {name} — drill time {time} of {duration}") if run.status == "paused"
                else _("DRILL IN PROGRESS — {name} — drill time {time} of {duration} — ×{speed}"))
        show("drill", text.format(name=run.scenario_name, time=fmt_s(run.scenario_s),
                                  duration=fmt_s(run.duration_s), speed=f"{run.speed:g}"),
             theme.drill_colour().name())

    def _update_buttons(self) -> None:
        director = self.drives()
        active = self.run is not None and self.run.active
        self.start_button.setEnabled(director and not active and self.current_scenario() is not None)
        self.pause_button.setEnabled(director and active and self.run is not None and self.run.status == "running")
        self.resume_button.setEnabled(director and active and self.run is not None and self.run.status == "paused")
        self.abort_button.setEnabled(director and active)
        self.report_button.setEnabled(self.run is not None)
        for w in (self.scenario, self.open_file, self.speed):
            w.setEnabled(director and not active)
        reason = None if director else refusal(self.ui.console.actor, "drill.run")
        if reason:
            reason += " " + _("Drills are started and steered by a drill director (导调), the director or an "
                              "administrator; everyone can follow the run and read its report here.")
        self.why_disabled.setText(reason or "")
        self.why_disabled.setVisible(bool(reason))
        for w in (self.start_button, self.pause_button, self.resume_button, self.abort_button):
            w.setToolTip(reason or "")

    def show_message(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet(theme.warning_style() if error else "")
        self.message.setText(text)

    def is_ready(self) -> bool:
        return not self._reading

    def shutdown(self) -> None:
        self.heartbeat.stop()
        if self.report_view is not None:
            self.report_view.close()
