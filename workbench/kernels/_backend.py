"""Pick the array module (numpy or cupy) from the array itself, like ``cupy.get_array_module``.

This is the one backend switch of the kernels: each public function asks ``array_module`` (or
``common_module`` for several arrays) once at its edge and calls its CuPy or its CPU twin.
cupy is never imported here: an array can only be a cupy array if cupy is already in
``sys.modules``, so looking there keeps CPU-only installs free of it.
"""

from __future__ import annotations

import functools
import sys
from numbers import Number
from types import ModuleType
from typing import Any

import numpy as np


def _cupy() -> ModuleType | None:
    return sys.modules.get("cupy")


def array_module(x: Any) -> ModuleType:
    """Return ``cupy`` for a cupy array, else ``numpy`` (numpy, pyarrow, pandas, lists)."""
    cp = _cupy()
    if cp is not None and isinstance(x, cp.ndarray):
        return cp
    return np


def common_module(op: str, *arrays: Any) -> ModuleType:
    """The one array module of ``arrays`` (scalars and ``None`` go with either).

    Raises ``TypeError`` naming ``op`` when cupy and host arrays are mixed: copying one side
    silently would hide a transfer over PCIe in the hot path.
    """
    modules = {array_module(a) for a in arrays if not (a is None or isinstance(a, Number))}
    if len(modules) > 1:
        raise TypeError(
            f"{op}: arrays from two backends mixed (cupy and host); move them to one device "
            "first (cupy.asarray(x) or x.get())"
        )
    return modules.pop() if modules else np


def is_device_array(x: Any) -> bool:
    """True when ``x`` lives on a GPU (a cupy array)."""
    return array_module(x) is not np


def to_host(x: Any) -> Any:
    """Copy a cupy array to a numpy one; anything else is returned unchanged."""
    return x.get() if is_device_array(x) else x



@functools.cache
def device_module() -> ModuleType:
    """The array module where this process should compute: ``cupy`` when it imports and sees
    a CUDA device (a dask-cuda worker, a GPU notebook), else ``numpy``. Asked once per process.

    This is the edge where callers that start from host data (Parquet files) pick the backend;
    every kernel after that follows the array.
    """
    try:
        import cupy
    except ImportError:
        return np  # no cupy: the CPU twins run
    try:
        return cupy if cupy.cuda.runtime.getDeviceCount() > 0 else np
    except cupy.cuda.runtime.CUDARuntimeError:
        return np  # cupy without a usable driver or device: the CPU twins run
