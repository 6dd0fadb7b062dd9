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


def failed_row(bench_id: str, time: datetime, model: str, variant: str,
               metric_name: str) -> dict[str, Any]:
    """A `_bench` row for an engine that could not run: its names, no figures (the caller adds
    the engine and its note)."""
    nan = float("nan")
    return {"bench_id": bench_id, "time": time, "model": model, "variant": variant,
            "device": "", "scenario": "", "batch_size": 0, "qps": nan,
            **dict.fromkeys(("p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms", "mean_ms",
                             "throughput", "size_mb", "metric"), nan),
            "samples": 0, "stable": False, "params": -1, "metric_name": metric_name,
            "cdf_ms": []}


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
CONFIGURATION = ["model", "variant", "engine", "device", "scenario", "batch_size", "qps"]
COMPARISON_COLUMNS = ["model", "variant", "engine", "device", "scenario", "batch_size", "qps",
                      "size_mb", "params", "p50_ms", "p99_ms", "throughput", "speedup",
                      "peak_memory_mb", "metric_name", "metric", "max_abs_diff",
                      "max_rel_diff", "parity_ok", "note"]
# The columns `wb.bench.compare` added to `_bench`, and what a row written before them holds
# (those rows ran the model as given, i.e. on eager, unchecked, with no note).
ENGINE_COLUMNS = {"engine": None, "peak_memory_mb": np.nan, "max_abs_diff": np.nan,
                  "max_rel_diff": np.nan, "parity_ok": None, "note": None}
OLD_ENGINE = "eager"
ENDPOINT = "endpoint"  # served endpoints measured over HTTP: engine "endpoint…", scenario server
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


def with_engines(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with every `ENGINE_COLUMNS` column; rows written before those existed read as
    run on `OLD_ENGINE` with no note (their parity unchecked: null)."""
    missing = {name: value for name, value in ENGINE_COLUMNS.items() if name not in rows}
    out = rows.assign(**missing)
    return out.assign(engine=out["engine"].fillna(OLD_ENGINE), note=out["note"].fillna(""))


def labelled(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` (with `with_engines`) and a ``label`` per configuration (model · variant ·
    engine · scenario · batch, the offered load of a server scenario; the engine when rows
    come from several, the device too) and a ``series`` per curve across batch sizes (model ·
    variant · engine · scenario, with the device when several)."""
    import math

    rows = with_engines(rows)
    several = rows["device"].nunique() > 1
    engines = rows["engine"].nunique() > 1
    labels, series = [], []
    for row in rows.itertuples(index=False):
        qps = "" if math.isnan(row.qps) else f" · {row.qps:g} qps"
        curve = [row.model, row.variant, *([row.engine] if engines and row.engine else []),
                 *([row.device] if several else []), row.scenario]
        labels.append(" · ".join(curve) + f" · b{row.batch_size}{qps}")
        series.append(" · ".join(curve))
    return rows.assign(label=labels, series=series)


def latest(rows: pd.DataFrame) -> pd.DataFrame:
    """The newest row of each configuration (`CONFIGURATION`), ordered by it, labelled."""
    rows = with_engines(rows)
    newest = rows.sort_values("time", kind="stable").drop_duplicates(CONFIGURATION, keep="last")
    return labelled(newest.sort_values(CONFIGURATION, ignore_index=True))


def comparison(rows: pd.DataFrame) -> pd.DataFrame:
    """The newest comparison among ``rows`` (`wb.bench.compare`, or a compression comparison
    written before engines were rows): the rows of the newest bench_id that measure a size or
    name an engine (not a served endpoint), in their order, with `COMPARISON_COLUMNS`. Its
    ``speedup``: over the first variant's eager row at the same scenario and batch size, by
    p50 in single-stream and by throughput otherwise (above 1 is faster), as the comparison
    itself computes it. ``note``: the stored note (why a row is slow, failed or the pick), or
    for rows stored without one, why an int8 variant is slow. Empty when there is none."""
    import pandas as pd

    raw = rows["engine"] if "engine" in rows else pd.Series(None, index=rows.index, dtype=object)
    named = raw.notna() & raw.ne("") & ~raw.fillna("").str.startswith(ENDPOINT)
    compared = rows[rows["size_mb"].notna() | named]
    if not len(compared):
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    newest = compared.loc[compared["time"].idxmax(), "bench_id"]
    picked = compared[compared["bench_id"] == newest]
    stored = picked["note"] if "note" in picked else pd.Series(None, index=picked.index)
    out = with_engines(picked).assign(stored=stored).reset_index(drop=True)
    speedup = speedups(out)
    baseline = str(out["variant"].iloc[0])
    notes = [s if isinstance(s, str) else speed_note(v, d, x, baseline)
             for s, v, d, x in zip(out["stored"], out["variant"], out["device"], speedup)]
    return out.assign(speedup=speedup, note=notes)[COMPARISON_COLUMNS]


def speedups(rows: pd.DataFrame) -> np.ndarray:
    """Each row's speed-up over the first variant's eager row at its scenario and batch size
    (NaN where there is none): p50 over p50 in single-stream, throughput over throughput
    otherwise."""
    base = rows[(rows["variant"] == rows["variant"].iloc[0]) & (rows["engine"] == OLD_ENGINE)]
    base = base.drop_duplicates(["scenario", "batch_size"]).set_index(["scenario", "batch_size"])
    keys = list(zip(rows["scenario"], rows["batch_size"]))
    out = np.full(len(rows), np.nan)
    for i, (key, p50, rate) in enumerate(zip(keys, rows["p50_ms"], rows["throughput"])):
        if key in base.index:
            eager = base.loc[key]
            out[i] = eager["p50_ms"] / p50 if key[0] == "single-stream" else rate / eager[
                "throughput"]
    return out


def fastest(comparison: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and batch size of a `comparison`, the row to pick: the highest speed-up
    among rows whose parity held (or was not checked)."""
    ok = comparison[comparison["parity_ok"].ne(False) & comparison["speedup"].notna()]
    if not len(ok):
        return ok.reset_index(drop=True)
    picks = ok.loc[ok.groupby(["scenario", "batch_size"], sort=False)["speedup"].idxmax()]
    return picks.reset_index(drop=True)


def one_setting(comparison: pd.DataFrame) -> pd.DataFrame:
    """The rows of a `comparison` at one scenario (single-stream when there is one, else the
    first) and its smallest batch size: every variant and engine once, for side-by-side bars."""
    timed = comparison[comparison["scenario"].ne("") & comparison["batch_size"].gt(0)]
    if not len(timed):
        return timed
    scenarios = timed["scenario"].tolist()
    scenario = "single-stream" if "single-stream" in scenarios else scenarios[0]
    at = timed[timed["scenario"] == scenario]
    return at[at["batch_size"] == at["batch_size"].min()].reset_index(drop=True)


def served(rows: pd.DataFrame) -> pd.DataFrame:
    """Served endpoints measured over HTTP (engine starting with `ENDPOINT`, scenario server):
    the newest row per configuration, labelled, by series and offered load. Empty when none."""
    rows = with_engines(rows)
    endpoint = rows[rows["engine"].str.startswith(ENDPOINT) & rows["scenario"].eq("server")]
    return latest(endpoint).sort_values(["series", "qps"], ignore_index=True)


def speed_note(variant: str, device: str, speedup: float, baseline: str) -> str:
    """Why a variant is slower than the ``baseline`` when the reason is known, else ""."""
    if speedup < 1 and "int8" in variant.lower() and device.startswith("cpu"):
        return INT8_ON_CPU.format(baseline=baseline)
    return ""
