"""The databases the benchmarks run against: fresh ones, a seeded base, and cached big ones.

SQLite databases are files under a temporary folder; PostgreSQL databases are created on the
local server (``DISPATCH_BENCH_PG_URL``, else ``DISPATCH_TEST_PG_URL``, else 127.0.0.1 as user
postgres) and dropped afterwards. Databases that take long to build (the seeded demo street,
100,000 incidents) are cached: a SQLite file under ``bench/results/cache`` and a PostgreSQL
database used as a template, both named after a hash of the code that builds them.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from bench.common import cache_dir, source_key
from db.engine import Database
from db.migrate import upgrade

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("DISPATCH_BENCH_PG_URL") or os.environ.get(
    "DISPATCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def prefix() -> str:
    """Names of the databases and folders the benchmarks make (``DC_BENCH_PG_PREFIX`` overrides
    it, so that the smoke test never touches the caches of a benchmark running beside it)."""
    return os.environ.get("DC_BENCH_PG_PREFIX") or "dc_bench"

BACKENDS = ("postgresql", "sqlite")


def schema_key() -> str:
    return source_key(ROOT / "db" / "models.py", ROOT / "db" / "migrations" / "versions")


def _admin_uri() -> str:
    return PG_URL.replace("postgresql+psycopg://", "postgresql://", 1)


def pg_url(name: str) -> str:
    base, _sep, _old = PG_URL.rpartition("/")
    return f"{base}/{name}"


def pg_available() -> str | None:
    """None if the PostgreSQL server answers, else why not."""
    try:
        with psycopg.connect(_admin_uri(), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return None
    except Exception as exc:
        return str(exc)


def _pg_exec(sql: str) -> None:
    with psycopg.connect(_admin_uri(), autocommit=True) as conn:
        conn.execute(sql)


def pg_exists(name: str) -> bool:
    with psycopg.connect(_admin_uri()) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def pg_drop(name: str) -> None:
    _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_drop_stale(prefix: str, keep: str) -> None:
    """Drop cached databases of an older build (same prefix, another name)."""
    with psycopg.connect(_admin_uri()) as conn:
        names = [r[0] for r in conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (prefix.replace("_", r"\_") + "%",))]
    for name in names:
        if name != keep:
            pg_drop(name)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def url_of(db: Database) -> str:
    return db.url.render_as_string(hide_password=False)


def checkpoint_sqlite(path: Path) -> None:
    """Fold the WAL into the main file so that the file alone is the whole database."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


@contextmanager
def fresh(backend: str, *, template: str | Path | None = None, tag: str = "run") -> Iterator[Database]:
    """A database of its own for one measurement: empty and migrated, or a copy of ``template``
    (a PostgreSQL template database name or a SQLite file); dropped afterwards."""
    if backend == "postgresql":
        name = f"{prefix()}_{tag}_{uuid.uuid4().hex[:8]}"
        _pg_exec(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        db = Database(pg_url(name), pool_size=10)
        try:
            if template is None:
                upgrade(db)
            yield db
        finally:
            db.dispose()
            pg_drop(name)
        return
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix()}_{tag}_"))
    path = folder / "dispatch.sqlite3"
    if template is not None:
        shutil.copyfile(template, path)
    db = Database(sqlite_url(path))
    try:
        if template is None:
            upgrade(db)
        yield db
    finally:
        db.dispose()
        shutil.rmtree(folder, ignore_errors=True)


def cached(backend: str, kind: str, key: str, build: Callable[[Database], None]) -> tuple[str | Path, bool]:
    """A database built once by ``build`` and kept (PostgreSQL template name or SQLite file path).

    Returns (where it is, whether it was built now). Older builds of the same kind are removed.
    """
    if backend == "postgresql":
        name = f"{prefix()}_{kind}_{key}"
        pg_drop_stale(f"{prefix()}_{kind}_", keep=name)
        if pg_exists(name):
            return name, False
        building = f"{name}_building"
        pg_drop(building)
        _pg_exec(f'CREATE DATABASE "{building}"')
        db = Database(pg_url(building))
        try:
            upgrade(db)
            build(db)
        finally:
            db.dispose()
        _pg_exec(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
        return name, True
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}-{key}.sqlite3"
    for old in folder.glob(f"{kind}-*.sqlite3*"):
        if not old.name.startswith(path.name):
            old.unlink(missing_ok=True)
    if path.exists():
        return path, False
    building = path.with_suffix(".building")
    for leftover in folder.glob(building.name + "*"):
        leftover.unlink()
    db = Database(sqlite_url(building))
    try:
        upgrade(db)
        build(db)
    finally:
        db.dispose()
    checkpoint_sqlite(building)
    building.rename(path)
    return path, True


@contextmanager
def opened(backend: str, where: str | Path) -> Iterator[Database]:
    """Open a cached database in place (read-only use: the queue and memory figures)."""
    db = Database(pg_url(str(where)) if backend == "postgresql" else sqlite_url(Path(where)))
    try:
        yield db
    finally:
        db.dispose()


def _seed(db: Database) -> None:
    from dispatch_console.demo.seed import seed_demo
    from dispatch_console.kernel.actor import Actor

    seed_demo(db, Actor.system("bench"))


def base(backend: str) -> tuple[str | Path, bool]:
    """The demo street (grids, units, people, accounts, 50 incidents): a template for fresh copies."""
    key = source_key(ROOT / "dispatch_console" / "demo", extra=schema_key())
    return cached(backend, "base", key, _seed)
