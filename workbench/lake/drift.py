"""Drift between two versions of a table (or a version and an ingest's batch), measured from the
sketches each version's stored profile keeps, so no row is read again once both are profiled.

Per column, as drift monitors usually score it:

- ``psi``, the population stability index ``sum((cur - ref) * ln(cur / ref))`` over buckets of
  the rows, nulls a bucket of their own (proportions below ``FLOOR`` count as ``FLOOR``). A
  numeric column's buckets are cut at the reference's deciles (from its KLL sketch; repeated
  deciles are one edge), right-closed, each side's shares read off its own KLL sketch; a text
  column's buckets are the values holding at least 1% of the rows of both sides together
  (from its frequent values), the rest "(other)": a bucket per rare value would make PSI
  noise (two random halves of 1,700 rows of 142 countries score 0.4), and choosing values by
  one side's share would favour that side's noise. Verdict: ``stable`` below 0.1,
  ``moderate`` up to 0.25, ``drift`` above.
- ``ks``: the Kolmogorov-Smirnov statistic ``sup |F_ref - F_cur|`` of the non-null values (as
  ``scipy.stats.ks_2samp``), from the two KLL sketches' CDFs at every value either retains.
- ``js``: the Jensen-Shannon distance (base 2, 0 to 1; as ``scipy.spatial.distance.
  jensenshannon``) between a text column's bucket shares.
- null rates (exact) and distinct counts (HyperLogLog estimates) of both sides.

A KLL sketch's ranks are within its rank error (1.65% at k=200; exact while it has compacted
nothing), so ``ks`` is within the two errors' sum of the exact statistic, and each bucket share
within a known interval, which bounds ``psi``: ``report.errors`` states both per column (and
``js_error``: 0 where both sides' frequent values are exact counts, else unknown, NaN).
"""

from __future__ import annotations

import datetime
import html
import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from workbench.lake.errors import LakeError

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from workbench.lake.profile import Profile
    from workbench.lake.table import Table

PSI_MODERATE, PSI_DRIFT = 0.1, 0.25
FLOOR = 1e-4  # a share below this counts as this in PSI's logarithm (an empty bucket)
MIN_SHARE = 0.01  # of both sides' rows: a text value with less is "(other)"
OTHER, NULL = "(other)", "(null)"  # the buckets of rare values and of nulls
DECILES = tuple(np.round(np.arange(1, 10) / 10, 1))
COLUMNS = ["column", "kind", "psi", "ks", "js", "null_rate_ref", "null_rate_cur",
           "distinct_ref", "distinct_cur", "verdict"]
ERROR_COLUMNS = ["column", "psi_error", "ks_error", "js_error"]
DISTRIBUTION_COLUMNS = ["column", "bucket", "lo", "hi", "ref", "cur"]
_NUMERIC_TYPES = ("int", "uint", "float", "double", "halffloat", "bool", "timestamp", "date",
                  "decimal")


@dataclass
class DriftReport:
    """Drift of table ``name`` from version ``reference`` to ``current`` (None: an ingest's
    batch that was not committed): ``table`` (one row per column, `COLUMNS`), ``errors`` (the
    sketches' bounds on the scores, `ERROR_COLUMNS`) and ``distributions`` (each column's bucket
    shares on both sides, `DISTRIBUTION_COLUMNS`, what ``psi`` and ``js`` were computed from)."""

    name: str
    reference: int
    current: int | None
    table: pd.DataFrame
    errors: pd.DataFrame = field(repr=False)
    distributions: pd.DataFrame = field(repr=False)

    @property
    def drifted(self) -> list[str]:
        """The columns whose verdict is ``drift``, worst (highest PSI) first."""
        rows = self.table[self.table["verdict"] == "drift"].sort_values("psi", ascending=False)
        return rows["column"].tolist()

    def chart(self) -> go.Figure:
        """PSI per column, and the worst columns' distributions overlaid (the chart function
        `workbench.charts.drift.drift`, looked up by name: the lake never imports its views)."""
        current = "batch" if self.current is None else f"version {self.current}"
        return importlib.import_module("workbench.charts.drift").drift(
            self.table, self.distributions, labels=(f"version {self.reference}", current))

    def _title(self) -> str:
        current = "the ingested batch" if self.current is None else f"version {self.current}"
        return f"Drift of {self.name}: version {self.reference} to {current}"

    def _repr_html_(self) -> str:
        drifted = ", ".join(self.drifted) or "none"
        return (f"<p><b>{html.escape(self._title())}</b>; drifted: {html.escape(drifted)}</p>"
                + self.table.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.4g}"))

    def __repr__(self) -> str:
        return f"DriftReport({self.name!r}, reference={self.reference}, " \
               f"current={self.current}, drifted={self.drifted})\n{self.table}"


def table_drift(table: Table, reference: Any, current: Any = None) -> DriftReport:
    """The drift of ``table`` from version ``reference`` to ``current`` (latest when None); see
    `workbench.lake.table.Table.drift`."""
    ref = resolve_version(table, reference, "reference")
    cur = table.version if current is None else resolve_version(table, current, "current")
    return compare(sketched_profile(table, ref), sketched_profile(table, cur))


def sketched_profile(table: Table, version: int) -> Profile:
    """The stored profile of ``version`` with its sketches: computed and stored when there is
    none, or when the stored one predates the sketches."""
    from workbench.lake.profile import profile

    found = profile(table, version)
    return found if found.sketched else profile(table, version, refresh=True)


def resolve_version(table: Table, value: Any, argument: str) -> int:
    """The version ``value`` names: a version number, or a time (text, datetime, Timestamp;
    UTC when it has no zone) meaning the newest version committed by then. An error names
    ``argument`` and the versions the table has."""
    latest = table.version
    have = f"table {table.name!r} has versions 0..{latest}"
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        if not 0 <= value <= latest:
            raise LakeError(f"{argument}={value!r}: no such version; {have}")
        return int(value)
    if not isinstance(value, (str, datetime.date, np.datetime64)):
        raise LakeError(f"{argument}={value!r}: pass a version number or a time (text, "
                        f"datetime or pandas Timestamp); {have}")
    try:
        when = pd.Timestamp(value)
    except ValueError as err:
        raise LakeError(f"{argument}={value!r} is neither a version nor a time: {err}; "
                        f"{have}") from None
    when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
    history = table.history()
    before = history[history["timestamp"] <= when]
    if before.empty:
        first = history["timestamp"].min()
        raise LakeError(f"{argument}={value!r}: table {table.name!r} did not exist yet; its "
                        f"first version (0) was committed at {first}; {have}")
    return int(before["version"].max())


def compare(ref: Profile, cur: Profile) -> DriftReport:
    """The drift from profile ``ref`` to ``cur``, both with their sketches."""
    ref_rows = ref.table.set_index("column")
    cur_rows = cur.table.set_index("column")
    names = list(ref_rows.index) + [c for c in cur_rows.index if c not in ref_rows.index]
    rows, errors, buckets = [], [], []
    for name in names:
        sides = [_Side.of(p, rows_, name) for p, rows_ in ((ref, ref_rows), (cur, cur_rows))]
        row, error, dist = _column(name, *sides)
        rows.append(row)
        errors.append(error)
        buckets.append(dist)
    table = pd.DataFrame(rows, columns=COLUMNS).astype(
        {"psi": "float64", "ks": "float64", "js": "float64", "null_rate_ref": "float64",
         "null_rate_cur": "float64", "distinct_ref": "Int64", "distinct_cur": "Int64"})
    distributions = (pd.concat(buckets, ignore_index=True) if buckets
                     else pd.DataFrame(columns=DISTRIBUTION_COLUMNS))
    return DriftReport(ref.name, ref.version, cur.version, table,
                       pd.DataFrame(errors, columns=ERROR_COLUMNS), distributions)


@dataclass
class _Side:
    """One version's figures for one column (``present`` False: the version lacks it)."""

    present: bool
    type: str = ""
    rows: int = 0
    count: int = 0
    nulls: int = 0
    distinct: Any = None
    quantiles: Any = None
    top: Any = None

    @classmethod
    def of(cls, p: Profile, stats: pd.DataFrame, name: str) -> _Side:
        if name not in stats.index:
            return cls(False)
        row = stats.loc[name]
        distinct = row["distinct"]
        return cls(True, str(row["type"]), p.rows, int(row["count"]), int(row["nulls"]),
                   None if pd.isna(distinct) else int(distinct), p.quantiles.get(name),
                   p.top_values.get(name))

    @property
    def null_rate(self) -> float:
        return self.nulls / self.rows if self.present and self.rows else np.nan


def kind_of(type_name: str) -> str:
    """``numeric``, ``categorical`` (text) or ``other`` (binary, nested): an Arrow type's name
    as a profile's ``type`` column holds it."""
    if type_name in ("string", "large_string"):
        return "categorical"
    return "numeric" if type_name.startswith(_NUMERIC_TYPES) else "other"


def verdict(psi: float) -> str:
    """``stable`` below PSI 0.1, ``moderate`` up to 0.25, ``drift`` above; ``unmeasured``
    without a PSI (a column with no values on either side, or one of another kind)."""
    if not np.isfinite(psi):
        return "unmeasured"
    return "stable" if psi < PSI_MODERATE else "moderate" if psi <= PSI_DRIFT else "drift"


def _column(name: str, ref: _Side, cur: _Side) -> tuple[dict, dict, pd.DataFrame]:
    """One column's report row, error row and bucket shares."""
    either = ref if ref.present else cur
    kind = kind_of(either.type)
    row = {"column": name, "kind": kind, "psi": np.nan, "ks": np.nan, "js": np.nan,
           "null_rate_ref": ref.null_rate, "null_rate_cur": cur.null_rate,
           "distinct_ref": ref.distinct, "distinct_cur": cur.distinct}
    error = {"column": name, "psi_error": np.nan, "ks_error": np.nan, "js_error": np.nan}
    dist = pd.DataFrame(columns=DISTRIBUTION_COLUMNS)
    if not (ref.present and cur.present):
        return {**row, "verdict": "removed" if ref.present else "added"}, error, dist
    if kind != "other" and ref.rows and cur.rows:
        scores, bounds, dist = (_numeric if kind == "numeric" else _categorical)(name, ref, cur)
        row.update(scores)
        error.update(bounds)
    return {**row, "verdict": verdict(row["psi"])}, error, dist


def _rank_error(q: Any) -> float:
    """A KLL sketch's normalised rank error: 0 while it holds every value."""
    return 0.0 if q is None or q.exact else q.rank_error


def _numeric(name: str, ref: _Side, cur: _Side) -> tuple[dict, dict, pd.DataFrame]:
    """PSI over the reference's deciles, and KS, from the two KLL sketches."""
    base = ref.quantiles if ref.quantiles is not None else cur.quantiles
    edges = np.unique(base.quantiles(list(DECILES))) if base is not None else np.empty(0)
    shares, bounds = zip(*(_numeric_shares(s, edges) for s in (ref, cur)))
    psi, psi_error = _psi_with_bounds(shares, bounds)
    ks = ks_error = np.nan
    if ref.quantiles is not None and cur.quantiles is not None:
        points = np.union1d(ref.quantiles.to_arrays()[0], cur.quantiles.to_arrays()[0])
        ks = float(np.max(np.abs(ref.quantiles.rank(points) - cur.quantiles.rank(points))))
        ks_error = _rank_error(ref.quantiles) + _rank_error(cur.quantiles)
    lo = np.r_[-np.inf, edges, np.nan]
    hi = np.r_[edges, np.inf, np.nan]
    labels = [*_bin_labels(edges, ref.type or cur.type), NULL]
    dist = _distribution(name, labels, lo, hi, *shares)
    return {"psi": psi, "ks": ks}, {"psi_error": psi_error, "ks_error": ks_error}, dist


def _numeric_shares(side: _Side, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A side's share of rows per bucket (right-closed bins between ``edges``, then nulls),
    and how far each may be from the exact share (its sketch's rank error at each edge)."""
    values = side.count / side.rows
    cdf = (np.zeros(len(edges) + 2) if side.quantiles is None  # no values: no share
           else np.r_[0.0, side.quantiles.rank(edges), 1.0])
    shares = np.r_[np.diff(cdf) * values, side.nulls / side.rows]
    ends = np.full(len(edges) + 1, 2.0)
    ends[[0, -1]] = 1.0 if len(edges) else 0.0
    return shares, np.r_[ends * _rank_error(side.quantiles) * values, 0.0]


def _categorical(name: str, ref: _Side, cur: _Side) -> tuple[dict, dict, pd.DataFrame]:
    """PSI and JS over the values frequent on either side, "(other)" and nulls."""
    ref_top = ref.top.counts if ref.top is not None else {}
    cur_top = cur.top.counts if cur.top is not None else {}
    common = {v for v in {*ref_top, *cur_top}
              if ref_top.get(v, 0) / ref.rows + cur_top.get(v, 0) / cur.rows >= 2 * MIN_SHARE}
    values = sorted(common, key=lambda v: (-ref_top.get(v, 0), -cur_top.get(v, 0), v))
    shares, bounds = zip(*(_categorical_shares(s, values) for s in (ref, cur)))
    psi, psi_error = _psi_with_bounds(shares, bounds)
    exact = all(s.top is None or s.top.exact for s in (ref, cur))
    dist = _distribution(name, [*values, OTHER, NULL], np.nan, np.nan, *shares)
    return ({"psi": psi, "js": jensen_shannon(*shares)},
            {"psi_error": psi_error, "js_error": 0.0 if exact else np.nan}, dist)


def _categorical_shares(side: _Side, values: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """A side's share of rows per value, then the other values and nulls; and the bounds (lower,
    upper) of each exact share that its frequent values' undercount allows."""
    top = side.top.counts if side.top is not None else {}
    error = side.top.error if side.top is not None else 0
    counts = np.array([top.get(v, 0) for v in values], dtype=np.float64)
    other = side.count - counts.sum()
    shares = np.r_[counts, other, side.nulls] / side.rows
    lower = np.r_[counts, max(other - error * len(values), 0), side.nulls] / side.rows
    upper = np.r_[counts + error, other, side.nulls] / side.rows
    return shares, np.stack([lower, upper])


def psi_terms(ref: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """Each bucket's PSI term ``(cur - ref) * ln(cur / ref)``, shares floored at `FLOOR`."""
    r, c = np.maximum(ref, FLOOR), np.maximum(cur, FLOOR)
    return (c - r) * np.log(c / r)


def _psi_with_bounds(shares: tuple[np.ndarray, np.ndarray], bounds: tuple) -> tuple[float, float]:
    """PSI of (ref, cur) shares, and its largest distance to the PSI of any shares within the
    bounds: a half-width per share, or (lower, upper) rows. A term grows with the gap between
    its two shares, so over a box of shares it is least and most at corners (0 where the
    intervals meet)."""
    psi = float(psi_terms(*shares).sum())
    boxes = [np.stack([s - b, s + b]) if b.ndim == 1 else b for s, b in zip(shares, bounds)]
    (r_lo, r_hi), (c_lo, c_hi) = (np.clip(box, 0.0, 1.0) for box in boxes)
    most = np.maximum(psi_terms(r_lo, c_hi), psi_terms(r_hi, c_lo))
    least = np.where((r_lo <= c_hi) & (c_lo <= r_hi), 0.0,
                     np.minimum(psi_terms(r_hi, c_lo), psi_terms(r_lo, c_hi)))
    return psi, float(max(most.sum() - psi, psi - least.sum()))


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> float:
    """The Jensen-Shannon distance (base 2) between two distributions of the same buckets."""
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        inside = a > 0
        return float(np.sum(a[inside] * np.log2(a[inside] / m[inside])))

    return float(np.sqrt(max((kl(p) + kl(q)) / 2, 0.0)))


def _distribution(name: str, labels: list[str], lo: Any, hi: Any, ref: np.ndarray,
                  cur: np.ndarray) -> pd.DataFrame:
    """A column's buckets, those empty on both sides left out (their PSI term is 0)."""
    frame = pd.DataFrame({"column": name, "bucket": labels, "lo": lo, "hi": hi, "ref": ref,
                          "cur": cur}, columns=DISTRIBUTION_COLUMNS)
    return frame[(frame["ref"] > 0) | (frame["cur"] > 0)].reset_index(drop=True)


def _bin_labels(edges: np.ndarray, type_name: str) -> list[str]:
    """``≤ a``, ``a – b``, ..., ``> z``: the right-closed bins between ``edges``, in the
    column's terms (times as times)."""
    shown = [_value_text(e, type_name) for e in edges]
    if not shown:
        return ["all values"]
    return [f"≤ {shown[0]}", *(f"{a} – {b}" for a, b in zip(shown, shown[1:])),
            f"> {shown[-1]}"]


def _value_text(value: float, type_name: str) -> str:
    """An edge (a float of the column's ticks) as text."""
    if type_name.startswith("timestamp["):
        unit = type_name[len("timestamp["):].split(",")[0].rstrip("]")
        return str(pd.Timestamp(int(value), unit=unit))
    if type_name.startswith("date"):
        return str(pd.Timestamp(int(value), unit="D" if type_name.startswith("date32")
                                else "ms").date())
    return f"{value:.4g}"
