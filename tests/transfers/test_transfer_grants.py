"""db grant and the transfer tables: a workstation sends and takes transfers through its restricted role, but
a package once stored is never rewritten (only its delivery is noted) and none is deleted."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from support.two_rooms import two_rooms

from db.engine import Database
from db.models import Incident, TransferPackage
from dispatch_console.cli.security import grant_app_role
from dispatch_console.kernel.actor import Actor
from dispatch_console.transfers import service
from dispatch_console.users import accounts as users


def _admin_uri(db: Database) -> str:
    return db.url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def role_name(pg_db: Database) -> Iterator[str]:
    name = f"dc_app_{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg.connect(_admin_uri(pg_db), autocommit=True) as conn:
        for role in (name, f"{name}_admin"):
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                conn.execute(f'REASSIGN OWNED BY "{role}" TO postgres')
                conn.execute(f'DROP OWNED BY "{role}"')
                conn.execute(f'DROP ROLE "{role}"')


def _refused(db: Database, statement: str) -> str:
    with pytest.raises(DBAPIError) as err, db.write() as s:
        s.execute(text(statement))
    return str(err.value.orig)


def test_the_workstation_role_sends_but_never_rewrites_a_package(pg_db: Database, pg_url: str, role_name: str,
                                                                 system: Actor, tmp_path: Path) -> None:
    with two_rooms(pg_db, pg_url, "pg", tmp_path) as (taoyuan, district):
        with pg_db.write() as s:
            users.create_user(s, system, username="root", password="pw", role="admin")
        grant_app_role(pg_db, users.authenticate(pg_db, "root", "pw", "server"), role_name, "app-secret",
                       admin_password="admin-secret")
        app: Any = Database(pg_db.url.set(username=role_name, password="app-secret"))
        try:
            incident_id = taoyuan.street.report("交界处井盖缺失", category="city_management")
            with pg_db.read() as s:
                number = s.execute(select(Incident.number).where(Incident.id == incident_id)).scalar_one()
            sent = service.send(app, taoyuan.street.officer, number, "district", cfg=taoyuan.cfg)
            service.poll(district.db, "区值班台1", district.cfg)
            service.accept(district.db, district.street.officer, service.inbox(district.db, cfg=district.cfg)[0].id,
                           cfg=district.cfg)
            assert [t.status for t in service.poll(app, "值班台1", taoyuan.cfg).taken] == ["taken"]  # the status
            with app.read() as s:
                delivered = s.execute(select(TransferPackage.delivered_at).where(
                    TransferPackage.transfer_id == sent.id, TransferPackage.direction == "out")).scalar_one()
            assert delivered is not None  # the one column the role may update
            assert service.transfers(app, direction="out", cfg=taoyuan.cfg)[0].status == "accepted"
            for statement in ("UPDATE transfer_package SET body = NULL",
                              "UPDATE transfer_package SET outcome = 'taken', status = 'accepted'",
                              "DELETE FROM transfer_package", "DELETE FROM transfer"):
                assert "permission denied" in _refused(app, statement), statement
        finally:
            app.dispose()
