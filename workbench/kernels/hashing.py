"""``keyed_hash``: SipHash-2-4 tokens for a whole column, nulls kept, used to pseudonymise keys.

Equal values give equal tokens across widths: every integer is hashed as its 8-byte
little-endian int64 value (int32 5 and int64 5 give one token; uint64 above 2**63 shares its
bits, and so its token, with the negative int64), floats as float64 bits with -0.0 -> 0.0 and
one canonical NaN, bools as int64 0/1, temporals as their integer representation, strings and
binaries as their (UTF-8) bytes.

The backend follows the array: cupy input is hashed on the GPU by the CUDA twins in
``siphash`` (integers, floats, bools, and strings as an Arrow ``(offsets, data)`` buffer pair),
giving tokens bit-identical to the CPU ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._backend import common_module
from ._cuda import THREADS, blocks
from .siphash import cuda_offsets, cuda_words, siphash_offsets, siphash_words, split_key

SUPPORTED_TYPES = (
    "string, large_string, string_view, binary, large_binary, binary_view, fixed_size_binary, "
    "int8..int64, uint8..uint64, float16/32/64, bool, timestamp, date, time, duration, "
    "dictionary of these, null; numpy integer, float, bool, datetime64/timedelta64, str/bytes "
    "and object arrays of str/bytes; an (offsets, data) pair of Arrow string buffers (int32 or "
    "int64 offsets, uint8 data); cupy integer, float and bool arrays and (offsets, data) pairs"
)


def _check_key(key: Any) -> tuple[np.uint64, np.uint64]:
    if not isinstance(key, bytes | bytearray | memoryview):
        raise TypeError(f"keyed_hash: argument 'key' must be bytes, got {type(key).__name__}")
    key = bytes(key)
    if len(key) != 16:
        raise ValueError(
            f"keyed_hash: argument 'key' must be exactly 16 bytes, got {len(key)}; "
            "use e.g. secrets.token_bytes(16) and keep it secret"
        )
    return split_key(key)


def _unsupported(dtype: Any) -> TypeError:
    return TypeError(f"keyed_hash: unsupported dtype {dtype}; supported: {SUPPORTED_TYPES}")


def _buffer_values(buf: pa.Buffer | None, dtype: Any, offset: int, n: int) -> np.ndarray:
    """The ``n`` fixed-width values of an Arrow data buffer starting at element ``offset``."""
    if n == 0 or buf is None:
        return np.empty(0, dtype=dtype)
    return np.frombuffer(buf, dtype=dtype, count=offset + n)[offset:]


def _bool_values(buf: pa.Buffer, offset: int, n: int) -> np.ndarray:
    if n == 0:
        return np.empty(0, dtype=np.uint8)
    first, last = offset // 8, (offset + n + 7) // 8
    raw = np.frombuffer(buf, dtype=np.uint8, count=last)[first:]
    bits = np.unpackbits(raw, bitorder="little")
    start = offset - 8 * first
    return bits[start : start + n]


def _hash_words(words: np.ndarray, k: tuple[np.uint64, np.uint64], as_float: bool) -> np.ndarray:
    words = np.ascontiguousarray(words, dtype=np.uint64)
    out = np.empty(words.shape[0], dtype=np.uint64)
    if words.shape[0]:
        siphash_words(words, k[0], k[1], as_float, out)
    return out


def _hash_ints(values: np.ndarray, k: tuple[np.uint64, np.uint64]) -> np.ndarray:
    if values.dtype != np.uint64:
        values = values.astype(np.int64, copy=False).view(np.uint64)
    return _hash_words(values, k, as_float=False)


def _hash_floats(values: np.ndarray, k: tuple[np.uint64, np.uint64]) -> np.ndarray:
    return _hash_words(values.astype(np.float64, copy=False).view(np.uint64), k, as_float=True)


def _hash_offsets(
    data: pa.Buffer | None, offsets: np.ndarray, k: tuple[np.uint64, np.uint64]
) -> np.ndarray:
    n = offsets.shape[0] - 1
    out = np.empty(n, dtype=np.uint64)
    if n > 0:
        raw = np.empty(0, np.uint8) if data is None else np.frombuffer(data, dtype=np.uint8)
        siphash_offsets(raw, np.ascontiguousarray(offsets), k[0], k[1], out)
    return out


def _validity(arr: pa.Array) -> pa.Buffer | None:
    """A validity bitmap for ``arr`` that starts at bit 0 (``None`` when nothing is null)."""
    if arr.null_count == 0:
        return None
    if arr.offset == 0 and arr.buffers()[0] is not None:
        return arr.buffers()[0]
    valid = pc.is_valid(arr).to_numpy(zero_copy_only=False)
    return pa.py_buffer(np.packbits(valid, bitorder="little"))


def _hash_arrow_array(arr: pa.Array, k: tuple[np.uint64, np.uint64]) -> pa.Array:
    t = arr.type
    if pa.types.is_dictionary(t):
        return pc.take(_hash_arrow_array(arr.dictionary, k), arr.indices)
    if pa.types.is_null(t):
        return pa.nulls(len(arr), pa.uint64())
    if pa.types.is_string_view(t) or pa.types.is_binary_view(t):
        target = pa.large_string() if pa.types.is_string_view(t) else pa.large_binary()
        return _hash_arrow_array(arr.cast(target), k)
    out = _arrow_tokens(arr, k)
    return pa.Array.from_buffers(
        pa.uint64(), len(arr), [_validity(arr), pa.py_buffer(out)], null_count=arr.null_count
    )


def _arrow_tokens(arr: pa.Array, k: tuple[np.uint64, np.uint64]) -> np.ndarray:
    """Tokens for every slot of a plain (non-dictionary) array; null slots hold garbage."""
    t = arr.type
    n, off = len(arr), arr.offset
    bufs = arr.buffers()
    if pa.types.is_string(t) or pa.types.is_binary(t):
        return _hash_offsets(bufs[2], _buffer_values(bufs[1], np.int32, off, n + 1), k)
    if pa.types.is_large_string(t) or pa.types.is_large_binary(t):
        return _hash_offsets(bufs[2], _buffer_values(bufs[1], np.int64, off, n + 1), k)
    if pa.types.is_fixed_size_binary(t):
        offsets = np.arange(off, off + n + 1, dtype=np.int64) * t.byte_width
        return _hash_offsets(bufs[1], offsets, k)
    if pa.types.is_boolean(t):
        return _hash_ints(_bool_values(bufs[1], off, n), k)
    if pa.types.is_integer(t):
        return _hash_ints(_buffer_values(bufs[1], np.dtype(t.to_pandas_dtype()), off, n), k)
    if pa.types.is_floating(t):
        dtype = {16: np.float16, 32: np.float32, 64: np.float64}[t.bit_width]
        return _hash_floats(_buffer_values(bufs[1], dtype, off, n), k)
    if pa.types.is_temporal(t) and t.bit_width in (32, 64):
        dtype = np.int32 if t.bit_width == 32 else np.int64
        return _hash_ints(_buffer_values(bufs[1], dtype, off, n), k)
    raise _unsupported(t)


def _hash_numpy(x: np.ndarray, k: tuple[np.uint64, np.uint64]) -> np.ndarray:
    kind = x.dtype.kind
    flat = x.ravel()
    if kind in "iub":
        out = _hash_ints(flat, k)
    elif kind == "f":
        out = _hash_floats(flat, k)
    elif kind in "mM":
        out = _hash_ints(flat.view(np.int64), k)
    elif kind in "USOT":
        try:
            arr = pa.array(flat.astype(object) if kind == "T" else flat)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
            raise _unsupported(f"{x.dtype} holding mixed objects") from e
        if arr.null_count:
            raise ValueError(
                "keyed_hash: argument 'values' holds None; pass a pyarrow array to keep nulls"
            )
        out = np.asarray(_hash_arrow_array(arr, k).to_numpy(), dtype=np.uint64)
    else:
        raise _unsupported(x.dtype)
    return out.reshape(x.shape)


def _check_pair(pair: tuple[Any, Any]) -> tuple[Any, Any]:
    """Validate an Arrow ``(offsets, data)`` string pair (numpy or cupy)."""
    if len(pair) != 2:
        raise TypeError("keyed_hash: a tuple 'values' must be an (offsets, data) pair")
    offsets, data = pair
    common_module("keyed_hash", offsets, data)
    if getattr(offsets, "dtype", None) not in (np.int32, np.int64) or offsets.ndim != 1:
        raise TypeError("keyed_hash: offsets of an (offsets, data) pair must be 1-d int32/int64")
    if getattr(data, "dtype", None) != np.uint8 or data.ndim != 1:
        raise TypeError("keyed_hash: data of an (offsets, data) pair must be 1-d uint8")
    if offsets.shape[0] == 0:
        raise ValueError("keyed_hash: offsets of an (offsets, data) pair hold n + 1 entries")
    if int(offsets[0]) < 0 or int(offsets[-1]) > data.shape[0]:
        raise ValueError(
            f"keyed_hash: offsets of an (offsets, data) pair point outside data "
            f"([{int(offsets[0])}, {int(offsets[-1])}] vs {data.shape[0]} bytes)"
        )
    return offsets, data


def _hash_cupy(x: Any, k: tuple[np.uint64, np.uint64]) -> Any:
    """Tokens of a cupy integer/float/bool array, on the GPU (same shape, uint64)."""
    kind = x.dtype.kind
    if kind not in "iubf":
        raise _unsupported(f"cupy {x.dtype}")
    if x.dtype == np.float16:  # no float16 -> double conversion in the kernel's C
        x = x.astype(np.float32)
    return cuda_words(kind == "f")(x, k[0], k[1])


def _hash_cupy_offsets(offsets: Any, data: Any, k: tuple[np.uint64, np.uint64]) -> Any:
    import cupy

    n = offsets.shape[0] - 1
    out = cupy.empty(n, dtype=np.uint64)
    if n:
        kernel = cuda_offsets("int" if offsets.dtype == np.int32 else "long long")
        args = (cupy.ascontiguousarray(data), cupy.ascontiguousarray(offsets))
        kernel((blocks(n),), (THREADS,), (*args, k[0], k[1], out, np.int64(n)))
    return out


def keyed_hash(values: Any, key: bytes) -> Any:
    """SipHash-2-4 of every value under a 16-byte secret ``key``.

    - pyarrow input (Array or ChunkedArray) gives a ``pa.UInt64Array`` with the same nulls;
    - numpy input gives a uint64 ``np.ndarray`` of the same shape;
    - cupy input gives a uint64 cupy array of the same shape, hashed on the GPU;
    - an ``(offsets, data)`` pair of Arrow string/binary buffers (numpy or cupy, e.g.
      ``cupy.asarray`` of a pyarrow array's buffers) gives one token per slot, uint64 of
      length ``len(offsets) - 1`` on the pair's backend; the caller keeps the validity bitmap.

    Tokens are deterministic across processes, machines and backends (bit-identical).
    Raises ``ValueError`` for a key that is not 16 bytes, ``TypeError`` for an unsupported
    dtype or for a pair mixing cupy and host arrays.
    """
    k = _check_key(key)
    if isinstance(values, pa.ChunkedArray):
        chunks = [_hash_arrow_array(c, k) for c in values.chunks]
        if not chunks:
            _hash_arrow_array(pa.array([], type=values.type), k)  # type check only
            return pa.array([], type=pa.uint64())
        return chunks[0] if len(chunks) == 1 else pa.concat_arrays(chunks)
    if isinstance(values, pa.Array):
        return _hash_arrow_array(values, k)
    if isinstance(values, tuple):
        offsets, data = _check_pair(values)
        if common_module("keyed_hash", offsets, data) is not np:
            return _hash_cupy_offsets(offsets, data, k)
        return _hash_offsets(pa.py_buffer(np.ascontiguousarray(data)), offsets, k)
    if common_module("keyed_hash", values) is not np:
        return _hash_cupy(values, k)
    if not isinstance(values, np.ndarray):
        raise TypeError(
            f"keyed_hash: argument 'values' must be a pyarrow or numpy array (or cupy), "
            f"got {type(values).__name__}"
        )
    return _hash_numpy(values, k)
