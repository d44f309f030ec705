"""What every benchmark shares: sizes per run, the figure record, percentiles, verdicts, calibration."""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).parent / "results"


def cache_dir() -> Path:
    """Where built SQLite databases are kept between runs (``DC_BENCH_CACHE`` overrides it)."""
    return Path(os.environ.get("DC_BENCH_CACHE") or RESULTS_DIR / "cache")


@dataclass(frozen=True)
class Sizes:
    """How much each figure does; ``full`` is what the issue asks for, ``quick`` the short run."""

    name: str
    propagation_samples: int = 100
    propagation_interval_s: float = 0.2
    notify_samples: int = 300
    queue_incidents: int = 100_000
    queue_open: int = 5_000
    queue_filter_samples: int = 40
    queue_first_paints: int = 3
    queue_baseline_filters: int = 5
    surge_stations: int = 8
    surge_rate: float = 50.0
    surge_seconds: float = 60.0
    surge_idle_s: float = 3.0
    timer_count: int = 1000
    timer_window_s: float = 10.0
    timer_processes: int = 8
    claim_samples: int = 50
    map_markers: int = 2000
    map_polygons: int = 200
    map_renders: int = 3
    map_updates: int = 40
    memory_incidents: int = 100_000
    cases_total: int = 50_000
    cases_filter_samples: int = 36
    assessment_incidents: int = 1_000_000
    rule_samples: int = 300
    rule_baseline_samples: int = 30
    soak_seconds: float = 1800.0  # eight stations for half an hour against one console
    soak_rate: float = 8.0  # incidents per second, all stations together


FULL = Sizes("full")
QUICK = Sizes(
    "quick", propagation_samples=20, propagation_interval_s=0.15, notify_samples=100, queue_incidents=20_000,
    queue_open=1_000, queue_filter_samples=15, queue_first_paints=1, queue_baseline_filters=2, surge_seconds=10.0,
    surge_idle_s=2.0, timer_count=200, timer_window_s=3.0, claim_samples=20, map_renders=1, map_updates=15,
    memory_incidents=20_000, cases_total=10_000, cases_filter_samples=12,
    assessment_incidents=100_000, rule_samples=100, rule_baseline_samples=10,
    soak_seconds=180.0,
)
# The smallest configuration: the smoke test runs figures with it in-process.
TINY = Sizes(
    "tiny", propagation_samples=3, propagation_interval_s=0.1, notify_samples=5, queue_incidents=300,
    queue_open=40, queue_filter_samples=3, queue_first_paints=1, queue_baseline_filters=1,
    surge_stations=2, surge_rate=10.0, surge_seconds=1.0, surge_idle_s=0.5, timer_count=10, timer_window_s=1.0,
    timer_processes=2, claim_samples=3, map_markers=20, map_polygons=4, map_renders=1, map_updates=2,
    memory_incidents=300, cases_total=300, cases_filter_samples=6,
    assessment_incidents=300, rule_samples=5, rule_baseline_samples=2,
    soak_seconds=3.0, soak_rate=4.0,
)


@dataclass
class Figure:
    """One measured figure on one backend, beside its target and its same-run baseline."""

    figure: str
    backend: str
    value: float | None
    unit: str
    target: float | None = None
    compare: str = "<="  # "<=" (at most) or ">=" (at least) or "==" (exactly)
    baseline: float | None = None
    baseline_label: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def verdict(self) -> str:
        return verdict(self.value, self.target, self.compare, self.unit, self.error)

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["verdict"] = self.verdict
        return out


def verdict(value: float | None, target: float | None, compare: str, unit: str, error: str | None = None) -> str:
    """``meets`` / ``misses by X`` / ``no target`` / ``failed``."""
    if error is not None or value is None:
        return "failed"
    if target is None:
        return "no target"
    if compare == "==":
        return "meets" if value == target else f"misses by {fmt(abs(value - target))} {unit}".rstrip()
    if compare == ">=":
        if value >= target:
            return "meets"
        return f"misses by {fmt(target - value)} {unit}".rstrip()
    if value <= target:
        return "meets"
    over = value - target
    share = f" ({over / target:.0%})" if target else ""
    return f"misses by {fmt(over)} {unit}{share}".replace("  ", " ")


def fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def percentile(values: Sequence[float], p: float) -> float | None:
    """The ``p``-th percentile (0–100) by linear interpolation; None for no values."""
    data = sorted(values)
    if not data:
        return None
    if len(data) == 1:
        return float(data[0])
    rank = (len(data) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return float(data[low] + (data[high] - data[low]) * (rank - low))


def summary(values: Sequence[float]) -> dict[str, Any]:
    return {"n": len(values), "p50": percentile(values, 50), "p95": percentile(values, 95),
            "p99": percentile(values, 99), "max": max(values) if values else None}


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def ms_summary(seconds: Sequence[float]) -> dict[str, Any]:
    """:func:`summary` of durations in seconds, in milliseconds."""
    return {k: (v if k == "n" or v is None else ms(v)) for k, v in summary(seconds).items()}


def calibrate(megabytes: int = 64) -> dict[str, Any]:
    """A tiny CPU yardstick: SHA-256 throughput over ``megabytes`` of zeros, best of three."""
    data = bytes(1024 * 1024)
    best = math.inf
    for _attempt in range(3):
        t0 = time.perf_counter()
        h = hashlib.sha256()
        for _i in range(megabytes):
            h.update(data)
        h.hexdigest()
        best = min(best, time.perf_counter() - t0)
    return {"sha256_mb": megabytes, "sha256_seconds": round(best, 4),
            "sha256_mb_per_s": round(megabytes / best, 1), "cpu_count": os.cpu_count()}


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def source_key(*paths: Path, extra: str = "") -> str:
    """A short hash of source files (cached databases are rebuilt when their makers change)."""
    h = hashlib.sha256(extra.encode())
    for path in paths:
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for f in files:
            if "__pycache__" not in f.parts:
                h.update(f.name.encode())
                h.update(f.read_bytes())
    return h.hexdigest()[:10]
