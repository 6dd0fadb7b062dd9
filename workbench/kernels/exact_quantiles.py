"""``quantiles``: exact quantiles of a column, ignoring nulls and NaN.

Use it when the column fits in memory; across partitions use ``QuantileSketch``. A cupy array
is sorted on its GPU (``cupy.quantile``); only the answers come back to the host.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._backend import array_module
from ._values import as_float64


def check_qs(qs: Any, op: str) -> np.ndarray:
    """``qs`` as a float64 array, every one in [0, 1]; ``ValueError`` naming ``op`` otherwise."""
    q = np.asarray(qs, dtype=np.float64)
    if not np.all((q >= 0.0) & (q <= 1.0)):
        raise ValueError(f"{op}: argument 'qs' must lie in [0, 1], got {qs!r}")
    return q


def quantiles(x: Any, qs: Any) -> np.ndarray:
    """``np.quantile(values, qs, method="linear")`` over the non-null, non-NaN values.

    Returns a numpy float64 array with the shape of ``qs`` (for cupy input too); all NaN when
    there are no values. CPU and GPU agree to a relative 1e-12 (interpolation rounding).
    """
    q = check_qs(qs, "quantiles")
    xp = array_module(x)
    if xp is not np:
        if x.dtype.kind not in "iubf":
            raise TypeError(f"quantiles: unsupported dtype cupy {x.dtype}")
        values = x.ravel().astype(np.float64, copy=False)
        values = values[~xp.isnan(values)]
        if values.shape[0] == 0:
            return np.full(q.shape, np.nan)
        return xp.quantile(values, xp.asarray(q), method="linear").get().astype(np.float64)
    values = as_float64(x, "quantiles")
    values = values[~np.isnan(values)]
    if values.shape[0] == 0:
        return np.full(q.shape, np.nan)
    return np.asarray(np.quantile(values, q, method="linear"), dtype=np.float64)
