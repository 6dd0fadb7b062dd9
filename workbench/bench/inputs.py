"""Benchmark inputs: checked once, moved once, and cut into the batches requests cycle through,
all before any timing starts."""

from __future__ import annotations

import math
from typing import Any

from workbench.bench.errors import BenchError

# At most this many distinct batches per batch size: requests cycle through them. Views cost a
# few hundred bytes each; a batch that wraps around the end of the inputs is one copy.
MAX_BATCHES = 1024


def as_arrays(inputs: Any, to_tensor: bool) -> tuple[Any, ...]:
    """`inputs` (a tensor, an array, or a tuple or list of them) as a tuple of row-major arrays
    sharing their first (batch) dimension; numpy arrays become tensors when `to_tensor` (a
    Module)."""
    import numpy as np
    import torch

    parts = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    if not parts:
        raise BenchError("inputs is empty: pass a tensor (or a tuple of tensors) whose first "
                         "dimension is the batch")
    out = []
    for i, part in enumerate(parts):
        where = "inputs" if len(parts) == 1 and not isinstance(inputs, (tuple, list)) \
            else f"inputs[{i}]"
        if isinstance(part, np.ndarray) and to_tensor:
            part = torch.from_numpy(part)
        if not isinstance(part, (torch.Tensor, np.ndarray)):
            raise BenchError(f"{where} is a {type(part).__name__}: pass a torch tensor or a "
                             "numpy array whose first dimension is the batch (or a tuple of "
                             "them)")
        if part.ndim == 0:
            raise BenchError(f"{where} is a scalar: its first dimension must be the batch, e.g. "
                             "x.reshape(1, -1) for one row")
        # Row-major once, before timing, as requests arrive (decoded from the wire, or from a
        # loader): a column-major frame's .to_numpy() made eager matmuls 3.5x slower at batch 1.
        out.append(part.contiguous() if isinstance(part, torch.Tensor)
                   else np.ascontiguousarray(part))
    rows = {len(p) for p in out}
    if len(rows) > 1:
        raise BenchError("the inputs' first dimensions differ "
                         f"({[len(p) for p in out]}): every part of a request takes the same "
                         "rows, so they must have the same number of rows")
    return tuple(out)


def rows(arrays: tuple[Any, ...]) -> int:
    return len(arrays[0])


def device_of(arrays: tuple[Any, ...]) -> Any:
    """The torch device of the inputs (numpy arrays are on the CPU); an error if they differ."""
    import torch

    devices = {a.device if isinstance(a, torch.Tensor) else torch.device("cpu") for a in arrays}
    if len(devices) > 1:
        raise BenchError(f"the inputs are on several devices {sorted(map(str, devices))}: "
                         "move them to one, the model's")
    return normalize(devices.pop())


def normalize(device: Any) -> Any:
    """`cuda` as `cuda:<current index>`, so that equal devices compare equal."""
    import torch

    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise BenchError(f"device {device} was asked for but torch sees no CUDA GPU "
                         f"(torch {torch.__version__}): use device='cpu'")
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    return device


def to_device(arrays: tuple[Any, ...], device: Any) -> tuple[Any, ...]:
    import torch

    return tuple((torch.from_numpy(a) if not isinstance(a, torch.Tensor) else a).to(device)
                 for a in arrays)


def to_dtype(arrays: tuple[Any, ...], dtype: Any) -> tuple[Any, ...]:
    """Floating tensors cast to `dtype` (one copy, before timing); the rest unchanged."""
    import torch

    if dtype is None:
        return arrays
    return tuple(a.to(dtype) if isinstance(a, torch.Tensor) and a.is_floating_point()
                 and a.dtype != dtype else a for a in arrays)


def check_batch_sizes(batch_sizes: Any, n: int) -> list[int]:
    """Positive ints that fit the inputs' `n` rows, in the order given, without repeats."""
    import numbers

    sizes = [batch_sizes] if isinstance(batch_sizes, numbers.Integral) else list(batch_sizes)
    if not sizes:
        raise BenchError("batch_sizes is empty: pass at least one, e.g. batch_sizes=(1, 8)")
    for b in sizes:
        if isinstance(b, bool) or not isinstance(b, numbers.Integral) or b < 1:
            raise BenchError(f"batch_sizes must be positive ints, got {b!r}")
    too_big = [int(b) for b in sizes if b > n]
    if too_big:
        raise BenchError(f"batch_sizes {too_big} do not fit the inputs: they have {n} rows, and "
                         f"a request of batch size b takes b of them; pass batch sizes up to "
                         f"{n}, or inputs with at least {max(too_big)} rows")
    return list(dict.fromkeys(int(b) for b in sizes))


def batches(arrays: tuple[Any, ...], b: int) -> list[tuple[Any, ...]]:
    """The batches that requests of size `b` cycle through: request k takes the b rows after
    request k-1's, wrapping around the end of the inputs (one period, at most MAX_BATCHES)."""
    import numpy as np
    import torch

    n = rows(arrays)
    period = n // math.gcd(n, b)
    out = []
    for k in range(min(period, MAX_BATCHES)):
        start = k * b % n
        if start + b <= n:
            out.append(tuple(a[start:start + b] for a in arrays))
        else:
            rest = start + b - n
            out.append(tuple(
                torch.cat([a[start:], a[:rest]]) if isinstance(a, torch.Tensor)
                else np.concatenate([a[start:], a[:rest]]) for a in arrays))
    return out
