"""Helpers the CUDA twins share: C type names for dtypes, launch geometry, compiled-kernel cache.

Only GPU code paths import this module's functions, and cupy is imported inside them.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

THREADS = 256
_C_TYPES = {
    "float64": "double",
    "float32": "float",
    "int64": "long long",
    "int32": "int",
    "int16": "short",
    "int8": "signed char",
    "uint64": "unsigned long long",
    "uint32": "unsigned int",
    "uint16": "unsigned short",
    "uint8": "unsigned char",
    "bool": "bool",
}


def c_type(dtype: Any, op: str) -> str:
    """The CUDA C type of a numeric dtype; ``TypeError`` naming ``op`` for anything else."""
    name = np.dtype(dtype).name
    if name not in _C_TYPES:
        raise TypeError(
            f"{op}: unsupported dtype cupy {name}; supported: {', '.join(_C_TYPES)}, float16"
        )
    return _C_TYPES[name]


def blocks(n: int, per_sm: int = 8) -> int:
    """Blocks of ``THREADS`` for a grid-stride loop over ``n`` items: enough to fill the
    device (``per_sm`` blocks per SM), never more than one per ``THREADS`` items."""
    import cupy

    sms = cupy.cuda.Device().attributes["MultiProcessorCount"]
    return max(1, min((n + THREADS - 1) // THREADS, sms * per_sm))


@cache
def raw_kernel(source: str, name: str) -> Any:
    """``cupy.RawKernel(source, name)``, compiled once per process and source."""
    import cupy

    return cupy.RawKernel(source, name)


def as_device_numeric(x: Any) -> Any:
    """``x`` (a cupy array) flattened, float16 widened to float32 (CUDA C has no double cast)."""
    x = x.ravel()
    return x.astype(np.float32) if x.dtype == np.float16 else x
