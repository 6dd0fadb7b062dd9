"""Turn any numeric column (numpy, pyarrow, pandas, cupy) into one contiguous float64 array.

Nulls become NaN, so the statistics kernels see one representation: NaN means "missing".
Integers above 2**53 lose precision in the conversion, as they do in pandas' float statistics.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from ._backend import to_host

NUMERIC_TYPES = (
    "bool, int8..int64, uint8..uint64, float16/32/64, decimal, timestamp, date, time, "
    "duration (as their integer value), dictionary of these, null"
)


def _arrow_to_float64(arr: pa.Array, op: str) -> np.ndarray:
    t = arr.type
    if pa.types.is_dictionary(t):
        return _arrow_to_float64(arr.dictionary_decode(), op)
    if pa.types.is_null(t):
        return np.full(len(arr), np.nan)
    if pa.types.is_temporal(t) and t.bit_width in (32, 64):
        arr = arr.view(pa.int32() if t.bit_width == 32 else pa.int64())
    elif not (
        pa.types.is_boolean(t)
        or pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_decimal(t)
    ):
        raise TypeError(f"{op}: unsupported dtype {t}; supported: {NUMERIC_TYPES}")
    out = arr.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False)
    return np.ascontiguousarray(out, dtype=np.float64)


def as_float64(x: Any, op: str) -> np.ndarray:
    """``x`` as a 1-d contiguous float64 numpy array, nulls (Arrow nulls, NaT) as NaN.

    ``op`` names the calling function in error messages.
    """
    x = to_host(x)
    if isinstance(x, pa.ChunkedArray):
        parts = [_arrow_to_float64(c, op) for c in x.chunks]
        if not parts:
            _arrow_to_float64(pa.array([], type=x.type), op)  # type check only
            return np.empty(0)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)
    if isinstance(x, pa.Array):
        return _arrow_to_float64(x, op)
    if not isinstance(x, np.ndarray):
        if hasattr(x, "__arrow_array__") or type(x).__module__.startswith("pandas"):
            return as_float64(pa.array(x, from_pandas=True), op)
        x = np.asarray(x)
    kind = x.dtype.kind
    flat = x.ravel()
    if kind == "f":
        return np.ascontiguousarray(flat, dtype=np.float64)
    if kind in "iub":
        return flat.astype(np.float64)
    if kind in "mM":
        out = flat.view(np.int64).astype(np.float64)
        out[np.isnat(flat)] = np.nan
        return out
    raise TypeError(f"{op}: unsupported dtype {x.dtype}; supported: {NUMERIC_TYPES}")
