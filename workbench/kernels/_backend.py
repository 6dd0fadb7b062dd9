"""Pick the array module (numpy or cupy) from the array itself, like ``cupy.get_array_module``.

cupy is never imported here: an array can only be a cupy array if cupy is already in
``sys.modules``, so looking there keeps CPU-only installs free of it.
"""

from __future__ import annotations

import sys
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


def is_device_array(x: Any) -> bool:
    """True when ``x`` lives on a GPU (a cupy array)."""
    return array_module(x) is not np


def to_host(x: Any) -> Any:
    """Copy a cupy array to a numpy one; anything else is returned unchanged.

    The CPU kernels are the fallback for device arrays until their CuPy twins exist.
    """
    return x.get() if is_device_array(x) else x
