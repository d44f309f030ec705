"""The main window: the queue in the middle, dockable panels around it, a status bar that says
where this workstation stands (station, officer, database, connection, database time).

The window is given its views as :class:`Panels` (the composition root, ``station/composition.py``,
lists them); each dock is a QDockWidget built as ``Class(ui: UiContext, parent)`` (see
ui/shell/context.py). Any panel can float to a second monitor;
the layout, theme and language persist per workstation (QSettings).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QByteArray, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSizePolicy,
    QToolBar,
    QWidget,
)

from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.change_kinds import Entity
from dispatch_console.kernel.console import ConsoleContext
from dispatch_console.kernel.i18n import _
from dispatch_console.timers import TimerEngine
from ui.shell import about, dock_fit, settings, settings_dialog, theme
from ui.shell.background import BackgroundRunner
from ui.shell.context import IncidentSelection, Session, UiContext
from ui.shell.dock_tabs import hide_stale_tab_bars
from ui.shell.feed import QtChangeFeed
from ui.shell.lock_screen import install_session_guard
from ui.shell.quit_guard import confirm_quit, quit_concerns
from ui.shell.status_bar import ConsoleStatusBar

log = logging.getLogger(__name__)

ViewFactory = Callable[[UiContext, QWidget], QWidget]


@dataclass(frozen=True)
class Panels:
    """The central view, then the docks in their default order (classes built as ``Class(ui, parent)``)."""

    central: ViewFactory
    docks: Sequence[ViewFactory] = ()
    status: Sequence[ViewFactory] = ()  # the rooms' warnings in the status bar (a channel down, …)


# The default arrangement (a saved layout replaces it): per area, groups of docks stacked top to
# bottom; the docks of one group share a place as tabs, the first one in front.
# Every dock a room adds joins a group here: a dock of its own in a side column squeezes the map and
# the incident detail (seen with the supplies and transfers docks). The side columns own the bottom
# corners, so a bottom dock (the case board) sits under the queue, not under the map.
DEFAULT_LAYOUT: dict[Qt.DockWidgetArea, list[list[str]]] = {
    Qt.DockWidgetArea.LeftDockWidgetArea: [["duty_board", "jurisdiction", "supplies"], ["handover"]],
    Qt.DockWidgetArea.RightDockWidgetArea: [["map"], ["incident-detail"],
                                            ["checklist", "notifications", "calls", "drills", "warnings",
                                             "transfers"]],
}


class MainWindow(QMainWindow):
    def __init__(self, console: ConsoleContext, *, panels: Panels, start_feed: bool = True,
                 run_timers: bool | None = None,
                 restore_layout: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("main-window")
        self.console = console
        self.panel_set = panels
        self.runner = BackgroundRunner(self)
        self.feed = QtChangeFeed(console, self)
        self.ui = UiContext(console=console, runner=self.runner, feed=self.feed,
                            selection=IncidentSelection(self), session=Session(console, self))
        self.runner.default_failure = self.show_error
        self.panels: dict[str, QDockWidget] = {}
        self.panel_errors: dict[str, str] = {}
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks
                            | QMainWindow.DockOption.AllowNestedDocks)
        dock_fit.initial_size(self)  # before the docks: their default widths follow the window's
        self._build_central()
        self._build_panels()
        self.status = ConsoleStatusBar(self.ui, self)
        self.status_warnings = [factory(self.ui, self.status) for factory in panels.status]
        for n, widget in enumerate(self.status_warnings):
            self.status.insertPermanentWidget(4 + n, widget)  # after station, officer, database, connection
        self.setStatusBar(self.status)
        theme.style_panels(self)  # the theme's style sheet on docks and the status bar, not the queue
        self._build_menus()
        self.ui.session.actor_changed.connect(self._on_actor_changed)
        self._on_actor_changed(console.actor)
        if restore_layout:
            self._restore_layout()
        hide_stale_tab_bars(self)
        self.session_guard = install_session_guard(self)  # idle lock, "Switch officer" (Ctrl+Shift+L)
        self._feed_started = start_feed
        if start_feed:
            self.feed.start()
        self.timer_engine = self._start_timer_engine() if (start_feed if run_timers is None else run_timers) else None

    def _start_timer_engine(self) -> TimerEngine:
        """Every console also keeps the deadlines: each fires exactly once, whoever claims it."""
        engine = TimerEngine(self.console.db, self.console.station)

        def on_changes(changes: list) -> None:  # a re-arm may read the database: off the GUI thread
            self.runner.run(lambda: engine.on_changes(changes))

        self.ui.router.on_changes({Entity.TIMER}, on_changes)
        self.runner.run(engine.start)  # measures the database clock first: not on the GUI thread
        return engine

    # -- construction ------------------------------------------------------------------------
    def _build_central(self) -> None:
        try:
            self.central = self.panel_set.central(self.ui, self)
        except Exception as exc:  # keep the console usable, and say what is missing
            log.exception("central view failed to load")
            self.central = QLabel(_("The incident queue could not be loaded: {error}").format(error=exc))
            self.central.setTextFormat(Qt.TextFormat.PlainText)
            self.central.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setCentralWidget(self.central)

    def _build_panels(self) -> None:
        for factory in self.panel_set.docks:
            path = f"{factory.__module__}.{getattr(factory, '__qualname__', factory)}"
            try:
                dock = factory(self.ui, self)
            except Exception as exc:
                log.exception("panel %s failed to load", path)
                self.panel_errors[path] = str(exc)
                continue
            if not dock.objectName():
                dock.setObjectName(path)
            self.panels[dock.objectName()] = dock_fit.scrollable(dock)
        self._default_layout()

    def _default_layout(self) -> None:
        """Who-is-on-duty on the left; map, the incident at hand and the alerts on the right."""
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        placed: set[str] = set()
        for area, groups in DEFAULT_LAYOUT.items():
            for group in groups:
                docks = [self.panels[name] for name in group if name in self.panels]
                if not docks:
                    continue
                self.addDockWidget(area, docks[0])
                for dock in docks[1:]:
                    self.tabifyDockWidget(docks[0], dock)
                docks[0].raise_()
                placed.update(d.objectName() for d in docks)
        for name, dock in self.panels.items():
            if name not in placed:
                self.addDockWidget(getattr(dock, "default_area", Qt.DockWidgetArea.RightDockWidgetArea), dock)
            if not getattr(dock, "default_visible", True):
                dock.hide()
        left = [self.panels[g[0]] for g in DEFAULT_LAYOUT[Qt.DockWidgetArea.LeftDockWidgetArea] if g[0] in self.panels]
        right = [self.panels[g[0]] for g in DEFAULT_LAYOUT[Qt.DockWidgetArea.RightDockWidgetArea]
                 if g[0] in self.panels]
        self.dock_columns = (left, right)  # the groups of each column, top to bottom
        dock_fit.size_columns(self)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.menu_console = bar.addMenu(_("&Console"))
        self.menu_incident = bar.addMenu(_("&Incident"))
        self.menu_view = bar.addMenu(_("&View"))
        self.menu_duty = bar.addMenu(_("&Duty"))
        self.menu_help = bar.addMenu(_("&Help"))

        settings_dialog.add_to_menu(self, self.menu_console)
        quit_action = QAction(_("Quit"), self)
        quit_action.setShortcut(QKeySequence("Ctrl+Q"))  # every platform alike (no platform theme: no Quit key)
        quit_action.setObjectName("console-quit")
        quit_action.triggered.connect(self.request_quit)
        self.menu_console.addAction(quit_action)

        for dock in self.panels.values():
            self.menu_view.addAction(dock.toggleViewAction())
        self.menu_view.addSeparator()
        themes = QActionGroup(self)
        for name, label in (("light", _("Day theme")), ("dark", _("Night theme"))):
            act = QAction(label, self, checkable=True)
            act.setChecked(theme.current() == name)
            act.triggered.connect(lambda _c=False, n=name: self.set_theme(n))
            themes.addAction(act)
            self.menu_view.addAction(act)
        self.menu_view.addSeparator()
        langs = QActionGroup(self)
        current_lang = str(settings.get("ui/language"))
        for code, label in (("zh_CN", "中文"), ("en", "English")):
            act = QAction(label, self, checkable=True)
            act.setChecked(code == current_lang)
            act.triggered.connect(lambda _c=False, c=code: self.set_language(c))
            langs.addAction(act)
            self.menu_view.addAction(act)
        for dock in self.panels.values():
            contribute: Callable[[MainWindow], None] | None = getattr(dock, "contribute_actions", None)
            if contribute is not None:
                contribute(self)
        keys = QAction(_("Keyboard shortcuts"), self)
        keys.setShortcut(QKeySequence(Qt.Key.Key_F1))
        keys.triggered.connect(self.show_shortcuts)
        self.menu_help.addAction(keys)
        about.add_to_menu(self, self.ui, self.menu_help)
        central_contribute = getattr(self.central, "contribute_actions", None)
        if central_contribute is not None:
            central_contribute(self)

    # -- behaviour ---------------------------------------------------------------------------
    def set_actor(self, actor: Actor | None) -> None:
        self.ui.session.set_actor(actor)

    def _on_actor_changed(self, actor: Actor | None) -> None:
        who = actor.label if actor else _("nobody signed in")
        self.setWindowTitle(_("Duty-room console — {station} — {user}").format(
            station=self.console.station, user=who))

    def set_theme(self, name: str) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.apply(app, name)
        settings.put("ui/theme", name)
        for dock in self.panels.values():
            apply_theme = getattr(dock, "apply_theme", None)
            if apply_theme is not None:
                apply_theme(name)

    def set_language(self, code: str) -> None:
        settings.put("ui/language", code)
        QMessageBox.information(self, _("Language"), _("The language changes at the next start."))

    def show_banner(self, kind: str, text: str | None, colour: str = "#6a1b9a") -> None:
        """A full-width banner above the panels (kind ``drill`` while a drill runs); None hides it.

        While it shows, the window is framed in the banner's colour so no view can pass for real.
        """
        bar = self.findChild(QToolBar, f"banner-{kind}")
        if bar is None:
            bar = QToolBar(self)
            bar.setObjectName(f"banner-{kind}")
            bar.setMovable(False)
            label = QLabel(bar)
            label.setObjectName(f"banner-{kind}-text")
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
            bar.addWidget(label)
            self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        label = bar.findChild(QLabel, f"banner-{kind}-text")
        label.setText(text or "")
        bar.setStyleSheet(f"QToolBar {{ background: {colour}; }} QLabel {{ color: white; font-weight: bold; "
                          "font-size: 15px; padding: 4px; }")
        bar.setVisible(bool(text))
        self.setStyleSheet(f"QMainWindow#main-window {{ border: 4px solid {colour}; }}" if text else "")

    def show_error(self, exc: BaseException) -> None:
        log.error("operation failed: %s", exc, exc_info=exc if not hasattr(exc, "field") else None)
        self.status.flash(str(exc), error=True)

    def show_shortcuts(self) -> None:
        lines = []
        for action in self.findChildren(QAction):
            seq = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if seq and action.text():
                lines.append(f"{seq}\t{action.text().replace('&', '')}")
        box = QMessageBox(self)
        box.setWindowTitle(_("Keyboard shortcuts"))
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText("\n".join(sorted(set(lines))))
        box.exec()

    def _restore_layout(self) -> None:
        geometry, state = settings.get("ui/geometry"), settings.get("ui/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self.restoreState(state)

    def request_quit(self) -> bool:
        """Ctrl+Q, the menu and the window's close button: ask first, naming what is at stake."""
        views = [self.central, *self.panels.values()]
        if not confirm_quit(self, quit_concerns(views)):
            return False
        self._quit_confirmed = True
        self.close()
        return True

    def closeEvent(self, event: QCloseEvent) -> None:
        if event.spontaneous() and not getattr(self, "_quit_confirmed", False):
            event.ignore()  # the window manager's close button: the same question as Ctrl+Q
            self.request_quit()
            return
        settings.put("ui/geometry", self.saveGeometry())
        settings.put("ui/state", self.saveState())
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        self.feed.stop()
        self.runner.wait_idle(10000)  # an engine still starting in a worker must finish first
        if self.timer_engine is not None:
            self.timer_engine.stop()
            self.timer_engine = None
        for dock in self.panels.values():
            stop = getattr(dock, "shutdown", None)
            if stop is not None:
                stop()
        stop_central = getattr(self.central, "shutdown", None)
        if stop_central is not None:
            stop_central()
        self.runner.wait_idle(5000)

    def ready(self) -> bool:
        """True when every panel that loads asynchronously (the map) has finished: screenshots."""
        widgets = [*self.panels.values(), self.central]
        feed_up = not self._feed_started or self.feed.core.connected.is_set()
        return feed_up and all(getattr(w, "is_ready", lambda: True)() for w in widgets) and self.runner.pending == 0


def process_events_until(predicate: Callable[[], bool], timeout_ms: int = 15000) -> bool:
    """Spin the event loop until ``predicate()`` holds (screenshots, tests)."""
    import time

    app = QApplication.instance()
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        if app is not None:
            app.processEvents()
        if predicate():
            return True
        QTimer.singleShot(10, lambda: None)
        time.sleep(0.01)
    return predicate()
