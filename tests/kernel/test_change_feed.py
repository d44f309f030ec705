"""The change feed delivers every committed change, in order, across connections and reconnects."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from db.engine import Database
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changefeed import Change, ChangeFeed, libpq_url
from dispatch_console.kernel.changes import record


def _write(db: Database, actor: Actor, entity_id: int) -> int:
    with db.write() as s:
        return record(s, actor, entity="incident", entity_id=entity_id, op="update")


class Collector:
    def __init__(self) -> None:
        self.changes: list[Change] = []
        self.cond = threading.Condition()

    def __call__(self, batch: list[Change]) -> None:
        with self.cond:
            self.changes.extend(batch)
            self.cond.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.changes) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True


def test_change_from_another_connection_arrives_within_a_second(db: Database, system: Actor) -> None:
    writer = Database(db.url)  # a second workstation: its own engine and connections
    got = Collector()
    feed = ChangeFeed(db, got, safety_interval=30.0).start()  # no safety sweep: the doorbell must work
    try:
        assert feed.connected.wait(5)
        seq = _write(writer, system, 42)
        assert got.wait_for(1, timeout=1.0), "change not delivered within 1 s"
        assert [c.seq for c in got.changes] == [seq]
        assert got.changes[0].entity == "incident" and got.changes[0].entity_id == 42
        assert got.changes[0].station == "test-station"
    finally:
        feed.stop()
        writer.dispose()


def test_changes_arrive_in_commit_order_without_gaps(db: Database, system: Actor) -> None:
    got = Collector()
    feed = ChangeFeed(db, got).start()
    writers = [Database(db.url) for _ in range(4)]
    try:
        assert feed.connected.wait(5)

        def burst(w: Database, base: int) -> None:
            for i in range(25):
                _write(w, system, base + i)

        threads = [threading.Thread(target=burst, args=(w, n * 100)) for n, w in enumerate(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert got.wait_for(100, timeout=10)
        seqs = [c.seq for c in got.changes]
        assert seqs == sorted(seqs)
        assert len(set(seqs)) == 100
        assert seqs[-1] - seqs[0] == 99, "a seq was skipped"
    finally:
        feed.stop()
        for w in writers:
            w.dispose()


def test_catch_up_after_start_seq(db: Database, system: Actor) -> None:
    first = _write(db, system, 1)
    _write(db, system, 2)
    _write(db, system, 3)
    got = Collector()
    feed = ChangeFeed(db, got, start_seq=first)
    assert feed.catch_up() == 2
    assert [c.entity_id for c in got.changes] == [2, 3]


@pytest.mark.pg
def test_killed_listener_connection_loses_no_change(pg_db: Database, system: Actor) -> None:
    got = Collector()
    feed = ChangeFeed(pg_db, got, safety_interval=30.0).start()
    try:
        assert feed.connected.wait(5)
        _write(pg_db, system, 1)
        assert got.wait_for(1, 2)
        pid = feed.backend_pid
        with psycopg.connect(libpq_url(pg_db), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        # changes committed while the listener is down or reconnecting
        for i in range(2, 12):
            _write(pg_db, system, i)
        assert got.wait_for(11, timeout=10), f"only {len(got.changes)} of 11 delivered"
        assert [c.entity_id for c in got.changes] == list(range(1, 12))
        assert feed.reconnects >= 1
        assert feed.backend_pid != pid
    finally:
        feed.stop()
