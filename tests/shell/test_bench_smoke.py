"""The benchmark harness cannot rot: its smallest configuration runs two figures in-process and
writes the JSON report in the documented shape. No timing is asserted here (speed is bench/'s)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import psycopg
import pytest
from conftest import require_pg

from bench import databases
from bench.common import TINY
from bench.runner import run

FIGURE_KEYS = {"figure", "backend", "value", "unit", "target", "compare", "baseline", "baseline_label",
               "details", "error", "verdict"}


def _databases_named(prefix: str) -> set[str]:
    with psycopg.connect(databases.PG_URL.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        return {r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE starts_with(datname, %s)",
                                           (prefix,))}


@pytest.mark.slow
def test_smallest_benchmark_run_writes_every_figure_with_its_baseline(
        qapp, backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    if backend == "pg":
        require_pg()
    monkeypatch.setenv("DC_BENCH_CACHE", str(tmp_path / "cache"))
    prefix = f"dc_benchsmoke_{uuid.uuid4().hex[:6]}"  # its own caches, never a running benchmark's
    monkeypatch.setenv("DC_BENCH_PG_PREFIX", prefix)
    out = tmp_path / "latest.json"
    name = "postgresql" if backend == "pg" else "sqlite"

    try:
        report = run(sizes=TINY, figures=["queue", "propagation"], backends=[name], out=out, echo=False,
                     isolate=False)
    finally:
        if backend == "pg":
            for leftover in _databases_named(prefix):
                databases.pg_drop(leftover)

    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["problems"] == report["problems"] == []
    assert written["run"]["sizes"] == "tiny" and written["run"]["backends"] == [name]
    assert written["run"]["calibration"]["sha256_mb_per_s"] > 0
    assert set(written["run"]["seconds_per_figure"]) == {f"queue/{name}", f"propagation/{name}"}
    figures = {f["figure"]: f for f in written["figures"]}
    assert set(figures) == {"queue first paint", "queue filter/search p95", "propagation p50", "propagation p99"}
    for f in figures.values():
        assert set(f) == FIGURE_KEYS
        assert f["backend"] == name and f["error"] is None
        assert isinstance(f["value"], float) and f["value"] > 0
        assert isinstance(f["baseline"], float) and f["baseline"] > 0 and f["baseline_label"]
        assert f["verdict"] == "no target" or f["verdict"] == "meets" or f["verdict"].startswith("misses by")
    assert figures["queue first paint"]["target"] == 2000 and figures["queue first paint"]["unit"] == "ms"
    assert figures["queue filter/search p95"]["details"]["incidents"] == TINY.queue_incidents
    assert figures["propagation p99"]["details"]["samples"] == TINY.propagation_samples
    assert figures["propagation p99"]["details"]["not_arrived"] == 0


@pytest.mark.slow
@pytest.mark.pg
def test_write_rate_figure_measures_both_paths_and_loses_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_pg()
    monkeypatch.setenv("DC_BENCH_CACHE", str(tmp_path / "cache"))
    prefix = f"dc_benchsmoke_{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv("DC_BENCH_PG_PREFIX", prefix)
    out = tmp_path / "latest.json"
    try:
        run(sizes=TINY, figures=["write_rate"], backends=["postgresql"], out=out, echo=False, isolate=False)
    finally:
        for leftover in _databases_named(prefix):
            databases.pg_drop(leftover)
    (figure,) = json.loads(out.read_text(encoding="utf-8"))["figures"]
    assert figure["error"] is None and figure["target"] == 150 and figure["compare"] == ">="
    assert figure["value"] > 0 and figure["baseline"] > 0
    for phase in ("short_step", "lock_held_throughout"):
        got = figure["details"][phase]
        assert got["written"] == got["stored"] > 0 and got["numbers_unique"]
        assert got["placeholder_numbers_committed"] == 0 and got["lock_held_ms"]["n"] == got["written"]
    assert figure["details"]["audit_chain_ok"]
