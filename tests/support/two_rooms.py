"""Two duty rooms for the transfer tests: each its own database and config folder, one shared exchange."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from db.engine import Database
from db.migrate import upgrade
from dispatch_console.kernel.config import Resources
from dispatch_console.transfers import config
from dispatch_console.transfers.config import TransferConfig
from support.street import Street, make_street

PG_URL = os.environ.get("DISPATCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SHARED_KEY = "桃源-区值班室-shared-key-2026-12"


@dataclass
class Room:
    code: str
    url: str
    db: Database
    config_dir: Path
    street: Street

    @property
    def cfg(self) -> TransferConfig:
        return config.load(Resources.from_env(self.config_dir))


EXCHANGE_PASSWORD = "exchange-pass-不可外泄"


def write_config(folder: Path, room: str, name: str, peer: str, peer_name: str, exchange: Path | None, *,
                 deadline: str = "30m", key: str = SHARED_KEY, exchange_url: str | None = None) -> None:
    """A room's config folder; with ``exchange_url`` the peer is reached through that PostgreSQL exchange
    (its password a secret), else through the folder ``exchange``."""
    (folder / "policies").mkdir(parents=True, exist_ok=True)
    via = (f'exchange_url = "{exchange_url}"\nexchange_password = "transfer-exchange"\n' if exchange_url else "")
    (folder / "policies" / "transfers.toml").write_text(
        f'room = "{room}"\nroom_name = "{name}"\nexchange = "{exchange or ""}"\nreceipt_deadline = "{deadline}"\n'
        f'[rooms.{peer}]\nname = "{peer_name}"\nkey = "transfer-{peer}"\n{via}', encoding="utf-8")
    (folder / "secrets.toml").write_text(f'[channels]\n"transfer-{peer}" = "{key}"\n'
                                         f'"transfer-exchange" = "{EXCHANGE_PASSWORD}"\n', encoding="utf-8")


def _admin() -> str:
    return PG_URL.replace("postgresql+psycopg://", "postgresql://", 1)


@contextmanager
def second_database(backend: str, tmp_path: Path) -> Iterator[tuple[str, Database]]:
    """A second migrated database on the same backend as the ``db`` fixture's, dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'district.sqlite3'}"
        name = None
    else:
        name = f"dc_test_room_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(_admin(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"{PG_URL.rpartition('/')[0]}/{name}"
    db = Database(url)
    try:
        upgrade(db)
        yield url, db
    finally:
        db.dispose()
        if name is not None:
            with psycopg.connect(_admin(), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def exchange_database() -> Iterator[str]:
    """A third PostgreSQL database that both rooms reach (its libpq URL, without a password), dropped afterwards."""
    name = f"dc_test_exchange_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{_admin().rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(_admin(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def two_rooms(db: Database, db_url: str, backend: str, tmp_path: Path, *,
              deadline: str = "30m", exchange_url: str | None = None) -> Iterator[tuple[Room, Room]]:
    """桃源街道 (the ``db`` fixture's database) and the district duty room (a second one); they exchange
    through a shared folder, or through the PostgreSQL database ``exchange_url``."""
    exchange = None if exchange_url else tmp_path / "exchange"
    write_config(tmp_path / "taoyuan", "taoyuan", "桃源街道总值班室", "district", "区总值班室", exchange,
                 deadline=deadline, exchange_url=exchange_url)
    write_config(tmp_path / "district", "district", "区总值班室", "taoyuan", "桃源街道总值班室", exchange,
                 exchange_url=exchange_url)
    with second_database(backend, tmp_path) as (url, other):
        yield (Room("taoyuan", db_url, db, tmp_path / "taoyuan", make_street(db)),
               Room("district", url, other, tmp_path / "district", make_street(other)))


@pytest.fixture
def rooms(db: Database, db_url: str, backend: str, tmp_path: Path) -> Iterator[tuple[Room, Room]]:
    """The two duty rooms most transfer tests work in, through the shared folder (given to
    the test modules by tests/conftest.py's pytest_plugins)."""
    with two_rooms(db, db_url, backend, tmp_path) as pair:
        yield pair
