"""The queue's text search through the character-bigram index (migration 0003), on both backends.

The answer must stay exactly "case-insensitive substring of number, description, address,
reporter name or phone", with LIKE's wildcards and FTS5's syntax in the text taken literally;
the index must follow edits, fill itself for incidents that existed before it, and be used.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import and_, func, insert, select, text

from db.engine import Database
from db.migrate import alembic_config, upgrade
from db.models import Incident
from dispatch_console.incidents import service as incidents
from dispatch_console.incidents.draft import IncidentDraft
from dispatch_console.incidents.queue import QueueQuery, query_incidents, queue_filters
from dispatch_console.incidents.search import MIN_CANDIDATES, match_expression
from dispatch_console.kernel.actor import Actor
from dispatch_console.users.accounts import actor_for, create_user

REPORTS = {
    "wang": dict(description="出租屋楼道漏水，住户称楼上渗水三天", address="平山村二坊12号",
                 reporter_name="王伟", reporter_phone="13912345678"),
    "wages": dict(description="制衣厂欠薪，约20名工人聚集讨薪", address="峰景社区工业园3栋",
                  reporter_name="李娜", reporter_phone="13600001391"),
    "gas": dict(description="Gas LEAK reported near the McDonald's 消防通道 blocked", address="Main St 5",
                reporter_name="Tom O'Brien", reporter_phone="075588886666"),
    "literal": dict(description='完成率100%_达标 a\\b "quoted" OR NEAR(x y) AND NOT * ^col: {a b}',
                    address=None, reporter_name=None, reporter_phone=None),
    "plain": dict(description="噪音扰民，广场舞音响过大", address="桃源村3栋", reporter_name="张三",
                  reporter_phone="13800000000"),
}


@pytest.fixture
def reports(db: Database, make_actor: Any) -> dict[str, Any]:
    officer = make_actor("duty_officer")
    rows = {key: incidents.create_incident(db, officer, IncidentDraft(
        category="dispute", severity=3, source="hotline_12345", **fields)).row
        for key, fields in REPORTS.items()}
    return {"officer": officer, "rows": rows}


def found(db: Database, words: str) -> set[int]:
    page = query_incidents(db, QueueQuery(text=words, limit=1000))
    assert page.total == len(page.rows)
    return {r.id for r in page.rows}


def ids(reports: dict[str, Any], *keys: str) -> set[int]:
    return {reports["rows"][k].id for k in keys}


def test_two_character_chinese_words(db: Database, reports: dict[str, Any]) -> None:
    assert found(db, "王伟") == ids(reports, "wang")  # reporter name
    assert found(db, "漏水") == ids(reports, "wang")  # description
    assert found(db, "欠薪") == ids(reports, "wages")
    assert found(db, "峰景") == ids(reports, "wages")  # address
    assert found(db, " 欠薪 ") == ids(reports, "wages")  # trimmed, as before
    assert found(db, "伟欠") == set()  # each character is somewhere, the pair nowhere
    assert found(db, "天平") == found(db, "伟1") == set()  # no pair across two columns (…三天 | 平山…)
    assert found(db, "三天") == ids(reports, "wang")
    assert found(db, "mC") == found(db, "tO") == found(db, "Ga") == ids(reports, "gas")  # letter case


def test_longer_words_case_digits_and_numbers(db: Database, reports: dict[str, Any]) -> None:
    assert found(db, "出租屋") == ids(reports, "wang")
    assert found(db, "消防通道") == ids(reports, "gas")
    assert found(db, "gas leak") == ids(reports, "gas")  # mixed case ASCII
    assert found(db, "mcdonald's") == ids(reports, "gas")
    assert found(db, "O'BRIEN") == ids(reports, "gas")
    assert found(db, "1391") == ids(reports, "wang", "wages")  # digits of two phones
    assert found(db, "13912345678") == ids(reports, "wang")
    number = reports["rows"]["wages"].number
    assert number.startswith("TY-")
    assert found(db, number) == ids(reports, "wages")
    assert found(db, number.lower()) == ids(reports, "wages")
    assert found(db, number[-4:]) >= ids(reports, "wages")
    assert found(db, "ty") == ids(reports, *REPORTS)  # every number
    assert found(db, "漏") == ids(reports, "wang")  # one character: no bigram, plain scan


def test_wildcard_characters_are_searched_literally(db: Database, reports: dict[str, Any]) -> None:
    literal = ids(reports, "literal")
    for words in ("100%", "%_", "0%_达", "a\\b", "\\b", "%", "_"):
        assert found(db, words) == literal, words
    for words in ("1_0", "%达", "a%b", "a_b", "完%率", "\\%", "__"):
        assert found(db, words) == set(), words


def test_quotes_operators_and_nul_neither_break_nor_inject(db: Database, reports: dict[str, Any]) -> None:
    literal = ids(reports, "literal")
    for words in ('"quoted"', '" OR', "OR NEAR(x y)", "AND NOT *", "^col:", "{a b}", 'ted" OR N', '"'):
        assert found(db, words) == literal, words
    for words in ('""', "' OR '1'='1", 'x" OR "y', "NEAR(漏水 王伟)", "漏水 OR 欠薪", "漏水 AND 欠薪",
                  "漏水*", "-漏水", "col:漏水", "\x00", "漏\x00水", "王伟\x00"):
        assert found(db, words) == set(), repr(words)
    assert match_expression('x" OR "y') is not None
    assert all(c in '0123456789abcdef" AND' for c in match_expression('x" OR "y\x00王') or "")


def test_an_edited_incident_is_found_by_its_new_text_only(db: Database, reports: dict[str, Any]) -> None:
    officer, row = reports["officer"], reports["rows"]["wang"]
    assert found(db, "漏水") == {row.id}
    row = incidents.update_incident(db, officer, row.id, row.version, description="楼下商铺油烟扰民",
                                    address="新村七巷", reporter_phone="13700007777")
    assert found(db, "漏水") == set()
    assert found(db, "平山") == set()
    assert found(db, "1391") == ids(reports, "wages")
    assert found(db, "油烟") == found(db, "新村") == found(db, "7777") == {row.id}
    assert found(db, "王伟") == {row.id}  # the columns not edited are still found
    if not db.is_postgres:  # the old tokens left the FTS5 index, not only the answer
        with db.read() as s:
            assert s.execute(text("SELECT rowid FROM incident_search WHERE incident_search MATCH :m"),
                             {"m": match_expression("漏水")}).all() == []
            s.execute(text("INSERT INTO incident_search (incident_search) VALUES ('integrity-check')"))


def _bulk(db: Database, count: int, description: str) -> None:
    """``count`` incidents at once (the triggers and indexes see them like any other)."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with db.write() as s:
        first = int(s.execute(select(func.coalesce(func.max(Incident.id), 0))).scalar_one()) + 1
        s.execute(insert(Incident.__table__), [{
            "id": first + i, "number": f"BULK-{first + i:06d}", "category": "dispute", "severity": 3,
            "source": "hotline_12345", "status": "closed", "description": f"{description}{i}",
            "is_drill": False, "version": 1, "created_at": at + timedelta(minutes=i),
        } for i in range(count)])
    if db.is_postgres:
        with db.engine.connect() as conn:
            conn.execute(text("ANALYZE incident"))
            conn.commit()


def _plan(db: Database, words: str) -> str:
    """The plan of the count query the queue runs for ``words``."""
    with db.read() as s:
        stmt = select(func.count(Incident.id)).where(and_(True, *queue_filters(s, QueueQuery(text=words))))
        compiled = stmt.compile(dialect=s.get_bind().dialect)
        prefix = "EXPLAIN" if db.is_postgres else "EXPLAIN QUERY PLAN"
        params: Any = compiled.params
        if compiled.positiontup is not None:  # SQLite: qmark parameters, in order
            params = tuple(params[name] for name in compiled.positiontup)
        rows = s.connection().exec_driver_sql(f"{prefix} {compiled}", params).all()
    return "\n".join(str(r[-1]) for r in rows)


def _narrowed_by_bigrams(plan: str) -> bool:
    return "dc_bigrams" in plan or "incident_search" in plan


def test_a_two_character_search_is_served_by_the_bigram_index(db: Database, reports: dict[str, Any]) -> None:
    _bulk(db, 3000, "例行巡查记录")
    plan = _plan(db, "王伟")
    if db.is_postgres:
        assert "Bitmap Index Scan on ix_incident_search_bigrams" in plan, plan
    else:
        assert "SCAN incident_search VIRTUAL TABLE INDEX" in plan, plan
    assert found(db, "王伟") == ids(reports, "wang")
    assert not _narrowed_by_bigrams(_plan(db, "王"))  # one character: no bigram


def test_a_bigram_in_too_many_incidents_is_searched_without_the_index(
        db: Database, reports: dict[str, Any]) -> None:
    _bulk(db, MIN_CANDIDATES + 100, "例行巡查记录")
    assert found(db, "巡查") == found(db, "行巡")
    assert len(found(db, "巡查")) == MIN_CANDIDATES + 100
    assert not _narrowed_by_bigrams(_plan(db, "巡查"))  # the queue's first rows in order come sooner
    assert _narrowed_by_bigrams(_plan(db, "欠薪"))
    assert found(db, "欠薪") == ids(reports, "wages")


def _create(db: Database, system: Actor, description: str) -> int:
    with db.write() as s:
        user = create_user(s, system, username=f"officer-{uuid.uuid4().hex[:6]}", password="pw",
                           role="duty_officer")
        officer = actor_for(user, "ws-1")
    return incidents.create_incident(db, officer, IncidentDraft(
        category="fire", severity=2, source="hotline_12345", description=description,
        reporter_name="陈欠薪")).row.id


def _search_objects(db: Database) -> set[str]:
    with db.engine.connect() as conn:
        if db.is_postgres:
            names = conn.execute(text(
                "SELECT proname FROM pg_proc WHERE proname LIKE 'dc\\_%bigrams' UNION "
                "SELECT indexname FROM pg_indexes WHERE indexname = 'ix_incident_search_bigrams'"))
            return {n for (n,) in names}
        names = conn.execute(text("SELECT name FROM sqlite_master WHERE name LIKE 'incident_search%'"))
        return {n for (n,) in names}


def _create_at_0002(db: Database, description: str, number: str = "TY-20261127-9001") -> int:
    """An incident as a release at schema 0002 wrote it (plain SQL: the columns it had)."""
    with db.write() as s:
        s.execute(text("INSERT INTO incident (number, category, severity, source, status, description, is_drill, "
                       "version, created_at, reporter_name) VALUES (:n, 'fire', 2, "
                       "'hotline_12345', 'new', :d, false, 1, CURRENT_TIMESTAMP, '陈欠薪')").bindparams(n=number),
                  {"d": description})
        return int(s.execute(text("SELECT id FROM incident WHERE number = :n"), {"n": number}).scalar_one())


def test_an_existing_database_upgraded_from_0002_finds_its_incidents(db_url: str, system: Actor) -> None:
    db = Database(db_url)
    try:
        upgrade(db, "0002")
        assert _search_objects(db) == set()
        old = _create_at_0002(db, "仓库冒烟，疑似电线短路")  # today's models have columns 0002 had not
        upgrade(db)
        assert len(_search_objects(db)) >= 3  # the functions and index / the FTS5 table and triggers
        assert found(db, "冒烟") == found(db, "欠薪") == found(db, "电线短路") == {old}
        cfg = alembic_config(db)
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0002")
        assert _search_objects(db) == set()
        later = _create_at_0002(db, "路灯不亮，夜间冒烟", "TY-20261127-9002")  # nothing left behind calls what is gone
        upgrade(db)
        assert found(db, "冒烟") == {old, later}
    finally:
        db.dispose()


def test_the_restricted_role_writes_and_finds_incidents(pg_db: Database, system: Actor) -> None:
    """``db grant``'s role: its writes go through the bigram index and its searches use it."""
    from dispatch_console.cli.security import grant_app_role
    from dispatch_console.users import accounts as users

    role = f"dc_app_{uuid.uuid4().hex[:10]}"
    with pg_db.write() as s:
        users.create_user(s, system, username="root", password="pw", role="admin")
    grant_app_role(pg_db, users.authenticate(pg_db, "root", "pw", "server"), role, "app-secret")
    app = Database(pg_db.url.set(username=role, password="app-secret"))
    try:
        with pg_db.write() as s:  # accounts are made by the administration side, never the workstation role
            officer = actor_for(create_user(s, system, username="wang", password="pw", role="duty_officer"), "ws-1")
        row = incidents.create_incident(app, officer, IncidentDraft(
            category="labor", severity=2, source="hotline_12345", description="工地欠薪，工人聚集")).row
        assert found(app, "欠薪") == {row.id}
        row = incidents.update_incident(app, officer, row.id, row.version, description="工地讨薪已调解")
        assert found(app, "欠薪") == set() and found(app, "讨薪") == {row.id}
    finally:
        app.dispose()
        with pg_db.engine.connect() as conn:
            conn.execute(text(f'REASSIGN OWNED BY "{role}" TO postgres'))
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))
            conn.commit()
