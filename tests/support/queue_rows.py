"""Queue rows and pages made by hand, for the queue model's tests and the notification centre's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from PySide6.QtTest import QAbstractItemModelTester

from dispatch_console.incidents.live_queue import PageLoad, RowRefresh
from dispatch_console.incidents.queue import IncidentRow, QueuePage, QueueQuery
from dispatch_console.timers.engine import Deadline
from ui.incidents.queue_model import QueueModel

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def row(incident_id: int, severity: int = 3, minutes: int = 0, **kw: object) -> IncidentRow:
    values: dict[str, object] = dict(
        id=incident_id, number=f"TY-20261127-{incident_id:04d}", category="dispute", severity=severity,
        source="hotline_12345", status="new", description=f"事件 {incident_id}", address=None, lon=None,
        lat=None, grid_id=None, grid_name="第1网格", community_name=None, reporter_name=None,
        reporter_phone=None, people_count=None, owner_user_id=None, owner_name=None, units="",
        is_drill=False, merged_into_id=None, checklist_done=1, checklist_total=4, version=1,
        reported_at=None, created_at=T0 + timedelta(minutes=minutes), acknowledged_at=None,
        dispatched_at=None, on_scene_at=None, resolved_at=None, closed_at=None, updated_at=None)
    values.update(kw)
    return IncidentRow(**values)  # type: ignore[arg-type]


def page(rows: list[IncidentRow], total: int, deadlines: dict[int, Deadline] | None = None, *,
         limit: int | None = None) -> PageLoad:
    """A page as read; by default a full one (more to come) when ``total`` says there are more rows."""
    limit = limit if limit is not None else (len(rows) if total > len(rows) else 200)
    return PageLoad(QueuePage(tuple(rows), total, QueueQuery(limit=limit)), deadlines or {}, T0 + timedelta(hours=1))


def refresh(matching: list[IncidentRow] = (), other: list[IncidentRow] = (), missing: set[int] = frozenset()
            ) -> RowRefresh:  # type: ignore[assignment]
    return RowRefresh({r.id: r for r in matching}, {r.id: r for r in other}, frozenset(missing), {},
                      T0 + timedelta(hours=1))


def shown(model: QueueModel) -> list[int]:
    return model.ids


def loaded(rows: list[IncidentRow], total: int | None = None) -> QueueModel:
    model = QueueModel()
    QAbstractItemModelTester(model, QAbstractItemModelTester.FailureReportingMode.Fatal)
    generation = model.begin_reload()
    assert model.reset_to(generation, page(rows, total if total is not None else len(rows)))
    return model
