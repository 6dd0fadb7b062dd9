"""``hex_digits``: uint64 values as 16 lowercase hex digits each, in one numba loop.

The text of PII tokens. A byte-pair table lookup through numpy took three times as long (a
byte-swapped copy, then a fancy index over eight bytes per value): 9 ms against 3 ms for
738,000 values.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


@njit(cache=True, nogil=True)
def _hex(values, digits, out):
    for i in range(values.shape[0]):
        v = values[i]
        base = 16 * i
        for j in range(16):
            out[base + 15 - j] = digits[(v >> np.uint64(4 * j)) & np.uint64(15)]


def hex_digits(values: np.ndarray) -> np.ndarray:
    """The 16 hex digits of each value of ``values`` (uint64), most significant first, as one
    uint8 array of 16 bytes per value."""
    values = np.ascontiguousarray(values, dtype=np.uint64)
    out = np.empty(16 * len(values), dtype=np.uint8)
    if len(values):
        _hex(values, _DIGITS, out)
    return out
