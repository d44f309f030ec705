"""GUI commands: ``run`` (the console) and ``screenshot VIEW OUT.png`` (render offscreen).

Registered by ``station/commands.py`` (without importing Qt); the window's panels come from the
composition root.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING

from dispatch_console.cli import EXIT_OK, EXIT_REJECTED, CliContext, UsageError
from dispatch_console.demo.database import prepare_demo_database
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.console import ConsoleContext
from dispatch_console.kernel.errors import DispatchError
from dispatch_console.kernel.i18n import _

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from ui.shell.main_window import Panels


def _console(ctx: CliContext, *, demo_default: bool) -> ConsoleContext:
    if ctx.args.demo or (demo_default and not ctx.args.db and not os.environ.get("DISPATCH_DB_URL")):
        ctx.args.demo = True
        prepare_demo_database(ctx.db_url, ctx.system_actor())
    db = ctx.database()  # refuses an unmigrated or newer schema with what to run
    return ConsoleContext(db, ctx.station, ctx.resources)


def use_saved_language(ctx: CliContext) -> str:
    """The language chosen in View → 中文/English (saved per workstation) is the console's from the
    next start on; ``--lang`` and ``DISPATCH_LANG`` still win for one run. Returns the language."""
    from dispatch_console.kernel.i18n import LANGUAGES, language, set_language
    from ui.shell import settings

    if getattr(ctx.args, "lang", None) or os.environ.get("DISPATCH_LANG"):
        return language()
    saved = str(settings.get("ui/language"))
    if saved in LANGUAGES and saved != language():
        set_language(saved)
    return language()


def use_configured_database(ctx: CliContext, *, ask: bool) -> bool:
    """The workstation's database and station name (Console → Settings) when the command line and
    the environment name none; with ``ask``, the first-run dialog when nothing is configured.
    False when the officer cancelled the first-run dialog."""
    from ui.shell import settings

    if not ctx.args.station and not os.environ.get("DISPATCH_STATION") and settings.get("station/name"):
        ctx.args.station = str(settings.get("station/name"))
    if ctx.args.db or ctx.args.demo or os.environ.get("DISPATCH_DB_URL"):
        return True
    if not settings.get("db/url") and ask:
        from ui.shell.settings_dialog import SettingsDialog

        if SettingsDialog(first_run=True).exec() != SettingsDialog.DialogCode.Accepted:
            return False
    if settings.get("db/url"):
        ctx.args.db = str(settings.get("db/url"))
        if not ctx.args.station and settings.get("station/name"):
            ctx.args.station = str(settings.get("station/name"))
    return True


def cmd_run(ctx: CliContext, panels: Panels) -> int:

    from ui.shell import crash
    from ui.shell.app import application
    from ui.shell.single_instance import SingleInstance, bring_forward

    use_saved_language(ctx)  # before the QApplication: it installs Qt's own translations for it
    app = application()
    if not use_configured_database(ctx, ask=True):
        return EXIT_OK
    instance = SingleInstance(ctx.station, ctx.args.user or os.environ.get("DISPATCH_USER"), app)
    if not instance.claim():
        print(_("A console for {station} already runs on this workstation: it was brought forward.").format(
            station=ctx.station), file=sys.stderr)
        return EXIT_OK
    opened: list[QWidget] = []
    instance.activated.connect(lambda: bring_forward(opened[-1]) if opened else None)
    reporter = crash.install(lambda: opened[0] if opened else None)  # no exception ends the shift
    try:
        return _run_console(ctx, panels, opened)
    finally:
        reporter.uninstall()
        instance.release()


def _run_console(ctx: CliContext, panels: Panels, opened: list[QWidget]) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox

    from ui.shell import dock_fit, settings
    from ui.shell.app import application

    app = application()
    ctx.ask_password = _ask_password  # type: ignore[method-assign]
    try:
        console = _console(ctx, demo_default=False)
    except DispatchError as exc:
        print(f"dispatch-console: {exc}", file=sys.stderr)
        QMessageBox.critical(None, _("Cannot open the database"), str(exc))
        return EXIT_REJECTED
    if ctx.args.user:
        console.actor = ctx.actor()
    else:
        from ui.shell.sign_in import sign_in

        console.actor = sign_in(console, demo=bool(ctx.args.demo))
        if console.actor is None:
            return EXIT_OK
    from ui.shell.garbage_collection import GarbageCollector
    from ui.shell.main_window import MainWindow

    window = MainWindow(console, panels=panels)
    opened.append(window)
    window.show()
    if settings.get("ui/state") is None:  # the first start: the default columns for this screen
        QTimer.singleShot(0, lambda: dock_fit.size_columns(window))
    collector = GarbageCollector(parent=window)  # from now on collections run between events
    collector.start()
    try:
        return int(app.exec())
    finally:
        collector.stop()


def _ask_password(display_url: str) -> str | None:
    """The console asks for the database password; the keyring may keep it (never plain text)."""
    from PySide6.QtWidgets import QInputDialog, QLineEdit, QMessageBox

    from dispatch_console.kernel import secrets

    password, ok = QInputDialog.getText(None, _("Database password"),
                                        _("Password for {url}:").format(url=display_url),
                                        QLineEdit.EchoMode.Password)
    if not ok or not password:
        return None
    answer = QMessageBox.question(None, _("Database password"),
                                  _("Keep this password in the system keyring for this workstation?"))
    if answer == QMessageBox.StandardButton.Yes:
        secrets.remember_password(display_url, password)
    return password


def _parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(_("--size is WIDTHxHEIGHT, e.g. 1600x960")) from None
    return w, h


def cmd_screenshot(ctx: CliContext, panels: Panels) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
    from ui.shell import dock_fit, theme
    from ui.shell.app import application
    from ui.shell.main_window import MainWindow, process_events_until

    width, height = _parse_size(ctx.args.size)
    app = application()
    if ctx.args.theme:
        theme.apply(app, ctx.args.theme)
    console = _console(ctx, demo_default=True)
    # A screenshot only reads: it shows an observer, never signs anybody in.
    console.actor = Actor(user_id=None, username="screenshot", role="observer", station=console.station,
                          display_name=_("Screenshot (observer)"))
    window = MainWindow(console, panels=panels, run_timers=False, restore_layout=False)  # looks only; fires nothing
    window.resize(width, height)
    target = window if ctx.args.view == "main" else _find_view(window, ctx.args.view)
    if target is None:
        names = ", ".join(["main", *sorted(_view_names(window))])
        raise UsageError(_("Unknown view {view}; choose one of: {names}").format(view=ctx.args.view, names=names))
    window.show()
    app.processEvents()
    dock_fit.size_columns(window)  # the default columns for this size, as on a screen this big
    if hasattr(target, "setFloating"):  # a dock: float it on its own at the requested size
        target.setFloating(True)
        target.resize(width, height)
        target.show()
    if ctx.args.select:
        select = getattr(window.central, "select_number", None)
        if select is not None:
            select(ctx.args.select)
    process_events_until(window.ready, 30000)
    settle = time.monotonic() + 0.5
    process_events_until(lambda: time.monotonic() > settle, 2000)
    ctx.args.out.parent.mkdir(parents=True, exist_ok=True)
    if not target.grab().save(str(ctx.args.out)):
        print(_("Could not write {path}").format(path=ctx.args.out), file=sys.stderr)
        return EXIT_REJECTED
    print(ctx.args.out)
    window.shutdown()
    window.deleteLater()  # not close(): a screenshot must not save its layout over the officer's
    return EXIT_OK


def _view_names(window: object) -> dict[str, object]:
    names: dict[str, object] = {}
    central = window.central  # type: ignore[attr-defined]
    names[getattr(central, "screenshot_name", "queue")] = central
    for dock in window.panels.values():  # type: ignore[attr-defined]
        name = getattr(dock, "screenshot_name", None)
        if name:
            names[name] = dock
    return names


def _find_view(window: object, view: str) -> object | None:
    return _view_names(window).get(view)


__all__ = ["cmd_run", "cmd_screenshot"]
