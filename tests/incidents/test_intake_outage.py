"""The database goes away under real writers: every line is stored exactly once, as acknowledged.

Four ``dispatch-console intake FILE --json`` writers and one piped ``intake - --ack`` record at
the same time while (1) every backend of the test's database is terminated again and again with
``pg_terminate_backend`` on the shared server, and (2) a PostgreSQL cluster the test started
itself (``initdb``/``pg_ctl`` on a port of its own — never the shared server) is stopped and
started again. Nobody resubmits anything: every input line must be in the database exactly once,
every acknowledgement must name the incident stored for its line, and no traceback is printed.
Half the lines carry an ``external_id``; the others rely on the request id intake gives each line.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psycopg
import pytest
from sqlalchemy import select

from db.engine import Database
from db.migrate import upgrade
from db.models import Incident
from dispatch_console.kernel.actor import Actor
from dispatch_console.kernel.changefeed import libpq_url
from tests.conftest import IN_CI

pytestmark = [pytest.mark.slow, pytest.mark.pg]

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("DISPATCH_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
WRITERS = 4
LINES = 150  # per file writer
PIPED_LINES = 60  # the piped intake's, each sent after the one before it is acknowledged


def make_lines(writer: str, count: int) -> list[bytes]:
    lines = []
    for i in range(1, count + 1):
        data: dict[str, Any] = {"category": "fire", "severity": 1 + i % 4, "source": "video_alarm",
                                "description": f"{writer} line {i} {uuid.uuid4().hex[:8]}"}
        if i % 2:
            data["external_id"] = f"{writer}-{i}"
        lines.append(json.dumps(data).encode("utf-8"))
    return lines


def integration_user(db: Database) -> str:
    from dispatch_console.users.accounts import create_user

    name = f"feed-{uuid.uuid4().hex[:6]}"
    with db.write() as s:
        create_user(s, Actor.system("test"), username=name, password="pw", role="integration", display_name=name)
    return name


def cli(url: str, user: str, *args: str, stdin: Any = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DISPATCH_LANG": "en", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "station.launcher", "--db", url, "--user", user, "--password", "pw", *args],
        env=env, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)


@dataclass
class Piped:
    """``intake - --ack`` fed one line at a time, its acknowledgements read as they come."""

    proc: subprocess.Popen[bytes]
    lines: list[bytes]
    acks: list[dict[str, Any]] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    sent: int = 0
    _cv: threading.Condition = field(default_factory=threading.Condition)
    _readers: list[threading.Thread] = field(default_factory=list)

    def start_reading(self) -> None:
        def read(out: IO[bytes]) -> None:
            for raw in out:
                with self._cv:
                    self.acks.append(json.loads(raw))
                    self._cv.notify_all()

        def read_err(err: IO[bytes]) -> None:
            for raw in err:
                with self._cv:
                    self.err.append(raw.decode("utf-8"))
                    self._cv.notify_all()

        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._readers = [threading.Thread(target=read, args=(self.proc.stdout,), daemon=True),
                         threading.Thread(target=read_err, args=(self.proc.stderr,), daemon=True)]
        for t in self._readers:
            t.start()

    def wait_told(self, words: str, timeout: float = 120) -> None:
        with self._cv:
            assert self._cv.wait_for(lambda: any(words in x for x in self.err), timeout), "".join(self.err)

    def send(self, count: int = 1) -> None:
        assert self.proc.stdin is not None
        for raw in self.lines[self.sent:self.sent + count]:
            self.proc.stdin.write(raw + b"\n")
            self.sent += 1
        self.proc.stdin.flush()

    def wait_acks(self, count: int, timeout: float = 240) -> None:
        with self._cv:
            assert self._cv.wait_for(lambda: len(self.acks) >= count or self.proc.poll() is not None, timeout), (
                f"{len(self.acks)} of {count} acknowledged")

    def finish(self) -> tuple[int, str]:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        code = self.proc.wait(timeout=300)
        for t in self._readers:
            t.join(30)
        return code, "".join(self.err)


@dataclass
class Recording:
    """Four file writers and one piped intake, all recording into ``db``."""

    db: Database
    url: str
    files: dict[str, list[bytes]]
    writers: dict[str, subprocess.Popen[bytes]]
    piped: Piped

    @classmethod
    def start(cls, db: Database, url: str, folder: Path) -> Recording:
        user = integration_user(db)
        files = {f"w{n}": make_lines(f"w{n}", LINES) for n in range(1, WRITERS + 1)}
        writers = {}
        for name, lines in files.items():
            path = folder / f"{name}.jsonl"
            path.write_bytes(b"\n".join(lines) + b"\n")
            writers[name] = cli(url, user, "intake", str(path), "--json")
        piped = Piped(cli(url, user, "intake", "-", "--ack", stdin=subprocess.PIPE), make_lines("piped", PIPED_LINES))
        piped.start_reading()
        return cls(db, url, files, writers, piped)

    def feed(self, until: Callable[[], bool]) -> None:
        """Send the piped lines one by one, each after the previous is acknowledged, until told."""
        while self.piped.sent < len(self.piped.lines) and not until():
            self.piped.send()
            self.piped.wait_acks(self.piped.sent)

    def writers_done(self) -> bool:
        return all(p.poll() is not None for p in self.writers.values())

    def finish_and_check(self) -> dict[str, str]:
        """Wait for everyone, then prove every line stored once as acknowledged. Returns stderr texts."""
        self.feed(lambda: False)
        code, piped_err = self.piped.finish()
        errors = {"piped": piped_err}
        acks = {"piped": self.piped.acks}
        codes = {"piped": code}
        for name, proc in self.writers.items():
            out, err = proc.communicate(timeout=300)
            errors[name] = err.decode("utf-8")
            codes[name] = proc.returncode
            records = [json.loads(x) for x in out.splitlines()]
            assert records and records[-1].get("summary", {}).get("complete") is True, (name, errors[name])
            acks[name] = records[:-1]
        for name, text in errors.items():
            assert "Traceback" not in text, f"{name} printed a traceback:\n{text}"
        assert codes == dict.fromkeys(codes, 0), errors
        with self.db.read() as s:
            stored: dict[str, list[str]] = {}
            for description, number in s.execute(select(Incident.description, Incident.number)):
                stored.setdefault(description, []).append(number)
        sent = {**self.files, "piped": self.piped.lines}
        expected = {json.loads(raw)["description"]: (name, i) for name, lines in sent.items()
                    for i, raw in enumerate(lines, start=1)}
        assert sorted(stored) == sorted(expected), "lost or unknown incidents"
        twice = {d: n for d, n in stored.items() if len(n) != 1}
        assert not twice, f"stored more than once: {twice}"
        for name, lines in sent.items():
            assert [a["line"] for a in acks[name]] == list(range(1, len(lines) + 1)), name
            assert {a["status"] for a in acks[name]} == {"stored"}, acks[name]
            for ack, raw in zip(acks[name], lines, strict=True):
                assert stored[json.loads(raw)["description"]] == [ack["number"]], (name, ack)
        return errors


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stored_per_writer(db: Database) -> dict[str, int]:
    with db.read() as s:
        descriptions = s.execute(select(Incident.description)).scalars().all()
    counts: dict[str, int] = {}
    for d in descriptions:
        counts[d.split(" ", 1)[0]] = counts.get(d.split(" ", 1)[0], 0) + 1
    return counts


ROUNDS = 5  # of terminating every backend, each once the writers have made progress since the last


def test_terminating_every_backend_loses_and_repeats_nothing(pg_db: Database, tmp_path: Path) -> None:
    url = pg_db.url.render_as_string(hide_password=False)
    run = Recording.start(pg_db, url, tmp_path)
    name = pg_db.url.database
    terminated: list[int] = []
    failure: list[BaseException] = []

    def progressed(since: int, by: int) -> Callable[[], bool]:
        return lambda: sum(stored_per_writer(pg_db).values()) >= since + by or run.writers_done()

    def wait(condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 300  # a bound against a hung run, not a measurement
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.1)

    def terminate_rounds() -> None:  # only this test's database: other tests share the server
        try:
            # everyone signed in and writing: then cut every connection, again after each bit of progress
            wait(lambda: len(stored_per_writer(pg_db)) == WRITERS + 1 or run.writers_done())
            with psycopg.connect(libpq_url(pg_db), autocommit=True) as admin:
                for _round in range(ROUNDS):
                    if run.writers_done():
                        break
                    before = sum(stored_per_writer(pg_db).values())
                    rows = admin.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()", (name,)).fetchall()
                    terminated.append(sum(1 for (done,) in rows if done))
                    wait(progressed(before, 10))
        except BaseException as exc:  # pragma: no cover - reported below
            failure.append(exc)

    killer = threading.Thread(target=terminate_rounds, daemon=True)
    killer.start()
    run.feed(lambda: not killer.is_alive())
    killer.join(300)
    assert not failure, failure
    errors = run.finish_and_check()
    assert len(terminated) == ROUNDS and all(terminated), terminated
    print(f"\nterminated {terminated} backends in {len(terminated)} rounds; outages told: "
          f"{ {n: e.count('unreachable') for n, e in errors.items()} }")


# --- a cluster of the test's own, stopped and started again ------------------------------------


@dataclass
class Cluster:
    data: Path
    port: int

    def ctl(self, *args: str) -> None:
        run_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t", "120", *args])

    def start(self) -> None:
        self.ctl("-l", str(self.data / "server.log"), "-o",
                 f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data}", "start")

    def stop(self) -> None:
        self.ctl("-m", "fast", "stop")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"


def run_as_postgres(argv: list[str]) -> None:
    """initdb and the server refuse to run as root: as root, run them as the postgres account."""
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def own_cluster() -> Iterator[Cluster]:
    if not (PG_BIN / "initdb").exists() or (os.geteuid() == 0 and shutil.which("runuser") is None):
        if IN_CI:
            pytest.fail(f"PostgreSQL server binaries are needed under CI (looked in {PG_BIN})")
        pytest.skip(f"no PostgreSQL server binaries in {PG_BIN}")
    folder = Path(tempfile.mkdtemp(prefix="dc-own-cluster-"))
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    run_as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                     "--no-sync", "-E", "UTF8", "--locale=C"])
    cluster = Cluster(data, free_port())
    cluster.start()
    try:
        yield cluster
    finally:
        try:
            cluster.stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def test_a_restarted_server_loses_and_repeats_nothing(own_cluster: Cluster, tmp_path: Path) -> None:
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{own_cluster.port}/postgres", autocommit=True) as c:
        c.execute("CREATE DATABASE duty")
    url = f"{own_cluster.url}/duty"
    db = Database(url)
    try:
        upgrade(db)
        run = Recording.start(db, url, tmp_path)
        run.feed(lambda: len(run.piped.acks) >= PIPED_LINES // 3)
        own_cluster.stop()
        run.piped.send()  # a line sent while the server is down: intake must wait for it
        run.piped.wait_told("the database is unreachable")
        own_cluster.start()
        errors = run.finish_and_check()
    finally:
        db.dispose()
    print(f"\noutages told: { {n: e.count('unreachable') for n, e in errors.items()} }")
    piped = errors["piped"]
    assert piped.count("the database is unreachable") == 1 and piped.count("the database is back after") == 1, piped
