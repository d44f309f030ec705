"""The warning rules from the change feed: each episode raised once, drills never counted (both backends)."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from support.street import Street, make_street

from db.engine import Database, db_now
from db.models import ChangeLog, EarlyWarning, Notification, WarningCursor, WarningIncident
from dispatch_console import warnings
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.errors import IllegalTransition, PermissionDenied, ValidationError
from dispatch_console.kernel.timefmt import LOCAL_TZ
from dispatch_console.warnings.evaluate import address_key, evaluate_pending, phone_key
from dispatch_console.warnings.rules import load_policy, poisson_upper_tail


@pytest.fixture
def street(db: Database) -> Street:
    s = make_street(db)
    assert evaluate_pending(db, "agent") == []  # the first run starts the rules' cursor at the present
    return s


def _warnings(db: Database, rule: str | None = None) -> list[EarlyWarning]:
    with db.read() as s:
        q = select(EarlyWarning).order_by(EarlyWarning.id)
        if rule:
            q = q.where(EarlyWarning.rule == rule)
        return list(s.execute(q).scalars())


def _evaluate_on_five_machines(db: Database) -> None:
    """Four consoles and an agent, each with its own connections, evaluating at the same moment."""
    machines = [Database(db.url) for _ in range(5)]
    start = threading.Barrier(len(machines))
    errors: list[BaseException] = []

    def run(i: int, machine: Database) -> None:
        try:
            start.wait()
            evaluate_pending(machine, "agent" if i == 0 else f"ws-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, m)) for i, m in enumerate(machines)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for m in machines:
        m.dispose()
    assert errors == []


def test_three_reports_from_one_phone_raise_exactly_one_warning_with_five_machines_evaluating(
        street: Street) -> None:
    phones = ["138 0013 8000", "+86 13800138000", "138-0013-8000"]  # one phone, written three ways
    for n, phone in enumerate(phones):
        street.report(f"第{n + 1}次反映楼上漏水", phone=phone, address=f"桃源村{n + 1}栋")
        _evaluate_on_five_machines(street.db)
    street.report("第4次反映楼上漏水", phone="13800138000")
    _evaluate_on_five_machines(street.db)
    (w,) = _warnings(street.db, "repeat_phone")
    with street.db.read() as s:
        linked = set(s.execute(select(WarningIncident.incident_id).where(WarningIncident.warning_id == w.id))
                     .scalars())
        notes = s.execute(select(func.count()).select_from(Notification).where(
            Notification.kind == "warning", Notification.title == w.title)).scalar_one()
    assert linked == set(street.made)  # the three that raised it, and the fourth that joined it
    assert notes == 1
    assert w.target_role == "shift_leader" and "138****8000" in w.title


def test_the_same_address_written_differently_counts_as_one(street: Street) -> None:
    for address in ("桃源街道 平山村 3栋", "桃源街道平山村3栋", "桃源街道，平山村３栋"):
        street.report("油烟扰民", address=address)
    evaluate_pending(street.db, "agent")
    (w,) = _warnings(street.db, "repeat_address")
    assert "3" in w.title
    assert address_key("桃源街道，平山村３栋") == address_key("桃源街道 平山村 3栋")


def test_reports_older_than_the_window_and_drills_do_not_count(street: Street) -> None:
    street.report("漏水", phone="13900001111", days_ago=31)
    street.report("漏水", phone="13900001111")
    street.report("演练：漏水", phone="13900001111", drill=True)
    evaluate_pending(street.db, "agent")
    assert _warnings(street.db, "repeat_phone") == []
    street.report("漏水", phone="13900001111")
    evaluate_pending(street.db, "agent")
    assert _warnings(street.db, "repeat_phone") == []  # two in 30 days (the drill and the old one left out)
    street.report("漏水", phone="13900001111")
    evaluate_pending(street.db, "agent")
    assert len(_warnings(street.db, "repeat_phone")) == 1


def test_no_surge_is_judged_before_the_street_has_a_baseline(street: Street) -> None:
    for n in range(10):  # a new deployment: ten reports on the first day are no surge against nothing
        street.report(f"第一天{n}", grid="G1", category="city_management")
    evaluate_pending(street.db, "agent")
    assert _warnings(street.db, "grid_surge") == [] and _warnings(street.db, "category_surge") == []


def test_a_drill_never_raises_a_group_warning(street: Street) -> None:
    street.report("演练：50人聚集", category="mass_gathering", people=50, drill=True)
    evaluate_pending(street.db, "agent")
    assert [w.title for w in _warnings(street.db)] == []


def _seed_history(street: Street, per_day: int, days: int = 28, grid: str = "G1") -> None:
    """History recorded before the rules ran: the cursor moves past it, as at a first start."""
    for day in range(2, days + 2):  # the 28 days before the last 24 hours
        for n in range(per_day):
            street.report(f"历史{day}-{n}", grid=grid, category="city_management", days_ago=day)
    with street.db.write() as s:
        s.execute(update(WarningCursor).values(seq=select(func.max(ChangeLog.seq)).scalar_subquery()))


def test_a_surge_in_one_grid_raises_a_surge_warning_and_a_normal_day_does_not(street: Street) -> None:
    _seed_history(street, per_day=2)
    for n in range(4):  # a normal day: 4 reports against a mean of 2
        street.report(f"今天{n}", grid="G1", category="city_management")
    evaluate_pending(street.db, "agent")
    assert _warnings(street.db, "grid_surge") == []
    assert poisson_upper_tail(4, 2.0) > 0.001
    for n in range(8):  # 12 in a day against 2: P(X ≥ 12 | 2) ≈ 1e-6
        street.report(f"突增{n}", grid="G1", category="city_management")
    evaluate_pending(street.db, "agent")
    (w,) = _warnings(street.db, "grid_surge")
    assert "峰景社区第1网格" in w.title and w.details is not None and w.details["count"] >= 8
    assert len(_warnings(street.db, "category_surge")) == 1  # the whole street's city management too
    street.report("突增之后", grid="G1", category="city_management")
    evaluate_pending(street.db, "agent")
    assert len(_warnings(street.db, "grid_surge")) == 1  # the same episode: joined, not raised again
    assert _warnings(street.db, "grid_surge")[0].id == w.id


def test_group_incidents_go_to_the_stability_office_and_at_thirty_to_the_director(street: Street) -> None:
    street.report("工地门口6人讨薪", category="labor", people=6)
    street.report("某小区业主40人聚集", category="mass_gathering", people=40)
    evaluate_pending(street.db, "agent")
    rows = [(w.level, w.target_role, w.unit_kind, w.details["tier"] if w.details else None)
            for w in _warnings(street.db, "group_incident")]
    assert sorted(rows, key=str) == sorted([
        ("warning", "shift_leader", "stability_office", 5),
        ("warning", "shift_leader", "stability_office", 5),
        ("critical", "director", "stability_office", 30),
    ], key=str)


def test_more_people_later_raises_the_next_tier_once(street: Street) -> None:
    from dispatch_console.incidents import service as incidents

    inc = street.report("10人聚集", category="mass_gathering", people=10)
    evaluate_pending(street.db, "agent")
    row = incidents.update_incident(street.db, street.officer, inc, 1, people_count=35)
    incidents.update_incident(street.db, street.officer, inc, row.version, description="35人聚集，情绪激动")
    evaluate_pending(street.db, "agent")
    tiers = sorted(w.details["tier"] for w in _warnings(street.db, "group_incident") if w.details)
    assert tiers == [5, 30]


def test_a_sensitive_period_notifies_one_level_higher(street: Street, tmp_path: Path) -> None:
    with street.db.read() as s:
        today = db_now(s).astimezone(LOCAL_TZ).date()
    config = tmp_path / "config"
    (config / "policies").mkdir(parents=True)
    (config / "policies" / "sensitive_periods.toml").write_text(
        f'[[period]]\nname = "全国两会"\nfrom = {today - timedelta(days=1)}\nto = {today + timedelta(days=1)}\n',
        encoding="utf-8")
    policy = load_policy(Resources(config))
    street.report("8人到街道上访", category="petition", people=8)
    street.report("8名工人讨薪", category="labor", people=8)  # not a sensitive category: as usual
    evaluate_pending(street.db, "agent", policy=policy)
    by_category = {w.sensitive_period: (w.level, w.target_role) for w in _warnings(street.db, "group_incident")}
    assert by_category == {"全国两会": ("critical", "director"), None: ("warning", "shift_leader")}
    (raised,) = [w for w in _warnings(street.db) if w.sensitive_period]
    assert raised.title.startswith("[全国两会]")


def test_the_lifecycle_raised_seen_handled_or_dismissed(street: Street) -> None:
    street.report("6人聚集", category="mass_gathering", people=6)
    street.report("7人聚集", category="mass_gathering", people=7)
    evaluate_pending(street.db, "agent")
    first, second = (w.id for w in _warnings(street.db))
    assert warnings.mark_seen(street.db, street.officer, first).state == "seen"
    with pytest.raises(ValidationError):
        warnings.handle(street.db, street.officer, first, "   ")
    row = warnings.handle(street.db, street.officer, first, "已通知维稳办到场疏导")
    assert (row.state, row.note, row.closed_by) == ("handled", "已通知维稳办到场疏导", "值班员李")
    with pytest.raises(IllegalTransition):
        warnings.dismiss(street.db, street.officer, first, "重复")
    assert warnings.dismiss(street.db, street.leader, second, "同一批人，已合并处置").state == "dismissed"
    assert warnings.list_warnings(street.db, open_only=True) == []
    assert warnings.count_open(street.db) == 0


def test_an_observer_may_not_handle_a_warning(street: Street, make_actor) -> None:  # type: ignore[no-untyped-def]
    street.report("6人聚集", category="mass_gathering", people=6)
    evaluate_pending(street.db, "agent")
    (w,) = _warnings(street.db)
    with pytest.raises(PermissionDenied):
        warnings.handle(street.db, make_actor("observer"), w.id, "看到了")


def test_reports_from_before_the_first_run_count_but_raise_nothing_themselves(db: Database) -> None:
    street = make_street(db)
    street.report("第1次", phone="13700001234", grid=None)
    street.report("第2次", phone="13700001234", grid=None)
    assert evaluate_pending(db, "agent") == []  # the first run: the cursor starts here, history is counted
    assert _warnings(db) == []
    street.report("第3次", phone="13700001234", grid=None)
    evaluate_pending(db, "agent")
    (w,) = _warnings(db, "repeat_phone")
    with db.read() as s:
        linked = set(s.execute(select(WarningIncident.incident_id).where(WarningIncident.warning_id == w.id))
                     .scalars())
    assert linked == set(street.made)


def test_phone_and_address_keys() -> None:
    assert phone_key("+86 138-0013-8000") == phone_key("13800138000") == "13800138000"
    assert phone_key("0755-2661 2345") == "075526612345"
    assert phone_key("110") is None and address_key("3栋") is None
