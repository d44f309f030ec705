"""Notes and call-taking answers in the offline journal: kept while the database is away, stored
once when it is back — the reports first, then the notes, a note on a report waiting for its number."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from support.world import make_world

from db.engine import Database
from db.models import Incident, IncidentEvent
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.incidents.journal import JournalEntry, JournalNote, OfflineJournal, note_or_keep, record_or_keep
from dispatch_console.incidents.service import CreateResult
from dispatch_console.kernel import transient
from dispatch_console.kernel.console import ConsoleContext
from dispatch_console.protocols import answers_of, load_sets
from ui.protocols.questions import Answers, store_kept_answers

FAST = transient.RetryPolicy(attempts=2, within=0.5, first=0.05, cap=0.1)
GAS = {"smell_now": "strong", "valve": "cannot", "source": "cylinder", "casualties": "symptoms",
       "people_nearby": "building"}  # severity 1 suggested


def draft(text: str, **extra: object) -> IncidentDraft:
    return IncidentDraft(category="fire", severity=2, source="hotline_12345", description=text,
                         grid="G1", **extra)  # type: ignore[arg-type]


def unreachable(tmp_path: Path, backend: str) -> Database:
    if backend == "sqlite":
        return Database(f"sqlite:///{tmp_path / 'gone' / 'away.sqlite3'}")
    return Database("postgresql+psycopg://postgres@127.0.0.1:9/dispatch")


def notes_of(db: Database, number: str) -> list[tuple[str | None, str | None]]:
    """(text, request id) of the incident's notes, in the order stored."""
    with db.read() as s:
        incident_id = s.execute(select(Incident.id).where(Incident.number == number)).scalar_one()
        events = s.execute(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id,
                                                       IncidentEvent.kind == "note")
                           .order_by(IncidentEvent.id)).scalars().all()
        return [(e.note, (e.data or {}).get("request_id")) for e in events]


def test_notes_taken_offline_are_added_once_after_the_reports_and_in_order(
        db: Database, backend: str, tmp_path: Path) -> None:
    world = make_world(db, officers=1)
    officer = world.officers[0]
    known = world.record("在线时登记的事件")
    away = unreachable(tmp_path, backend)
    folder = tmp_path / "journal"
    journal = OfflineJournal(officer.station, folder=folder)

    first = note_or_keep(away, journal, officer, known.id, "离线备注 甲", number=known.number, policy=FAST)
    assert isinstance(first, JournalNote) and first.incident_id == known.id
    report = record_or_keep(away, journal, officer, draft("离线接报"), policy=FAST)
    assert isinstance(report, JournalEntry)
    on_report = journal.keep_note(officer, "离线备注 乙（新事件）", report_id=report.request_id)
    # while the database is away (the console knows it) a note is kept at once, after the others
    later = note_or_keep(db, journal, officer, known.id, "离线备注 丙", number=known.number, offline=True)
    assert isinstance(later, JournalNote)
    assert journal.count == 1 and journal.notes_count == 3 and journal.pending == 4
    assert [n.text for n in journal.notes_for(incident_id=known.id)] == ["离线备注 甲", "离线备注 丙"]
    assert [n.text for n in journal.notes_for(report_id=report.request_id)] == ["离线备注 乙（新事件）"]

    # the console is restarted: notes and the report they belong to are read back from the disk
    again = OfflineJournal(officer.station, folder=folder)
    assert [(n.text, n.report_id) for n in again.notes_waiting()] == [
        ("离线备注 甲", None), ("离线备注 乙（新事件）", report.request_id), ("离线备注 丙", None)]
    # an unreachable database: nothing goes, nothing is lost
    stopped = again.replay(away, policy=FAST)
    assert stopped.reason and stopped.waiting == 4 and not stopped.notes

    outcome = again.replay(db, policy=FAST)
    assert outcome.reason is None and outcome.waiting == 0
    assert [e.draft.description for e in outcome.stored] == ["离线接报"]
    new_number = outcome.stored[0].number
    assert new_number and new_number > known.number
    assert [(n.text, n.number) for n in outcome.notes] == [
        ("离线备注 甲", known.number), ("离线备注 乙（新事件）", new_number), ("离线备注 丙", known.number)]
    assert notes_of(db, known.number) == [("离线备注 甲", first.request_id), ("离线备注 丙", later.request_id)]
    assert notes_of(db, new_number) == [("离线备注 乙（新事件）", on_report.request_id)]
    # the note on the new incident was written after the incident itself: in the order taken
    assert again.replay(db, policy=FAST).notes == ()
    assert OfflineJournal(officer.station, folder=folder).notes() == []
    away.dispose()


def test_a_note_sent_twice_is_stored_once(db: Database) -> None:
    world = make_world(db, officers=1)
    officer = world.officers[0]
    row = world.record("重复提交的备注")
    one = incidents.add_note(db, officer, row.id, "已电话回访", request_id="note-1")
    two = incidents.add_note(db, officer, row.id, "已电话回访", request_id="note-1")
    assert one.id == two.id
    incidents.add_note(db, officer, row.id, "已电话回访")  # without a request id: a note of its own
    assert notes_of(db, row.number) == [("已电话回访", "note-1"), ("已电话回访", None)]


def test_a_note_on_a_refused_report_is_refused_with_it(db: Database, tmp_path: Path) -> None:
    world = make_world(db, officers=1)
    officer = world.officers[0]
    journal = OfflineJournal(officer.station, folder=tmp_path)
    bad = journal.keep(officer, IncidentDraft(category="fire", severity=2, source="hotline_12345",
                                              description="网格已撤销", grid="G-已撤销"))
    journal.keep_note(officer, "补充情况", report_id=bad.request_id)
    outcome = journal.replay(db, policy=FAST)
    assert [e.draft.description for e in outcome.refused] == ["网格已撤销"]
    assert [n.text for n in outcome.refused_notes] == ["补充情况"]
    assert "report this note belongs to" in (outcome.refused_notes[0].reason or "")
    restarted = OfflineJournal(officer.station, folder=tmp_path)
    assert [(n.state, n.text) for n in restarted.notes()] == [("refused", "补充情况")]
    assert restarted.dismiss_refused() == 2
    assert OfflineJournal(officer.station, folder=tmp_path).notes() == []


def test_call_taking_answers_kept_with_an_offline_report_are_stored_with_its_incident_once(
        db: Database, backend: str, tmp_path: Path) -> None:
    world = make_world(db, officers=1)
    officer = world.officers[0]
    console = ConsoleContext(db, officer.station)
    gas = next(s for s in load_sets(console.resources)[0] if s.code == "gas_leak")
    kept_answers = Answers(gas, dict(GAS), None).as_journal()
    away = unreachable(tmp_path, backend)
    folder = tmp_path / "journal"
    journal = OfflineJournal(officer.station, folder=folder)
    leak = IncidentDraft(category="rental_housing", severity=1, source="hotline_12345",
                         description="出租屋液化气瓶漏气", grid="G1")
    kept = record_or_keep(away, journal, officer, leak, policy=FAST, answers=kept_answers)
    assert isinstance(kept, JournalEntry)

    calls: list[int] = []

    def after(entry: JournalEntry, result: CreateResult) -> None:
        calls.append(result.row.id)
        assert entry.answers is not None
        store_kept_answers(ConsoleContext(away, officer.station) if gone else console,
                           entry.actor, result.row.id, entry.answers)

    restarted = OfflineJournal(officer.station, folder=folder)
    assert restarted.waiting()[0].answers == kept_answers
    gone = True  # the first round, the database goes away between the incident and its answers
    first = restarted.replay(db, policy=FAST, after_report=after)
    assert first.reason and first.waiting == 1 and not first.stored  # the report waits, its incident is there
    gone = False
    second = restarted.replay(db, policy=FAST, after_report=after)
    assert [e.draft.description for e in second.stored] == ["出租屋液化气瓶漏气"]
    assert set(calls) == {second.stored[0].incident_id} and len(calls) >= 2
    stored = answers_of(db, calls[0])
    assert len(stored) == 1
    assert (stored[0].set_code, stored[0].score, stored[0].suggested_severity) == ("gas_leak", 63, 1)
    assert [a.choice for a in stored[0].answers] == ["strong", "cannot", "cylinder", "symptoms", "building"]
    # asked again for the same incident (a lost answer), nothing is stored twice
    assert store_kept_answers(console, officer, calls[0], kept_answers) is None
    assert len(answers_of(db, calls[0])) == 1
    with db.read() as s:
        assert s.execute(select(Incident.id)).scalars().all().count(calls[0]) == 1
    away.dispose()
