"""The change feed as seen from the GUI thread: ``last_seq`` counts a change only once every
receiver has handled it (a test or a benchmark that waits for it then sees what the officer sees)."""

from __future__ import annotations

from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changefeed import Change
from dispatch_console.kernel.changes import record
from dispatch_console.kernel.console import ConsoleContext
from ui.shell.feed import QtChangeFeed

WAIT = 10_000


def test_last_seq_is_what_the_receivers_have_handled(qtbot, db, system: Actor) -> None:  # type: ignore[no-untyped-def]
    with db.write() as s:
        before = record(s, system, entity="incident", entity_id=1, op="create")
    feed = QtChangeFeed(ConsoleContext(db, "ws-feed"))
    seen: list[int] = []
    handled_when_received: list[int] = []

    def receive(batch: list[Change]) -> None:
        handled_when_received.append(feed.last_seq)
        seen.extend(c.seq for c in batch)

    feed.changed.connect(receive)
    feed.start()
    try:
        assert feed.last_seq == before  # where it started: nothing earlier is delivered
        with db.write() as s:
            seqs = [record(s, system, entity="incident", entity_id=i, op="update") for i in (2, 3)]
        with db.write() as s:
            seqs.append(record(s, system, entity="incident", entity_id=4, op="update"))
        qtbot.waitUntil(lambda: feed.last_seq >= seqs[-1], timeout=WAIT)
        assert seen == seqs  # every receiver has run for every change counted
        assert all(h < seqs[-1] for h in handled_when_received)  # counted after, not before
    finally:
        feed.stop()
