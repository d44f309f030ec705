"""Transient database errors: told apart from real faults, retried within a bound, logged once."""

from __future__ import annotations

import logging
import random
import sqlite3
import threading

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from db.engine import Database
from dispatch_console.kernel import transient
from dispatch_console.kernel.changefeed import libpq_url
from station.launcher import main as cli_main


def error_of(db: Database, sql: str) -> BaseException:
    with pytest.raises(Exception) as err, db.write() as s:
        s.execute(text(sql))
    return err.value


def test_a_refused_connection_is_weather_and_one_line() -> None:
    db = Database("postgresql+psycopg://dispatch_app:s3cret@127.0.0.1:1/duty?connect_timeout=2")
    try:
        with pytest.raises(OperationalError) as err, db.read() as s:
            s.execute(text("SELECT 1"))
    finally:
        db.dispose()
    assert transient.is_transient(err.value)
    line = transient.describe(err.value, db.url)
    assert "\n" not in line and "s3cret" not in line and "refused" in line.lower()


def test_a_wrong_database_or_password_is_not_weather(pg_url: str) -> None:
    db = Database(pg_url.rpartition("/")[0] + "/no_such_database_here")
    try:
        with pytest.raises(OperationalError) as err, db.read() as s:
            s.execute(text("SELECT 1"))
    finally:
        db.dispose()
    assert not transient.is_transient(err.value)
    assert transient.is_database_error(err.value)


def test_a_terminated_backend_is_weather_and_the_pool_recovers(pg_db: Database) -> None:
    with pg_db.read() as s:
        pid = s.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with psycopg.connect(libpq_url(pg_db), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(OperationalError) as err:
            s.execute(text("SELECT 1"))
    assert transient.is_transient(err.value)
    assert transient.sqlstate(err.value) in (None, "57P01")
    with pg_db.read() as s:  # the next unit of work gets a new connection
        assert s.execute(text("SELECT 1")).scalar_one() == 1


def test_serialization_failure_and_read_only_standby_are_weather(pg_db: Database) -> None:
    with pg_db.write() as s:
        s.execute(text("CREATE TABLE t (id int primary key, v int)"))
        s.execute(text("INSERT INTO t VALUES (1, 0)"))
    uri = libpq_url(pg_db)
    with psycopg.connect(uri) as a, psycopg.connect(uri) as b:
        a.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        a.execute("SELECT v FROM t WHERE id = 1").fetchone()
        b.execute("UPDATE t SET v = 1 WHERE id = 1")
        b.commit()
        with pytest.raises(psycopg.errors.SerializationFailure) as serial:
            a.execute("UPDATE t SET v = 2 WHERE id = 1")
    assert transient.is_transient(serial.value)
    with pytest.raises(Exception) as read_only, pg_db.write() as s:
        s.execute(text("SET TRANSACTION READ ONLY"))
        s.execute(text("INSERT INTO t VALUES (2, 0)"))
    assert transient.sqlstate(read_only.value) == "25006" and transient.is_transient(read_only.value)


def test_a_real_deadlock_is_weather(pg_db: Database) -> None:
    with pg_db.write() as s:
        s.execute(text("CREATE TABLE t (id int primary key, v int)"))
        s.execute(text("INSERT INTO t VALUES (1, 0), (2, 0)"))
    uri = libpq_url(pg_db)
    errors: list[BaseException] = []
    both_locked = threading.Barrier(2)

    def writer(first: int, second: int) -> None:
        with psycopg.connect(uri) as conn:
            try:
                conn.execute("UPDATE t SET v = v + 1 WHERE id = %s", (first,))
                both_locked.wait(30)
                conn.execute("UPDATE t SET v = v + 1 WHERE id = %s", (second,))
                conn.commit()
            except psycopg.Error as exc:
                errors.append(exc)

    threads = [threading.Thread(target=writer, args=pair) for pair in ((1, 2), (2, 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(errors) == 1 and isinstance(errors[0], psycopg.errors.DeadlockDetected)
    assert transient.is_transient(errors[0])


def test_sqlite_locked_is_weather_and_a_constraint_is_not(sqlite_db: Database) -> None:
    with sqlite_db.write() as s:
        s.execute(text("CREATE TABLE t (id integer primary key)"))
        s.execute(text("INSERT INTO t VALUES (1)"))
    holder = sqlite3.connect(sqlite_db.url.database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        impatient = sqlite3.connect(sqlite_db.url.database, timeout=0.05, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError) as locked:
            impatient.execute("BEGIN IMMEDIATE")
        impatient.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert transient.is_transient(locked.value)
    duplicate = error_of(sqlite_db, "INSERT INTO t VALUES (1)")
    assert isinstance(duplicate, IntegrityError) and not transient.is_transient(duplicate)
    assert not transient.is_transient(error_of(sqlite_db, "SELECT * FROM no_such_table"))
    assert not transient.is_transient(ValueError("database is locked"))  # not a database error


def test_a_constraint_on_postgres_is_not_weather(pg_db: Database) -> None:
    with pg_db.write() as s:
        s.execute(text("CREATE TABLE t (id int primary key)"))
        s.execute(text("INSERT INTO t VALUES (1)"))
    err = error_of(pg_db, "INSERT INTO t VALUES (1)")
    assert transient.sqlstate(err) == "23505" and not transient.is_transient(err)


def lost_connection() -> OperationalError:
    return OperationalError("COMMIT", {}, psycopg.OperationalError("server closed the connection unexpectedly"),
                            connection_invalidated=True)


def test_retry_waits_out_the_weather_with_growing_jittered_waits(caplog: pytest.LogCaptureFixture) -> None:
    failures = [lost_connection() for _ in range(5)]
    slept: list[float] = []

    def write() -> str:
        if failures:
            raise failures.pop()
        return "stored"

    outage = transient.Outage(logging.getLogger("test.weather"), "writer")
    policy = transient.RetryPolicy(attempts=10, within=60, first=0.1, factor=2, cap=0.8)
    with caplog.at_level(logging.INFO, logger="test.weather"):
        assert transient.retry(write, what="a write", policy=policy, outage=outage, sleep=slept.append,
                               rng=random.Random(7)) == "stored"
    steps = [0.1, 0.2, 0.4, 0.8, 0.8]
    assert len(slept) == 5 and all(step / 2 <= s <= step for s, step in zip(slept, steps, strict=True))
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages  # one when it went, one when it came back
    assert "unreachable" in messages[0] and "back after" in messages[1] and "5 failed attempts" in messages[1]
    assert outage.outages == 1 and not outage.away


def test_retry_gives_up_within_its_bound_with_one_line() -> None:
    calls = 0

    def write() -> None:
        nonlocal calls
        calls += 1
        raise lost_connection()

    with pytest.raises(transient.DatabaseGone) as gone:
        transient.retry(write, what="line 7", policy=transient.RetryPolicy(attempts=4, within=60),
                        sleep=lambda _s: None)
    assert calls == 4 and gone.value.attempts == 4
    assert str(gone.value).startswith("line 7 was not confirmed after 4 attempts")
    assert "\n" not in str(gone.value) and "server closed the connection" in str(gone.value)


def test_retry_stops_waiting_when_told_and_passes_real_errors_through() -> None:
    stop = threading.Event()
    stop.set()
    with pytest.raises(transient.DatabaseGone, match="stopped while the database was away"):
        transient.retry(lambda: (_ for _ in ()).throw(lost_connection()), what="line 1",
                        policy=transient.RetryPolicy(attempts=100, within=600), stop=stop)
    calls = 0

    def refused() -> None:
        nonlocal calls
        calls += 1
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    with pytest.raises(IntegrityError):
        transient.retry(refused, what="a write", sleep=lambda _s: None)
    assert calls == 1  # a real refusal is not tried again


def test_describe_never_shows_a_password() -> None:
    exc = OperationalError("SELECT 1", {}, psycopg.OperationalError(
        'connection to server at "db" failed: password=hunter2 postgresql://u:hunter2@db/x\n\tmore'))
    line = transient.describe(exc)
    assert "hunter2" not in line and "\n" not in line


def test_the_command_line_turns_any_database_error_into_one_line(
        db: Database, capsys: pytest.CaptureFixture[str]) -> None:
    with db.write() as s:  # a schema broken behind the application's back: the command still fails well
        s.execute(text("DROP TABLE timer CASCADE" if db.is_postgres else "DROP TABLE timer"))
    url = db.url.render_as_string(hide_password=False)
    code = cli_main(["--db", url, "timers", "list", "--json"])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.startswith("dispatch-console: database error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "[SQL:" not in err
