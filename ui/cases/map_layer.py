"""The map's case mode: grids coloured by their open cases (矛盾纠纷、信访), high risk and 可能激化 emphasised.

A layer of its own on the map panel (one line there), on the shared change-feed layer
(``ui.shell.map_layer``): off until the officer switches it on, by the key (Ctrl+Shift+G, also in
the View menu) or in the map's layer control; while on, it reads ``cases.reads.grid_case_counts``
in the background whenever a case changes and sends the counts to the page, which paints each
grid over the open-incident colours. Switching it off takes the colouring away and stops reading.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

from dispatch_console.cases import CaseGridCounts, grid_case_counts
from dispatch_console.kernel.i18n import _
from ui.shell.context import UiContext
from ui.shell.map_layer import FeedMapLayer

NAME = "case_grids"   # the layer's name in the page's layer control and its op
SHORTCUT = "Ctrl+Shift+G"


def case_labels() -> dict[str, Any]:
    """The case mode's words on the map page: its layer control, its legend rows, its grid tooltips."""
    return {"layers": _("Layers"), "case_grids": _("Grids by open cases"), "case_grids_key": SHORTCUT,
            "case_scale": _("Open cases per grid"), "case_emphasis": _("High risk or may escalate"),
            "open_cases": _("Open cases"), "high_risk_cases": _("high risk"), "may_escalate_cases": _("may escalate"),
            "cases_unplaced": _("{n} open cases have no grid")}


class CaseGridsLayer(FeedMapLayer):
    entities = frozenset({"case", "area", "database"})

    def __init__(self, ui: UiContext, map_panel: Any) -> None:
        super().__init__(ui, map_panel)
        self.enabled = False
        self.action = QAction(_("Colour grids by open cases"), map_panel)
        self.action.setCheckable(True)
        self.action.setShortcut(QKeySequence(SHORTCUT))
        self.action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.action.setToolTip(_("Colour each grid by its open disputes and petitions; high risk and "
                                 "may escalate outlined"))
        self.action.toggled.connect(self.set_enabled)
        map_panel.addAction(self.action)
        map_panel.bridge.layer_toggled.connect(self._on_page_toggle)
        self.op = {"op": NAME, "on": False}  # the page's control starts unticked, also after a reload
        self.start()

    def active(self) -> bool:
        return self.enabled

    def job(self) -> Callable[[], CaseGridCounts]:
        db = self.ui.console.db
        return lambda: grid_case_counts(db)

    def set_enabled(self, on: bool) -> None:
        """Switch the case mode on (read and paint) or off (the page drops the colouring)."""
        on = bool(on)
        if self.action.isChecked() != on:
            self.action.setChecked(on)  # toggled comes back here with the same value
            return
        if on == self.enabled:
            return
        self.enabled = on
        if on:
            self.reload()
        else:
            self.stale = False
            self.op = {"op": NAME, "on": False}
            self._send()

    def _on_page_toggle(self, name: str, on: bool) -> None:
        if name == NAME:
            self.set_enabled(on)

    def _send(self) -> None:
        if self.op is not None and self.op.get("on") and not self.enabled:
            self.op = {"op": NAME, "on": False}  # a read that ended after the mode was switched off
        super()._send()
