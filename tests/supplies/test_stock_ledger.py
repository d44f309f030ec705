"""The stock ledger: balances are sums, the last sandbags go once, nothing is edited or deleted."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, select, update
from support.world import make_world

from db.engine import Database
from db.models import Notification, StockMovement
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.errors import DispatchError, ValidationError
from dispatch_console.supplies.stock import add_depot, ledger, load_catalogue, move, stock


def catalogue():  # type: ignore[no-untyped-def]
    loaded, errors = load_catalogue(Resources())
    assert errors == []
    return loaded


def depots(db: Database) -> None:
    system = Actor.system("test")
    add_depot(db, system, code="D1", name="桃源社区应急物资储备点")
    add_depot(db, system, code="D2", name="街道应急物资仓库")


def test_receive_issue_transfer_and_count_balance_as_the_sum_of_the_ledger(db: Database) -> None:
    world = make_world(db)
    depots(db)
    officer, c = world.officers[0], catalogue()
    incident = world.record("龙珠大道积水", category="natural_disaster")
    move(db, officer, c, kind="receive", depot="D1", item="沙袋", quantity=500)
    move(db, officer, c, kind="issue", depot="D1", item="sandbag", quantity=120, incident=incident.number)
    move(db, officer, c, kind="transfer", depot="D1", item="防汛沙袋", quantity=80, to_depot="D2")
    rows = move(db, officer, c, kind="count", depot="D1", item="沙袋", quantity=295, reason="盘点少 5 袋，破损报废")
    assert [(r.kind, r.quantity, r.balance) for r in rows] == [("count", -5, 295)]
    by_depot = {(r.depot, r.item): r.quantity for r in stock(db, c)}
    assert by_depot == {("桃源社区应急物资储备点", "sandbag"): 295, ("街道应急物资仓库", "sandbag"): 80}
    lines = ledger(db, depot="D1")
    assert [(m.kind, m.quantity, m.balance) for m in reversed(lines)] == [
        ("receive", 500, 500), ("issue", -120, 380), ("transfer_out", -80, 300), ("count", -5, 295)]
    assert lines[2].incident_number == incident.number
    with db.read() as s:
        assert sum(s.execute(select(StockMovement.quantity)).scalars()) == 295 + 80


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"kind": "issue", "quantity": 1}, "quantity"),                        # nothing there
    ({"kind": "receive", "quantity": -3}, "quantity"),
    ({"kind": "receive", "quantity": 10, "item": "大炮"}, "item"),
    ({"kind": "count", "quantity": 0}, "reason"),                          # a correction says why
    ({"kind": "transfer", "quantity": 1}, "to_depot"),
])
def test_bad_movements_are_refused_with_the_field(db: Database, kwargs: dict, field: str) -> None:  # type: ignore[type-arg]
    world = make_world(db, officers=1)
    depots(db)
    args = {"depot": "D1", "item": "沙袋", **kwargs}
    with pytest.raises(ValidationError) as refused:
        move(db, world.officers[0], catalogue(), **args)
    assert refused.value.field == field
    assert stock(db, catalogue()) == []


def test_two_officers_issuing_the_last_ten_sandbags_one_is_told_stock_is_short(db: Database) -> None:
    world = make_world(db)
    depots(db)
    c = catalogue()
    move(db, world.officers[0], c, kind="receive", depot="D1", item="沙袋", quantity=10)
    incident = world.record("地下车库进水", category="natural_disaster")
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def issue(officer: Actor) -> None:
        own = Database(db.url)  # a second workstation: its own engine and connections
        try:
            start.wait()
            outcomes.append(move(own, officer, c, kind="issue", depot="D1", item="沙袋", quantity=10,
                                 incident=incident.number))
        except DispatchError as exc:
            outcomes.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=issue, args=(o,)) for o in world.officers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    refused = [o for o in outcomes if isinstance(o, ValidationError)]
    assert len(outcomes) == 2 and len(refused) == 1
    assert "Stock is short" in str(refused[0])
    assert [r.quantity for r in stock(db, c)] == [0]
    with db.read() as s:
        assert sum(s.execute(select(StockMovement.quantity)).scalars()) == 0
        warned = s.execute(select(Notification).where(Notification.kind == "stock_low")).scalars().all()
    assert len(warned) == 1 and "沙袋" in warned[0].title  # below the minimum: the shift leader is told once


def test_a_movement_cannot_be_edited_or_deleted_only_corrected_by_a_new_one(db: Database) -> None:
    world = make_world(db, officers=1)
    depots(db)
    c = catalogue()
    move(db, world.officers[0], c, kind="receive", depot="D1", item="抽水泵", quantity=3)
    for statement in (update(StockMovement).values(quantity=30), delete(StockMovement)):
        with pytest.raises(Exception, match="append-only"), db.write() as s:
            s.execute(statement)
    move(db, world.officers[0], c, kind="count", depot="D1", item="抽水泵", quantity=2, reason="一台送修")
    assert [r.quantity for r in stock(db, c)] == [2]
    assert len(ledger(db)) == 2
