"""The PostgreSQL exchange: two duty rooms (two databases, on either backend) and a third PostgreSQL database
both reach. A transfer goes through its table and back; several workstations polling at once take each
package once; a tampered package is refused as from the folder; an exchange that is away loses nothing
and its password is never logged."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select
from support.two_rooms import EXCHANGE_PASSWORD, Room, exchange_database, two_rooms, write_config

from db.engine import Database
from db.models import Incident, TransferPackage
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.config import Resources
from dispatch_console.kernel.errors import PermissionDenied
from dispatch_console.kernel.policies import PolicyError
from dispatch_console.transfers import config, service
from dispatch_console.transfers.exchange import TABLE, PostgresExchange

SETUP = Actor.system("setup")


@pytest.fixture
def exchange_url() -> Iterator[str]:
    with exchange_database() as url:
        yield url


@pytest.fixture
def rooms(db: Database, db_url: str, backend: str, tmp_path: Path,
          exchange_url: str) -> Iterator[tuple[Room, Room]]:
    with two_rooms(db, db_url, backend, tmp_path, exchange_url=exchange_url) as pair:
        service.setup_exchange(pair[0].db, SETUP, "district", pair[0].cfg)  # the table, once for both
        yield pair


def _rows(url: str) -> list[tuple[str, str, str | None, str | None]]:
    with psycopg.connect(url) as conn:
        return [tuple(r) for r in conn.execute(  # type: ignore[misc]
            f"SELECT sending_room, receiving_room, taken_by, outcome FROM {TABLE} ORDER BY id").fetchall()]


def _number(room: Room, description: str) -> str:
    incident_id = room.street.report(description, category="city_management")
    with room.db.read() as s:
        return s.execute(select(Incident.number).where(Incident.id == incident_id)).scalar_one()


def test_a_transfer_goes_through_the_exchange_table_and_back(rooms: tuple[Room, Room], exchange_url: str,
                                                             tmp_path: Path) -> None:
    taoyuan, district = rooms
    assert isinstance(taoyuan.cfg.exchange_for("district"), PostgresExchange)
    number = _number(taoyuan, "交界处路灯倒伏")
    service.send(taoyuan.db, taoyuan.street.officer, number, "district", cfg=taoyuan.cfg)
    assert not (tmp_path / "exchange").exists()  # nothing through a folder
    assert _rows(exchange_url) == [("taoyuan", "district", None, None)]

    first = service.poll(district.db, "区值班台1", district.cfg)
    again = service.poll(district.db, "区值班台2", district.cfg)
    assert [t.status for t in first.taken] == ["taken"] and again.taken == []
    assert _rows(exchange_url) == [("taoyuan", "district", "区值班台1", "taken")]
    [row] = service.inbox(district.db, cfg=district.cfg)
    service.accept(district.db, district.street.officer, row.id, cfg=district.cfg)
    service.poll(taoyuan.db, "值班台1", taoyuan.cfg)
    [out] = service.transfers(taoyuan.db, direction="out", cfg=taoyuan.cfg)
    assert out.status == "accepted" and out.receiver_number
    assert _rows(exchange_url)[1] == ("district", "taoyuan", "值班台1", "taken")


def test_workstations_polling_at_once_take_each_package_once(rooms: tuple[Room, Room], exchange_url: str) -> None:
    taoyuan, district = rooms
    numbers = [_number(taoyuan, f"外区事项 {i}") for i in range(6)]
    for number in numbers:
        service.send(taoyuan.db, taoyuan.street.officer, number, "district", cfg=taoyuan.cfg)
    reports: list[service.PollReport] = []
    barrier = threading.Barrier(3)

    def workstation(station: str) -> None:
        barrier.wait()
        reports.append(service.poll(district.db, station, district.cfg))

    threads = [threading.Thread(target=workstation, args=(f"区值班台{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    taken = [t for r in reports for t in r.taken]
    assert sorted(t.status for t in taken) == ["taken"] * 6  # each row held by one workstation only
    assert sorted(r.sender_number for r in service.inbox(district.db, cfg=district.cfg)) == sorted(numbers)
    assert {outcome for *_rest, outcome in _rows(exchange_url)} == {"taken"}


def test_a_tampered_package_in_the_table_is_refused_and_reported_back(rooms: tuple[Room, Room],
                                                                       exchange_url: str) -> None:
    taoyuan, district = rooms
    number = _number(taoyuan, "交界处占道施工")
    service.send(taoyuan.db, taoyuan.street.officer, number, "district", cfg=taoyuan.cfg)
    with psycopg.connect(exchange_url) as conn:
        conn.execute(f"UPDATE {TABLE} SET body = convert_to(replace(convert_from(body, 'UTF8'), "
                     "'交界处占道施工', '交界处占道施工已完毕'), 'UTF8')")
    report = service.poll(district.db, "区值班台1", district.cfg)
    assert [t.status for t in report.taken] == ["refused"] and "HMAC" in (report.taken[0].reason or "")
    service.poll(taoyuan.db, "值班台1", taoyuan.cfg)
    [out] = service.transfers(taoyuan.db, direction="out", cfg=taoyuan.cfg)
    assert out.status == "rejected" and "HMAC" in (out.reason or "")


def test_an_exchange_that_is_away_loses_nothing_and_never_logs_its_password(
        db: Database, db_url: str, backend: str, tmp_path: Path, exchange_url: str,
        caplog: pytest.LogCaptureFixture) -> None:
    away = "postgresql://postgres@127.0.0.1:1/nowhere"
    with two_rooms(db, db_url, backend, tmp_path, exchange_url=away) as (taoyuan, _district):
        number = _number(taoyuan, "交界处积水")
        with caplog.at_level(logging.DEBUG):
            service.send(taoyuan.db, taoyuan.street.officer, number, "district", cfg=taoyuan.cfg)
            report = service.poll(taoyuan.db, "值班台1", taoyuan.cfg)
        assert report.unreachable and "127.0.0.1:1/nowhere" in report.unreachable[0]
        assert EXCHANGE_PASSWORD not in caplog.text and EXCHANGE_PASSWORD not in report.unreachable[0]
        with taoyuan.db.read() as s:
            waiting = s.execute(select(TransferPackage.delivered_at).where(TransferPackage.direction == "out")).all()
        assert [tuple(w) for w in waiting] == [(None,)]  # still in the outbox
        write_config(taoyuan.config_dir, "taoyuan", "桃源街道总值班室", "district", "区总值班室", None,
                     exchange_url=exchange_url)  # the exchange is back (here: the reachable one)
        service.setup_exchange(taoyuan.db, SETUP, "district", taoyuan.cfg)
        assert service.deliver(taoyuan.db, taoyuan.cfg) == 1
        assert _rows(exchange_url) == [("taoyuan", "district", None, None)]


def test_the_policy_refuses_a_password_in_the_url_and_setup_needs_the_permission(
        rooms: tuple[Room, Room], tmp_path: Path) -> None:
    taoyuan, _district = rooms
    folder = tmp_path / "leaky"
    write_config(folder, "taoyuan", "桃源", "district", "区", None,
                 exchange_url="postgresql://dc:hunter2@db.example/exchange")
    with pytest.raises(PolicyError, match="exchange_url") as err:
        config.load(Resources.from_env(folder))
    assert "hunter2" not in str(err.value)
    with pytest.raises(PermissionDenied):
        service.setup_exchange(taoyuan.db, taoyuan.street.leader, "district", taoyuan.cfg)
