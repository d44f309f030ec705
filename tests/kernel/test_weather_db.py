"""The database side of riding out weather: multi-host URLs, dropped connections, request ids."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError, InternalError, OperationalError

from db.engine import Database, normalise_url, server_list
from db.migrate import alembic_config, upgrade
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.kernel import transient
from dispatch_console.kernel.changefeed import libpq_url

DRAFT = IncidentDraft(category="fire", severity=2, source="walk_in", description="门卫室冒烟")


def test_a_libpq_multi_host_url_names_every_server_in_order() -> None:
    url = normalise_url("postgresql://app:p%40ss@db1:5432,db2:5433/duty?target_session_attrs=read-write")
    db = Database(url)
    try:
        assert db.url.drivername == "postgresql+psycopg" and db.url.database == "duty"
        assert server_list(db.url) == ["db1:5432", "db2:5433"]
        assert db.url.query["target_session_attrs"] == "read-write"
        conninfo = psycopg.conninfo.conninfo_to_dict(libpq_url(db))
        assert conninfo["host"] == "db1,db2" and conninfo["port"] == "5432,5433"
        assert conninfo["password"] == "p@ss" and conninfo["target_session_attrs"] == "read-write"
        assert "p@ss" not in db.display_url
    finally:
        db.dispose()


def test_single_host_and_sqlite_urls_are_left_as_they_were() -> None:
    assert normalise_url("postgresql+psycopg://u@h:5432/d") == "postgresql+psycopg://u@h:5432/d"
    assert normalise_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"  # psycopg 3 is the driver
    assert normalise_url("sqlite:////tmp/x.sqlite3") == "sqlite:////tmp/x.sqlite3"
    assert server_list(Database("postgresql+psycopg://u@h/d").url) == ["h:5432"]


def test_a_multi_host_url_reaches_the_writable_server(pg_url: str) -> None:
    """The shared server named second, after one that refuses: libpq moves on to it."""
    host_port = pg_url.split("@", 1)[1].split("/", 1)[0]
    multi = pg_url.replace(host_port, f"127.0.0.1:1,{host_port}", 1).replace("postgresql+psycopg", "postgresql", 1)
    db = Database(normalise_url(multi + "?target_session_attrs=read-write&connect_timeout=5"))
    try:
        upgrade(db)  # Alembic gets the URL too (its %-encoded host list must survive its config)
        assert alembic_config(db).get_main_option("sqlalchemy.url") == db.url.render_as_string(hide_password=False)
        with db.read() as s:
            assert s.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is False
        with psycopg.connect(libpq_url(db)) as conn:
            assert conn.info.port == int(host_port.rsplit(":", 1)[1])
    finally:
        db.dispose()


def test_a_connection_that_turned_read_only_is_dropped_not_reused(pg_db: Database) -> None:
    """After a failover a pooled connection may sit on a standby: its error must not repeat."""
    with pg_db.engine.connect() as conn:
        conn.exec_driver_sql("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        conn.commit()
        with pytest.raises((InternalError, OperationalError)) as err:
            conn.exec_driver_sql("CREATE TABLE t (id int)")
        assert transient.is_transient(err.value)
        assert conn.invalidated
    with pg_db.engine.connect() as conn:  # a fresh connection, writable again
        conn.exec_driver_sql("CREATE TABLE t (id int)")
        conn.commit()


def test_request_ids_make_a_repeated_create_store_once(db: Database, make_actor) -> None:  # type: ignore[no-untyped-def]
    actor = make_actor("duty_officer")
    first = incidents.create_incident(db, actor, DRAFT, request_id="req-1")
    again = incidents.create_incident(db, actor, DRAFT, request_id="req-1")
    other = incidents.create_incident(db, actor, DRAFT, request_id="req-2")
    assert not first.duplicate and not first.replayed
    assert again.row.id == first.row.id and again.replayed and not again.duplicate
    assert other.row.id != first.row.id
    assert len(incidents.query_incidents(db).rows) == 2
    with pytest.raises(IntegrityError), db.write() as s:  # the index refuses a second row of one request
        s.execute(text("UPDATE incident SET request_id = 'req-1' WHERE id = :id"), {"id": other.row.id})


def test_migration_0008_goes_down_and_up_again(db: Database) -> None:
    from alembic import command

    cfg = alembic_config(db)
    triggers = "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
    before = None
    if not db.is_postgres:
        with db.engine.connect() as conn:
            before = conn.exec_driver_sql(triggers).all()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
    assert "request_id" not in {c["name"] for c in inspect(db.engine).get_columns("incident")}
    upgrade(db)
    assert "request_id" in {c["name"] for c in inspect(db.engine).get_columns("incident")}
    assert "ix_incident_request_id" in {i["name"] for i in inspect(db.engine).get_indexes("incident")}
    if before is not None:  # the search triggers of incident survive (no table rebuild)
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql(triggers).all() == before and before
