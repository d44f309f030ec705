"""``dispatch-console self-test``: does this installation work, end to end, on this machine?

Run by IT after installing (and by CI on the built program): it creates a temporary SQLite
database, migrates and seeds it with the demo street, renders the main window and the map
offscreen and checks that every panel loaded, writes a handover PDF and checks that the Chinese
font travels inside it, and lets the timer engine fire one deadline. One line per check; the exit
code is 0 only when every check passed. Nothing outside the temporary folder is touched (no
settings, no saved layout, no database of the workstation).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dispatch_console import __version__
from dispatch_console.cli import EXIT_OK, EXIT_REJECTED, CliContext
from dispatch_console.demo import self_test as core
from dispatch_console.demo.self_test import CheckFailed
from dispatch_console.kernel.i18n import _
from ui.shell.fonts import SHIPPED_POSTSCRIPT

if TYPE_CHECKING:
    from dispatch_console.kernel.console import ConsoleContext
    from ui.shell.main_window import MainWindow, Panels

WINDOW_TIMEOUT_MS = 120_000  # a slow, busy machine still gets there; a broken panel never does
TIMER_TIMEOUT_S = 60.0
MIN_MAP_COLOURS = 8  # grids, their shading, markers and labels give dozens; an empty page one or two


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


class _ErrorRecords(logging.Handler):
    """Collects what the views log as errors while the window loads: a panel that failed to load
    its data says so in its dock and in the log, and the self-test counts it as a failure."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}")


class SelfTest:
    def __init__(self, folder: Path, panels: Panels, out: Callable[[str], None]) -> None:
        self.folder = folder
        self.panels = panels
        self.out = out
        self.checks: list[Check] = []
        self.db_url = f"sqlite:///{folder / 'self-test.sqlite3'}"
        self.window: MainWindow | None = None
        self.console: ConsoleContext | None = None

    def check(self, name: str, fn: Callable[[], str]) -> bool:
        try:
            detail, ok = fn(), True
        except Exception as exc:  # every failure becomes one line, never a traceback
            logging.getLogger(__name__).debug("self-test check %s failed", name, exc_info=True)
            detail, ok = (str(exc) or type(exc).__name__).splitlines()[0], False
        self.checks.append(Check(name, ok, detail))
        self.out(f"{'ok  ' if ok else 'FAIL'}  {name:<12} {detail}")
        return ok

    # -- the checks (the window's; the others are the core's, dispatch_console.demo.self_test) --
    def main_window(self) -> str:
        from ui.shell.app import application
        from ui.shell.main_window import MainWindow, process_events_until

        application()
        self.console = core.console(self.db_url)
        errors = _ErrorRecords()
        logging.getLogger("ui").addHandler(errors)
        try:
            window = self.window = MainWindow(self.console, panels=self.panels, run_timers=False,
                                              restore_layout=False)
            window.resize(1366, 768)
            window.show()
            ready = process_events_until(window.ready, WINDOW_TIMEOUT_MS)
        finally:
            logging.getLogger("ui").removeHandler(errors)
        problems = [f"{path}: {error}" for path, error in window.panel_errors.items()]
        if type(window.central).__name__ == "QLabel":
            problems.append(_("the incident queue did not load"))
        problems += errors.messages
        if problems:
            raise CheckFailed("; ".join(problems))
        if not ready:
            waiting = [name for name, dock in window.panels.items() if not getattr(dock, "is_ready", lambda: True)()]
            raise CheckFailed(_("still loading after {s} s: {names}").format(
                s=WINDOW_TIMEOUT_MS // 1000, names=", ".join(waiting) or _("the change feed")))
        expected = len(self.panels.docks)
        if len(window.panels) != expected:
            raise CheckFailed(_("{n} of {expected} panels").format(n=len(window.panels), expected=expected))
        return _("{n} panels and the queue loaded").format(n=expected)

    def map(self) -> str:
        window = self._window()  # the map is the dock named "map" (the shell does not import the map room)
        panel: Any = next((d for d in window.panels.values() if getattr(d, "screenshot_name", None) == "map"), None)
        if panel is None:
            raise CheckFailed(_("the main window has no map"))
        drawn = panel.run_js("({leaflet: typeof L !== 'undefined' ? L.version : null, "
                             "shapes: document.querySelectorAll('.leaflet-interactive').length})")
        if not isinstance(drawn, dict) or not drawn.get("leaflet"):
            raise CheckFailed(_("Leaflet did not load in the map page"))
        if not drawn.get("shapes"):
            raise CheckFailed(_("the map drew no grids or incidents"))
        from ui.shell.main_window import process_events_until

        settle = time.monotonic() + 1.0  # Chromium paints the last batch after it acknowledged it
        process_events_until(lambda: time.monotonic() > settle, 3000)
        image = panel.view.grab().toImage()
        colours = {image.pixel(x * image.width() // 40, y * image.height() // 40)
                   for x in range(40) for y in range(40)}
        if len(colours) < MIN_MAP_COLOURS:  # a blank or one-colour page: nothing was painted
            raise CheckFailed(_("the map view shows {n} colours: nothing drawn").format(n=len(colours)))
        out = self.folder / "map.png"
        if not panel.grab().save(str(out)):
            raise CheckFailed(_("Could not write {path}").format(path=out))
        return _("Leaflet {version}, {n} shapes, {colours} colours drawn").format(
            version=drawn["leaflet"], n=drawn["shapes"], colours=len(colours))

    def pdf(self) -> str:
        from dispatch_console import handover
        from ui.shell.fonts import shipped_cjk_family
        from ui.shell.pdf_export import embedded_fonts, export_pdf

        record = handover.preview(self._console().db, None)
        out = self.folder / "handover.pdf"
        pages = export_pdf(handover.handover_html(record), out, title=_("Self-test"))
        family = shipped_cjk_family()
        embedded = sorted(f.lstrip("/") for f in embedded_fonts(out))
        chinese = [f for f in embedded if f.split("+")[-1] == SHIPPED_POSTSCRIPT]
        if not chinese:
            raise CheckFailed(_("{family} is not embedded (fonts: {fonts})").format(
                family=family, fonts=", ".join(embedded) or "-"))
        return _("{pages} pages, {font} embedded").format(pages=pages, font=chinese[0])

    # -- plumbing ----------------------------------------------------------------------------
    def _console(self) -> ConsoleContext:
        if self.console is None:
            self.console = core.console(self.db_url)
        return self.console

    def _window(self) -> MainWindow:
        if self.window is None:
            raise CheckFailed(_("the main window did not open"))
        return self.window

    def run(self) -> bool:
        self.out(_("dispatch-console {version} self-test in {folder}").format(version=__version__,
                                                                             folder=self.folder))
        self.check(_("time zone"), core.time_zone)
        if self.check(_("database"), lambda: core.migrate(self.db_url)) and \
                self.check(_("demo data"), lambda: core.seed(self.db_url)):
            if self.check(_("window"), self.main_window):
                self.check(_("map"), self.map)
            self.check(_("PDF"), self.pdf)
            self.check(_("timers"), lambda: core.fire_one_timer(self.db_url, TIMER_TIMEOUT_S))
        self.close()
        failed = [c.name for c in self.checks if not c.ok]
        if failed:
            self.out(_("self-test FAILED: {names}").format(names=", ".join(failed)))
        else:
            self.out(_("self-test passed: {n} checks").format(n=len(self.checks)))
        return not failed

    def close(self) -> None:
        if self.window is not None:
            self.window.shutdown()
            self.window.deleteLater()
            self.window = None
        if self.console is not None:
            self.console.db.dispose()
            self.console = None


def cmd_self_test(ctx: CliContext, panels: Panels) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
    keep = getattr(ctx.args, "keep", None)
    with tempfile.TemporaryDirectory(prefix="dispatch-self-test-", ignore_cleanup_errors=True) as tmp:
        folder = Path(keep) if keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        test = SelfTest(folder, panels, lambda line: print(line, flush=True))
        passed = test.run()
    sys.stdout.flush()
    return EXIT_OK if passed else EXIT_REJECTED


__all__ = ["SelfTest", "cmd_self_test"]
