"""The queue: filters, search, paging and order in SQL; repeat reports; hostile text kept exactly."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, update

from db.engine import Database
from db.models import Area, Incident
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.service import IncidentDraft, QueueQuery
from dispatch_console.kernel.categories import load_catalog, shipped_catalog
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.i18n import set_language

CATEGORIES = ("dispute", "fire", "labor", "public_order")
SOURCES = ("grid_staff", "hotline_12345", "police_110", "walk_in")


@pytest.fixture
def queue(db: Database, make_actor):  # type: ignore[no-untyped-def]
    """240 incidents: 4 categories × 4 severities, two grids, every 3rd acknowledged, every 5th a drill."""
    officer = make_actor("duty_officer")
    with db.write() as s:
        grids = []
        for code in ("G1", "G2"):
            area = Area(level="grid", code=code, name=f"网格{code}", version=1)
            s.add(area)
            s.flush()
            grids.append(area.id)
    rows = []
    for i in range(240):
        rows.append(incidents.create_incident(db, officer, IncidentDraft(
            category=CATEGORIES[i % 4], severity=1 + (i // 4) % 4, source=SOURCES[i % 4],
            description=f"事件{i:03d} {'Gas leak' if i % 10 == 0 else '噪音'}", address=f"桃源村{i % 7}栋",
            reporter_name=f"报告人{i}", reporter_phone=f"1380000{i:04d}", grid_id=grids[i % 2],
            is_drill=i % 5 == 0,
        )).row)
    for r in rows[::3]:
        incidents.acknowledge(db, officer, r.id, r.version)
    return {"officer": officer, "rows": rows, "grids": grids}


def test_queue_filters_search_and_paging_run_in_sql(db: Database, queue) -> None:  # type: ignore[no-untyped-def]
    rows, grids, officer = queue["rows"], queue["grids"], queue["officer"]
    page = incidents.query_incidents(db, QueueQuery(categories=("fire",), limit=1000))
    assert page.total == 60 and {r.category for r in page.rows} == {"fire"}
    page = incidents.query_incidents(db, QueueQuery(severities=(1,), grid_ids=(grids[0],), limit=1000))
    expected = [r for i, r in enumerate(rows) if 1 + (i // 4) % 4 == 1 and i % 2 == 0]
    assert page.total == len(expected) and {r.id for r in page.rows} == {r.id for r in expected}
    page = incidents.query_incidents(db, QueueQuery(statuses=("acknowledged",), limit=1000))
    assert page.total == 80 and all(r.owner_user_id == officer.user_id for r in page.rows)
    page = incidents.query_incidents(db, QueueQuery(owner_user_id=officer.user_id, limit=5))
    assert page.total == 80 and len(page.rows) == 5
    page = incidents.query_incidents(db, QueueQuery(include_drill=False, limit=1000))
    assert page.total == 192 and not any(r.is_drill for r in page.rows)
    assert incidents.query_incidents(db, QueueQuery(open_only=True)).total == 240

    # Paging: sorted by severity then age, pages do not overlap.
    seen = []
    for offset in range(0, 240, 50):
        page = incidents.query_incidents(db, QueueQuery(limit=50, offset=offset))
        assert page.total == 240
        seen.extend(page.rows)
    assert len({r.id for r in seen}) == 240
    assert [(r.severity, r.created_at, r.id) for r in seen] == sorted((r.severity, r.created_at, r.id) for r in seen)
    assert seen[0].severity == 1 and seen[-1].severity == 4

    # Search: anywhere in number, description, address, reporter; wildcards are literal.
    assert incidents.query_incidents(db, QueueQuery(text="gas LEAK")).total == 24  # case-insensitive
    assert incidents.query_incidents(db, QueueQuery(text="事件123")).rows[0].id == rows[123].id
    assert incidents.query_incidents(db, QueueQuery(text="13800000042")).rows[0].id == rows[42].id
    assert incidents.query_incidents(db, QueueQuery(text="报告人17")).total == 11  # 17, 170–179
    assert incidents.query_incidents(db, QueueQuery(text="桃源村3栋")).total == len(rows[3::7])
    assert incidents.query_incidents(db, QueueQuery(text=rows[5].number.lower())).rows[0].id == rows[5].id
    assert incidents.query_incidents(db, QueueQuery(text="%")).total == 0
    assert incidents.query_incidents(db, QueueQuery(text="_")).total == 0
    both = incidents.query_incidents(db, QueueQuery(text="gas", categories=("dispute",), limit=1000))
    assert both.total == 12 and all(r.category == "dispute" for r in both.rows)

    # Refresh by id: only the asked rows.
    fresh = incidents.rows_by_ids(db, [rows[0].id, rows[1].id, 999_999])
    assert set(fresh) == {rows[0].id, rows[1].id}
    assert fresh[rows[0].id].status == "acknowledged" and fresh[rows[1].id].status == "new"
    assert fresh[rows[0].id].grid_name == "网格G1"


def test_repeat_reports_finds_earlier_calls_from_the_same_phone_or_address(db: Database, make_actor) -> None:  # type: ignore[no-untyped-def]
    officer = make_actor("duty_officer")

    def report(phone: str, address: str) -> incidents.IncidentRow:
        return incidents.create_incident(db, officer, IncidentDraft(
            category="petition", severity=4, source="hotline_12345", description="反映欠薪",
            reporter_phone=phone, address=address)).row

    old = report("13911112222", "桃源村1栋")
    recent = report("13911112222", "别处")
    same_place = report("13700000000", "桃源村1栋")
    unrelated = report("13600000000", "别处2")
    with db.write() as s:  # the first call was 100 days ago
        s.execute(update(Incident).where(Incident.id == old.id)
                  .values(created_at=old.created_at - timedelta(days=100)))
    current = report("13911112222", "桃源村1栋")
    found = incidents.repeat_reports(db, phone="13911112222", address="桃源村1栋", exclude_id=current.id)
    assert [r.id for r in found] == [same_place.id, recent.id]
    assert unrelated.id not in {r.id for r in found}
    assert {r.id for r in incidents.repeat_reports(db, phone="13911112222", days=365)} == {
        old.id, recent.id, current.id}
    assert incidents.repeat_reports(db) == []


HOSTILE = [
    "'; DROP TABLE incident;--",
    'He said "hello" and \'bye\' \\ back\\slash',
    "<script>alert('x')</script><img src=x onerror=alert(1)>",
    "العربية \u202eRTL override\u202c and zero\u200bwidth\u200d joiners \ufeff",
    "emoji 🚒🔥 and combining é and 𠀀 (astral)",
    "line one\nline two\tTabbed",
    "长" * 4000,
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_is_stored_and_found_exactly(db: Database, make_actor, text: str) -> None:  # type: ignore[no-untyped-def]
    officer = make_actor("duty_officer")
    short = text[:100].replace("\n", " ").replace("\t", " ")
    row = incidents.create_incident(db, officer, IncidentDraft(
        category="other", severity=4, source="walk_in", description=text, address=text[:500].replace("\n", " ")
        .replace("\t", " "), reporter_name=short)).row
    detail = incidents.get_incident(db, row.number)
    assert detail.row.description == text
    assert detail.row.reporter_name == short
    assert incidents.query_incidents(db, QueueQuery(text=text[:30].split("\n")[0])).rows[0].id == row.id
    incidents.add_note(db, officer, row.id, text)
    assert [e.note for e in incidents.get_incident(db, row.id).events if e.kind == "note"] == [text]
    assert incidents.query_incidents(db).total == 1  # the table is still there


def test_labels_follow_the_language_and_a_site_may_override_them(tmp_path) -> None:  # type: ignore[no-untyped-def]
    catalog = shipped_catalog()
    assert len(catalog.categories) == 12 and "other" in catalog.category_codes
    try:
        set_language("zh_CN")
        assert catalog.category_label("dispute") == "矛盾纠纷"
        assert catalog.source_label("hotline_12345") == "12345热线"
        assert catalog.severity_label(1) == "特别重大(Ⅰ级)"
        assert catalog.status_label("cancelled") == "已撤销(重复)"
    finally:
        set_language("en")
    assert catalog.category_label("dispute") == "Dispute"
    site = tmp_path / "site"
    site.mkdir()
    shipped = (Resources().path("categories.toml")).read_text(encoding="utf-8")
    (site / "categories.toml").write_text(
        shipped.replace("[sources]", '[sources]\nwechat = { zh = "微信群", en = "WeChat group" }'), encoding="utf-8")
    local = load_catalog(Resources(site))
    assert "wechat" in local.source_codes and "wechat" not in catalog.source_codes


def test_list_and_show_commands_print_json(db: Database, make_actor, capsys) -> None:  # type: ignore[no-untyped-def]
    from station.launcher import main

    officer = make_actor("duty_officer")
    url = db.url.render_as_string(hide_password=False)
    with db.write() as s:
        from db.models import Unit

        s.add(Unit(code="pcs", name="派出所", kind="police_station", status="available", version=1))
    row = incidents.create_incident(db, officer, IncidentDraft(
        category="fire", severity=1, source="police_110", description="厂房起火")).row
    base = ["--db", url, "--user", officer.username, "--password", "pw", "incidents"]
    assert main([*base, "ack", row.number]) == 0
    assert main([*base, "dispatch", row.number, "--unit", "pcs"]) == 0
    assert main([*base, "note", row.number, "现场浓烟"]) == 0
    assert main([*base, "resolve", row.number]) == 0
    assert main([*base, "ack", row.number]) == 1  # refused: said why on stderr
    capsys.readouterr()
    assert main(["--db", url, "incidents", "list", "--open", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"] == 0
    assert main(["--db", url, "incidents", "show", row.number, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["row"]["status"] == "resolved" and shown["row"]["category_label"] == "Fire"
    assert [a["unit_name"] for a in shown["assignments"]] == ["派出所"]
    assert "note" in [e["kind"] for e in shown["timeline"]] and isinstance(shown["checklist"], list)
    assert main(["--db", url, "incidents", "show", row.number]) == 0
    text = capsys.readouterr().out
    assert row.number in text and "现场浓烟" in text
    assert main(["--db", url, "incidents", "show", "TY-19990101-0001"]) == 1


@pytest.mark.parametrize("categories", [(), ("fire",)])
def test_the_open_queue_can_be_read_from_the_partial_index_of_open_incidents(
        db: Database, categories: tuple[str, ...]) -> None:
    """The statement the queue sends states the open statuses as the literals of the partial index
    ix_incident_open_order, so the planner may read the open queue in order from it (with bound
    parameters it could not know the index covers the query). The page query is caught as sent
    and explained with its parameters. On this small table the planners would rather scan:
    PostgreSQL is told not to, and SQLite is held to the index (INDEXED BY fails with "no query
    solution" when the index cannot serve)."""
    sent: list[tuple[str, Any]] = []

    def catch(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "ORDER BY incident.severity" in statement:
            sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", catch)
    try:
        incidents.query_incidents(db, QueueQuery(open_only=True, categories=categories))
    finally:
        event.remove(db.engine, "before_cursor_execute", catch)
    statement, parameters = sent[0]
    with db.engine.connect() as conn:
        if db.is_postgres:
            conn.exec_driver_sql("SET enable_seqscan = off")
            conn.exec_driver_sql("SET enable_bitmapscan = off")
            plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
        else:
            # the page's ids are chosen by the inner select (the last FROM incident); the outer one
            # reads those rows by primary key
            head, _sep, tail = statement.rpartition("FROM incident ")
            statement = head + "FROM incident INDEXED BY ix_incident_open_order " + tail
            plan = "\n".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
    assert "ix_incident_open_order" in plan, plan


def _sent_page_statement(db: Database, query: QueueQuery) -> tuple[str, Any]:
    sent: list[tuple[str, Any]] = []

    def catch(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "ORDER BY incident.severity" in statement:
            sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", catch)
    try:
        incidents.query_incidents(db, query)
    finally:
        event.remove(db.engine, "before_cursor_execute", catch)
    return sent[0]


def test_with_fresh_statistics_sqlite_filters_the_open_queue_through_the_open_index(sqlite_db: Database) -> None:
    """A long history of closed fires and a few open incidents: once the planner statistics are
    refreshed (after every migration, and by the timer engine's upkeep), SQLite reads the open
    fires from the open incidents' index instead of every fire in the history by category."""
    from datetime import UTC, datetime

    from sqlalchemy import insert

    now = datetime(2026, 11, 1, tzinfo=UTC)
    rows = [{"number": f"TY-H-{n:05d}", "category": "fire" if n % 3 else "dispute", "severity": 1 + n % 4,
             "source": "hotline", "status": "closed" if n >= 60 else "new", "description": "历史警情",
             "is_drill": False, "version": 1, "created_at": now - timedelta(minutes=n)} for n in range(6000)]
    with sqlite_db.write() as s:
        s.execute(insert(Incident.__table__), rows)
    sqlite_db.refresh_statistics()
    statement, parameters = _sent_page_statement(sqlite_db, QueueQuery(open_only=True, categories=("fire",)))
    with sqlite_db.engine.connect() as conn:
        plan = "\n".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
    assert "ix_incident_open_order" in plan and "ix_incident_category" not in plan, plan
    page = incidents.query_incidents(sqlite_db, QueueQuery(open_only=True, categories=("fire",)))
    assert page.total == 40 and all(r.category == "fire" and r.status == "new" for r in page.rows)
    assert [r.severity for r in page.rows] == sorted(r.severity for r in page.rows)


def test_a_migrated_sqlite_database_has_planner_statistics(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as conn:
        tables = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "sqlite_stat1" in tables
