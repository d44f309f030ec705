"""The queue over a long history: first paint and filter/search, against a naive proxy model.

With the cached database of N incidents (a few thousand open), the real queue view is opened
(first paint: from constructing the view to its first page painted) and driven as an officer
would: choosing filters and typing searches, each timed until the new first page is painted.
Baseline, in the same run: every row loaded into a plain table model behind a
``QSortFilterProxyModel`` (the naive design), its first paint and its filtering.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QTableView, QWidget
from sqlalchemy import select

from bench import bulk, databases
from bench.common import Figure, Sizes, ms, ms_summary, percentile
from bench.qt import application, close_ui, console_started, make_ui, wait_for
from db.engine import Database
from db.models import Area, Incident

FIRST_PAINT_TARGET_MS = 2000.0
FILTER_P95_TARGET_MS = 100.0
SEARCHES = ("出租屋", "工资", "1391", "王伟", "消防通道", "平山村", "漏水")
NAIVE_COLUMNS = (Incident.number, Incident.severity, Incident.category, Incident.status, Incident.description,
                 Incident.address, Incident.reporter_name, Incident.reporter_phone)


class NaiveModel(QAbstractTableModel):
    """Every incident as a tuple of strings: what a queue without SQL paging would hold."""

    def __init__(self, rows: list[tuple[str, ...]]) -> None:
        super().__init__()
        self.rows = rows

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(NAIVE_COLUMNS)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and index.isValid():
            return self.rows[index.row()][index.column()]
        return None


def _timed_paint(widget: QWidget, ready: Callable[[], bool], timeout_s: float = 120) -> float:
    """Seconds until ``ready()`` and the table painted once more (synchronously)."""
    t0 = time.perf_counter()
    wait_for(ready, timeout_s)
    widget.repaint()
    return time.perf_counter() - t0


def first_paint(db: Database) -> float:
    from ui.incidents.queue_view import QueueView

    ui = make_ui(db, "ws-queue")
    t0 = time.perf_counter()
    view = QueueView(ui)
    view.resize(1400, 900)
    view.show()
    wait_for(lambda: view.model.rowCount() > 0 and not view.model.fetching, 120)
    view.table.viewport().repaint()
    elapsed = time.perf_counter() - t0
    close_ui(ui, view)
    return elapsed


def _choose(combo: Any, data: object) -> None:
    index = combo.findData(data)
    combo.setCurrentIndex(max(index, 0))


def officer_actions(view: Any, db: Database) -> list[tuple[str, Callable[[], None]]]:
    """Filter and search steps as an officer takes them (each ends with a new first page)."""
    from ui.incidents import queue_view

    with db.read() as s:
        grid = s.execute(select(Area.id).where(Area.level == "grid").order_by(Area.id).limit(1)).scalar()

    def search(term: str) -> Callable[[], None]:
        def act() -> None:
            view.search.setText(term)
            QTest.keyClick(view.search, Qt.Key.Key_Return)
        return act

    steps: list[tuple[str, Callable[[], None]]] = []
    for i, term in enumerate(SEARCHES):
        steps.append((f"search {term}", search(term)))
        steps.append(("clear search", search("")))
        extra = [
            ("category fire", lambda: _choose(view.category, "fire")),
            ("all categories", lambda: _choose(view.category, None)),
            ("major only", lambda: _choose(view.severity, queue_view.SEVERITY_MAJOR)),
            ("every severity", lambda: _choose(view.severity, None)),
            ("one grid", lambda: _choose(view.grid, grid)), ("every grid", lambda: _choose(view.grid, None)),
            ("closed", lambda: _choose(view.status, "closed")),
            ("open", lambda: _choose(view.status, queue_view.STATUS_OPEN)),
        ]
        steps.extend(extra[(2 * i) % len(extra):(2 * i) % len(extra) + 2])
    return steps


def filter_times(db: Database, samples: int) -> tuple[list[float], dict[str, float]]:
    from ui.incidents.queue_view import QueueView

    ui = make_ui(db, "ws-queue")
    view = QueueView(ui)
    view.resize(1400, 900)
    view.show()
    times: list[float] = []
    by_step: dict[str, float] = {}
    painted: list[float] = []
    loaded = view._loaded

    def loaded_then_painted(generation: int, load: Any) -> None:
        # The new first page painted once, as soon as the result is in (the event loop would paint
        # it next). Waiting for the model and then painting counted a second paint whenever the
        # event loop had painted before the wait looked.
        loaded(generation, load)
        if generation == view.model.generation and not view.model.fetching:
            view.table.viewport().repaint()
            painted.append(time.perf_counter())

    view._loaded = loaded_then_painted
    try:
        wait_for(lambda: view.is_ready(), 120)
        console_started(view)
        steps = officer_actions(view, db)
        for n in range(samples):
            name, act = steps[n % len(steps)]
            painted.clear()
            t0 = time.perf_counter()
            act()
            wait_for(lambda: bool(painted), 120, poll_ms=1)
            elapsed = painted[-1] - t0
            times.append(elapsed)
            by_step[name] = max(by_step.get(name, 0.0), ms(elapsed))
    finally:
        close_ui(ui, view)
    return times, by_step


def naive(db: Database, filters: int) -> tuple[float, list[float], int]:
    """The naive design: all rows in a table model behind a QSortFilterProxyModel."""
    t0 = time.perf_counter()
    with db.read() as s:
        rows = [tuple("" if v is None else str(v) for v in r) for r in s.execute(
            select(*NAIVE_COLUMNS).order_by(Incident.severity, Incident.created_at, Incident.id))]
    model = NaiveModel(rows)
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(model)
    proxy.setFilterKeyColumn(-1)
    proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    table = QTableView()
    table.setModel(proxy)
    table.resize(1400, 900)
    table.show()
    wait_for(lambda: True, 1)
    table.viewport().repaint()
    paint = time.perf_counter() - t0
    times = []
    for n in range(filters):
        t1 = time.perf_counter()
        proxy.setFilterFixedString(SEARCHES[n % len(SEARCHES)])
        table.viewport().repaint()
        times.append(time.perf_counter() - t1)
    count = len(rows)
    table.deleteLater()
    wait_for(lambda: True, 1)
    return paint, times, count


def run(backend: str, sizes: Sizes, _pool: object = None) -> list[Figure]:
    application()
    t0 = time.perf_counter()
    where, built = bulk.history(backend, sizes.queue_incidents, sizes.queue_open)
    prepared = time.perf_counter() - t0
    with databases.opened(backend, where) as db:
        paints = [first_paint(db) for _i in range(sizes.queue_first_paints)]
        filters, by_step = filter_times(db, sizes.queue_filter_samples)
        naive_paint, naive_filters, loaded = naive(db, sizes.queue_baseline_filters)
    size = {"incidents": sizes.queue_incidents, "open": sizes.queue_open, "database_built_now": built,
            "database_ready_s": round(prepared, 1)}
    paint = sorted(paints)[len(paints) // 2]
    p95 = percentile(filters, 95)
    naive95 = percentile(naive_filters, 95)
    return [
        Figure("queue first paint", backend, ms(paint), "ms", FIRST_PAINT_TARGET_MS, "<=", ms(naive_paint),
               f"naive QSortFilterProxyModel over all {loaded} rows: first paint",
               {**size, "first_paints_ms": [ms(p) for p in paints]}),
        Figure("queue filter/search p95", backend, ms(p95) if p95 is not None else None, "ms",
               FILTER_P95_TARGET_MS, "<=", ms(naive95) if naive95 is not None else None,
               f"naive QSortFilterProxyModel over all {loaded} rows: filter p95",
               {**size, "filter_ms": ms_summary(filters), "slowest_ms_by_step": by_step,
                "naive_filter_ms": [ms(t) for t in naive_filters]}),
    ]
