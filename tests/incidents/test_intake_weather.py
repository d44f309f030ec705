"""``intake`` rides out a lost connection: every line stored once, acknowledged as it commits.

The faults here are made in-process (a write whose connection is lost before its commit, or
after its commit went through but before the answer came back) so that they hit exactly the
line chosen, on both backends; ``test_intake_outage.py`` does it to a real server.
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from db.engine import Database
from db.models import Incident
from station.launcher import main

ROOT = Path(__file__).resolve().parents[2]
GOOD = {"category": "fire", "severity": 2, "source": "video_alarm"}


def line(description: str, **extra: Any) -> bytes:
    return json.dumps({**GOOD, "description": description, **extra}, ensure_ascii=False).encode("utf-8")


def lost_connection() -> OperationalError:
    return OperationalError("COMMIT", {}, psycopg.OperationalError("server closed the connection unexpectedly"),
                            connection_invalidated=True)


class Faults:
    """Makes the next incident writes fail like a dropped connection.

    ``plan`` holds one entry per incident-inserting write: ``"before"`` (the transaction is rolled
    back), ``"after"`` (it committed, but the answer is lost) or ``None`` (it goes through).
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.plan: list[str | None] = []
        self.made: list[str] = []
        real = Database.write
        faults = self

        @contextmanager
        def write(db: Database) -> Iterator[Session]:
            inserted: list[bool] = []

            def spot(session: Session, _ctx: Any, _instances: Any) -> None:
                inserted.append(any(isinstance(o, Incident) for o in session.new))

            fault: str | None = None
            with real(db) as s:
                event.listen(s, "before_flush", spot)
                yield s
                if any(inserted) and faults.plan:
                    fault = faults.plan.pop(0)
                if fault == "before":
                    faults.made.append(fault)
                    raise lost_connection()
            if fault == "after":
                faults.made.append(fault)
                raise lost_connection()

        monkeypatch.setattr(Database, "write", write)


def url_of(db: Database) -> str:
    return db.url.render_as_string(hide_password=False)


@pytest.fixture
def user(make_actor) -> str:  # type: ignore[no-untyped-def]
    return str(make_actor("integration").username)


def intake(db: Database, user: str, data: bytes, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
           *args: str) -> tuple[int, list[dict[str, Any]], str]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    capsys.readouterr()
    code = main(["--db", url_of(db), "--user", user, "--password", "pw", "intake", "-", *args])
    out, err = capsys.readouterr()
    return code, [json.loads(x) for x in out.splitlines()], err


def by_description(db: Database) -> dict[str, list[str]]:
    with db.read() as s:
        rows = s.execute(select(Incident.description, Incident.number)).all()
    found: dict[str, list[str]] = {}
    for description, number in rows:
        found.setdefault(description, []).append(number)
    return found


def test_a_commit_whose_answer_was_lost_is_stored_once_and_acknowledged_as_stored(
        db: Database, user: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    faults = Faults(monkeypatch)
    faults.plan = [None, "after", "before", "before", "after", None]
    data = b"\n".join([line("one"), line("two"), line("three", external_id="ext-3"), line("four")]) + b"\n"
    code, acks, err = intake(db, user, data, capsys, monkeypatch, "--ack")
    assert faults.made == ["after", "before", "before", "after"]
    stored = by_description(db)
    assert code == 0, err
    assert sorted(stored) == ["four", "one", "three", "two"]
    assert all(len(numbers) == 1 for numbers in stored.values()), stored  # none stored twice
    assert [a["line"] for a in acks] == [1, 2, 3, 4]
    assert [a["status"] for a in acks] == ["stored"] * 4  # the lost answers were ours: stored, not duplicate
    assert {a["number"] for a in acks} == {n for numbers in stored.values() for n in numbers}
    assert [stored[d][0] for d in ("one", "two", "three", "four")] == [a["number"] for a in acks]
    assert "Traceback" not in err and "4 stored, 0 duplicates, 0 rejected." in err
    # each outage (line 2's, line 3's) was told once, and its end once — not once per failed try
    told = [r.getMessage() for r in caplog.records if r.name == "dispatch_console.intake"]
    assert [m.split(": ", 2)[1][:26] for m in told] == ["the database is unreachabl", "the database is back after",
                                                        "the database is unreachabl", "the database is back after"]


def test_json_acknowledges_every_kind_of_line_and_ends_with_the_summary(
        db: Database, user: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"\n".join([line("a", external_id="x-1"), b"{broken", b"", line("b", external_id="x-1"),
                       line("c")]) + b"\n"
    code, acks, err = intake(db, user, data, capsys, monkeypatch, "--json")
    assert code == 1
    summary = acks.pop()
    assert summary == {"summary": {"stored": 2, "duplicates": 1, "rejected": 1, "last_line": 5, "complete": True}}
    assert [(a["line"], a["status"]) for a in acks] == [(1, "stored"), (2, "rejected"), (4, "duplicate"),
                                                       (5, "stored")]
    assert acks[0]["number"] == acks[2]["number"] == by_description(db)["a"][0]
    assert acks[1]["number"] is None and acks[1]["reason"].startswith("Not valid JSON")
    assert acks[3]["number"] == by_description(db)["c"][0] and acks[3]["reason"] is None
    assert "line 2: Not valid JSON" in err and "Traceback" not in err


def test_a_database_that_stays_away_ends_intake_with_one_line_and_reads_no_further(
        db: Database, user: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    faults = Faults(monkeypatch)
    faults.plan = [None] + ["before"] * 10_000
    data = b"\n".join([line("kept"), line("lost"), line("never read")]) + b"\n"
    code, acks, err = intake(db, user, data, capsys, monkeypatch, "--ack", "--wait", "0.5")
    assert code == 1
    assert [(a["line"], a["status"]) for a in acks] == [(1, "stored"), (2, "rejected")]
    assert acks[1]["reason"].startswith("line 2 was not confirmed after ")
    assert sorted(by_description(db)) == ["kept"]
    assert "Stopped at line 2: the database stayed away" in err and "Traceback" not in err
    assert [r.getMessage().split(": ")[1][:27] for r in caplog.records if r.name == "dispatch_console.intake"] == [
        "the database is unreachable"]  # and never back


def test_sigterm_stops_a_piped_intake_with_its_summary(db: Database, user: str) -> None:
    env = {**os.environ, "DISPATCH_LANG": "en", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "station.launcher", "--db", url_of(db), "--user", user, "--password", "pw",
         "intake", "-", "--ack"],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    assert proc.stdin is not None and proc.stdout is not None
    tokens = [uuid.uuid4().hex for _ in range(3)]
    acks = []
    try:
        for token in tokens:  # each line is acknowledged before the next is sent: a live stream
            proc.stdin.write(line(token) + b"\n")
            proc.stdin.flush()
            acks.append(json.loads(proc.stdout.readline()))
        proc.send_signal(signal.SIGTERM)  # while intake waits for its next line
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = err.decode("utf-8")
    assert proc.returncode == 0, text
    assert out == b""
    assert [a["status"] for a in acks] == ["stored"] * 3
    stored = by_description(db)
    assert [stored[t] for t in tokens] == [[a["number"]] for a in acks]
    assert "Stopped by a signal after line 3" in text and "3 stored, 0 duplicates, 0 rejected." in text
    assert "Traceback" not in text


def test_request_ids_are_kept_and_unique(db: Database, user: str, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    intake(db, user, line("p") + b"\n" + line("q") + b"\n", capsys, monkeypatch, "--ack")
    with db.read() as s:
        ids = s.execute(select(Incident.request_id)).scalars().all()
        assert s.execute(select(func.count()).select_from(Incident)).scalar_one() == 2
    assert len(set(ids)) == 2 and all(ids)
