"""What an officer does to an incident, from the queue or the detail panel, with the keyboard.

Shortcuts (while the queue or the detail panel has the focus; F1 lists them all):

====  ============================================  ===========================
key   action                                        allowed when the incident is
====  ============================================  ===========================
A     acknowledge (Ctrl+K works from anywhere)       new
D     dispatch: send units                          new … on scene
S     on scene                                      dispatched
R     resolve (optional note)                       acknowledged … on scene
C     close / file (optional note)                  resolved
O     reopen (reason)                               resolved, closed
M     merge into another incident as a duplicate    open
N     add a note                                    any
U     release a unit                                units assigned
====  ============================================  ===========================

Every write passes the version of the row the officer was looking at. When somebody else
changed the incident first the service refuses with ConcurrentChange; the officer reads
"已被 X 于 T 受理 — 已刷新" and the row is reloaded. Refusals (illegal transition, permission)
are shown as the service words them. Database work runs off the GUI thread.

While the database is away (ui/incidents/offline.py) the actions that need its answer are
disabled and say why (离线：需要数据库确认); a note goes to the station's offline journal and is
added when the database is back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from dispatch_console import checklists, incidents, protocols
from dispatch_console.incidents import IncidentRow, UnitRow
from dispatch_console.kernel.categories import OPEN_STATUSES
from dispatch_console.kernel.errors import ConcurrentChange, DispatchError
from dispatch_console.kernel.i18n import N_, _
from dispatch_console.kernel.permissions import allowed
from dispatch_console.kernel.timefmt import fmt_local
from ui.incidents.offline import NEEDS_DATABASE, OfflineState
from ui.protocols import proposal as proposal_view
from ui.shell import theme
from ui.shell.context import UiContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActionSpec:
    name: str
    label: str
    key: str
    statuses: tuple[str, ...] | None  # None: any status
    permission: str


SPECS: tuple[ActionSpec, ...] = (
    ActionSpec("acknowledge", N_("Acknowledge"), "A", ("new",), "incident.acknowledge"),
    ActionSpec("dispatch", N_("Dispatch units…"), "D", OPEN_STATUSES, "incident.dispatch"),
    ActionSpec("on_scene", N_("On scene"), "S", ("dispatched",), "incident.transition"),
    ActionSpec("resolve", N_("Resolve…"), "R", ("acknowledged", "dispatched", "on_scene"), "incident.transition"),
    ActionSpec("close", N_("Close (file)…"), "C", ("resolved",), "incident.transition"),
    ActionSpec("reopen", N_("Reopen…"), "O", ("resolved", "closed"), "incident.reopen"),
    ActionSpec("merge", N_("Merge as duplicate…"), "M", OPEN_STATUSES, "incident.merge"),
    ActionSpec("note", N_("Add note…"), "N", None, "incident.note"),
    ActionSpec("release", N_("Release unit…"), "U", OPEN_STATUSES, "incident.dispatch"),
)


# -- small keyboard-first dialogs (module functions, so tests can answer them) -----------------


class NoteDialog(QDialog):
    """A text box: Ctrl+Enter or the OK button accepts, Esc cancels."""

    def __init__(self, parent: QWidget | None, title: str, prompt: str, *, required: bool) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.required = required
        layout = QVBoxLayout(self)
        label = QLabel(prompt, self)
        label.setTextFormat(Qt.TextFormat.PlainText)
        self.text = QPlainTextEdit(self)
        self.text.setTabChangesFocus(True)
        hint = QLabel(_("Ctrl+Enter to confirm, Esc to cancel"), self)
        hint.setTextFormat(Qt.TextFormat.PlainText)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        for w in (label, self.text, hint, self.buttons):
            layout.addWidget(w)
        for seq in ("Ctrl+Return", "Ctrl+Enter"):
            act = QAction(self)
            act.setShortcut(QKeySequence(seq))
            act.triggered.connect(self.accept)
            self.addAction(act)
        self.resize(460, 220)

    def accept(self) -> None:
        if self.required and not self.text.toPlainText().strip():
            self.text.setFocus()
            return
        super().accept()


def ask_note(parent: QWidget | None, title: str, prompt: str, *, required: bool = False) -> str | None:
    """The text typed (possibly empty when not required), or None when cancelled."""
    dialog = NoteDialog(parent, title, prompt, required=required)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.text.toPlainText().strip()


def ask_number(parent: QWidget | None, title: str, prompt: str) -> str | None:
    text, ok = QInputDialog.getText(parent, title, prompt)
    return text.strip() if ok and text.strip() else None


def ask_choice(parent: QWidget | None, title: str, prompt: str, items: list[str]) -> int | None:
    text, ok = QInputDialog.getItem(parent, title, prompt, items, 0, False)
    return items.index(text) if ok and text in items else None


class UnitPicker(QDialog):
    """Type to filter, arrows to move, Space to tick, Enter to send the ticked (or current) units."""

    def __init__(self, parent: QWidget | None, number: str, units: list[UnitRow],
                 status_label: Callable[[str], str]) -> None:
        super().__init__(parent)
        self.setWindowTitle(_("Dispatch units to {number}").format(number=number))
        layout = QVBoxLayout(self)
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText(_("Filter units by name or kind…"))
        self.list = QListWidget(self)
        theme.show_tick_boxes(self.list)  # the units to send, ticked
        for unit in units:
            item = QListWidgetItem(f"{unit.name}  ·  {status_label(unit.status)}"
                                   + (f"  ·  {unit.phone}" if unit.phone else ""))
            item.setData(Qt.ItemDataRole.UserRole, unit.id)
            item.setData(Qt.ItemDataRole.UserRole + 1, f"{unit.name} {unit.kind} {unit.code}".lower())
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.list.addItem(item)
        if not units:
            self.list.addItem(QListWidgetItem(_("No unit is available right now.")))
        self.list.setCurrentRow(0)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                   self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        for w in (self.filter, self.list, buttons):
            layout.addWidget(w)
        self.filter.textChanged.connect(self._filter)
        self.resize(480, 420)

    def _filter(self, text: str) -> None:
        key = text.strip().lower()
        first = None
        for i in range(self.list.count()):
            item = self.list.item(i)
            hay = str(item.data(Qt.ItemDataRole.UserRole + 1) or "")
            item.setHidden(bool(key) and key not in hay)
            if first is None and not item.isHidden():
                first = i
        if first is not None:
            self.list.setCurrentRow(first)

    def chosen(self) -> list[int]:
        ticked = [int(self.list.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.list.count())
                  if self.list.item(i).checkState() == Qt.CheckState.Checked
                  and self.list.item(i).data(Qt.ItemDataRole.UserRole) is not None]
        if ticked:
            return ticked
        current = self.list.currentItem()
        if current is not None and not current.isHidden() and current.data(Qt.ItemDataRole.UserRole) is not None:
            return [int(current.data(Qt.ItemDataRole.UserRole))]
        return []


def pick_units(parent: QWidget | None, number: str, units: list[UnitRow],
               status_label: Callable[[str], str]) -> list[int] | None:
    dialog = UnitPicker(parent, number, units, status_label)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.chosen() or None


# -- the actions ---------------------------------------------------------------------------------


def concurrent_message(exc: ConcurrentChange, action: str) -> str:
    who = exc.by or "?"
    when = fmt_local(exc.at, "%H:%M:%S") if exc.at else "?"
    if action == "acknowledge":
        return _("Already acknowledged by {who} at {when} — refreshed").format(who=who, when=when)
    return _("Changed by {who} at {when} — refreshed").format(who=who, when=when)


class IncidentActions(QObject):
    """The actions on the incident ``current()`` returns; ``message`` reports the outcome."""

    message = Signal(str, bool)  # text, is an error
    reload = Signal(int)  # incident id to read again (after a refusal, or a success)
    succeeded = Signal(str, object)  # action name, the service's answer

    def __init__(self, ui: UiContext, owner: QWidget, current: Callable[[], IncidentRow | None]) -> None:
        super().__init__(owner)
        self.ui = ui
        self.owner = owner
        self.current = current
        self.actions: dict[str, QAction] = {}
        self.busy = 0
        self.offline = OfflineState.of(ui)
        self.offline.changed.connect(self.update_enabled)

    # -- QActions -----------------------------------------------------------------------------
    def make_actions(self, shortcut_widget: QWidget) -> dict[str, QAction]:
        """One QAction per spec, its letter active while ``shortcut_widget`` (or a child) has focus."""
        for spec in SPECS:
            act = QAction(_(spec.label), shortcut_widget)
            act.setObjectName(f"incident-{spec.name}")
            act.setShortcut(QKeySequence(spec.key))
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            act.triggered.connect(lambda _c=False, n=spec.name: self.trigger(n))
            shortcut_widget.addAction(act)
            self.actions[spec.name] = act
        self.update_enabled()
        return self.actions

    def update_enabled(self) -> None:
        """Grey out what does not apply (a courtesy: the service checks again)."""
        row = self.current()
        actor = self.ui.actor
        offline = self.offline.offline
        for spec in SPECS:
            act = self.actions.get(spec.name)
            if act is None:
                continue
            ok = (row is not None and (spec.statuses is None or row.status in spec.statuses)
                  and actor is not None and allowed(actor, spec.permission))
            if spec.name == "release":
                ok = ok and bool(row and row.units)
            waits = offline and self.needs_database(spec.name)
            act.setEnabled(ok and not waits)
            reason = _(NEEDS_DATABASE) if waits else ""
            act.setToolTip(reason or _(spec.label))
            act.setStatusTip(reason)

    @staticmethod
    def needs_database(name: str) -> bool:
        """Everything but a note needs the database's answer (a note can wait in the journal)."""
        return name != "note"

    def trigger(self, name: str) -> None:
        row = self.current()
        if row is None:
            self.message.emit(_("Select an incident first."), True)
            return
        if self.offline.offline and self.needs_database(name):
            self.message.emit(_(NEEDS_DATABASE), True)
            return
        getattr(self, name)(row)

    # -- running ------------------------------------------------------------------------------
    def _run(self, action: str, row: IncidentRow, fn: Callable[[], Any], done_text: str) -> None:
        self.busy += 1

        def ok(result: Any) -> None:
            self.busy -= 1
            self.message.emit(done_text, False)
            self.succeeded.emit(action, result)
            self.reload.emit(row.id)

        def failed(exc: BaseException) -> None:
            self.busy -= 1
            self.report_failure(exc, action, row.id)

        self.ui.runner.run(fn, on_success=ok, on_failure=failed)

    def report_failure(self, exc: BaseException, action: str, incident_id: int) -> None:
        if isinstance(exc, ConcurrentChange):
            self.message.emit(concurrent_message(exc, action), True)
            self.reload.emit(incident_id)
        elif isinstance(exc, DispatchError):
            self.message.emit(str(exc), True)
            self.reload.emit(incident_id)
        else:
            log.error("incident action %s failed", action, exc_info=exc)
            self.message.emit(_("The action failed: {error}").format(error=exc), True)

    # -- the actions --------------------------------------------------------------------------
    def acknowledge(self, row: IncidentRow) -> None:
        db, actor = self.ui.console.db, self.ui.actor
        self._run("acknowledge", row, lambda: incidents.acknowledge(db, _need(actor), row.id, row.version),
                  _("{number} acknowledged").format(number=row.number))

    def on_scene(self, row: IncidentRow) -> None:
        db, actor = self.ui.console.db, self.ui.actor
        self._run("on_scene", row, lambda: incidents.mark_on_scene(db, _need(actor), row.id, row.version),
                  _("{number}: units on scene").format(number=row.number))

    def resolve(self, row: IncidentRow) -> None:
        """Which required checklist steps are open is read first, so the officer is told before
        typing: refused (policy ``refuse``), asked for a reason (``reason``) or for an optional
        note that names them (``allow``, the shipped default)."""
        db, resources = self.ui.console.db, self.ui.console.resources
        self.ui.runner.run(lambda: checklists.resolve_check(db, row.id, resources),
                           on_success=lambda check: self._resolve_after(row, check),
                           on_failure=lambda exc: self.report_failure(exc, "resolve", row.id))

    def _resolve_after(self, row: IncidentRow, check: checklists.ResolveCheck) -> None:
        if check.refused:
            self.message.emit(_("{number} cannot be resolved: {n} required checklist steps are still open "
                                "(Ctrl+Shift+C to tick them):\n{steps}").format(
                number=row.number, n=len(check.open_required), steps=check.listed()), True)
            return
        if check.needs_reason:
            note = ask_note(self.owner, _("Resolve {number}").format(number=row.number),
                            _("These required checklist steps are still open:\n{steps}\n"
                              "Why is it resolved anyway? (required)").format(steps=check.listed()),
                            required=True)
        elif check.open_required:
            note = ask_note(self.owner, _("Resolve {number}").format(number=row.number),
                            _("These required checklist steps are still open:\n{steps}\n"
                              "How was it resolved? (optional)").format(steps=check.listed()))
        else:
            note = ask_note(self.owner, _("Resolve {number}").format(number=row.number),
                            _("How was it resolved? (optional)"))
        if note is None:
            return
        db, actor = self.ui.console.db, self.ui.actor
        self._run("resolve", row, lambda: incidents.resolve(db, _need(actor), row.id, row.version, note or None),
                  _("{number} resolved").format(number=row.number))

    def close(self, row: IncidentRow) -> None:
        note = ask_note(self.owner, _("Close {number}").format(number=row.number),
                        _("File the incident. Closing note (optional):"))
        if note is None:
            return
        db, actor = self.ui.console.db, self.ui.actor
        self._run("close", row, lambda: incidents.close(db, _need(actor), row.id, row.version, note or None),
                  _("{number} closed").format(number=row.number))

    def reopen(self, row: IncidentRow) -> None:
        reason = ask_note(self.owner, _("Reopen {number}").format(number=row.number),
                          _("Why is it reopened?"), required=True)
        if reason is None:
            return
        db, actor = self.ui.console.db, self.ui.actor
        self._run("reopen", row, lambda: incidents.reopen(db, _need(actor), row.id, row.version, reason),
                  _("{number} reopened").format(number=row.number))

    def merge(self, row: IncidentRow) -> None:
        target = ask_number(self.owner, _("Merge {number}").format(number=row.number),
                            _("Merge into incident number:"))
        if target is None:
            return
        db, actor = self.ui.console.db, self.ui.actor
        self._run("merge", row,
                  lambda: incidents.merge_duplicate(db, _need(actor), row.id, row.version, target),
                  _("{number} merged into {target}").format(number=row.number, target=target))

    def note(self, row: IncidentRow) -> None:
        text = ask_note(self.owner, _("Note on {number}").format(number=row.number), _("Note:"), required=True)
        if not text:
            return
        actor, state = self.ui.actor, self.offline
        self.busy += 1

        def ok(kept: Any) -> None:
            self.busy -= 1
            if kept is not None:  # the database is away: the note waits in the journal
                state.noted_offline()
                self.message.emit(_("The database is unreachable: the note on {number} is kept on this "
                                    "workstation and will be added when it is back.").format(number=row.number), True)
                return
            self.message.emit(_("Note added to {number}").format(number=row.number), False)
            self.succeeded.emit("note", kept)
            self.reload.emit(row.id)

        def failed(exc: BaseException) -> None:
            self.busy -= 1
            self.report_failure(exc, "note", row.id)

        self.ui.runner.run(lambda: state.note(_need(actor), row.id, row.number, text), on_success=ok,
                           on_failure=failed)

    def dispatch(self, row: IncidentRow) -> None:
        db = self.ui.console.db
        catalog_label = self._unit_status_label()
        cards = proposal_view.run_cards(self.ui.console.resources)
        if cards is not None:  # the run card's proposal (ui/protocols); the plain list when none fits
            self.ui.runner.run(
                lambda: protocols.propose(db, cards, row.id),
                on_success=lambda proposal: self._dispatch_proposal(row, proposal, catalog_label),
                on_failure=lambda exc: self.report_failure(exc, "dispatch", row.id),
            )
            return
        self._dispatch_list(row, catalog_label)

    def _dispatch_proposal(self, row: IncidentRow, proposal: protocols.Proposal | None,
                           label: Callable[[str], str]) -> None:
        if proposal is None or not proposal_view.has_candidates(proposal):
            self._dispatch_list(row, label)
            return
        chosen = proposal_view.offer(self.owner, row.number, proposal, label)
        if chosen is None:
            return
        unit_ids, person_ids = chosen
        db, actor = self.ui.console.db, self.ui.actor
        self._run("dispatch", row,
                  lambda: protocols.dispatch(db, _need(actor), proposal, proposal.version, unit_ids=unit_ids,
                                             person_ids=person_ids),
                  _("{number}: units dispatched").format(number=row.number))

    def _dispatch_list(self, row: IncidentRow, catalog_label: Callable[[str], str]) -> None:
        db = self.ui.console.db
        self.ui.runner.run(
            lambda: incidents.list_assignable_units(db),
            on_success=lambda units: self._dispatch_to(row, units, catalog_label),
            on_failure=lambda exc: self.report_failure(exc, "dispatch", row.id),
        )

    def _unit_status_label(self) -> Callable[[str], str]:
        from dispatch_console.kernel.categories import load_catalog

        return load_catalog(self.ui.console.resources).unit_status_label

    def _dispatch_to(self, row: IncidentRow, units: list[UnitRow], label: Callable[[str], str]) -> None:
        chosen = pick_units(self.owner, row.number, units, label)
        if not chosen:
            return
        db, actor = self.ui.console.db, self.ui.actor
        self._run("dispatch", row,
                  lambda: incidents.assign(db, _need(actor), row.id, row.version, unit_ids=chosen),
                  _("{number}: units dispatched").format(number=row.number))

    def release(self, row: IncidentRow) -> None:
        db = self.ui.console.db
        self.ui.runner.run(
            lambda: incidents.get_incident(db, row.id),
            on_success=lambda detail: self._release_from(row, detail),
            on_failure=lambda exc: self.report_failure(exc, "release", row.id),
        )

    def _release_from(self, row: IncidentRow, detail: incidents.IncidentDetail) -> None:
        active = [a for a in detail.assignments if a.active]
        if not active:
            self.message.emit(_("No unit is assigned to {number}.").format(number=row.number), True)
            return
        index = ask_choice(self.owner, _("Release a unit from {number}").format(number=row.number),
                           _("Unit or person to release:"), [a.name for a in active])
        if index is None:
            return
        chosen = active[index]
        db, actor = self.ui.console.db, self.ui.actor
        self._run("release", row, lambda: incidents.release(db, _need(actor), chosen.id),
                  _("{name} released from {number}").format(name=chosen.name, number=row.number))


def _need(actor: Any) -> Any:
    if actor is None:
        from dispatch_console.kernel.errors import AuthenticationFailed

        raise AuthenticationFailed(_("Nobody is signed in at this workstation."))
    return actor
