"""A Chinese station name stays readable in pg_stat_activity (and so pg_locks): PostgreSQL would
turn it into question marks, so it is escaped, and reads back as the station's name."""

from __future__ import annotations

import psycopg
from support.timer_workers import wait_until

from db.engine import Database, application_name, read_application_name
from dispatch_console.kernel.changefeed import libpq_url
from dispatch_console.timers import engine as timers


def test_the_leading_engine_names_its_station_readably(pg_db: Database) -> None:
    engine = timers.TimerEngine(pg_db, "值班台1", sweep_interval=0.3, own_feed=True)
    engine.start()
    try:
        assert wait_until(lambda: engine.leading, 20)
        pid = engine._lead.backend_pid()
        with psycopg.connect(libpq_url(pg_db), autocommit=True) as conn:
            shown = conn.execute("SELECT application_name FROM pg_stat_activity WHERE pid = %s",
                                 (pid,)).fetchone()
            locked = conn.execute("SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a "
                                  "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.pid = %s",
                                  (pid,)).fetchone()
    finally:
        engine.stop()
    assert shown is not None and locked is not None and shown[0] == locked[0]
    assert "?" not in shown[0] and read_application_name(shown[0]) == "dispatch-console timers 值班台1"


def test_names_fit_postgresql_and_are_never_cut_inside_an_escape() -> None:
    name = application_name("dispatch-console timers " + "值班台" * 20)
    assert len(name) <= 63 and read_application_name(name).startswith("dispatch-console timers 值班台")
    assert application_name("plain ascii") == "plain ascii"
