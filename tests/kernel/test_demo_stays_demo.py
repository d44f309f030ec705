"""Demo stays demo: demo accounts never appear in a database that holds a site's real data."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, func, select

from db.engine import Database
from db.models import SiteSetting, User
from dispatch_console.demo import database as demo_database
from dispatch_console.demo.seed import seed_demo
from dispatch_console.kernel.actor import Actor
from dispatch_console.users import accounts as users
from station.launcher import main as cli_main


def _url(db: Database) -> str:
    return db.url.render_as_string(hide_password=False)


def _demo_accounts(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(select(func.count(User.id)).where(User.is_demo.is_(True))).scalar_one())


def test_seed_demo_refuses_a_database_with_a_real_administrator(
        db: Database, make_actor: Any, capsys: pytest.CaptureFixture[str]) -> None:
    make_actor("admin", "root")
    assert cli_main(["--db", _url(db), "db", "seed-demo"]) == 1  # no credentials
    assert "not a demo database" in capsys.readouterr().err
    assert cli_main(["--db", _url(db), "--user", "root", "--password", "pw", "db", "seed-demo"]) == 1
    assert "not a demo database" in capsys.readouterr().err
    assert _demo_accounts(db) == 0
    with pytest.raises(demo_database.NotADemoDatabase):  # nor through the service, whoever asks
        seed_demo(db, Actor.system("x"))
    with pytest.raises(demo_database.NotADemoDatabase):
        demo_database.prepare_demo_database(_url(db), Actor.system("x"))  # run --demo --db REAL
    assert _demo_accounts(db) == 0


def test_seed_demo_refuses_a_database_with_records_but_no_account(db: Database, system: Actor,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from dispatch_console import jurisdiction
    from dispatch_console.kernel.config import resources_root

    jurisdiction.import_geojson(db, system, resources_root() / "geo/shenzhen_districts.geojson", "district")
    assert cli_main(["--db", _url(db), "db", "seed-demo"]) == 1
    assert "not a demo database" in capsys.readouterr().err
    assert _demo_accounts(db) == 0


def test_an_empty_database_becomes_a_demo_database(db: Database, capsys: pytest.CaptureFixture[str]) -> None:
    assert demo_database.demo_state(db) == "empty"
    assert cli_main(["--db", _url(db), "db", "seed-demo"]) == 0
    assert "Seeded the demo jurisdiction" in capsys.readouterr().out
    assert demo_database.demo_state(db) == "demo" and _demo_accounts(db) == 9
    with db.read() as s:
        assert demo_database.is_marked_demo(s)
    assert cli_main(["--db", _url(db), "db", "seed-demo"]) == 0  # seeded: nothing written, no sign-in
    assert "nothing was changed" in capsys.readouterr().out


def test_a_demo_database_that_gained_a_real_account_is_no_longer_seeded(db: Database) -> None:
    demo_database.mark_new_demo_database(db)
    with db.write() as s:
        users.create_user(s, Actor.system("x"), username="real-admin", password="pw", role="admin")
    assert demo_database.demo_state(db) == "site"
    with pytest.raises(demo_database.NotADemoDatabase, match="real-admin"):
        seed_demo(db, users.authenticate(db, "real-admin", "pw", "ws"))
    assert _demo_accounts(db) == 0


def test_seeding_an_unseeded_demo_database_needs_an_administrator(
        db: Database, capsys: pytest.CaptureFixture[str]) -> None:
    demo_database.mark_new_demo_database(db)
    with db.write() as s:
        users.create_user(s, Actor.system("x"), username="demo-root", password="pw", role="admin", is_demo=True)
        users.create_user(s, Actor.system("x"), username="demo-o", password="pw", role="duty_officer",
                          is_demo=True)
    assert cli_main(["--db", _url(db), "db", "seed-demo"]) == 2
    assert "--user and --password" in capsys.readouterr().err
    assert cli_main(["--db", _url(db), "--user", "demo-o", "--password", "pw", "db", "seed-demo"]) == 1
    assert "may not administer the database" in capsys.readouterr().err
    assert cli_main(["--db", _url(db), "--user", "demo-root", "--password", "pw", "db", "seed-demo"]) == 0
    assert _demo_accounts(db) == 11


def test_make_run_creates_its_own_demo_database_and_adopts_an_old_one(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    assert demo_database.prepare_demo_database(url, Actor.system("seed")) is True
    assert demo_database.prepare_demo_database(url, Actor.system("seed")) is False
    db = Database(url)
    try:
        with db.write() as s:  # a demo database made before the mark existed
            s.execute(delete(SiteSetting))
        assert demo_database.prepare_demo_database(url, Actor.system("seed")) is False
        with db.read() as s:
            assert demo_database.is_marked_demo(s)
    finally:
        db.dispose()
