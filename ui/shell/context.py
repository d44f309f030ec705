"""What every panel of the console is given: no global lookups, no signal hub.

A panel is a QDockWidget subclass constructed as ``Panel(ui: UiContext, parent)``. It reads and
writes through services in ``dispatch_console`` with ``ui.console`` (the database and the
signed-in actor), runs that work with ``ui.runner.run(…)`` off the GUI thread, refreshes from
the console's one change router ``ui.router`` (the changed incidents' rows, read once for every
view, or the batches naming the entities it cares about; ``ui.feed.changed`` has every batch)
and follows/sets the selected incident through ``ui.selection``; a chart or the map asks the
queue to show exactly some incidents through ``ui.exact``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal

from dispatch_console.incidents import ExactScope
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.console import ConsoleContext
from ui.shell.background import BackgroundRunner
from ui.shell.change_router import ChangeRouter
from ui.shell.feed import QtChangeFeed


class IncidentSelection(QObject):
    """The incident the officer is working on; queue, map, detail and checklist follow it."""

    changed = Signal(int)  # incident id, 0 = none

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._current = 0

    @property
    def current(self) -> int:
        return self._current

    def select(self, incident_id: int | None) -> None:
        value = int(incident_id or 0)
        if value != self._current:
            self._current = value
            self.changed.emit(value)


class ExactIncidents(QObject):
    """"Show exactly these incidents" in the queue: a bar of the situation or a grid of the map asks,
    the queue shows them under a label until Esc (or another filter) clears it."""

    changed = Signal(object)  # ExactScope | None

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._current: ExactScope | None = None

    @property
    def current(self) -> ExactScope | None:
        return self._current

    def show(self, scope: ExactScope) -> None:
        self._current = scope
        self.changed.emit(scope)  # again for the same scope: the queue reads it afresh

    def clear(self) -> None:
        if self._current is not None:
            self._current = None
            self.changed.emit(None)


class Session(QObject):
    """The signed-in officer at this workstation; changes when another officer signs in."""

    actor_changed = Signal(object)  # Actor | None

    def __init__(self, console: ConsoleContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._console = console

    @property
    def actor(self) -> Actor | None:
        return self._console.actor

    def set_actor(self, actor: Actor | None) -> None:
        self._console.actor = actor
        self.actor_changed.emit(actor)


@dataclass
class UiContext:
    console: ConsoleContext
    runner: BackgroundRunner
    feed: QtChangeFeed
    selection: IncidentSelection
    session: Session
    exact: ExactIncidents = field(default_factory=ExactIncidents)
    router: ChangeRouter = field(init=False)  # one per console, around its feed

    def __post_init__(self) -> None:
        self.router = ChangeRouter(self.console, self.runner, self.feed, self.feed)

    @property
    def actor(self) -> Actor | None:
        return self.console.actor
