"""Station processes: a pool of spawned workers that run benchmark functions by name.

The pool is started once per run (spawning and importing the services costs seconds on a
loaded machine) and serves the propagation writer, the surge stations and the timer engines.
A task is ``"module:function"`` with keyword arguments; its return value (or the traceback of
its failure) comes back through the worker's pipe.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import time
import traceback
from typing import Any

log = logging.getLogger(__name__)


def serve(conn: Any) -> None:
    """The worker's loop: run tasks until told to stop (None) or the pipe closes."""
    logging.basicConfig(level=logging.WARNING)
    from station import composition

    composition.install()  # a station's reactions and timer effects, as the console has them
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        target, kwargs = task
        module_name, _sep, name = target.partition(":")
        try:
            value = getattr(importlib.import_module(module_name), name)(**kwargs)
        except BaseException:
            conn.send((False, traceback.format_exc()))
        else:
            conn.send((True, value))


def ping(token: str) -> str:
    return token


def warm_up() -> int:
    """Import what the station tasks use, so that the first measured task does not pay for it."""
    import os

    from dispatch_console.incidents import service as incidents  # noqa: F401
    from dispatch_console.kernel.changefeed import ChangeFeed  # noqa: F401
    from dispatch_console.timers import engine as timers  # noqa: F401

    return os.getpid()


class WorkerFailed(RuntimeError):
    pass


class WorkerPool:
    def __init__(self, size: int = 0, conns: list[Any] | None = None) -> None:
        """Spawn ``size`` workers, or (``conns``) drive workers that another process spawned."""
        self.conns: list[Any] = list(conns or [])
        self.procs: list[Any] = []
        self.pids: list[int] = [0] * len(self.conns)
        for i in range(size):
            self._spawn(i)
        for i in range(size):
            self.submit(i, "bench.workers:warm_up")

    def _spawn(self, i: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=serve, args=(child,), name=f"bench-station-{i + 1}", daemon=True)
        proc.start()
        child.close()
        if i < len(self.conns):
            self.conns[i], self.procs[i] = parent, proc
        else:
            self.conns.append(parent)
            self.procs.append(proc)

    def sync(self, timeout: float = 120.0) -> None:
        """After a benchmark process died: drop answers nobody will read, replace stuck workers."""
        for i in range(self.size):
            token = f"sync-{i}-{time.monotonic()}"
            try:
                self.submit(i, "bench.workers:ping", token=token)
                deadline = time.monotonic() + timeout
                while self.conns[i].poll(max(0.0, deadline - time.monotonic())):
                    ok, value = self.conns[i].recv()
                    if ok and value == token:
                        break
                else:
                    raise TimeoutError
            except (TimeoutError, OSError, EOFError):
                log.warning("station process %s is stuck; starting a new one", i + 1)
                self.procs[i].kill()
                self._spawn(i)
                self.submit(i, "bench.workers:warm_up")
                self.result(i, timeout=300)

    @property
    def size(self) -> int:
        return len(self.conns)

    def submit(self, worker: int, target: str, **kwargs: Any) -> None:
        self.conns[worker].send((target, kwargs))

    def done(self, worker: int) -> bool:
        return bool(self.conns[worker].poll())

    def result(self, worker: int, timeout: float = 600.0) -> Any:
        if not self.conns[worker].poll(timeout):
            raise TimeoutError(f"station process {worker + 1} did not answer within {timeout:.0f} s")
        ok, value = self.conns[worker].recv()
        if not ok:
            raise WorkerFailed(f"station process {worker + 1} failed:\n{value}")
        return value

    def ready(self, timeout: float = 300.0) -> None:
        """Wait for the warm-up of every worker."""
        if self.pids:
            return
        self.pids = [self.result(i, timeout) for i in range(self.size)]

    def run_all(self, tasks: list[tuple[str, dict[str, Any]]], timeout: float = 600.0) -> list[Any]:
        self.ready()
        for i, (target, kwargs) in enumerate(tasks):
            self.submit(i, target, **kwargs)
        deadline = time.monotonic() + timeout
        return [self.result(i, max(1.0, deadline - time.monotonic())) for i in range(len(tasks))]

    def close(self) -> None:
        for conn in self.conns:
            try:
                conn.send(None)
            except (OSError, BrokenPipeError):
                pass
        for proc in self.procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
        for conn in self.conns:
            conn.close()
