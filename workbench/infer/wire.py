"""The endpoint's wire formats: request bodies to numpy arrays, arrays to response bodies.

- JSON: ``{"inputs": <nested list, batch first>}`` in, ``{"outputs": <nested list>}`` out;
  decoded with orjson and one `np.asarray` (about 3x faster than the standard library), numbers
  cast to the signature's dtype where that loses no kind (JSON has no float32);
- raw: ``application/octet-stream``, the array's bytes little-endian, with headers ``X-Shape``
  (``32,128,256``) and ``X-Dtype`` (a numpy dtype name, ``float32``); answered the same way.
  No parsing at all: the cheap way to send a large tensor.

Anything malformed raises `WireError`, which the endpoint answers with 400 and its message.
"""

from __future__ import annotations

import math

import numpy as np
import orjson

from workbench.infer.errors import InferError

RAW = "application/octet-stream"
JSON = "application/json"
DTYPES = frozenset(("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                    "uint64", "float16", "float32", "float64"))


class WireError(InferError):
    """A request body that cannot be read as an array; says what was wrong and what to send."""


def decode_json(body: bytes, dtype: str | None = None) -> np.ndarray:
    """The ``inputs`` of a JSON body as an array, cast to `dtype` when that keeps the kind of
    number (ints to floats, float64 to float32; not floats to ints)."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise WireError(f"malformed JSON: {err}; send {{\"inputs\": <nested list, batch "
                        "first>}") from err
    if not isinstance(payload, dict) or "inputs" not in payload:
        raise WireError('the JSON body has no "inputs": send {"inputs": <nested list, batch '
                        'first>}')
    try:
        x = np.asarray(payload["inputs"])
    except ValueError as err:  # ragged lists
        raise WireError(f'"inputs" is not a rectangular nested list: {err}') from err
    if x.dtype.kind not in "biuf":
        raise WireError(f'"inputs" must hold numbers (or booleans), not {x.dtype.kind!r} '
                        f"values ({x.dtype})")
    if x.ndim == 0:
        raise WireError('"inputs" must be a list, batch first, not a single number')
    if dtype is not None and x.dtype != dtype and np.can_cast(x.dtype, dtype, "same_kind"):
        x = x.astype(dtype)
    return x


def decode_raw(body: bytes, shape: str | None, dtype: str | None) -> np.ndarray:
    """A raw little-endian body as an array of the `shape` and `dtype` its headers give."""
    if not shape or not dtype:
        raise WireError("a raw body (application/octet-stream) needs the headers X-Shape "
                        "(e.g. 32,128,256) and X-Dtype (e.g. float32)")
    if dtype not in DTYPES:
        raise WireError(f"X-Dtype: {dtype!r} is not a dtype this endpoint reads; give one of "
                        f"{sorted(DTYPES)}")
    try:
        dims = tuple(int(part) for part in shape.split(","))
    except ValueError:
        dims = ()
    if not dims or any(d < 0 for d in dims):
        raise WireError(f"X-Shape: {shape!r} is not a shape; give whole numbers separated by "
                        "commas, batch first (e.g. 32,128,256)")
    kind = np.dtype(dtype).newbyteorder("<")
    expected = math.prod(dims) * kind.itemsize
    if len(body) != expected:
        raise WireError(f"the body has {len(body)} bytes, but X-Shape {shape} of {dtype} needs "
                        f"{expected}")
    # A bytearray, so the array is writable (torch warns on a read-only one); native order.
    return np.frombuffer(bytearray(body), dtype=kind).reshape(dims).astype(dtype, copy=False)


def encode_json(output: np.ndarray) -> bytes:
    """``{"outputs": <nested list>}``; orjson writes the array without a Python list."""
    return orjson.dumps({"outputs": np.ascontiguousarray(output)},
                        option=orjson.OPT_SERIALIZE_NUMPY)


def encode_raw(output: np.ndarray) -> tuple[bytes, dict[str, str]]:
    """The array's little-endian bytes and the headers that describe them."""
    little = np.ascontiguousarray(output, dtype=output.dtype.newbyteorder("<"))
    return little.tobytes(), {"X-Shape": ",".join(map(str, output.shape)),
                              "X-Dtype": output.dtype.name}


def server_timing(parts: dict[str, float]) -> str:
    """A ``Server-Timing`` header value from seconds per part: ``decode;dur=0.12, ...`` (ms)."""
    return ", ".join(f"{name};dur={seconds * 1e3:.3f}" for name, seconds in parts.items())


def parse_server_timing(value: str | None) -> dict[str, float]:
    """Milliseconds per part of a ``Server-Timing`` header; parts without a duration are
    left out, and a missing header gives none."""
    parts: dict[str, float] = {}
    for item in (value or "").split(","):
        name, _, rest = item.strip().partition(";")
        for param in rest.split(";"):
            key, _, number = param.strip().partition("=")
            if key == "dur":
                try:
                    parts[name] = float(number)
                except ValueError:
                    continue  # a malformed duration: that part is not measured
    return parts
