"""``standardize``: fill nulls/NaN, centre, scale and clip a feature column in one pass.

The plain composition ``np.clip(np.nan_to_num((x - mean) / std), lo, hi)`` reads and writes
the column four times; this is one read and one write (a numba loop on CPU, a cupy
``ElementwiseKernel`` on GPU), which is what feeding a training loader needs.

Contract, per element, computed in float64:
``out = fill`` where ``x`` is null or NaN (``fill`` is not clipped), else
``out = min(max((x - mean) / std, lo), hi)`` when ``clip`` is given, else ``(x - mean) / std``;
±inf in ``x`` gives ±inf, or the clip bound. The output is float32 for float32/float16
input and float64 otherwise, shaped as ``x``. CPU and GPU results agree to 1 ulp of float64.
"""

from __future__ import annotations

import math
from functools import cache
from numbers import Number
from typing import Any

import numpy as np
from numba import njit

from ._backend import array_module, common_module
from ._values import as_float64


@njit(inline="always")
def _one(v, mean, std, fill, lo, hi):
    return fill if v != v else min(max((v - mean) / std, lo), hi)


@njit(cache=True, nogil=True)
def _standardize_1d(x, mean, std, fill, lo, hi, out):
    for i in range(x.shape[0]):
        out[i] = _one(np.float64(x[i]), mean, std, fill, lo, hi)


@njit(cache=True, nogil=True)
def _standardize_2d(x, mean, std, fill, lo, hi, out):
    """``x`` and ``out`` are (rows, cols); ``mean`` and ``std`` hold one value per column."""
    for r in range(x.shape[0]):
        for c in range(x.shape[1]):
            out[r, c] = _one(np.float64(x[r, c]), mean[c], std[c], fill, lo, hi)


@cache
def _cuda_kernel() -> Any:
    import cupy

    return cupy.ElementwiseKernel(
        "T x, float64 mean, float64 std, float64 fill, float64 lo, float64 hi",
        "O out",
        "double v = (double)x; out = isnan(v) ? fill : fmin(fmax((v - mean) / std, lo), hi)",
        "workbench_standardize",
    )


def _clip_bounds(clip: Any) -> tuple[float, float]:
    if clip is None:
        return -math.inf, math.inf
    if isinstance(clip, int | float):
        lo, hi = -abs(float(clip)), abs(float(clip))
    else:
        try:
            lo, hi = (float(v) for v in clip)
        except (TypeError, ValueError) as e:
            raise TypeError(
                f"standardize: argument 'clip' must be None, a number c (for (-c, c)) or "
                f"(low, high), got {clip!r}"
            ) from e
    if math.isnan(lo) or math.isnan(hi) or lo > hi:
        raise ValueError(f"standardize: argument 'clip' must have low <= high, got {clip!r}")
    return lo, hi


def _stats(xp: Any, mean: Any, std: Any, cols: int) -> tuple[Any, Any]:
    """``mean`` and ``std`` as float64 arrays of one value per column, checked (on the host
    for scalars, so a GPU call with scalar statistics never waits for the device)."""
    if isinstance(mean, Number) and isinstance(std, Number):
        xp = np
    m = xp.asarray(mean, dtype=np.float64)
    s = xp.asarray(std, dtype=np.float64)
    for name, v in (("mean", m), ("std", s)):
        if v.ndim > 1 or (v.ndim == 1 and v.shape[0] != cols):
            raise ValueError(
                f"standardize: argument {name!r} must be a scalar or one value per column "
                f"({cols}), got shape {v.shape}"
            )
    if not bool(xp.isfinite(m).all()) or not bool(((s > 0) & xp.isfinite(s)).all()):
        raise ValueError("standardize: 'mean' must be finite and 'std' finite and > 0")
    return m, s


def standardize(
    x: Any, mean: Any, std: Any, fill: float = 0.0, clip: float | tuple[float, float] | None = None
) -> Any:
    """``clip((x - mean) / std)`` with nulls/NaN as ``fill``, in one pass (see the module).

    ``x``: numpy or cupy array (1-d, or 2-d with ``mean``/``std`` per column), or a pyarrow or
    pandas column (nulls become ``fill``). ``mean``/``std``: scalars, or arrays on the same
    backend as ``x`` (``TypeError`` if mixed). ``clip``: ``None``, ``c`` for ``(-c, c)``, or
    ``(low, high)``. Returns an array on ``x``'s backend. ``ValueError`` for a non-finite
    mean, a std that is not finite and > 0, or a bad ``clip``; ``TypeError`` for a
    non-numeric ``x``.
    """
    xp = common_module("standardize", x, mean, std)
    lo, hi = _clip_bounds(clip)
    fill = float(fill)
    if xp is np and not (isinstance(x, np.ndarray) and x.dtype.kind in "iubf"):
        x = as_float64(x, "standardize")  # pyarrow / pandas: nulls become NaN
    if x.dtype.kind not in "iubf":
        raise TypeError(f"standardize: unsupported dtype {x.dtype}; pass a numeric array")
    if x.ndim not in (1, 2):
        raise ValueError(f"standardize: 'x' must be 1-d or 2-d, got {x.ndim}-d")
    m, s = _stats(xp, mean, std, x.shape[1] if x.ndim == 2 else 1)
    if x.ndim == 1 and array_module(m) is np:
        m, s = float(m.reshape(())), float(s.reshape(()))
    elif x.ndim == 1:
        m, s = m.reshape(()), s.reshape(())
    else:
        m, s = (xp.broadcast_to(xp.asarray(v), x.shape[1:]) for v in (m, s))
    small_float = x.dtype.kind == "f" and x.dtype.itemsize <= 4
    out = xp.empty(x.shape, dtype=np.float32 if small_float else np.float64)
    if x.dtype == np.float16:
        x = x.astype(np.float32)
    if xp is not np:
        return _cuda_kernel()(x, m, s, fill, lo, hi, out)
    if x.size == 0:
        return out
    if x.ndim == 1:
        _standardize_1d(x, m, s, fill, lo, hi, out)
    else:
        m, s = np.ascontiguousarray(m), np.ascontiguousarray(s)
        _standardize_2d(x, m, s, fill, lo, hi, out)
    return out
