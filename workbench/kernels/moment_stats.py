"""``moments``: count, nulls, min, max, mean and m2 of a column in one pass, mergeable.

Partitions are summarised independently (on Dask workers) and combined with ``Moments.merge``
(Chan, Golub & LeVeque's parallel formula), so a table profile never needs a second pass.

On a cupy array one CUDA kernel reads the column once: each thread keeps shifted sums (shifted
by the first value it sees, so they stay well conditioned), each block merges its threads'
moments in shared memory with the same Chan formula, and the host merges the blocks' partials.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from ._backend import array_module
from ._cuda import THREADS, as_device_numeric, blocks, c_type, raw_kernel
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


_CUDA_MOMENTS = r"""
// part holds 7 rows of gridDim.x: n finite, mean, m2, min, max, count non-NaN, inf flags
extern "C" __global__ void moments_partials(const T* x, long long n, double* part) {
    __shared__ double s_n[THREADS], s_mean[THREADS], s_m2[THREADS], s_min[THREADS],
        s_max[THREADS];
    __shared__ long long s_count[THREADS];
    __shared__ int s_inf[THREADS];
    double shift = 0.0, sum = 0.0, sq = 0.0, nf = 0.0, mn = CUDART_INF, mx = -CUDART_INF;
    long long count = 0;
    int inf = 0;  // bit 0: +inf seen, bit 1: -inf seen
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x) {
        double v = (double)x[i];
        if (v != v) continue;
        ++count;
        mn = fmin(mn, v);
        mx = fmax(mx, v);
        if (isinf(v)) { inf |= v > 0 ? 1 : 2; continue; }
        if (nf == 0.0) shift = v;
        double d = v - shift;
        nf += 1.0; sum += d; sq += d * d;
    }
    int t = threadIdx.x;
    s_n[t] = nf;
    s_mean[t] = nf > 0 ? shift + sum / nf : 0.0;
    s_m2[t] = nf > 0 ? fmax(sq - sum * (sum / nf), 0.0) : 0.0;
    s_min[t] = mn; s_max[t] = mx; s_count[t] = count; s_inf[t] = inf;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (t < s) {
            double na = s_n[t], nb = s_n[t + s];
            if (nb > 0 && na == 0) {
                s_n[t] = nb; s_mean[t] = s_mean[t + s]; s_m2[t] = s_m2[t + s];
            } else if (nb > 0) {
                double nn = na + nb, d = s_mean[t + s] - s_mean[t];
                s_mean[t] += d * (nb / nn);
                s_m2[t] += s_m2[t + s] + d * d * (na * nb / nn);
                s_n[t] = nn;
            }
            s_min[t] = fmin(s_min[t], s_min[t + s]);
            s_max[t] = fmax(s_max[t], s_max[t + s]);
            s_count[t] += s_count[t + s];
            s_inf[t] |= s_inf[t + s];
        }
        __syncthreads();
    }
    if (t == 0) {
        int b = blockIdx.x, g = gridDim.x;
        part[b] = s_n[0]; part[g + b] = s_mean[0]; part[2 * g + b] = s_m2[0];
        part[3 * g + b] = s_min[0]; part[4 * g + b] = s_max[0];
        part[5 * g + b] = (double)s_count[0]; part[6 * g + b] = (double)s_inf[0];
    }
}
"""


def _moments_cupy(x: Any) -> tuple[int, int, float, float, float, float]:
    """(count, nulls, min, max, mean, m2) of a cupy array: one kernel, partials merged here."""
    import cupy

    x = as_device_numeric(x)
    n = x.shape[0]
    source = (
        f"#include <math_constants.h>\n#define THREADS {THREADS}\n"
        f"typedef {c_type(x.dtype, 'moments')} T;\n" + _CUDA_MOMENTS
    )
    grid = blocks(n)
    parts = cupy.empty((7, grid), dtype=np.float64)
    raw_kernel(source, "moments_partials")(
        (grid,), (THREADS,), (cupy.ascontiguousarray(x), np.int64(n), parts)
    )
    part_n, part_mean, part_m2, part_min, part_max, count, inf = parts.get()  # one copy
    total = int(count.sum())  # exact: each block's count < 2**53
    flags = int(np.bitwise_or.reduce(inf.astype(np.int64)))
    nf = part_n.sum()
    if total == 0:
        return 0, n, math.nan, math.nan, math.nan, 0.0
    if flags:  # as the CPU merge: the mean keeps the infinity's sign (NaN for both), m2 NaN
        mean = {1: math.inf, 2: -math.inf, 3: math.nan}[flags]
        m2 = math.nan
    else:
        mean = float((part_n * part_mean).sum() / nf)
        m2 = float(part_m2.sum() + (part_n * (part_mean - mean) ** 2).sum())
    return total, n - total, float(part_min.min()), float(part_max.max()), mean, m2


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
    """One-pass ``Moments`` of a numeric numpy/pyarrow/pandas/cupy column (timestamps as int64).

    A cupy array is summarised on its GPU (NaN counts as null, as on CPU); results agree with
    the CPU kernel's to a relative 1e-9 (summation order differs).
    """
    if array_module(x) is not np:
        if x.size == 0:
            return Moments.empty()
        count, nulls, mn, mx, mean, m2 = _moments_cupy(x)
    else:
        values = as_float64(x, "moments")
        if values.shape[0] == 0:
            return Moments.empty()
        count, nulls, mn, mx, mean, m2 = _moments_kernel(values, _BLOCK)
    if count == 0:
        return Moments(0, int(nulls), math.nan, math.nan, math.nan, 0.0)
    return Moments(int(count), int(nulls), float(mn), float(mx), float(mean), float(m2))
