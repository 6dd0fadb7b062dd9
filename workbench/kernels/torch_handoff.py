"""``to_torch``: hand an array to PyTorch through DLPack, without a copy where possible.

The loader's last step: a cupy batch becomes a CUDA tensor on the same device, a numpy (or
Arrow) batch a CPU tensor, sharing memory. A copy happens only when sharing is impossible:

- negative strides (``x[::-1]``): torch has no negative strides, so the array is made
  contiguous (other non-contiguous views are shared with their strides);
- a pyarrow array with nulls: it becomes float64 with NaN for null (as ``as_float64``);
- a pyarrow bool array (bit-packed in Arrow) or a ChunkedArray of more than one chunk;
- pandas or list input that is not already a numpy array underneath.

A shared tensor aliases the source: writing to one changes the other, and an Arrow array's
memory must not be written at all.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from ._backend import array_module
from ._values import as_float64


def _arrow_to_numpy(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    t = arr.type
    if arr.null_count == 0 and (pa.types.is_integer(t) or pa.types.is_floating(t)):
        return arr.to_numpy(zero_copy_only=True)
    if arr.null_count == 0 and pa.types.is_boolean(t):
        return arr.to_numpy(zero_copy_only=False)
    return as_float64(arr, "to_torch")


def to_torch(x: Any) -> Any:
    """``x`` as a ``torch.Tensor`` via DLPack: cupy -> CUDA tensor, numpy/Arrow -> CPU tensor.

    Zero-copy unless the module docstring lists the case. Raises ``TypeError`` for a dtype
    DLPack/torch cannot hold (datetime, strings, objects).
    """
    import torch

    xp = array_module(x)
    if xp is np:
        if isinstance(x, pa.Array | pa.ChunkedArray):
            x = _arrow_to_numpy(x)
        elif not isinstance(x, np.ndarray):
            x = np.asarray(x)
            if x.dtype == object:  # pandas nullable columns: NA -> NaN
                x = as_float64(x, "to_torch")
        if x.dtype.kind not in "biufc":
            raise TypeError(
                f"to_torch: unsupported dtype {x.dtype}; DLPack carries bool, integer, float "
                "and complex arrays (convert datetimes with .view('int64'))"
            )
    if any(s < 0 for s in x.strides):
        x = xp.ascontiguousarray(x)
    return torch.from_dlpack(x)
