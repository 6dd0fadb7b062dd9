"""Drift between two versions of a ~``size_gb`` table: from the sketches stored with each
version's profile (``Table.drift``), against a full rescan of both versions with pandas and
scipy, and the largest error of the sketched scores against the rescan's exact ones.

    .venv/bin/python benchmarks/_ops_drift.py [size_gb]        (default 1.0; 0.05 for a quick run)

The table (seeded, in a temporary lake): version 0 holds half the rows, version 1 appends the
other half, drifted in some columns (a shifted normal, a lognormal with more nulls, a skewed
category mix) and not in others. Its current version is ``size_gb`` of Arrow data, in files of
about 64 MB. Each version is profiled once first (its sketches stored, as ``Table.profile`` or a
drift-checked ingest leaves them); that one-time cost is reported, not timed as the drift.

- sketches: ``lake.table("bench").drift(0, 1)``: reads both stored profiles from ``_profiles``
  and scores every column; no row is read.
- rescan: both versions read to pandas; per column the exact null rates, ``nunique``,
  ``scipy.stats.ks_2samp``, and PSI and ``scipy.spatial.distance.jensenshannon`` over the
  sketched report's own buckets (so the error is the sketches', not a different binning).

Target (issue 17): sketches at least 100x faster than the rescan.
"""

from __future__ import annotations

import sys
import tempfile
import time

import numpy as np
import pandas as pd
import pyarrow as pa

ROW_BYTES = 8 * 4 + 8 + 2 * 4  # four 8-byte numbers, a timestamp, two dictionary-sized texts
CHUNK_ROWS = 1_000_000
FILE_BYTES = 64 * 2**20
CATEGORIES = np.array([f"cat{i:02d}" for i in range(20)])
COUNTRIES = np.array(["NO", "PE", "IN", "DE", "BR", "JP", "US", "KE", "FR", "AU"])


def _chunk(rows: int, seed: int, drifted: bool) -> pa.RecordBatch:
    """``rows`` rows; ``drifted`` shifts x, widens y's nulls and skews the category mix."""
    rng = np.random.default_rng(seed)
    y = rng.lognormal(1.0, 0.5 if not drifted else 0.7, rows)
    y[rng.random(rows) < (0.01 if not drifted else 0.2)] = np.nan
    weights = np.ones(len(CATEGORIES)) if not drifted else np.geomspace(8, 0.1, len(CATEGORIES))
    start = np.datetime64("2026-01-01T00:00:00", "us")
    return pa.record_batch({
        "x": rng.normal(1.5 if drifted else 0.0, 1.0, rows),
        "y": pa.array(y, from_pandas=True),
        "stable": rng.normal(10.0, 2.0, rows),
        "k": rng.integers(0, 1000, rows),
        "ts": start + rng.integers(0, 30 * 86_400 * 10**6, rows).astype("timedelta64[us]"),
        "category": pa.array(CATEGORIES).take(rng.choice(len(CATEGORIES), rows,
                                                         p=weights / weights.sum())),
        "country": pa.array(COUNTRIES).take(rng.integers(0, len(COUNTRIES), rows)),
    })


def _write(uri: str, rows: int, seed: int, drifted: bool, mode: str) -> None:
    from deltalake import write_deltalake

    batches = [_chunk(min(CHUNK_ROWS, rows - start), seed + i, drifted)
               for i, start in enumerate(range(0, rows, CHUNK_ROWS))]
    reader = pa.RecordBatchReader.from_batches(batches[0].schema, iter(batches))
    write_deltalake(uri, reader, mode=mode, target_file_size=FILE_BYTES)


def _rescan(table, report) -> tuple[float, dict[str, dict[str, float]]]:
    """Seconds to compute every column's exact figures from both versions' rows, and them."""
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import ks_2samp

    from workbench.lake.drift import NULL, OTHER, psi_terms

    started = time.perf_counter()
    ref, cur = table.to_pandas(report.reference), table.to_pandas(report.current)
    exact = {}
    for row in report.table.itertuples():
        a, b = (_ticks(f[row.column]) for f in (ref, cur))
        d = report.distributions[report.distributions["column"] == row.column]
        if row.kind == "numeric":
            bounds = np.r_[d["lo"].to_numpy(float), d["hi"].to_numpy(float)]
            edges = np.unique(bounds[np.isfinite(bounds)])
            p, q = (_bins(s, edges) for s in (a, b))
            scores = {"ks": ks_2samp(a.dropna(), b.dropna()).statistic}
        else:
            values = [v for v in d["bucket"] if v not in (OTHER, NULL)]
            p, q = (_shares(s, values) for s in (a, b))
            scores = {"js": jensenshannon(p, q, base=2)}
        exact[row.column] = {**scores, "psi": float(psi_terms(p, q).sum()),
                             "null_rate_ref": a.isna().mean(), "null_rate_cur": b.isna().mean(),
                             "distinct_ref": a.nunique(), "distinct_cur": b.nunique()}
    return time.perf_counter() - started, exact


def _ticks(s: pd.Series) -> pd.Series:
    """A timestamp column as the profile sketches it (microseconds, as float); others as
    they are."""
    if s.dtype.kind != "M":
        return s
    return s.astype("datetime64[us]").astype("int64").astype(float).where(s.notna())


def _bins(s: pd.Series, edges: np.ndarray) -> np.ndarray:
    v = np.sort(s.dropna().to_numpy(dtype=float))
    below = np.searchsorted(v, edges, side="right")
    return np.r_[np.diff(np.r_[0, below, len(v)]), s.isna().sum()] / len(s)


def _shares(s: pd.Series, values: list[str]) -> np.ndarray:
    counts = s.value_counts().reindex(values, fill_value=0).to_numpy()
    return np.r_[counts, s.notna().sum() - counts.sum(), s.isna().sum()] / len(s)


def _errors(report, exact: dict[str, dict[str, float]]) -> dict[str, float]:
    """The largest absolute error of each score (distinct counts: relative) over the columns."""
    worst: dict[str, float] = {}
    for row in report.table.to_dict("records"):
        for name, value in exact[row["column"]].items():
            got = row[name]
            if pd.isna(got) or pd.isna(value):
                continue
            error = abs(float(got) - float(value))
            error = error / max(float(value), 1.0) if name.startswith("distinct") else error
            worst[name] = max(worst.get(name, 0.0), error)
    return worst


def run(size_gb: float = 1.0) -> list[dict]:
    """Time drift from sketches and from a full rescan on a ``size_gb`` table; one row per
    method: seconds, speedup over the rescan, and the sketches' largest errors."""
    import workbench as wb
    from workbench.compute import cluster

    rows = max(int(size_gb * 1e9 / ROW_BYTES) // 2, 10_000)
    with tempfile.TemporaryDirectory() as directory, cluster():
        lake = wb.Lake(f"{directory}/lake")
        _write(lake.table_uri("bench"), rows, 0, False, "error")
        _write(lake.table_uri("bench"), rows, 10_000, True, "append")
        table = lake.table("bench")
        nbytes = table.to_arrow(1).nbytes
        started = time.perf_counter()
        for version in (0, 1):
            table.profile(version)
        profiled = time.perf_counter() - started
        started = time.perf_counter()
        report = lake.table("bench").drift(0, 1)
        sketched = time.perf_counter() - started
        rescanned, exact = _rescan(table, report)
    errors = _errors(report, exact)
    common = {"benchmark": "drift", "size_gb": round(nbytes / 1e9, 3), "rows_ref": rows,
              "rows_cur": 2 * rows, "drifted": ", ".join(report.drifted)}
    return [
        {**common, "method": "sketches (stored profiles)", "seconds": sketched,
         "speedup": rescanned / sketched,
         **{f"max_{name}_error": value for name, value in sorted(errors.items())},
         "stated_ks_error": float(report.errors["ks_error"].max()),
         "stated_psi_error": float(report.errors["psi_error"].max())},
        {**common, "method": "full rescan (pandas + scipy)", "seconds": rescanned,
         "speedup": 1.0},
        {**common, "method": "profile both versions (once, on the cluster)",
         "seconds": profiled, "speedup": rescanned / profiled},
    ]


if __name__ == "__main__":
    for result in run(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0):
        print(result)
