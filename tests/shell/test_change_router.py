"""One change router per console: a batch is read once and handed to the views that care; a
timer firing refreshes its incident's row and, when that incident is selected, its detail."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import support.world as support
from support.world import make_world

from db.engine import Database, db_now
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.changed import ChangedIncidents
from dispatch_console.timers import engine as timers
from ui.incidents import queue_view
from ui.incidents.detail import IncidentDetailPanel, event_text
from ui.shell import alerts, change_router

isolated_settings = support.isolated_settings
workstations = support.workstations


def test_a_new_incident_is_read_once_for_the_queue_and_the_alarm(qtbot: Any, db: Database, workstations: Any,
                                                                monkeypatch: Any) -> None:
    w = make_world(db)
    ws = workstations(db, w.officers[0])
    ws.settle()
    reads: list[frozenset[int]] = []
    real = change_router.read_changed

    def counted(*args: Any, **kwargs: Any) -> ChangedIncidents:
        batch = real(*args, **kwargs)
        reads.append(batch.ids)
        return batch

    monkeypatch.setattr(change_router, "read_changed", counted)
    # the views' reads of their own: none of them is made for a change any more
    monkeypatch.setattr(alerts, "pending_alerts", lambda _db: (_ for _ in ()).throw(AssertionError("alarm read")))
    monkeypatch.setattr(queue_view, "refresh_rows", lambda *_a: (_ for _ in ()).throw(AssertionError("queue read")))

    fire = w.record("仓库冒烟", category="fire", severity=1)
    qtbot.waitUntil(lambda: fire.id in ws.queue.model.ids and fire.id in ws.queue.alerts.ids, timeout=15000)
    ws.settle()
    assert reads and all(ids == {fire.id} for ids in reads)  # the new incident, read for both views
    assert len(reads) <= 2  # its creation and, at most, its follow-ups' batch (checklist, timers)
    assert not ws.queue.banner.isHidden() and fire.number in ws.queue.banner.text()

    reads.clear()
    incidents.acknowledge(db, w.officers[1], fire.id, fire.version)  # at another workstation
    qtbot.waitUntil(lambda: fire.id not in ws.queue.alerts.ids, timeout=15000)
    ws.settle()
    assert reads and all(ids == {fire.id} for ids in reads)
    assert not ws.queue.alerts.flashing and ws.queue.model.cached(fire.id).status == "acknowledged"


def test_a_timer_firing_refreshes_its_row_and_the_selected_detail_only(qtbot: Any, db: Database,
                                                                       workstations: Any) -> None:
    w = make_world(db)
    quiet = w.record("楼上噪音", severity=3)
    row = w.record("无人受理的求助", severity=3)
    ws = workstations(db, w.officers[0], window=True, panels=("detail",))
    ws.settle()
    assert ws.queue.select_id(row.id)
    detail = ws.window.panels["incident-detail"]
    assert isinstance(detail, IncidentDetailPanel)
    qtbot.waitUntil(lambda: detail.detail is not None and detail.detail.row.id == row.id and detail.is_ready(),
                    timeout=15000)
    ws.settle()
    quiet_row = ws.queue.model.cached(quiet.id)
    batches: list[frozenset[int]] = []
    ws.ui.router.on_rows(lambda batch, _tag: batches.append(batch.ids))

    with db.write() as s:  # a deadline of this incident comes due now
        timer = timers.schedule(s, kind="ack", due_at=db_now(s) - timedelta(seconds=1), incident_id=row.id,
                                step=0, target_role="duty_officer")
        timer_id = timer.id

    def escalated() -> bool:
        shown = detail.detail
        return shown is not None and any(e.kind == "escalation" and (e.data or {}).get("timer_id") == timer_id
                                         for e in shown.events)

    timers.fire_due(db, "ws-clock")  # fired at another station (the console's own engine may be first)
    qtbot.waitUntil(escalated, timeout=15000)  # the escalation line, with no other change after it
    ws.settle()
    assert batches and all(ids == {row.id} for ids in batches)  # only the firing incident's row
    assert ws.queue.model.cached(quiet.id) is quiet_row  # the other row was not read again
    assert detail.detail is not None
    line = next(event_text(e) for e in detail.detail.events if e.kind == "escalation")
    shown = [detail.timeline.topLevelItem(i).text(3) for i in range(detail.timeline.topLevelItemCount())]
    assert line and line in shown
