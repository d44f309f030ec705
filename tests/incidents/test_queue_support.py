"""The live queue's service side (the shared world the queue's GUI tests use is in tests/support/world.py)."""


from __future__ import annotations

from datetime import timedelta

from support.world import Workstation, World, feature, isolated_settings, make_world, square, workstations  # noqa: F401

from db.engine import Database
from db.models import ChecklistItem, Timer
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.live_queue import (
    load_page,
    next_deadlines,
    pending_alerts,
    queue_position,
    refresh_rows,
)
from dispatch_console.incidents.queue import QueueQuery

# -- the service side -------------------------------------------------------------------------


def test_refresh_rows_splits_by_the_sql_filter(db: Database) -> None:
    w = make_world(db)
    fire = w.record("仓库冒烟", category="fire", severity=1)
    dispute = w.record("邻里噪音纠纷", category="dispute", severity=4)
    query = QueueQuery(open_only=True, categories=("fire",))
    refresh = refresh_rows(db, query, [fire.id, dispute.id, 999_999])
    assert set(refresh.matching) == {fire.id}
    assert set(refresh.other) == {dispute.id}
    assert refresh.missing == {999_999}
    # the same search the queue runs: description text, case-insensitively for ASCII
    assert set(refresh_rows(db, QueueQuery(text="噪音"), [fire.id, dispute.id]).matching) == {dispute.id}
    incidents.acknowledge(db, w.officers[0], fire.id, fire.version)
    incidents.resolve(db, w.officers[0], fire.id, fire.version + 1)
    assert set(refresh_rows(db, query, [fire.id]).other) == {fire.id}  # resolved: not in the open queue


def test_pending_alerts_are_new_serious_incidents_until_acknowledged(db: Database) -> None:
    w = make_world(db)
    serious = w.record("化工厂爆炸", severity=1, category="work_safety")
    w.record("路灯不亮", severity=4, category="city_management")
    major = w.record("群体聚集", severity=2, category="mass_gathering")
    assert [r.id for r in pending_alerts(db)] == [serious.id, major.id]
    incidents.acknowledge(db, w.officers[1], serious.id, serious.version)
    assert [r.id for r in pending_alerts(db)] == [major.id]


def test_queue_position_follows_the_sql_order(db: Database) -> None:
    w = make_world(db)
    low = w.record("低", severity=4)
    high = w.record("高", severity=1)
    mid = w.record("中", severity=3)
    query = QueueQuery(open_only=True)
    assert [r.id for r in load_page(db, query).page.rows] == [high.id, mid.id, low.id]
    assert queue_position(db, query, low.number) == (low.id, 2)
    assert queue_position(db, query, high.id) == (high.id, 0)
    assert queue_position(db, QueueQuery(severities=(1,)), low.number) == (low.id, None)


def test_next_deadline_is_the_earliest_of_timers_and_checklist_steps(db: Database) -> None:
    w = make_world(db)
    row = w.record("需要时限的事件", severity=2)
    now = db.now()
    before = next_deadlines(db, [row.id]).get(row.id)
    first = min(before.due_at, now + timedelta(hours=1)) if before else now + timedelta(hours=1)
    with db.write() as s:
        s.add(ChecklistItem(incident_id=row.id, template_code="t", template_version="1", step_key="k",
                            position=99, text="电话首报", due_at=first - timedelta(minutes=2),
                            created_at=now))
    deadline = next_deadlines(db, [row.id])[row.id]
    assert deadline.kind == "checklist" and deadline.due_at == first - timedelta(minutes=2)
    with db.write() as s:
        s.add(Timer(kind="ack", incident_id=row.id, due_at=first - timedelta(minutes=4), created_at=now,
                    step=0))
    deadline = next_deadlines(db, [row.id])[row.id]
    assert deadline.kind == "ack" and deadline.due_at == first - timedelta(minutes=4)
    load = load_page(db, QueueQuery(open_only=True))
    assert load.deadlines[row.id] == deadline
