"""What travels between the aggregator and its clients: one JSON header and raw tensor bytes.

A message is a ZeroMQ multipart message: frame 0 is a JSON object (``type``, ``round``,
``client``, ``token`` and ``tensors``: name, dtype and shape of each following frame), then one
frame per tensor holding its bytes, C order, little-endian as the machine writes them. Nothing
received is unpickled: a peer can send wrong bytes, never code. `decode` checks every field,
frame count and frame size (and, given the expected signature, every name, dtype and shape)
and raises `WireError` with the reason; the aggregator drops that client for the round and
carries on.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import orjson

from workbench.fl.errors import FederatedError

if TYPE_CHECKING:
    import torch

MAX_HEADER_BYTES = 1 << 20  # a header is a few hundred bytes; key lists for 1000s of clients fit
_DTYPES = ("float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8",
           "uint8", "uint32", "bool")


class WireError(FederatedError):
    """A message that is not what the protocol allows; the text says what is wrong."""


Signature = dict[str, tuple[str, tuple[int, ...]]]  # tensor name -> (dtype, shape)


def dtype_name(tensor: torch.Tensor) -> str:
    return str(tensor.dtype).removeprefix("torch.")


def signature(tensors: dict[str, torch.Tensor]) -> Signature:
    """The names, dtypes and shapes a message carrying `tensors` has."""
    return {name: (dtype_name(t), tuple(t.shape)) for name, t in tensors.items()}


def encode(header: dict[str, Any], tensors: dict[str, torch.Tensor] | None = None) -> list[bytes]:
    """`header` (JSON-able) and `tensors` as the frames of one message."""
    import torch

    tensors = tensors or {}
    described = []
    frames: list[bytes] = []
    for name, tensor in tensors.items():
        flat = tensor.detach().to("cpu").contiguous().reshape(-1)
        described.append({"name": name, "dtype": dtype_name(tensor), "shape": list(tensor.shape)})
        frames.append(flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b"")
    return [orjson.dumps({**header, "tensors": described}), *frames]


def decode(frames: list[bytes], expected: Signature | None = None
           ) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The header and tensors of a message; `WireError` naming the first thing wrong. With
    `expected`, the tensors must be exactly those names, dtypes and shapes."""
    import torch

    if not frames:
        raise WireError("an empty message")
    if len(frames[0]) > MAX_HEADER_BYTES:
        raise WireError(f"a header of {len(frames[0])} bytes (at most {MAX_HEADER_BYTES})")
    try:
        header = orjson.loads(frames[0])
    except orjson.JSONDecodeError as err:
        raise WireError(f"a header that is not JSON ({err})") from None
    if not isinstance(header, dict) or not isinstance(header.get("type"), str):
        raise WireError("a header without a message type")
    described = header.get("tensors", [])
    if not isinstance(described, list) or len(described) != len(frames) - 1:
        raise WireError(f"a header that describes {_count(described)} tensors but "
                        f"{len(frames) - 1} tensor frames")
    tensors: dict[str, torch.Tensor] = {}
    for item, frame in zip(described, frames[1:]):
        name, dtype, shape = _entry(item)
        if name in tensors:
            raise WireError(f"tensor {name!r} twice")
        torch_dtype = getattr(torch, dtype)
        size = math.prod(shape) * torch.empty((), dtype=torch_dtype).element_size()
        if len(frame) != size:
            raise WireError(f"tensor {name!r} ({dtype} {list(shape)}) needs {size} bytes, "
                            f"got {len(frame)}")
        data = torch.frombuffer(bytearray(frame), dtype=torch_dtype) if size else \
            torch.empty(0, dtype=torch_dtype)
        tensors[name] = data.reshape(shape)
    if expected is not None:
        check(tensors, expected)
    return header, tensors


def check(tensors: dict[str, torch.Tensor], expected: Signature) -> None:
    """`WireError` unless `tensors` has exactly `expected`'s names, dtypes and shapes."""
    missing = [name for name in expected if name not in tensors]
    extra = [name for name in tensors if name not in expected]
    if missing or extra:
        raise WireError(f"tensors missing {missing[:5]} and unexpected {extra[:5]}")
    for name, (dtype, shape) in expected.items():
        got = (dtype_name(tensors[name]), tuple(tensors[name].shape))
        if got != (dtype, shape):
            raise WireError(f"tensor {name!r} is {got[0]} {list(got[1])}, expected {dtype} "
                            f"{list(shape)}")


def _entry(item: Any) -> tuple[str, str, tuple[int, ...]]:
    if not isinstance(item, dict):
        raise WireError("a tensor description that is not an object")
    name, dtype, shape = item.get("name"), item.get("dtype"), item.get("shape")
    if not isinstance(name, str):
        raise WireError("a tensor without a name")
    if dtype not in _DTYPES:
        raise WireError(f"tensor {name!r} has dtype {dtype!r}; allowed: {list(_DTYPES)}")
    if not isinstance(shape, list) or not all(
            isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 1 << 40 for n in shape):
        raise WireError(f"tensor {name!r} has shape {shape!r}, not a list of sizes")
    return name, dtype, tuple(shape)


def _count(described: Any) -> int | str:
    return len(described) if isinstance(described, list) else "no list of"
