"""The `_bench` table: one row per (benchmark, variant, batch size), in one fixed schema that the
dashboards read, the latency summary every row carries, and what views read of the rows (the
latest per configuration, their labels, the comparison with its speed-ups, the histogram)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:
    import pandas as pd

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
    # wb.bench.compare's engine axis: which engine ran the row, its memory, its parity with
    # eager (null where not checked) and why it is slow, failed or the one to pick.
    ("engine", pa.string()),
    ("peak_memory_mb", pa.float64()),
    ("max_abs_diff", pa.float64()),
    ("max_rel_diff", pa.float64()),
    ("parity_ok", pa.bool_()),
    ("note", pa.string()),
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


# ---------------------------------------------------------------- what views read of the rows
# Every number a view shows of a benchmark is derived here once, from `_bench` rows (a
# result's `records()` or the lake's table): views and charts only lay them out.

HISTOGRAM_BINS = 60
SHOWN_QUANTILE = 0.999  # a histogram's range ends here; slower requests are counted aside
CONFIGURATION = ["model", "variant", "device", "scenario", "batch_size", "qps"]
COMPARISON_COLUMNS = ["model", "variant", "device", "size_mb", "params", "p50_ms", "p99_ms",
                      "throughput", "speedup", "metric_name", "metric", "note"]
# Why int8 can be slower than fp32, and what makes it fast (see compress/quantization.py).
INT8_ON_CPU = ("slower than {baseline}: on CPU, int8 runs torchao's reference kernel (an int32 "
               "matmul); on a CUDA GPU it runs cuBLAS int8 GEMM and is faster")


def latency_bins(samples_ms: np.ndarray, bins: int = HISTOGRAM_BINS) -> pd.DataFrame:
    """Requests per latency bin (columns lo_ms, hi_ms, requests) up to the `SHOWN_QUANTILE`
    latency, so one slow outlier does not squeeze every bar into the first."""
    import pandas as pd

    from workbench.kernels import quantiles

    values = np.asarray(samples_ms, dtype=np.float64)
    shown = values[values <= float(quantiles(values, SHOWN_QUANTILE))]
    counts, edges = np.histogram(shown, bins=bins)
    return pd.DataFrame({"lo_ms": edges[:-1], "hi_ms": edges[1:], "requests": counts})


def slower_than_shown(samples_ms: np.ndarray) -> int:
    """How many requests `latency_bins` leaves out (slower than its range)."""
    from workbench.kernels import quantiles

    values = np.asarray(samples_ms, dtype=np.float64)
    return int((values > float(quantiles(values, SHOWN_QUANTILE))).sum())


def labelled(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with a ``label`` per configuration (model · variant · scenario · batch, the
    offered load of a server scenario, the device when rows come from several) and a
    ``series`` per curve across batch sizes (model · variant · scenario, with the device too)."""
    import math

    several = rows["device"].nunique() > 1
    labels, series = [], []
    for row in rows.itertuples(index=False):
        qps = "" if math.isnan(row.qps) else f" · {row.qps:g} qps"
        device = f" · {row.device}" if several else ""
        labels.append(f"{row.model} · {row.variant} · {row.scenario} · b{row.batch_size}"
                      f"{qps}{device}")
        series.append(" · ".join([row.model, row.variant, *([row.device] if several else []),
                                  row.scenario]))
    return rows.assign(label=labels, series=series)


def latest(rows: pd.DataFrame) -> pd.DataFrame:
    """The newest row of each configuration (`CONFIGURATION`), ordered by it, labelled."""
    newest = rows.sort_values("time", kind="stable").drop_duplicates(CONFIGURATION, keep="last")
    return labelled(newest.sort_values(CONFIGURATION, ignore_index=True))


def comparison(rows: pd.DataFrame) -> pd.DataFrame:
    """The newest compression comparison among ``rows`` (the rows of the newest bench_id that
    measure a size), one row per variant in their order, with `COMPARISON_COLUMNS`: the
    ``speedup`` over the first variant (its p50 over this one's: above 1 is faster) and a
    ``note`` explaining a surprising one. Empty when no row measures a size."""
    import pandas as pd

    sized = rows[rows["size_mb"].notna()]
    if not len(sized):
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    newest = sized.loc[sized["time"].idxmax(), "bench_id"]
    variants = sized[sized["bench_id"] == newest].reset_index(drop=True)
    baseline = variants.iloc[0]
    speedup = baseline["p50_ms"] / variants["p50_ms"]
    notes = [speed_note(v, d, s, str(baseline["variant"]))
             for v, d, s in zip(variants["variant"], variants["device"], speedup)]
    return variants.assign(speedup=speedup, note=notes)[COMPARISON_COLUMNS]


def speed_note(variant: str, device: str, speedup: float, baseline: str) -> str:
    """Why a variant is slower than the ``baseline`` when the reason is known, else ""."""
    if speedup < 1 and "int8" in variant.lower() and device.startswith("cpu"):
        return INT8_ON_CPU.format(baseline=baseline)
    return ""
