"""The offline journal: reports kept on the station while the database is away, stored once later."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from support.world import make_world

from db.engine import Database
from db.models import Incident
from dispatch_console.incidents import journal as journal_mod
from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.incidents.journal import JournalEntry, JournalFull, OfflineJournal, record_or_keep
from dispatch_console.incidents.service import CreateResult
from dispatch_console.kernel import transient

ROOT = Path(__file__).resolve().parents[2]
FAST = transient.RetryPolicy(attempts=2, within=0.5, first=0.05, cap=0.1)


def draft(text: str, **extra: object) -> IncidentDraft:
    return IncidentDraft(category="fire", severity=2, source="hotline_12345", description=text,
                         grid="G1", **extra)  # type: ignore[arg-type]


def stored(db: Database) -> list[tuple[str, str, str | None]]:
    with db.read() as s:
        rows = s.execute(select(Incident.description, Incident.number, Incident.request_id)
                         .order_by(Incident.id)).all()
    return [(d, n, r) for d, n, r in rows]


def unreachable(tmp_path: Path, backend: str) -> Database:
    """A database that cannot be reached: a SQLite file whose folder is gone, a port nobody serves."""
    if backend == "sqlite":
        return Database(f"sqlite:///{tmp_path / 'gone' / 'away.sqlite3'}")
    return Database("postgresql+psycopg://postgres@127.0.0.1:9/dispatch")


def test_reports_kept_while_away_are_stored_once_in_order_after_a_restart(db: Database, backend: str,
                                                                          tmp_path: Path) -> None:
    world = make_world(db, officers=1)
    officer = world.officers[0]
    away = unreachable(tmp_path, backend)
    journal = OfflineJournal(officer.station, folder=tmp_path / "journal")
    kept = [record_or_keep(away, journal, officer, draft(f"离线报告 {i}"), policy=FAST) for i in range(3)]
    assert all(isinstance(k, JournalEntry) for k in kept)
    assert journal.count == 3 and journal.path.exists()
    # the console is restarted: the journal is read back from the disk
    again = OfflineJournal(officer.station, folder=tmp_path / "journal")
    assert [e.draft.description for e in again.waiting()] == ["离线报告 0", "离线报告 1", "离线报告 2"]
    assert all(e.actor == officer and e.draft.reported_at is not None for e in again.waiting())
    # a new report while others wait joins them, even though the database answers again
    later = record_or_keep(db, again, officer, draft("离线报告 3"), policy=FAST)
    assert isinstance(later, JournalEntry) and again.count == 4

    outcome = again.replay(db, policy=FAST)
    assert [e.draft.description for e in outcome.stored] == [f"离线报告 {i}" for i in range(4)]
    assert outcome.waiting == 0 and not outcome.refused
    rows = stored(db)
    assert [r[0] for r in rows] == [f"离线报告 {i}" for i in range(4)]
    assert [r[1] for r in rows] == sorted(r[1] for r in rows)  # numbers in the order they were taken
    assert [r[2] for r in rows] == [e.request_id for e in outcome.stored]
    assert [e.number for e in outcome.stored] == [r[1] for r in rows]
    # nothing left: a second replay and a third console start store nothing more
    assert again.replay(db, policy=FAST).stored == ()
    assert OfflineJournal(officer.station, folder=tmp_path / "journal").entries() == []
    assert len(stored(db)) == 4
    # with nothing waiting, the form records straight away
    direct = record_or_keep(db, again, officer, draft("在线报告"), policy=FAST)
    assert isinstance(direct, CreateResult) and not direct.replayed
    away.dispose()


def test_a_replay_that_died_between_commit_and_note_stores_nothing_twice(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    world = make_world(db, officers=1)
    officer = world.officers[0]
    folder = tmp_path / "journal"
    journal = OfflineJournal(officer.station, folder=folder)
    for i in range(4):
        journal.keep(officer, draft(f"报告 {i}"))
    real_mark = OfflineJournal._mark
    marks: list[str] = []

    class Died(BaseException):
        pass

    def mark_then_die(self: OfflineJournal, entry: JournalEntry, state: str, **extra: object) -> JournalEntry:
        if len(marks) == 2:
            raise Died  # the console died after the third report committed, before the journal said so
        marks.append(entry.request_id)
        return real_mark(self, entry, state, **extra)

    monkeypatch.setattr(OfflineJournal, "_mark", mark_then_die)
    with pytest.raises(Died):
        journal.replay(db, policy=FAST)
    monkeypatch.setattr(OfflineJournal, "_mark", real_mark)
    assert len(stored(db)) == 3

    restarted = OfflineJournal(officer.station, folder=folder)
    assert restarted.count == 2  # the third is stored, but the journal never heard
    outcome = restarted.replay(db, policy=FAST)
    assert [e.draft.description for e in outcome.stored] == ["报告 2", "报告 3"]
    assert [r[0] for r in stored(db)] == [f"报告 {i}" for i in range(4)]


def test_a_refused_report_is_kept_and_shown_and_the_others_are_stored(db: Database, tmp_path: Path) -> None:
    world = make_world(db, officers=1)
    officer = world.officers[0]
    journal = OfflineJournal(officer.station, folder=tmp_path)
    journal.keep(officer, draft("好的一条"))
    journal.keep(officer, IncidentDraft(category="fire", severity=2, source="hotline_12345",
                                        description="网格已撤销", grid="G-已撤销"))
    journal.keep(officer, draft("又一条"))
    outcome = journal.replay(db, policy=FAST)
    assert [e.draft.description for e in outcome.stored] == ["好的一条", "又一条"]
    assert [e.draft.description for e in outcome.refused] == ["网格已撤销"]
    assert "G-已撤销" in (outcome.refused[0].reason or "")
    # still shown after a restart, until the officer has seen it
    restarted = OfflineJournal(officer.station, folder=tmp_path)
    assert [(e.state, e.draft.description) for e in restarted.entries()] == [("refused", "网格已撤销")]
    assert restarted.replay(db, policy=FAST).stored == ()
    assert restarted.dismiss_refused() == 1
    assert OfflineJournal(officer.station, folder=tmp_path).entries() == []
    assert len(stored(db)) == 2


def test_a_torn_last_line_and_foreign_lines_are_skipped(tmp_path: Path, system) -> None:  # type: ignore[no-untyped-def]
    journal = OfflineJournal("值班台1", folder=tmp_path)
    journal.keep(system, draft("完整的一条"))
    with journal.path.open("ab") as fh:
        fh.write(b'["not", "a report"]\n{"kind": "report", "request_id": "x", "draft": {"evil": 1}}\n')
        fh.write(b'{"kind": "report", "request_id": "torn", "taken_at": "2026-')  # the power went
    again = OfflineJournal("值班台1", folder=tmp_path)
    assert [e.draft.description for e in again.waiting()] == ["完整的一条"]


def test_the_journal_is_bounded(tmp_path: Path, system, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(journal_mod, "MAX_REPORTS", 2)
    journal = OfflineJournal("值班台1", folder=tmp_path)
    journal.keep(system, draft("一"))
    journal.keep(system, draft("二"))
    with pytest.raises(JournalFull, match="paper"):
        journal.keep(system, draft("三"))
    assert journal.count == 2


def test_one_file_per_station_with_any_name(tmp_path: Path, system) -> None:  # type: ignore[no-untyped-def]
    a = OfflineJournal("值班台/1", folder=tmp_path)
    b = OfflineJournal("值班台 1", folder=tmp_path)
    assert a.path != b.path and a.path.parent == tmp_path == b.path.parent
    a.keep(system, draft("甲"))
    assert OfflineJournal("值班台 1", folder=tmp_path).entries() == []


CHILD = """
import os, sys, time
from station import composition
composition.install()
from db.engine import Database
from dispatch_console.incidents import journal
from pathlib import Path

real = journal.create_incident
done = 0

def create_then_hang(*args, **kwargs):
    global done
    result = real(*args, **kwargs)
    done += 1
    if done == 3:  # committed, and the journal not yet told: the moment to be killed
        print("committed 3", flush=True)
        time.sleep(600)
    return result

journal.create_incident = create_then_hang
j = journal.OfflineJournal(sys.argv[2], folder=Path(sys.argv[3]))
j.replay(Database(sys.argv[1]))
"""


def test_a_replay_killed_mid_way_stores_each_report_once_after_a_restart(db: Database, tmp_path: Path) -> None:
    world = make_world(db, officers=1)
    officer = world.officers[0]
    folder = tmp_path / "journal"
    journal = OfflineJournal(officer.station, folder=folder)
    for i in range(6):
        journal.keep(officer, draft(f"报告 {i}"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    child = subprocess.Popen([sys.executable, "-c", CHILD, db.url.render_as_string(hide_password=False),
                              officer.station, str(folder)], stdout=subprocess.PIPE, env=env, cwd=ROOT)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"committed 3"
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(30)
    assert [r[0] for r in stored(db)] == ["报告 0", "报告 1", "报告 2"]
    lines = [json.loads(x) for x in journal.path.read_text(encoding="utf-8").splitlines()]
    assert [x["kind"] for x in lines].count("stored") == 2

    restarted = OfflineJournal(officer.station, folder=folder)
    assert restarted.count == 4
    outcome = restarted.replay(db, policy=FAST)
    assert len(outcome.stored) == 4 and outcome.waiting == 0
    rows = stored(db)
    assert [r[0] for r in rows] == [f"报告 {i}" for i in range(6)]
    with db.read() as s:
        assert s.execute(select(func.count(func.distinct(Incident.request_id)))).scalar() == 6
