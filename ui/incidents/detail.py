"""The incident details dock (事件详情): every field, the timeline, units and notes, and actions.

It follows the selected incident (``ui.selection``) and reads it again when the change feed
says it changed, at whichever workstation. The action buttons carry the version shown here,
so an officer acting on what they read never overwrites a change they did not see. With the
panel focused the action letters of ui/incidents/actions.py work too. Everything is plain text.
Notes taken while the database was away are listed under the notes as waiting (待上传) until the
replay has added them.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDockWidget,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QTabWidget,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dispatch_console import incidents
from dispatch_console.incidents import IncidentDetail, IncidentRow, TimelineEvent, event_label
from dispatch_console.kernel import audit
from dispatch_console.kernel.categories import load_catalog
from dispatch_console.kernel.errors import NotFound
from dispatch_console.kernel.i18n import N_, _
from dispatch_console.kernel.timefmt import fmt_local
from ui.incidents.actions import SPECS, IncidentActions
from ui.shell import theme
from ui.shell.change_router import INCIDENT_CHANGES, changed_incident_ids
from ui.shell.context import UiContext

log = logging.getLogger(__name__)


FIELDS: tuple[tuple[str, str], ...] = (
    ("category", N_("Category")),
    ("severity", N_("Severity")),
    ("status", N_("Status")),
    ("source", N_("Source")),
    ("grid", N_("Grid")),
    ("address", N_("Address")),
    ("coordinates", N_("Coordinates")),
    ("reporter", N_("Reporter")),
    ("people", N_("People involved")),
    ("owner", N_("Owner")),
    ("recorded", N_("Recorded")),
    ("reported", N_("Reported at")),
    ("progress", N_("Progress")),
    ("checklist", N_("Checklist")),
    ("links", N_("Duplicates")),
    ("external", N_("External id")),
    ("description", N_("Description")),
)


def _plain(text: str = "", *, wrap: bool = True, selectable: bool = True) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(wrap)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                      | Qt.TextInteractionFlag.TextSelectableByKeyboard)
    return label


def event_text(event: TimelineEvent) -> str:
    """What happened, in words (the event's note and names from its data, never markup)."""
    what = event_label(event.kind)
    data = event.data or {}
    extra: list[str] = []
    if event.kind == "merged_into" and data.get("into_number"):
        extra.append(str(data["into_number"]))
    if event.kind == "merged_from" and data.get("from_number"):
        extra.append(str(data["from_number"]))
    names = [str(n) for n in (data.get("units") or []) + (data.get("people") or [])]
    if names:
        extra.append(", ".join(names))
    if event.kind == "released" and data.get("name"):
        extra.append(str(data["name"]))
    if event.kind == "updated" and isinstance(data.get("changes"), dict):
        extra.append(", ".join(f"{k}: {v[0]} → {v[1]}" if isinstance(v, list) and len(v) == 2 else str(k)
                               for k, v in data["changes"].items()))
    if event.note:
        extra.append(event.note)
    return " — ".join([what, *extra])


class IncidentDetailPanel(QDockWidget):
    screenshot_name = "detail"
    default_area = Qt.DockWidgetArea.RightDockWidgetArea

    def __init__(self, ui: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(_("Incident details"), parent)
        self.setObjectName("incident-detail")
        self.ui = ui
        self.catalog = load_catalog(ui.console.resources)
        self.detail: IncidentDetail | None = None
        self.incident_id = 0
        self._request = 0
        self._loading = False
        self._build()
        self.actions_ = IncidentActions(ui, self, self.current_row)
        self.actions_.make_actions(self)
        for spec in SPECS:
            button = QToolButton(self.buttons_box)
            button.setDefaultAction(self.actions_.actions[spec.name])
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setText(f"{_(spec.label)} ({spec.key})")
            button.setObjectName(f"detail-{spec.name}")
            self.buttons[spec.name] = button
        for i, spec in enumerate(SPECS):
            self.buttons_layout.addWidget(self.buttons[spec.name], i // 5, i % 5)
        self.buttons_layout.setColumnStretch(5, 1)  # buttons stay together on the left
        self.actions_.message.connect(self.show_message)
        self.actions_.reload.connect(lambda incident_id: self.load(incident_id) if incident_id == self.incident_id
                                     else None)
        ui.selection.changed.connect(self.load)
        ui.session.actor_changed.connect(lambda _a: self.actions_.update_enabled())
        ui.router.on_changes(INCIDENT_CHANGES, self._on_changes)
        self.offline = self.actions_.offline
        self.offline.changed.connect(self._pending_notes_changed)
        self._show(None)
        if ui.selection.current:
            self.load(ui.selection.current)

    # -- construction -------------------------------------------------------------------------
    def _build(self) -> None:
        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)
        self.title = _plain(wrap=False)
        self.title.setObjectName("detail-title")
        font = self.title.font()
        font.setPointSize(font.pointSize() + 3)
        font.setBold(True)
        self.title.setFont(font)
        layout.addWidget(self.title)
        self.buttons_box = QWidget(body)
        self.buttons_layout = QGridLayout(self.buttons_box)
        self.buttons_layout.setContentsMargins(0, 0, 0, 0)
        self.buttons: dict[str, QToolButton] = {}
        layout.addWidget(self.buttons_box)
        self.message = _plain()
        self.message.setObjectName("detail-message")
        layout.addWidget(self.message)

        self.tabs = QTabWidget(body)
        fields_page = QWidget()
        form = QFormLayout(fields_page)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        self.values: dict[str, QLabel] = {}
        self._revealed: tuple[int, str | None] | None = None  # (incident id, phone) shown in full
        for key, label in FIELDS:
            value = _plain()
            value.setObjectName(f"detail-{key}")
            self.values[key] = value
            if key == "reporter":  # the phone shows masked; in full only on request, audited
                row_widget = QWidget()
                row_layout = QHBoxLayout(row_widget)
                row_layout.setContentsMargins(0, 0, 0, 0)
                row_layout.addWidget(value, 1)
                self.reveal_phone = QToolButton()
                self.reveal_phone.setObjectName("detail-reveal-phone")
                self.reveal_phone.setText(_("Show in full"))
                self.reveal_phone.setToolTip(_("Show the reporter's phone in full (recorded in the audit log)"))
                self.reveal_phone.clicked.connect(self._reveal_phone)
                self.reveal_phone.setVisible(False)
                row_layout.addWidget(self.reveal_phone)
                form.addRow(_plain(_(label), selectable=False), row_widget)
                continue
            form.addRow(_plain(_(label), selectable=False), value)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # long text wraps
        scroll.setWidget(fields_page)
        self.tabs.addTab(scroll, _("Details"))
        self.timeline = self._tree([_("Time"), _("By"), _("Station"), _("What happened")])
        self.tabs.addTab(self.timeline, _("Timeline"))
        self.units = self._tree([_("Unit / person"), _("Status"), _("Assigned"), _("Arrived"), _("Released")])
        self.tabs.addTab(self.units, _("Units"))
        self.notes = self._tree([_("Time"), _("By"), _("Note")])
        self.tabs.addTab(self.notes, _("Notes"))
        layout.addWidget(self.tabs, 1)
        self.setWidget(body)

    def _tree(self, headers: list[str]) -> QTreeWidget:
        tree = QTreeWidget()
        tree.setHeaderLabels(headers)
        tree.setRootIsDecorated(False)
        tree.setUniformRowHeights(True)
        tree.setAlternatingRowColors(True)
        tree.setWordWrap(True)
        return tree

    # -- loading ------------------------------------------------------------------------------
    def current_row(self) -> IncidentRow | None:
        return self.detail.row if self.detail is not None else None

    def load(self, incident_id: int) -> None:
        if incident_id != self.incident_id:
            self.message.clear()
            self._revealed = None
        self.incident_id = incident_id
        self._request += 1
        request = self._request
        if not incident_id:
            self._show(None)
            return
        self._loading = True
        db = self.ui.console.db
        self.ui.runner.run(lambda: incidents.get_incident(db, incident_id),
                           on_success=lambda d: self._loaded(request, d),
                           on_failure=lambda exc: self._failed(request, exc))

    def _loaded(self, request: int, detail: IncidentDetail) -> None:
        if request != self._request:
            return  # the officer moved on meanwhile
        self._loading = False
        self._show(detail)

    def _failed(self, request: int, exc: BaseException) -> None:
        if request != self._request:
            return
        self._loading = False
        if isinstance(exc, NotFound) or (self.detail is not None and self.detail.row.id != self.incident_id):
            # never leave another incident on show (with its keys, a note offline) for the one chosen
            self._show(None)
        self.show_message(str(exc), True)

    def is_ready(self) -> bool:
        return not self._loading

    def _pending_notes_changed(self) -> None:
        if self.detail is not None:
            self._show(self.detail)

    def _on_changes(self, changes: list[Any]) -> None:
        # the incident, its checklist, or one of its timers (a deadline fired: its escalation line)
        if self.incident_id and self.incident_id in changed_incident_ids(changes):
            self.load(self.incident_id)

    # -- showing ------------------------------------------------------------------------------
    def _show(self, detail: IncidentDetail | None) -> None:
        self.detail = detail
        self.actions_.update_enabled()
        for tree in (self.timeline, self.units, self.notes):
            tree.clear()
        if detail is None:
            self.title.setText(_("No incident selected"))
            self.title.setStyleSheet("")
            for value in self.values.values():
                value.clear()
            return
        row = detail.row
        c = self.catalog
        title = f"{row.number}  {c.severity_label(row.severity)}  {c.status_label(row.status)}"
        if row.is_drill:
            title = _("[DRILL] {number}").format(number=title)
        self.title.setText(title)
        colour = theme.drill_colour() if row.is_drill else theme.severity_colours(row.severity)[0]
        self.title.setStyleSheet(f"color: {colour.name()};")
        grid = row.grid_name or ""
        if row.community_name:
            grid = f"{grid} ({row.community_name})" if grid else row.community_name
        revealed = self._revealed is not None and self._revealed[0] == row.id
        phone = self._revealed[1] if self._revealed is not None and revealed else audit.mask_phone(row.reporter_phone)
        reporter = " ".join(x for x in (row.reporter_name, phone) if x)
        self.reveal_phone.setVisible(bool(row.reporter_phone) and not revealed)
        recorded = " · ".join(x for x in (fmt_local(row.created_at), detail.created_by_name, detail.station) if x)
        progress = [
            (c.status_label(status), at) for status, at in (
                ("acknowledged", row.acknowledged_at), ("dispatched", row.dispatched_at),
                ("on_scene", row.on_scene_at), ("resolved", row.resolved_at), ("closed", row.closed_at))
        ]
        links = []
        if detail.merged_into_number:
            links.append(_("merged into {number}").format(number=detail.merged_into_number))
        if detail.merged_from:
            links.append(_("duplicates merged in: {numbers}").format(numbers=", ".join(detail.merged_from)))
        values = {
            "category": c.category_label(row.category),
            "severity": c.severity_label(row.severity),
            "status": c.status_label(row.status),
            "source": c.source_label(row.source),
            "grid": grid,
            "address": row.address or "",
            "coordinates": f"{row.lon:.6f}, {row.lat:.6f}" if row.lon is not None and row.lat is not None else "",
            "reporter": reporter,
            "people": "" if row.people_count is None else str(row.people_count),
            "owner": row.owner_name or "",
            "recorded": recorded,
            "reported": fmt_local(row.reported_at),
            "progress": "\n".join(f"{label} {fmt_local(at)}" for label, at in progress if at),
            "checklist": f"{row.checklist_done}/{row.checklist_total}" if row.checklist_total else "",
            "links": "\n".join(links),
            "external": detail.external_id or "",
            "description": row.description,
        }
        for key, value in values.items():
            self.values[key].setText(value)
        for event in detail.events:
            who = event.username or ""
            self.timeline.addTopLevelItem(QTreeWidgetItem(
                [fmt_local(event.at), who, event.station or "", event_text(event)]))
            if event.kind == "note" and event.note:
                self.notes.addTopLevelItem(QTreeWidgetItem([fmt_local(event.at), who, event.note]))
        muted = theme.muted_colour()
        for note in self.offline.journal.notes_for(incident_id=row.id):
            if note.state == "waiting":
                text = _("Waiting to be added: {text}").format(text=note.text)
            else:
                text = _("Refused ({reason}): {text}").format(reason=note.reason or "", text=note.text)
            item = QTreeWidgetItem([fmt_local(note.taken_at), note.actor.username, text])
            for col in range(3):
                item.setForeground(col, muted if note.state == "waiting" else theme.deadline_colour("red"))
            self.notes.addTopLevelItem(item)
        for a in detail.assignments:
            self.units.addTopLevelItem(QTreeWidgetItem([
                a.name, _("Released") if a.released_at else c.unit_status_label(a.status),
                fmt_local(a.assigned_at), fmt_local(a.arrived_at), fmt_local(a.released_at)]))
        for tree in (self.timeline, self.units, self.notes):
            for col in range(tree.columnCount() - 1):
                tree.resizeColumnToContents(col)
        self.timeline.scrollToBottom()

    def _reveal_phone(self) -> None:
        """The reporter's phone in full: asked of the core, which writes who looked into the audit log."""
        actor, row = self.ui.actor, self.current_row()
        if actor is None or row is None:
            return
        db, incident_id, name = self.ui.console.db, row.id, row.reporter_name

        def shown(phone: str | None) -> None:
            if self.incident_id == incident_id:
                self._revealed = (incident_id, phone)  # until another incident is selected
                self.values["reporter"].setText(" ".join(x for x in (name, phone) if x))
                self.reveal_phone.setVisible(False)

        self.ui.runner.run(lambda: audit.reveal(db, actor, incident_id), on_success=shown,
                           on_failure=lambda exc: self.show_message(str(exc), True))

    def show_message(self, text: str, error: bool = False) -> None:
        self.message.setText(("⚠ " if error else "") + text)
        colour = theme.deadline_colour("red" if error else "ok")
        self.message.setStyleSheet(f"color: {colour.name()};")
