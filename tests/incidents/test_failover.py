"""PostgreSQL failover with PostgreSQL's own machinery: a primary, a synchronous standby, a promotion.

The test starts both servers itself on loopback (``initdb``, ``pg_basebackup -R``, two ports of
their own — never the shared server), with synchronous replication, and gives every process one
URL naming both (``host=a,b`` with ``target_session_attrs=read-write``). While four file writers
and a piped ``intake - --ack`` record and a change feed listens, the primary is stopped and the
standby promoted: every line is stored exactly once as acknowledged, on the new primary, and the
change feed delivers every change_log row, in order, with none missing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select

from db.engine import Database, normalise_url, server_list
from db.migrate import upgrade
from db.models import ChangeLog
from dispatch_console.kernel.changefeed import Change, ChangeFeed
from tests.conftest import IN_CI
from tests.incidents.test_intake_outage import PG_BIN, PIPED_LINES, Cluster, Recording, free_port, run_as_postgres

pytestmark = [pytest.mark.slow, pytest.mark.pg]


def admin(port: int) -> psycopg.Connection:
    return psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True, connect_timeout=10)


@pytest.fixture
def primary_and_standby() -> Iterator[tuple[Cluster, Cluster]]:
    if not (PG_BIN / "pg_basebackup").exists() or (os.geteuid() == 0 and shutil.which("runuser") is None):
        if IN_CI:
            pytest.fail(f"PostgreSQL server binaries are needed under CI (looked in {PG_BIN})")
        pytest.skip(f"no PostgreSQL server binaries in {PG_BIN}")
    folder = Path(tempfile.mkdtemp(prefix="dc-failover-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    primary = Cluster(folder / "primary", free_port())
    standby = Cluster(folder / "standby", free_port())
    run_as_postgres([str(PG_BIN / "initdb"), "-D", str(primary.data), "-U", "postgres", "-A", "trust",
                     "--no-sync", "-E", "UTF8", "--locale=C"])
    started: list[Cluster] = []
    try:
        primary.start()
        started.append(primary)
        run_as_postgres([str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
                         "-D", str(standby.data), "-R", "-X", "stream", "--no-sync"])
        standby.start()
        started.append(standby)
        with admin(primary.port) as conn:
            # commits wait for the standby: an acknowledged line survives losing the primary
            conn.execute("ALTER SYSTEM SET synchronous_standby_names = '*'")
            conn.execute("SELECT pg_reload_conf()")
            deadline = time.monotonic() + 120
            while conn.execute("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'"
                               ).fetchone() != (1,):
                assert time.monotonic() < deadline, "the standby never became synchronous"
                time.sleep(0.2)
        yield primary, standby
    finally:
        for cluster in reversed(started):
            try:
                cluster.stop()
            except AssertionError:
                pass  # already stopped (the primary, by the test)
        shutil.rmtree(folder, ignore_errors=True)


def test_stopping_the_primary_and_promoting_the_standby_loses_and_repeats_nothing(
        primary_and_standby: tuple[Cluster, Cluster], tmp_path: Path) -> None:
    primary, standby = primary_and_standby
    with admin(primary.port) as conn:
        conn.execute("CREATE DATABASE duty")
    url = str(normalise_url(f"postgresql://postgres@127.0.0.1:{primary.port},127.0.0.1:{standby.port}/duty"
                            "?target_session_attrs=read-write&connect_timeout=5"))
    db = Database(url)
    assert server_list(db.url) == [f"127.0.0.1:{primary.port}", f"127.0.0.1:{standby.port}"]
    delivered: list[Change] = []
    lock = threading.Lock()

    def on_changes(batch: list[Change]) -> None:
        with lock:
            delivered.extend(batch)

    feed: ChangeFeed | None = None
    try:
        upgrade(db)
        feed = ChangeFeed(db, on_changes, start_seq=0, safety_interval=1.0).start()
        run = Recording.start(db, url, tmp_path)
        run.feed(lambda: len(run.piped.acks) >= PIPED_LINES // 3)
        primary.stop()
        stopped_at = time.monotonic()
        run.piped.send()  # sent while no server takes writes: intake waits for one that does
        run.piped.wait_told("the database is unreachable")
        standby.ctl("promote")
        run.piped.wait_acks(run.piped.sent)
        resumed_after = time.monotonic() - stopped_at
        errors = run.finish_and_check()
        with db.read() as s:
            seqs = s.execute(select(ChangeLog.seq).order_by(ChangeLog.seq)).scalars().all()
            on_standby = s.execute(select(ChangeLog.seq).limit(1)).scalar()
        deadline = time.monotonic() + 120
        while True:
            with lock:
                got = [c.seq for c in delivered]
            if len(got) >= len(seqs) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert got == seqs, "the change feed missed or repeated changes across the failover"
        assert on_standby is not None
        with admin(standby.port) as conn:
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (False,)
    finally:
        if feed is not None:
            feed.stop()
        db.dispose()
    print(f"\nwrites resumed {resumed_after:.1f} s after the primary stopped (promotion included); "
          f"outages told: { {n: e.count('unreachable') for n, e in errors.items()} }; "
          f"feed reconnects: {feed.reconnects if feed else None}")
