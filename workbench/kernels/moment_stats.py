"""``moments``: count, nulls, min, max, mean and m2 of a column in one pass, mergeable.

Partitions are summarised independently (on Dask workers) and combined with ``Moments.merge``
(Chan, Golub & LeVeque's parallel formula), so a table profile never needs a second pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from ._values import as_float64

_BLOCK = 4096  # values per block: small enough that the second look at a block hits L1/L2


def _combine(n_a, mean_a, m2_a, n_b, mean_b, m2_b):
    """Mean and m2 of two disjoint groups (Chan et al. 1979); n_a and n_b are positive."""
    n = n_a + n_b
    delta = mean_b - mean_a
    if math.isfinite(mean_a) and math.isfinite(mean_b):
        mean = mean_a + delta * n_b / n
        m2 = m2_a + m2_b + delta * delta * (n_a * n_b / n)
    else:  # an infinity: keep its sign (or NaN for +inf with -inf); variance is undefined
        mean = (n_a * mean_a + n_b * mean_b) / n
        m2 = math.nan
    return mean, m2


_combine_jit = njit(inline="always")(_combine)


@njit(cache=True, nogil=True)
def _moments_kernel(x, block):
    count = 0
    mn = np.inf
    mx = -np.inf
    mean = 0.0
    m2 = 0.0
    n = x.shape[0]
    for start in range(0, n, block):
        stop = min(start + block, n)
        c = 0
        s = 0.0
        for i in range(start, stop):
            v = x[i]
            if v == v:
                c += 1
                s += v
                mn = min(mn, v)
                mx = max(mx, v)
        if c == 0:
            continue
        mb = s / c
        q = 0.0
        for i in range(start, stop):
            v = x[i]
            if v == v:
                d = v - mb
                q += d * d
        if count == 0:
            mean, m2 = mb, q
        else:
            mean, m2 = _combine_jit(float(count), mean, m2, float(c), mb, q)
        count += c
    return count, n - count, mn, mx, mean, m2


@dataclass(frozen=True)
class Moments:
    """Summary of a numeric column: non-null ``count``, ``nulls`` (Arrow nulls and NaN),
    ``min``, ``max``, ``mean`` and ``m2`` (sum of squared deviations from the mean).

    ±inf count as values: min/max become ±inf, the mean ±inf (NaN if both signs occur) and
    m2, variance and std NaN, as in pandas. With no values, min/max/mean are NaN.
    """

    count: int
    nulls: int
    min: float
    max: float
    mean: float
    m2: float

    @classmethod
    def empty(cls) -> Moments:
        """The identity of ``merge``: no values, no nulls."""
        return cls(0, 0, math.nan, math.nan, math.nan, 0.0)

    @property
    def variance(self) -> float:
        """Sample variance (ddof=1); NaN with fewer than two values."""
        return self.m2 / (self.count - 1) if self.count >= 2 else math.nan

    @property
    def std(self) -> float:
        """Sample standard deviation (ddof=1), as pandas' ``Series.std``."""
        return math.sqrt(self.variance) if self.count >= 2 else math.nan

    def merge(self, other: Moments) -> Moments:
        """The moments of both inputs together, as if computed in one pass."""
        nulls = self.nulls + other.nulls
        if other.count == 0:
            return Moments(self.count, nulls, self.min, self.max, self.mean, self.m2)
        if self.count == 0:
            return Moments(other.count, nulls, other.min, other.max, other.mean, other.m2)
        mean, m2 = _combine(
            float(self.count), self.mean, self.m2, float(other.count), other.mean, other.m2
        )
        return Moments(
            self.count + other.count,
            nulls,
            min(self.min, other.min),
            max(self.max, other.max),
            mean,
            m2,
        )


def moments(x: Any) -> Moments:
    """One-pass ``Moments`` of a numeric numpy/pyarrow/pandas column (timestamps as int64)."""
    values = as_float64(x, "moments")
    if values.shape[0] == 0:
        return Moments.empty()
    count, nulls, mn, mx, mean, m2 = _moments_kernel(values, _BLOCK)
    if count == 0:
        return Moments(0, int(nulls), math.nan, math.nan, math.nan, 0.0)
    return Moments(int(count), int(nulls), float(mn), float(mx), float(mean), float(m2))
