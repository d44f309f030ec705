"""Runs the figures on each backend, prints the table and writes the JSON report."""

from __future__ import annotations

import importlib
import json
import logging
import multiprocessing
import platform
import sys
import time
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import databases
from bench.common import FULL, QUICK, RESULTS_DIR, Figure, Sizes, calibrate, fmt, load_average

log = logging.getLogger(__name__)

# In running order; (module, needs the station processes, runs once per backend)
FIGURES = ("cli_start", "reads", "map", "propagation", "queue", "cases", "memory", "timers", "surge", "warnings",
           "situation", "write_rate", "soak")
NEEDS_STATIONS = {"propagation", "timers", "surge", "write_rate", "soak"}


def _table(figures: list[Figure]) -> str:
    head = ("figure", "backend", "value", "unit", "target", "baseline", "verdict")
    rows = [head] + [
        (f.figure, f.backend, fmt(f.value), f.unit,
         "" if f.target is None else f"{'=' if f.compare == '==' else f.compare} {fmt(f.target)}",
         "" if f.baseline is None else f"{fmt(f.baseline)} ({f.baseline_label})", f.verdict)
        for f in figures
    ]
    widths = [max(_width(r[i]) for r in rows) for i in range(len(head) - 1)]
    lines = []
    for n, r in enumerate(rows):
        cells = [r[i] + " " * (widths[i] - _width(r[i])) for i in range(len(head) - 1)]
        lines.append("  ".join([*cells, r[-1]]))
        if n == 0:
            lines.append("-" * (sum(widths) + 2 * len(widths) + 10))
    return "\n".join(lines)


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def figure_process(name: str, backend: str, sizes: Sizes, conns: list[Any], answer: Any) -> None:
    """A fresh process for one figure on one backend: a crash (Qt, a driver) costs that figure only."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from bench.workers import WorkerPool

    answer.send(_measure(name, backend, sizes, WorkerPool(conns=conns) if conns else None))


def figure_module(name: str) -> Any:
    """The module of one figure, imported after ``ui`` as in the console: the views' package sets
    up how PySide imports (ui/__init__.py) before anything else imports Qt."""
    import ui  # noqa: F401
    from station import composition

    composition.install()  # the reactions and timer effects a console runs with
    return importlib.import_module(f"bench.{name}")


def _measure(name: str, backend: str, sizes: Sizes, pool: Any) -> list[Figure]:
    try:
        return list(figure_module(name).run(backend, sizes, pool))
    except Exception as exc:
        return [Figure(name, backend, None, "", error=f"{type(exc).__name__}: {exc}",
                       details={"traceback": traceback.format_exc()})]


def _isolated(name: str, backend: str, sizes: Sizes, pool: Any) -> list[Figure]:
    ctx = multiprocessing.get_context("spawn")
    mine, theirs = ctx.Pipe()
    proc = ctx.Process(target=figure_process, name=f"bench-{name}",
                       args=(name, backend, sizes, pool.conns if pool is not None else [], theirs))
    proc.start()
    theirs.close()
    got: list[Figure] | None = None
    try:
        got = mine.recv()
    except EOFError:
        pass
    proc.join(60)
    if got is None:
        if pool is not None:
            pool.sync()
        return [Figure(name, backend, None, "", error=f"the benchmark process died (exit code {proc.exitcode}); "
                       "its last words are on stderr")]
    return got


def _pyside() -> dict[str, Any]:
    import PySide6

    from bench.qt import void_call_decref_bug

    return {"version": PySide6.__version__, "void_call_decref_bug": void_call_decref_bug()}


def _write(report: dict[str, Any], results: list[Figure], timings: dict[str, float], started: float,
           out: str | Path | None) -> Path:
    report["run"]["duration_s"] = round(time.monotonic() - started, 1)
    report["run"]["seconds_per_figure"] = timings
    report["run"]["load_average_end"] = load_average()
    report["figures"] = [f.as_json() for f in results]
    target = Path(out) if out else RESULTS_DIR / "latest.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return target


def run(*, quick: bool = False, figures: Iterable[str] | None = None, backends: Iterable[str] | None = None,
        out: str | Path | None = None, sizes: Sizes | None = None, echo: bool = True,
        isolate: bool | None = None) -> dict[str, Any]:
    """Run the figures, each in a process of its own (``isolate``; the full run's default) or in
    this one (the quick run's, to stay short); returns the report, also written as JSON to ``out``
    after every figure."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sizes = sizes or (QUICK if quick else FULL)
    isolate = (sizes.name == "full") if isolate is None else isolate
    chosen = [f for f in FIGURES if figures is None or f in set(figures)]
    wanted = list(backends or databases.BACKENDS)
    started = time.monotonic()
    report: dict[str, Any] = {
        "run": {"started_at": datetime.now(UTC).isoformat(timespec="seconds"), "sizes": sizes.name,
                "host": platform.node(), "python": sys.version.split()[0], "platform": platform.platform(),
                "load_average_start": load_average()},
        "problems": [],
    }
    say = print if echo else (lambda *_a, **_k: None)
    say(f"benchmarks ({sizes.name}), load average {report['run']['load_average_start']}", flush=True)
    report["run"]["calibration"] = calibrate(16 if sizes.name == "tiny" else 64)
    say(f"calibration: sha256 {report['run']['calibration']['sha256_mb_per_s']} MB/s", flush=True)
    if "postgresql" in wanted:
        reason = databases.pg_available()
        if reason is not None:
            wanted.remove("postgresql")
            report["problems"].append(f"PostgreSQL unreachable, its figures were not measured: {reason}")
            say(report["problems"][-1], flush=True)
    report["run"]["backends"] = wanted
    report["run"]["pyside"] = _pyside()
    if report["run"]["pyside"]["void_call_decref_bug"]:
        say("note: this PySide6 loses a reference to None on every void call (a console on Python 3.11 "
            "dies with 'none_dealloc' once enough calls were made); the benchmark processes keep None "
            "alive so that the figures can be measured", flush=True)
    pool = None
    if NEEDS_STATIONS & set(chosen):
        from bench.workers import WorkerPool

        pool = WorkerPool(max(sizes.surge_stations, sizes.timer_processes, 1))
    results: list[Figure] = []
    timings: dict[str, float] = {}
    try:
        for name in chosen:
            module = figure_module(name)
            # a figure that does not depend on the database runs once, on the first backend
            for backend in wanted if getattr(module, "PER_BACKEND", True) else wanted[:1]:
                t0 = time.monotonic()
                say(f"… {name} on {backend}", flush=True)
                if pool is not None:
                    pool.ready()
                got = _isolated(name, backend, sizes, pool) if isolate else _measure(name, backend, sizes, pool)
                timings[f"{name}/{backend}"] = round(time.monotonic() - t0, 1)
                for f in got:
                    say(f"    {f.figure}: {fmt(f.value)} {f.unit} — {f.verdict}", flush=True)
                    if f.error is not None and f.value is None:
                        report["problems"].append(f"{name} on {backend} failed: {f.error}")
                results.extend(got)
                _write(report, results, timings, started, out)
    finally:
        if pool is not None:
            pool.close()
    target = _write(report, results, timings, started, out)
    say("", flush=True)
    say(_table(results), flush=True)
    say(f"\n{len(results)} figures in {report['run']['duration_s']} s "
        f"(load average {report['run']['load_average_end']}); written to {target}", flush=True)
    for problem in report["problems"]:
        say(f"problem: {problem}", flush=True)
    return report


