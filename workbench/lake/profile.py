"""Table profiles: per-column statistics from mergeable sketches, computed per data file on the
Dask cluster and merged on the driver (two passes: moments and sketches, then histograms over
the global range)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from workbench.kernels import Histogram
    from workbench.lake.table import Table

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def _numeric(t: pa.DataType) -> bool:
    return (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)
            or pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_decimal(t))


def _as_numbers(col: pa.ChunkedArray) -> np.ndarray:
    """A numeric column as float64 (timestamps and dates as their integer ticks; nulls NaN)."""
    t = col.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        col = pc.cast(col, pa.int64() if pa.types.is_timestamp(t) or t == pa.date64()
                      else pa.int32())
    return pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)


@dataclass
class ColumnSketch:
    """What one file contributes to a column's profile; merged across files."""

    type: pa.DataType
    count: int = 0
    nulls: int = 0
    moments: Any = None
    quantiles: Any = None
    distinct: Any = None
    lo: Any = None
    hi: Any = None

    def merge(self, other: ColumnSketch) -> ColumnSketch:
        def both(a, b, f):
            return b if a is None else a if b is None else f(a, b)

        return ColumnSketch(
            self.type, self.count + other.count, self.nulls + other.nulls,
            both(self.moments, other.moments, lambda a, b: a.merge(b)),
            both(self.quantiles, other.quantiles, lambda a, b: a.merge(b)),
            both(self.distinct, other.distinct, lambda a, b: a.merge(b)),
            both(self.lo, other.lo, min), both(self.hi, other.hi, max))


def sketch_file(part: tuple[str, dict], schema: pa.Schema
                ) -> tuple[dict[str, ColumnSketch], str]:
    """Pass 1 over one data file: moments, quantile and distinct sketches per column, on the
    worker's GPU when it has one (the kernels follow the array). Returns the sketches and the
    array module's name."""
    from workbench.kernels import HyperLogLog, QuantileSketch, device_module, moments
    from workbench.lake.table import read_file

    xp = device_module()
    table = read_file(part, schema)
    out = {}
    for f in schema:
        col = table.column(f.name)
        s = ColumnSketch(f.type, count=len(col) - col.null_count, nulls=col.null_count)
        if _numeric(f.type):
            x = xp.asarray(_as_numbers(col))
            s.moments = moments(x)
            s.count, s.nulls = s.moments.count, s.moments.nulls
            s.quantiles = QuantileSketch().update(x)
            s.distinct = HyperLogLog().update(col)  # the exact values, nulls skipped
        elif pa.types.is_string(f.type) or pa.types.is_binary(f.type):
            s.distinct = HyperLogLog().update(col)
            if s.count:
                mm = pc.min_max(col)
                s.lo, s.hi = mm["min"].as_py(), mm["max"].as_py()
        out[f.name] = s
    return out, xp.__name__


def histogram_file(part: tuple[str, dict], schema: pa.Schema,
                   ranges: dict[str, tuple[float, float]], bins: int) -> dict[str, Histogram]:
    """Pass 2 over one data file: histograms of numeric columns over the global ranges."""
    from workbench.kernels import device_module, histogram
    from workbench.lake.table import read_file

    xp = device_module()
    table = read_file(part, pa.schema([schema.field(c) for c in ranges]))
    return {c: histogram(xp.asarray(_as_numbers(table.column(c))), bins, r)
            for c, r in ranges.items()}


@dataclass
class Profile:
    """A table's profile: ``.table`` (one row per column) and ``.histograms``; shows as a widget."""

    name: str
    version: int
    rows: int
    table: pd.DataFrame
    histograms: dict[str, Histogram] = field(default_factory=dict)
    backend: str = "numpy"  # where the workers computed it: "numpy" or "cupy"

    def widget(self):
        """An ipywidgets view: the statistics table and a plotly histogram per numeric column."""
        from workbench.widgets.profile import ProfileView

        return ProfileView(self)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget())

    def _repr_html_(self) -> str:
        return (f"<p><b>Profile of {html.escape(self.name)}</b> (version {self.version}, "
                f"{self.rows:,} rows)</p>" + self.table.to_html(index=False, na_rep=""))

    def __repr__(self) -> str:
        return f"Profile({self.name!r}, version={self.version}, rows={self.rows})\n{self.table}"


def profile(table: Table, version: int | None = None, *, bins: int = 30) -> Profile:
    """Profile ``table`` on the current Dask cluster; see :class:`Profile`."""
    from workbench.compute import current_cluster
    from workbench.lake.table import file_parts

    dt = table._at(version)
    schema = pa.schema(dt.schema().to_arrow())
    parts = file_parts(dt)
    client = current_cluster().client
    merged = {f.name: ColumnSketch(f.type) for f in schema}
    backends = set()
    for result, backend in client.gather([client.submit(sketch_file, p, schema, pure=False)
                                          for p in parts]):
        merged = {c: merged[c].merge(s) for c, s in result.items()}
        backends.add(backend)
    ranges = {c: _range(s) for c, s in merged.items()
              if s.moments is not None and s.moments.count}
    histograms: dict[str, Histogram] = {}
    if ranges:
        for result in client.gather([client.submit(histogram_file, p, schema, ranges, bins,
                                                   pure=False) for p in parts]):
            histograms = {c: histograms[c].merge(h) if c in histograms else h
                          for c, h in result.items()}
    rows = sum(s.count + s.nulls for s in list(merged.values())[:1])
    return Profile(table.name, dt.version(), rows, _stats_table(merged), histograms,
                   backend="+".join(sorted(backends)) or "numpy")


def _range(s: ColumnSketch) -> tuple[float, float]:
    lo, hi = float(s.moments.min), float(s.moments.max)
    if not np.isfinite(lo) or not np.isfinite(hi):  # infinities: bin the finite bulk
        lo, hi = (float(v) for v in s.quantiles.quantiles([0.0, 1.0]))
        lo = lo if np.isfinite(lo) else -np.finfo(float).max
        hi = hi if np.isfinite(hi) else np.finfo(float).max
    return (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)


def _stats_table(merged: dict[str, ColumnSketch]) -> pd.DataFrame:
    rows = []
    for name, s in merged.items():
        total = s.count + s.nulls
        row: dict[str, Any] = {
            "column": name, "type": str(s.type), "count": s.count, "nulls": s.nulls,
            "null_fraction": s.nulls / total if total else float("nan"),
            "distinct": round(s.distinct.estimate()) if s.distinct is not None else None,
            "min": s.lo, "max": s.hi, "mean": np.nan, "std": np.nan,
        }
        for q in QUANTILES:
            row[f"p{round(q * 100):02d}"] = np.nan
        if s.moments is not None and s.moments.count:
            m = s.moments
            timelike = pa.types.is_timestamp(s.type) or pa.types.is_date(s.type)
            row.update(min=_back(m.min, s.type), max=_back(m.max, s.type),
                       mean=_back(m.mean, s.type) if timelike else m.mean,
                       std=_span(m.std, s.type) if timelike else m.std)
            for q, v in zip(QUANTILES, s.quantiles.quantiles(list(QUANTILES))):
                row[f"p{round(q * 100):02d}"] = _back(v, s.type) if timelike else float(v)
        rows.append(row)
    return pd.DataFrame(rows)


def _span(value: float, t: pa.DataType) -> pd.Timedelta:
    """A spread of a time column as a duration."""
    unit = t.unit if pa.types.is_timestamp(t) else "D" if t == pa.date32() else "ms"
    return pd.Timedelta(value, unit=unit)


def _back(value: float, t: pa.DataType) -> Any:
    """A min or max in the column's own terms (integers stay integers, times stay times)."""
    if pa.types.is_integer(t):
        return int(value)
    if pa.types.is_boolean(t):
        return bool(value)
    if pa.types.is_timestamp(t):
        return pd.Timestamp(int(value), unit=t.unit, tz=t.tz)
    if pa.types.is_date(t):
        return pd.Timestamp(int(value), unit="D" if t == pa.date32() else "ms").date()
    return float(value)
