"""The `_bench` table: one row per (benchmark, variant, batch size), in one fixed schema that the
dashboards read, and the latency summary every row carries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pyarrow as pa

BENCH_TABLE = "_bench"
# The CDF of each row: its latency at the quantiles 0.00, 0.01, ..., 1.00 (101 points), so a
# dashboard can draw the curve without the raw samples.
CDF_QUANTILES = np.linspace(0.0, 1.0, 101)
PERCENTILES = {"p50_ms": 0.50, "p90_ms": 0.90, "p95_ms": 0.95, "p99_ms": 0.99}

BENCH_SCHEMA = pa.schema([
    ("bench_id", pa.string()),
    ("time", pa.timestamp("us", tz="UTC")),
    ("model", pa.string()),
    ("variant", pa.string()),
    ("device", pa.string()),
    ("scenario", pa.string()),
    ("batch_size", pa.int64()),
    ("qps", pa.float64()),
    ("p50_ms", pa.float64()),
    ("p90_ms", pa.float64()),
    ("p95_ms", pa.float64()),
    ("p99_ms", pa.float64()),
    ("max_ms", pa.float64()),
    ("mean_ms", pa.float64()),
    ("throughput", pa.float64()),
    ("samples", pa.int64()),
    ("stable", pa.bool_()),
    ("size_mb", pa.float64()),
    ("params", pa.int64()),
    ("metric_name", pa.string()),
    ("metric", pa.float64()),
    ("cdf_ms", pa.list_(pa.float64())),
])
BENCH_COLUMNS = tuple(BENCH_SCHEMA.names)


def new_bench_id(now: datetime) -> str:
    """One id per latency() or compare() call: sortable by time, unique by a random suffix."""
    return f"{now:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def summarize(samples_ms: np.ndarray) -> dict[str, Any]:
    """Percentiles (the kernels' exact quantiles, numpy's linear method), max, mean and the
    101-point CDF of one batch size's latencies in milliseconds."""
    from workbench.kernels import quantiles

    values = np.asarray(samples_ms, dtype=np.float64)
    qs = quantiles(values, np.array(list(PERCENTILES.values())))
    out: dict[str, Any] = dict(zip(PERCENTILES, (float(q) for q in qs)))
    out["max_ms"] = float(values.max())
    out["mean_ms"] = float(values.mean())
    out["cdf_ms"] = quantiles(values, CDF_QUANTILES).tolist()
    return out


def bench_table(rows: Sequence[dict[str, Any]]) -> pa.Table:
    """Rows (dicts with every `_bench` column) as an Arrow table in the exact `_bench` schema."""
    missing = [c for c in BENCH_COLUMNS if any(c not in row for row in rows)]
    if missing:
        raise ValueError(f"_bench rows lack columns {missing}")
    columns = {name: [row[name] for row in rows] for name in BENCH_COLUMNS}
    return pa.table(columns, schema=BENCH_SCHEMA)
