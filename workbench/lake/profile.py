"""Table profiles: per-column statistics from mergeable sketches, computed per data file on the
Dask cluster and merged on the driver (two passes: moments and sketches, then histograms over
the global range), then stored per table version in the lake's ``_profiles`` results table.

A Delta version never changes, so a stored profile is exact: ``Table.profile`` computes a
version's profile once, and ``Table.stored_profile`` (the server's sidebar) reads it back
without a cluster. ``_profiles`` holds one row per profiled column:

- ``table``, ``table_id`` (the Delta table's id, so a table dropped and re-created under the
  same name never matches the old one's profiles), ``version``, ``bins``: the key;
- ``profile_id``, ``computed`` (UTC), ``rows``, ``backend``, ``position`` (the column's row in
  ``profile.table``): the profile's own fields, repeated per row;
- the stat columns of ``profile.table`` in its order: ``column``, ``type``, ``count``,
  ``nulls``, ``null_fraction``, ``distinct`` typed as they are; the others (``min``, ``max``,
  ``mean``, ``std``, ``p01`` .. ``p99``), whose values' types vary with the column's type, as
  tagged text ``"<tag>:<value>"`` that decodes to the same Python value (see ``encode_stat``);
- ``hist_edges`` (list of float64) and ``hist_counts`` (list of int64), null where a column
  has no histogram;
- the sketches drift is measured from (`workbench.lake.drift`), null where a column has none:
  a numeric column's KLL quantile sketch (``kll_k``, ``kll_values``: its retained values, level
  0 first, ``kll_levels``: each level's length, ``kll_range``: [min, max]) and a text column's
  frequent values (``topk_k``, ``topk_values``, ``topk_counts``, ``topk_error``: see
  `workbench.kernels.topk`). Profiles stored before these columns existed read back without
  sketches (`Profile.sketched` is False).

A refreshed profile is appended; readers take the newest one of its key.
"""

from __future__ import annotations

import datetime
import functools
import html
import operator
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from workbench.display import show, view

if TYPE_CHECKING:
    from workbench.kernels import Histogram, QuantileSketch
    from workbench.kernels.topk import TopK
    from workbench.lake.parts import Part
    from workbench.lake.table import Table

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
PROFILES_TABLE = "_profiles"
_KEY = {"table": pa.string(), "table_id": pa.string(), "version": pa.int64(),
        "bins": pa.int64()}
_FIELDS = {"profile_id": pa.string(), "computed": pa.timestamp("us", tz="UTC"),
           "rows": pa.int64(), "backend": pa.string(), "position": pa.int64()}
_TYPED_STATS = {"column": pa.string(), "type": pa.string(), "count": pa.int64(),
                "nulls": pa.int64(), "null_fraction": pa.float64(), "distinct": pa.int64()}
_HISTOGRAM = {"hist_edges": pa.list_(pa.float64()), "hist_counts": pa.list_(pa.int64())}
_SKETCHES = {"kll_k": pa.int64(), "kll_values": pa.list_(pa.float64()),
             "kll_levels": pa.list_(pa.int64()), "kll_range": pa.list_(pa.float64()),
             "topk_k": pa.int64(), "topk_values": pa.list_(pa.string()),
             "topk_counts": pa.list_(pa.int64()), "topk_error": pa.int64()}


def _numeric(t: pa.DataType) -> bool:
    return (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)
            or pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_decimal(t))


def _as_numbers(col: pa.ChunkedArray) -> np.ndarray:
    """A numeric column as float64 (timestamps and dates as their integer ticks; nulls NaN)."""
    t = col.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        col = pc.cast(col, pa.int64() if pa.types.is_timestamp(t) or t == pa.date64()
                      else pa.int32())
    # unsafe: integers beyond 2**53 (microseconds of year 1 or 9999) round to the nearest float
    return pc.cast(col, pa.float64(), safe=False).to_numpy(zero_copy_only=False)


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
    top: Any = None  # a text column's frequent values (TopK)

    def merge(self, other: ColumnSketch) -> ColumnSketch:
        def both(a, b, f):
            return b if a is None else a if b is None else f(a, b)

        return ColumnSketch(
            self.type, self.count + other.count, self.nulls + other.nulls,
            both(self.moments, other.moments, lambda a, b: a.merge(b)),
            both(self.quantiles, other.quantiles, lambda a, b: a.merge(b)),
            both(self.distinct, other.distinct, lambda a, b: a.merge(b)),
            both(self.lo, other.lo, min), both(self.hi, other.hi, max),
            both(self.top, other.top, lambda a, b: a.merge(b)))


def sketch_file(part: Part, schema: pa.Schema, physical: pa.Schema
                ) -> tuple[dict[str, ColumnSketch], str]:
    """Pass 1 over one data file: moments, quantile and distinct sketches per column, on the
    worker's GPU when it has one (the kernels follow the array). Returns the sketches and the
    array module's name. ``physical``: the schema under the files' column names."""
    from workbench.kernels import HyperLogLog, QuantileSketch, device_module, moments
    from workbench.kernels.topk import TopK
    from workbench.lake.parts import read_part

    xp = device_module()
    table = read_part(part, schema, physical)
    out = {}
    for f in schema:
        col = table.column(f.name)
        s = ColumnSketch(f.type, count=len(col) - col.null_count, nulls=col.null_count)
        if _numeric(f.type):
            x = xp.asarray(_as_numbers(col))
            s.moments = moments(x)
            s.count, s.nulls = s.moments.count, s.moments.nulls
            s.quantiles = QuantileSketch().update(x)
            # the exact values, nulls skipped (decimals as their text: the hash takes no decimal)
            s.distinct = HyperLogLog().update(col.cast(pa.string()) if pa.types.is_decimal(
                f.type) else col)
            if s.count and _ticks(f.type):  # exact bounds: float64 rounds beyond 2**53
                mm = pc.min_max(col if pa.types.is_integer(f.type) else col.cast(
                    pa.int32() if f.type == pa.date32() else pa.int64()))
                s.lo, s.hi = mm["min"].as_py(), mm["max"].as_py()
        elif pa.types.is_string(f.type) or pa.types.is_binary(f.type):
            s.distinct = HyperLogLog().update(col)
            if pa.types.is_string(f.type):
                s.top = TopK().update(col)
            if s.count:
                mm = pc.min_max(col)
                s.lo, s.hi = mm["min"].as_py(), mm["max"].as_py()
        out[f.name] = s
    return out, xp.__name__


def histogram_file(part: Part, schema: pa.Schema, physical: pa.Schema,
                   ranges: dict[str, tuple[float, float]], bins: int) -> dict[str, Histogram]:
    """Pass 2 over one data file: histograms of numeric columns over the global ranges."""
    from workbench.kernels import device_module, histogram
    from workbench.lake.parts import read_part, select

    xp = device_module()
    table = read_part(part, *select(schema, physical, list(ranges)))
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
    computed: pd.Timestamp | None = None  # when (UTC)
    #: the sketches drift is measured from: numeric columns' KLL sketches, text columns'
    #: frequent values (empty in a profile stored before they were)
    quantiles: dict[str, QuantileSketch] = field(default_factory=dict, repr=False)
    top_values: dict[str, TopK] = field(default_factory=dict, repr=False)

    @property
    def sketched(self) -> bool:
        """Whether every column with values has the sketch drift needs (a KLL sketch when it
        is numeric, frequent values when it is text); False for older stored profiles."""
        text = self.table.loc[(self.table["type"] == "string") & (self.table["count"] > 0),
                              "column"]
        return (all(c in self.quantiles for c in self.histograms)
                and all(c in self.top_values for c in text))

    @property
    def distinct_error(self) -> float:
        """The relative standard error of ``table``'s ``distinct`` counts: HyperLogLog
        estimates (clamped to each column's non-null count), not exact counts."""
        from workbench.kernels import HyperLogLog

        return HyperLogLog().relative_error

    def widget(self) -> Any:
        """An ipywidgets view: the statistics table and a plotly histogram per numeric column
        (a `workbench.widgets.ProfileView`, found through `workbench.display`)."""
        return view(self)

    def _ipython_display_(self) -> None:
        show(self)

    def _repr_html_(self) -> str:
        return (f"<p><b>Profile of {html.escape(self.name)}</b> (version {self.version}, "
                f"{self.rows:,} rows)</p>" + self.table.to_html(index=False, na_rep=""))

    def __repr__(self) -> str:
        return f"Profile({self.name!r}, version={self.version}, rows={self.rows})\n{self.table}"


def profile(table: Table, version: int | None = None, *, bins: int = 30,
            refresh: bool = False) -> Profile:
    """The profile of a version of ``table``: the stored one when there is one, else computed on
    the current Dask cluster and stored (``refresh=True`` recomputes); see :class:`Profile`."""
    _check_bins(bins, "Table.profile")
    if not isinstance(refresh, bool):
        raise TypeError(f"Table.profile: argument 'refresh' must be True or False, got {refresh!r}")
    dt = table.readable(version)
    if not refresh and (stored := _load(table, dt, bins)) is not None:
        return stored
    computed = compute_profile(table, dt, bins)
    if table.name != PROFILES_TABLE:  # a profile of _profiles stored there would outdate itself
        table.lake.record(PROFILES_TABLE, _profile_rows(computed, dt.metadata().id, bins))
    return computed


def stored_profile(table: Table, version: int | None = None, *, bins: int = 30
                   ) -> Profile | None:
    """The newest stored profile of a version of ``table`` (latest when None), or None; reads
    only ``_profiles``, so it needs no cluster."""
    _check_bins(bins, "Table.stored_profile")
    return _load(table, table._at(version), bins)


def compute_profile(table: Table, dt: Any, bins: int) -> Profile:
    """Profile the DeltaTable version ``dt`` of ``table`` on the current Dask cluster."""
    schema, physical = table.read_schemas(dt)
    return profile_parts(table.name, dt.version(), table.parts(dt), schema, physical, bins)


def profile_parts(name: str, version: int, parts: list[Part], schema: pa.Schema,
                  physical: pa.Schema, bins: int | None) -> Profile:
    """The profile of the rows of data files ``parts`` (a version's, or an ingest's batch
    before its commit) on the current Dask cluster; ``bins=None`` skips the histograms (and
    their second pass over the files)."""
    from workbench.compute import current_cluster

    client = current_cluster().client
    merged = {f.name: ColumnSketch(f.type) for f in schema}
    backends = set()
    for result, backend in client.gather([client.submit(sketch_file, p, schema, physical,
                                                        pure=False) for p in parts]):
        merged = {c: merged[c].merge(s) for c, s in result.items()}
        backends.add(backend)
    ranges = {c: _range(s, bins) for c, s in merged.items()
              if bins is not None and s.moments is not None and s.moments.count}
    histograms: dict[str, Histogram] = {}
    if ranges:
        for result in client.gather([client.submit(histogram_file, p, schema, physical, ranges,
                                                   bins, pure=False) for p in parts]):
            histograms = {c: histograms[c].merge(h) if c in histograms else h
                          for c, h in result.items()}
    rows = sum(s.count + s.nulls for s in list(merged.values())[:1])
    return Profile(name, version, rows, _stats_table(merged), histograms,
                   backend="+".join(sorted(backends)) or "numpy",
                   computed=pd.Timestamp.now(tz="UTC").floor("us"),
                   quantiles={c: s.quantiles for c, s in merged.items()
                              if s.quantiles is not None and s.quantiles.count},
                   top_values={c: s.top for c, s in merged.items() if s.top is not None})


def _check_bins(bins: Any, where: str) -> None:
    if isinstance(bins, bool) or not isinstance(bins, int):
        raise TypeError(f"{where}: argument 'bins' must be an int, got {bins!r}")
    if bins < 1:
        raise ValueError(f"{where}: argument 'bins' must be at least 1, got {bins}")


def _profile_rows(p: Profile, table_id: str, bins: int) -> pa.Table:
    """``p`` as ``_profiles`` rows: one per column of the profiled table."""
    n = len(p.table)
    shared = {"table": p.name, "table_id": table_id, "version": p.version, "bins": bins,
              "profile_id": uuid.uuid4().hex, "computed": p.computed, "rows": p.rows,
              "backend": p.backend}
    types = {**_KEY, **_FIELDS}
    columns = {name: pa.array([value] * n, types[name]) for name, value in shared.items()}
    columns["position"] = pa.array(range(n), types["position"])
    for name in p.table.columns:
        values = p.table[name].tolist()
        typed = _TYPED_STATS.get(name)
        if typed is not None and pa.types.is_integer(typed):
            # NaN where a column has no such figure (a struct column's distinct count)
            columns[name] = pa.array(p.table[name], typed, from_pandas=True)
        elif typed is not None:
            columns[name] = pa.array(values, typed)
        else:
            columns[name] = pa.array([encode_stat(v) for v in values], pa.string())
    hists = [p.histograms.get(c) for c in p.table["column"]]
    columns["hist_edges"] = pa.array([None if h is None else h.edges.tolist() for h in hists],
                                     _HISTOGRAM["hist_edges"])
    columns["hist_counts"] = pa.array([None if h is None else h.counts.tolist() for h in hists],
                                      _HISTOGRAM["hist_counts"])
    columns.update(_sketch_columns(p))
    return pa.table(columns)


def _sketch_columns(p: Profile) -> dict[str, pa.Array]:
    """The ``kll_*`` and ``topk_*`` columns of ``p``'s rows (see the module's docstring)."""
    values: dict[str, list] = {name: [] for name in _SKETCHES}
    for column in p.table["column"]:
        q, top = p.quantiles.get(column), p.top_values.get(column)
        kept, levels = q.to_arrays() if q is not None else (None, None)
        ranked = sorted(top.counts.items(), key=lambda kv: (-kv[1], kv[0])) if top else None
        row = {"kll_k": q and q.k, "kll_values": None if q is None else kept.tolist(),
               "kll_levels": None if q is None else levels.tolist(),
               "kll_range": None if q is None else [q.min, q.max],
               "topk_k": top and top.k, "topk_error": top and top.error,
               "topk_values": None if top is None else [v for v, _ in ranked],
               "topk_counts": None if top is None else [n for _, n in ranked]}
        for name, value in row.items():
            values[name].append(value)
    return {name: pa.array(values[name], t) for name, t in _SKETCHES.items()}


def _load(table: Table, dt: Any, bins: int) -> Profile | None:
    """The newest stored profile of version ``dt`` of ``table`` with ``bins``, or None. Files
    are pruned by their statistics on the key before any is read."""
    import pyarrow.dataset as ds

    from workbench.kernels import Histogram

    stored = table.lake._delta(PROFILES_TABLE)
    if stored is None:
        return None
    key = [("table", "=", table.name), ("table_id", "=", dt.metadata().id),
           ("version", "=", dt.version()), ("bins", "=", bins)]
    rows_match = functools.reduce(operator.and_, (ds.field(c) == v for c, _, v in key))
    found = stored.to_pyarrow_dataset(file_pruning_predicate=key).to_table(filter=rows_match)
    if found.num_rows == 0:
        return None
    newest = max(zip(found["computed"].to_pylist(), found["profile_id"].to_pylist()))[1]
    rows = sorted((r for r in found.to_pylist() if r["profile_id"] == newest),
                  key=lambda r: r["position"])
    skip = {*_KEY, *_FIELDS, *_HISTOGRAM, *_SKETCHES}
    stats = [n for n in found.schema.names if n not in skip]
    first = rows[0]
    return Profile(
        first["table"], first["version"], first["rows"],
        pd.DataFrame([{n: r[n] if n in _TYPED_STATS else decode_stat(r[n]) for n in stats}
                      for r in rows]),
        {r["column"]: Histogram(np.array(r["hist_counts"], dtype=np.int64),
                                np.array(r["hist_edges"], dtype=np.float64))
         for r in rows if r["hist_counts"] is not None},
        backend=first["backend"], computed=pd.Timestamp(first["computed"]),
        **_stored_sketches(rows))


def _stored_sketches(rows: list[dict]) -> dict[str, dict]:
    """The KLL sketches and frequent values stored in a profile's ``rows`` (none in rows
    stored before those columns existed)."""
    from workbench.kernels import QuantileSketch
    from workbench.kernels.topk import TopK

    quantiles, top = {}, {}
    for r in rows:
        if r.get("kll_values") is not None:
            quantiles[r["column"]] = QuantileSketch.from_arrays(
                r["kll_values"], r["kll_levels"], r["kll_k"], *r["kll_range"])
        if r.get("topk_values") is not None:
            top[r["column"]] = TopK(r["topk_k"], dict(zip(r["topk_values"], r["topk_counts"])),
                                    r["count"], r["topk_error"])
    return {"quantiles": quantiles, "top_values": top}


def _range(s: ColumnSketch, bins: int) -> tuple[float, float]:
    """The histogram range of a column: its finite min and max, widened around their middle
    when ``bins`` bins between them would be too narrow to tell apart (one value, or values a
    few ulps apart, as a constant timestamp's microseconds since 1970 are)."""
    lo, hi = float(s.moments.min), float(s.moments.max)
    if not np.isfinite(lo) or not np.isfinite(hi):  # infinities: bin the finite bulk
        lo, hi = (float(v) for v in s.quantiles.quantiles([0.0, 1.0]))
        lo = lo if np.isfinite(lo) else -np.finfo(float).max
        hi = hi if np.isfinite(hi) else np.finfo(float).max
    least = max(abs(lo), abs(hi)) * bins * 1e-12  # a bin thousands of ulps wide
    if hi - lo >= least and hi > lo:
        return lo, hi
    half = max(least, 1.0) / 2 if hi == lo else least / 2
    middle = lo / 2 + hi / 2
    return middle - half, middle + half


def _stats_table(merged: dict[str, ColumnSketch]) -> pd.DataFrame:
    rows = []
    for name, s in merged.items():
        total = s.count + s.nulls
        row: dict[str, Any] = {
            "column": name, "type": str(s.type), "count": s.count, "nulls": s.nulls,
            "null_fraction": s.nulls / total if total else float("nan"),
            # HyperLogLog's estimate, never above the non-null values it counted (an estimate
            # of 1,905 distinct among 1,900 values reads as a bug).
            "distinct": (min(round(s.distinct.estimate()), s.count)
                         if s.distinct is not None else None),
            "min": s.lo, "max": s.hi, "mean": np.nan, "std": np.nan,
        }
        for q in QUANTILES:
            row[f"p{round(q * 100):02d}"] = np.nan
        if s.moments is not None and s.moments.count:
            m = s.moments
            timelike = pa.types.is_timestamp(s.type) or pa.types.is_date(s.type)
            exact = s.lo is not None  # integer ticks (see sketch_file)
            row.update(min=_back(s.lo if exact else m.min, s.type),
                       max=_back(s.hi if exact else m.max, s.type),
                       mean=_back(_within(m.mean, s), s.type) if timelike else m.mean,
                       std=_span(m.std, s.type) if timelike else m.std)
            for q, v in zip(QUANTILES, s.quantiles.quantiles(list(QUANTILES))):
                row[f"p{round(q * 100):02d}"] = (_back(_within(v, s), s.type) if timelike
                                                 else float(v))
        rows.append(row)
    return pd.DataFrame(rows)


def _ticks(t: pa.DataType) -> bool:
    """Whether a column's values are integer ticks (integers, timestamps, dates), whose exact
    min and max a float64 sketch can miss."""
    return pa.types.is_integer(t) or pa.types.is_timestamp(t) or pa.types.is_date(t)


def _within(value: float, s: ColumnSketch) -> float | int:
    """A float estimate (a mean, a quantile) of a tick column, kept within its exact bounds:
    the float of 9999-12-31's last microsecond is past it, and past what a timestamp holds."""
    if s.lo is None or not np.isfinite(value):
        return value
    return min(max(int(value), s.lo), s.hi)


_SECONDS = {"D": 86_400, "s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


def _span(value: float, t: pa.DataType) -> pd.Timedelta:
    """A spread of a time column as a duration; in whole seconds where nanoseconds cannot
    hold it (more than 292 years: dates from year 1 to 9999 have such spreads)."""
    unit = t.unit if pa.types.is_timestamp(t) else "D" if t == pa.date32() else "ms"
    try:
        return pd.Timedelta(value, unit=unit)
    except (OverflowError, pd.errors.OutOfBoundsTimedelta):
        return pd.Timedelta(np.timedelta64(round(value * _SECONDS[unit]), "s"))


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


def encode_stat(value: Any) -> str | None:
    """A statistic whose type varies with its column's as text that ``decode_stat`` turns back
    into an equal value of the same type: ``"<tag>:<value>"`` with tags ``bool`` (true/false),
    ``int``, ``float`` (repr, exact; also nan and inf), ``str``, ``bytes`` (hex), ``date`` (ISO),
    ``timestamp`` (ISO with its offset, then a space and the zone's name when it has one) and
    ``timedelta`` (nanoseconds; beyond their range, ticks of its own unit followed by the
    unit, e.g. ``...us``). None stays None."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return f"bool:{'true' if value else 'false'}"
    if isinstance(value, (int, np.integer)):
        return f"int:{int(value)}"
    if isinstance(value, (float, np.floating)):
        return f"float:{float(value)!r}"
    if isinstance(value, str):
        return f"str:{value}"
    if isinstance(value, bytes):
        return f"bytes:{value.hex()}"
    if isinstance(value, pd.Timestamp):
        zone = getattr(value.tz, "key", None)  # an IANA zone; offsets live in the ISO text
        return f"timestamp:{value.isoformat()}" + (f" {zone}" if zone else "")
    if isinstance(value, pd.Timedelta):
        if abs(value) > pd.Timedelta.max.as_unit(value.unit):  # beyond nanoseconds' range
            return f"timedelta:{int(value.asm8.view('i8'))}{value.unit}"
        return f"timedelta:{value.as_unit('ns').value}"
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return f"date:{value.isoformat()}"
    raise TypeError(f"profile statistic {value!r} of type {type(value).__name__} has no stored "
                    "form: add a tag for it to encode_stat and decode_stat")


def _timestamp(text: str) -> pd.Timestamp:
    iso, _, zone = text.partition(" ")
    ts = pd.Timestamp(iso)
    return ts.tz_convert(zone) if zone else ts


_DECODERS = {
    "bool": lambda text: text == "true",
    "int": int,
    "float": float,
    "str": str,
    "bytes": bytes.fromhex,
    "date": datetime.date.fromisoformat,
    "timestamp": _timestamp,
    "timedelta": lambda text: (pd.Timedelta(int(text), unit="ns") if text[-1:].isdigit()
                               else pd.Timedelta(np.timedelta64(int(text.rstrip("smu")),
                                                                text.lstrip("-0123456789")))),
}


def decode_stat(text: str | None) -> Any:
    """The value ``encode_stat`` stored as ``text``."""
    if text is None:
        return None
    tag, sep, value = text.partition(":")
    if not sep or tag not in _DECODERS:
        raise ValueError(f"{PROFILES_TABLE}: stored statistic {text!r} has no known tag "
                         f"(one of {sorted(_DECODERS)}); was it written by a newer workbench?")
    return _DECODERS[tag](value)
