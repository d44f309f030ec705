"""Test bootstrap: offscreen Qt, fresh SQLite and PostgreSQL databases, actors per role.

The environment is set before anything imports Qt. PostgreSQL tests run against
``DISPATCH_TEST_PG_URL`` (default: the local server, user postgres), each in a database of its
own that is dropped afterwards. Under CI an unreachable server, or any skipped PostgreSQL test,
fails the run instead of skipping.
"""

from __future__ import annotations

import gc
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = "--no-sandbox"
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("DISPATCH_LANG", "en")
# Tests must not read or write the officer's own settings (saved layouts, theme, language).
import tempfile

os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="dispatch-test-config-")
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="dispatch-test-data-")
os.environ["DISPATCH_LOG_DIR"] = tempfile.mkdtemp(prefix="dispatch-test-log-")  # nor the log folder

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from db.engine import Database
from db.migrate import upgrade
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.i18n import set_language
from station import composition
from ui.shell.garbage_collection import collect_due

# fixtures that live beside their helpers in tests/support (no conftest below this one)
pytest_plugins = ("support.two_rooms",)

PG_URL = os.environ.get("DISPATCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
IN_CI = bool(os.environ.get("CI"))

set_language("en")

# The reactions and timer effects every test process runs with, as the console and the agent do
# (station/launcher.py). Spawned child processes install them themselves.
composition.install()


def _pg_admin_uri() -> str:
    return PG_URL.replace("postgresql+psycopg://", "postgresql://", 1)


def pg_available() -> str | None:
    """None if the server answers, else the reason."""
    try:
        with psycopg.connect(_pg_admin_uri(), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return None
    except Exception as exc:  # pragma: no cover - depends on the machine
        return str(exc)


def create_pg_database(prefix: str = "dc_test", template: str | None = None) -> str:
    """Create an empty database (or a copy of ``template``); returns its SQLAlchemy URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_pg_admin_uri(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    base, _, _old = PG_URL.rpartition("/")
    return f"{base}/{name}"


def drop_pg_database(url: str) -> None:
    name = url.rpartition("/")[2]
    with psycopg.connect(_pg_admin_uri(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def require_pg() -> None:
    reason = pg_available()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI but unreachable: {reason}")
        pytest.skip(f"PostgreSQL unreachable: {reason}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if IN_CI and report.skipped and item.get_closest_marker("pg") is not None:
        report.outcome = "failed"
        report.longrepr = f"PostgreSQL test skipped under CI: {report.longrepr}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_pg = callspec is not None and callspec.params.get("backend") == "pg"
        if on_pg or "pg_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.pg)


GC_THRESHOLD = gc.get_threshold()


@pytest.fixture(scope="session", autouse=True)
def _no_automatic_garbage_collection() -> Iterator[None]:
    """Cycles are collected only where ``_garbage_collected_in_the_main_thread`` says.

    Left to the automatic collector, a collection may be set off by a worker thread's allocation;
    shiboken then deletes a previous test's widgets in the main thread while the worker, waiting
    for the GIL, holds a lock their destructor needs: CI hung in tests/users (seen with gdb:
    ``runDeletionInMainThread`` → ``~QMenu`` → ``QBasicMutex::lockInternal``). The console itself
    collects on the GUI thread only (``ui.shell.garbage_collection``).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    yield
    if was_enabled:
        gc.enable()


@pytest.fixture(autouse=True)
def _garbage_collected_in_the_main_thread(_no_automatic_garbage_collection: None) -> Iterator[None]:
    """What a test left is collected at its teardown, in the main thread, in CPython's rhythm.

    A full collection at every teardown (tried first) walked the whole suite's heap each time,
    ~0.1–0.3 s, and made CI's run three times as long; CPython's thresholds make most of these a
    young collection, and every hundredth a full one.
    """
    yield
    collect_due(GC_THRESHOLD)


@pytest.fixture(autouse=True)
def _english_between_tests() -> Iterator[None]:
    """A test that switches the language (``--lang zh_CN``) must not change the next one's."""
    yield
    set_language("en")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'dispatch.sqlite3'}"


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database of its own; migrated (a copy of the session's) when the test also has ``pg_db``
    or ``db`` on PostgreSQL, which name the same database."""
    require_pg()
    callspec = getattr(request.node, "callspec", None)
    on_pg = callspec is not None and callspec.params.get("backend") == "pg"
    migrated = "pg_db" in request.fixturenames or ("db" in request.fixturenames and on_pg)
    url = create_pg_database(template=request.getfixturevalue("_migrated_pg") if migrated else None)
    try:
        yield url
    finally:
        drop_pg_database(url)


def _migrated(url: str) -> Iterator[Database]:
    db = Database(url)
    try:
        yield db
    finally:
        db.dispose()


# A migrated database is made once per session on each backend and copied for every test that
# wants one: the migrations (24 of them, SQLite's batch table rebuilds among them) took 0.3–0.5 s
# per SQLite test and 1.2 s per PostgreSQL test, for ~1,000 tests. A test that is about the
# migrations takes an empty database (``sqlite_url``, ``pg_url``, ``db_url``) and runs them itself.
@pytest.fixture(scope="session")
def _migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("migrated") / "template.sqlite3"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def _migrated_pg() -> Iterator[str]:
    require_pg()
    url = create_pg_database("dc_template")
    db = Database(url)
    upgrade(db)
    db.dispose()  # a template may have no connection while it is copied
    try:
        yield url.rpartition("/")[2]
    finally:
        drop_pg_database(url)


@pytest.fixture
def sqlite_db(sqlite_url: str, _migrated_sqlite: Path) -> Iterator[Database]:
    target = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(_migrated_sqlite) as source, sqlite3.connect(target) as copy:
        source.backup(copy)  # whatever the journal mode, the whole database
    source.close()
    copy.close()
    yield from _migrated(sqlite_url)


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[Database]:
    yield from _migrated(pg_url)  # migrated: see pg_url


@pytest.fixture(params=["sqlite", "pg"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest) -> str:
    """An empty (unmigrated) database URL on the parametrised backend."""
    return str(request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url"))


@pytest.fixture
def db(backend: str, request: pytest.FixtureRequest) -> Database:
    """A migrated, empty database on each backend (the test runs once per backend)."""
    return request.getfixturevalue("sqlite_db" if backend == "sqlite" else "pg_db")  # type: ignore[no-any-return]


@pytest.fixture
def system() -> Actor:
    return Actor.system("test-station")


@pytest.fixture
def make_actor(db: Database, system: Actor):  # type: ignore[no-untyped-def]
    """make_actor(role, username=None, station='ws-1') -> Actor, creating the user (password 'pw')."""
    from dispatch_console.users.accounts import actor_for, create_user

    def make(role: str, username: str | None = None, station: str = "ws-1") -> Actor:
        name = username or f"{role}-{uuid.uuid4().hex[:6]}"
        with db.write() as s:
            user = create_user(s, system, username=name, password="pw", role=role, display_name=name)
            return actor_for(user, station)

    return make


@pytest.fixture
def leader(make_actor):  # type: ignore[no-untyped-def]
    """A shift leader at ws-1 (the roster tests' usual officer)."""
    return make_actor("shift_leader", "leader-wang")
