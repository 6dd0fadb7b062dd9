"""``HyperLogLog``: mergeable distinct-count estimate in 2**p bytes (Flajolet et al. 2007).

Values are hashed with ``keyed_hash`` under a fixed public key, so equal values count once
across int widths and partitions, and sketches built on different Dask workers merge. cupy
input is hashed on its GPU and the registers are raised there with ``atomicMax`` (one CUDA
kernel); the 2**p registers then come back and merge into the host ones, so GPU-built and
CPU-built sketches are the same registers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from ._backend import array_module
from ._cuda import THREADS, blocks, raw_kernel
from .hashing import keyed_hash

#: The public key HyperLogLog hashes with (not a secret: these tokens never leave a sketch).
HLL_KEY = b"workbench-hll-v1"
MIN_P, MAX_P = 4, 18


@njit(inline="always")
def _leading_zeros(x):
    n = 0
    if x == np.uint64(0):
        return 64
    for shift in (32, 16, 8, 4, 2, 1):
        if (x >> np.uint64(64 - shift)) == np.uint64(0):
            n += shift
            x <<= np.uint64(shift)
    return n


@njit(cache=True, nogil=True)
def _hll_update(tokens, p, registers):
    """For each token: register = first p bits; rank = leading zeros of the rest + 1."""
    guard = np.uint64(1) << np.uint64(p - 1)  # caps the rank at 64 - p + 1
    for i in range(tokens.shape[0]):
        h = tokens[i]
        idx = h >> np.uint64(64 - p)
        rank = _leading_zeros((h << np.uint64(p)) | guard) + 1
        if rank > registers[idx]:
            registers[idx] = rank


_CUDA_HLL = r"""
extern "C" __global__ void hll_update(const unsigned long long* tokens, long long n, int p,
                                      unsigned int* registers) {
    unsigned long long guard = 1ULL << (p - 1);  // caps the rank at 64 - p + 1
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x) {
        unsigned long long h = tokens[i];
        unsigned int idx = (unsigned int)(h >> (64 - p));
        unsigned int rank = __clzll((long long)((h << p) | guard)) + 1;
        if (rank > registers[idx]) atomicMax(&registers[idx], rank);
    }
}
"""


def _registers_cupy(values: Any, p: int) -> np.ndarray:
    """HLL registers (uint8, host) of a cupy array or cupy ``(offsets, data)`` pair."""
    import cupy

    if not isinstance(values, tuple):
        values = values.ravel()
        if values.dtype.kind == "f":
            values = values[~cupy.isnan(values)]
    tokens = keyed_hash(values, HLL_KEY)
    registers = cupy.zeros(1 << p, dtype=np.uint32)
    n = tokens.shape[0]
    if n:
        kernel = raw_kernel(_CUDA_HLL, "hll_update")
        kernel((blocks(n),), (THREADS,), (tokens, np.int64(n), np.int32(p), registers))
    return registers.get().astype(np.uint8)


def _tokens(values: Any) -> np.ndarray:
    """uint64 hashes of the non-null, non-NaN values."""
    if isinstance(values, tuple):  # an Arrow (offsets, data) pair
        return keyed_hash(values, HLL_KEY)
    if isinstance(values, pa.ChunkedArray | pa.Array):
        if pa.types.is_floating(values.type):
            values = pc.filter(values, pc.invert(pc.is_nan(values)))  # drops nulls too
        return keyed_hash(values, HLL_KEY).drop_null().to_numpy()
    values = np.asarray(values)
    if values.dtype.kind == "f":
        values = values[~np.isnan(values)]
    elif values.dtype.kind in "mM":
        values = values[~np.isnat(values)]
    elif values.dtype.kind == "O":
        values = pa.array(values.ravel(), from_pandas=True)
        return keyed_hash(values, HLL_KEY).drop_null().to_numpy()
    return keyed_hash(values, HLL_KEY).ravel()


class HyperLogLog:
    """Distinct-count sketch with ``2**p`` one-byte registers (``registers``, numpy uint8).

    Relative standard error ``1.04 / sqrt(2**p)`` (0.81% at p=14). Nulls and NaN are not
    counted, as in pandas' ``nunique``. The estimate is the original HyperLogLog one with its
    small-range (linear counting) correction; with 64-bit hashes no large-range correction is
    needed. Picklable.
    """

    def __init__(self, p: int = 14, registers: np.ndarray | None = None) -> None:
        if int(p) != p or not MIN_P <= p <= MAX_P:
            raise ValueError(
                f"HyperLogLog: argument 'p' must be an int in [{MIN_P}, {MAX_P}], got {p!r}"
            )
        self.p = int(p)
        if registers is None:
            registers = np.zeros(1 << self.p, dtype=np.uint8)
        elif registers.dtype != np.uint8 or registers.shape != (1 << self.p,):
            raise ValueError(f"HyperLogLog: registers must be uint8 of length {1 << self.p}")
        self.registers = registers

    @property
    def m(self) -> int:
        """Number of registers, ``2**p``."""
        return 1 << self.p

    @property
    def relative_error(self) -> float:
        """Relative standard error of ``estimate``: ``1.04 / sqrt(2**p)``."""
        return 1.04 / math.sqrt(self.m)

    def __repr__(self) -> str:
        return f"HyperLogLog(p={self.p}, estimate≈{self.estimate():.0f})"

    def update(self, values: Any) -> HyperLogLog:
        """Add values of any dtype ``keyed_hash`` accepts (cupy ones on the GPU); returns
        ``self``."""
        pair = isinstance(values, tuple) and len(values) == 2
        if array_module(values[0] if pair else values) is not np:
            np.maximum(self.registers, _registers_cupy(values, self.p), out=self.registers)
            return self
        tokens = np.ascontiguousarray(_tokens(values), dtype=np.uint64)
        if tokens.shape[0]:
            _hll_update(tokens, self.p, self.registers)
        return self

    def merge(self, other: HyperLogLog) -> HyperLogLog:
        """A new sketch of both inputs' values (register-wise max). Same ``p`` required."""
        if not isinstance(other, HyperLogLog):
            raise TypeError(f"HyperLogLog.merge: expected a HyperLogLog, got {other!r}")
        if other.p != self.p:
            raise ValueError(
                f"HyperLogLog.merge: p differs ({self.p} vs {other.p}); "
                "build every partition's sketch with the same p"
            )
        return HyperLogLog(self.p, np.maximum(self.registers, other.registers))

    def estimate(self) -> float:
        """Estimated number of distinct values."""
        m = float(self.m)
        alpha = {16: 0.673, 32: 0.697, 64: 0.709}.get(self.m, 0.7213 / (1.0 + 1.079 / m))
        raw = alpha * m * m / float(np.ldexp(1.0, -self.registers.astype(np.int32)).sum())
        zeros = int(np.count_nonzero(self.registers == 0))
        if raw <= 2.5 * m and zeros:
            return m * math.log(m / zeros)  # linear counting
        return raw


def approx_distinct(x: Any, p: int = 14) -> float:
    """Estimated number of distinct non-null values of ``x`` (HyperLogLog with ``2**p``)."""
    return HyperLogLog(p).update(x).estimate()
