"""The queue's reads on SQLite do not walk the drill flag's index: with the statistics a sampled
ANALYZE leaves on a long history (the flag rated as narrowing the table to a thousand rows), the
planner took ix_incident_is_drill, every real incident, for the open queue, one grid and all of
history. Checked on the plans SQLite chooses (a fact), not on timings (bench/queue.py)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, text

from db.engine import Database
from dispatch_console.incidents.queue import QueueQuery, query_incidents

# the incident table's statistics as ANALYZE with analysis_limit=1000 left them on 100,000 incidents
SAMPLED = {
    "ix_incident_is_drill": "111824 1001", "ix_incident_grid_id": "108654 1001",
    "ix_incident_category": "88110 1001", "ix_incident_open_queue": "91630 501 201 1",
    "ix_incident_queue_order": "111202 501 1 1", "ix_incident_open_order": "1100 251 1 1",
    "ix_incident_owner_user_id": "120900 501", "ix_incident_created_at": "91368 1",
}


def _plans(db: Database, query: QueueQuery) -> list[str]:
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        query_incidents(db, query)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    plans = []
    with db.engine.connect() as conn:
        for statement, parameters in seen:
            plans += [str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
    return plans


@pytest.mark.parametrize("query", [
    QueueQuery(open_only=True, include_drill=False),
    QueueQuery(open_only=True, include_drill=False, grid_ids=(1,)),
    QueueQuery(open_only=True, include_drill=False, categories=("fire",)),
    QueueQuery(include_drill=False),
], ids=["open queue", "one grid", "category", "all history"])
def test_the_queue_never_walks_the_drill_flags_index(sqlite_db: Database, query: QueueQuery) -> None:
    with sqlite_db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))  # creates sqlite_stat1
        conn.execute(text("DELETE FROM sqlite_stat1 WHERE tbl = 'incident'"))
        for index, stat in SAMPLED.items():
            conn.execute(text("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('incident', :i, :s)"),
                         {"i": index, "s": stat})
        conn.execute(text("ANALYZE sqlite_schema"))  # load the statistics just written
    plans = _plans(sqlite_db, query)
    # a count may scan the flag's covering index (the smallest); finding rows by the flag is the mistake
    assert plans and not [p for p in plans if "ix_incident_is_drill (is_drill=" in p], "\n".join(plans)
