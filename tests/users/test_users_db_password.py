"""The database password: filled from the keyring, never shown, never logged."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from db.engine import Database, redact_url
from dispatch_console.kernel import secrets
from station.launcher import main as cli_main

URL = "postgresql+psycopg://dispatch_app@db.taoyuan.local:5433/duty"
SECRET = "Zx9-very-secret-pw"


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.store[(service, username)]


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)


def test_remembered_password_fills_the_url(memory_keyring: MemoryKeyring) -> None:
    assert secrets.keyring_key(URL) == "dispatch_app@db.taoyuan.local:5433/duty"
    assert secrets.needs_password(URL)
    assert secrets.remember_password(secrets.with_password(URL, SECRET))
    assert memory_keyring.store == {("dispatch-console", "dispatch_app@db.taoyuan.local:5433/duty"): SECRET}
    resolved = secrets.resolve_db_url(URL)
    assert SECRET in resolved and not secrets.needs_password(resolved)
    assert SECRET not in redact_url(resolved)
    assert secrets.forget_password(URL) and secrets.resolve_db_url(URL) == URL


def test_default_port_and_urls_that_need_nothing(memory_keyring: MemoryKeyring) -> None:
    assert secrets.keyring_key("postgresql+psycopg://a@h/d") == "a@h:5432/d"
    assert secrets.resolve_db_url("sqlite:////tmp/x.sqlite3") == "sqlite:////tmp/x.sqlite3"
    given = "postgresql+psycopg://a:given@h/d"
    assert secrets.resolve_db_url(given) == given  # a password in the URL wins
    assert not secrets.remember_password("sqlite:////tmp/x.sqlite3", "pw")


def test_a_machine_without_a_keyring_just_asks(no_keyring: None, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert secrets.resolve_db_url(URL) == URL
    assert not secrets.remember_password(URL, SECRET)
    assert not secrets.forget_password(URL)
    assert SECRET not in caplog.text


def test_redact_url_hides_the_password() -> None:
    full = secrets.with_password(URL, SECRET)
    shown = redact_url(full)
    assert SECRET not in shown and shown.endswith("dispatch_app:***@db.taoyuan.local:5433/duty")
    assert SECRET not in Database("postgresql+psycopg://u:" + SECRET + "@127.0.0.1:1/x").display_url
    assert secrets.scrub(f"could not connect to {full}", full) == f"could not connect to {shown}"


def test_a_failed_connection_never_logs_or_prints_the_password(
        caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"postgresql+psycopg://dispatch_app:{SECRET}@127.0.0.1:1/duty?connect_timeout=2"
    db = Database(url)
    with pytest.raises(OperationalError) as err, db.read() as s:
        s.execute(text("SELECT 1"))
    logging.getLogger("dispatch").exception("connection failed: %s", secrets.scrub(str(err.value), url))
    db.dispose()
    try:  # the command line reports the failure (or lets it propagate): either way, no password
        code = cli_main(["--db", url, "-v", "--user", "root", "--password", "pw", "users", "list"])
    except OperationalError:
        code = 1
    assert code != 0
    out = capsys.readouterr()
    assert caplog.text and SECRET not in caplog.text
    assert SECRET not in out.out + out.err
    assert SECRET not in str(err.value)
