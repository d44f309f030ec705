"""The leader call-out's calls of the shift, and how each went, are in the handover record and its PDF's HTML."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from support.handover_fixtures import incident, now_to_next

from db.engine import Database, db_now
from db.models import Timer
from dispatch_console.channels import callout
from dispatch_console.handover import service as handover
from dispatch_console.handover.report import handover_html
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.i18n import set_language
from dispatch_console.timers.engine import fire_due


def _fire_calls(db: Database) -> None:
    with db.write() as s:  # the policy's wait is over (no real waiting in tests)
        s.execute(update(Timer).where(Timer.kind == "call", Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))
                  .values(due_at=db_now(s) - timedelta(seconds=1)))
    fire_due(db, "值班台1")


def test_the_calls_of_the_shift_and_their_outcomes_are_in_the_record(db: Database, system: Actor) -> None:
    room = now_to_next(db, system)
    fire = incident(db, room.zhang, 1, "化工厂起火", acknowledge=True)
    drill = incident(db, room.zhang, 1, "演练：化工厂起火", drill=True)
    with db.write() as s:
        callout.start_callout(s, incident_id=fire.id, reason="Ⅰ级火情", roles=("shift_leader", "duty_officer"))
        callout.start_callout(s, incident_id=drill.id, reason="演练", roles=("shift_leader",), is_drill=True)
    _fire_calls(db)
    [first] = [t for t in callout.call_tasks(db) if t.incident_id == fire.id]
    callout.record_outcome(db, room.zhang, first.notification_id, first.version, "no_answer")
    _fire_calls(db)
    [second] = [t for t in callout.call_tasks(db) if t.incident_id == fire.id]
    callout.record_outcome(db, room.zhang, second.notification_id, second.version, "busy")
    _fire_calls(db)  # the third person's call is on the console, not recorded yet

    record = handover.draft(db, room.wang, room.outgoing)
    calls = record.situation.calls
    assert [(c.incident_number, c.position, c.outcome) for c in calls] == [
        (fire.number, 1, "no_answer"), (fire.number, 2, "busy"), (fire.number, 3, None)]
    assert calls[0].name == first.name and calls[0].phone == first.phone and calls[0].recorded_by
    assert all(c.chain_length == first.chain_length for c in calls)
    assert drill.number not in {c.incident_number for c in calls}

    set_language("zh_CN")
    try:
        page = handover_html(record)
    finally:
        set_language("en")
    assert "本班电话调度记录（3）" in page and "未接" in page and "占线" in page and "未登记" in page
    assert first.phone in page and drill.number not in page
