"""Incident statistics: counts by category, status and severity, and response times.

Real statistics never include drills: by default only incidents with ``is_drill`` false count.
Asking for one drill run's figures (``drill_run_id``) counts that run's incidents only, so a
drill can be set beside the real figures without the two ever mixing. Counting runs in SQL;
response times (median and mean seconds from recording to acknowledgement, dispatch and arrival)
are computed from the few timestamp columns of the matching incidents.
"""

from __future__ import annotations

import statistics as pystats
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from db.engine import Database
from db.models import Incident


@dataclass(frozen=True)
class ResponseTime:
    count: int  # incidents that reached this step
    median_s: float | None
    mean_s: float | None


@dataclass(frozen=True)
class IncidentStatistics:
    total: int
    by_category: dict[str, int]
    by_status: dict[str, int]
    by_severity: dict[int, int]
    acknowledge: ResponseTime
    dispatch: ResponseTime
    arrive: ResponseTime


def _filtered(query: Any, *, since: datetime | None, until: datetime | None, categories: Sequence[str] | None,
              drill_run_id: int | None) -> Any:
    if drill_run_id is None:
        query = query.where(Incident.is_drill.is_(False))
    else:
        query = query.where(Incident.drill_run_id == drill_run_id)
    if since is not None:
        query = query.where(Incident.created_at >= since)
    if until is not None:
        query = query.where(Incident.created_at < until)
    if categories:
        query = query.where(Incident.category.in_(list(categories)))
    # a duplicate merged into another incident is not a case of its own
    return query.where(Incident.merged_into_id.is_(None))


def _times(values: list[float]) -> ResponseTime:
    if not values:
        return ResponseTime(0, None, None)
    return ResponseTime(len(values), float(pystats.median(values)), float(pystats.fmean(values)))


def incident_statistics(db: Database, *, since: datetime | None = None, until: datetime | None = None,
                        categories: Sequence[str] | None = None, drill_run_id: int | None = None
                        ) -> IncidentStatistics:
    """Figures of real incidents recorded in [since, until) (or of one drill run's incidents)."""
    def where(query: Any) -> Any:
        return _filtered(query, since=since, until=until, categories=categories, drill_run_id=drill_run_id)

    with db.read() as s:
        def grouped(column: Any) -> dict[Any, int]:
            rows = s.execute(where(select(column, func.count(Incident.id))).group_by(column)).all()
            return {key: int(n) for key, n in rows}

        by_category = grouped(Incident.category)
        by_status = grouped(Incident.status)
        by_severity = {int(k): v for k, v in grouped(Incident.severity).items()}
        stamps = s.execute(where(select(Incident.created_at, Incident.acknowledged_at, Incident.dispatched_at,
                                        Incident.on_scene_at))).all()
    ack: list[float] = []
    dispatch: list[float] = []
    arrive: list[float] = []
    for created, acknowledged, dispatched, on_scene in stamps:
        for target, at in ((ack, acknowledged), (dispatch, dispatched), (arrive, on_scene)):
            if at is not None and at >= created:
                target.append((at - created).total_seconds())
    return IncidentStatistics(sum(by_category.values()), by_category, by_status, by_severity,
                              _times(ack), _times(dispatch), _times(arrive))
