"""Dedup keys: one key per row over the dedup columns, for the driver's `KeySet`.

One integer, date or time column is its own key: its 64-bit value, exact, with its nulls
apart. Anything else is keyed by 128 bits of SipHash over the values, so distinct rows never
collide in practice (a 64-bit hash would collide once in ~2**32 rows and silently drop a row).
The table's old keys and every piece's keys go through the same function, so they agree.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Two public SipHash keys, one per half of a hashed 128-bit row key.
DEDUP_KEYS = (b"workbench-dedup1", b"workbench-dedup2")
_NULL_HASH = np.uint64(0x9E3779B97F4A7C15)  # a null's hash in a hashed key: nulls are equal

#: A batch of row keys: (rows, 1) or (rows, 2) uint64 words, and where the key is null (a
#: bool mask, or None when it never is), as `KeySet.add` takes them.
RowKeys = tuple[np.ndarray, "np.ndarray | None"]


def dedup_keys(table: pa.Table, columns: tuple[str, ...]) -> RowKeys:
    """The key of each row's ``columns`` values."""
    if len(columns) == 1:
        exact = _exact_key(table.column(columns[0]).combine_chunks())
        if exact is not None:
            return exact
    return _hashed_key(table, columns), None


def _exact_key(col: pa.Array) -> RowKeys | None:
    """A column of integers, dates or times as its own 64-bit words (None for other types)."""
    t = col.type
    if pa.types.is_integer(t):
        words = pc.cast(col, pa.uint64() if pa.types.is_unsigned_integer(t) else pa.int64())
    elif pa.types.is_temporal(t) and t.bit_width in (32, 64):
        words = pc.cast(col.view(pa.int32() if t.bit_width == 32 else pa.int64()), pa.int64())
    else:
        return None
    valid = col.is_valid().to_numpy(zero_copy_only=False) if col.null_count else None
    values = words.fill_null(0).to_numpy().view(np.uint64)
    return values.reshape(-1, 1), valid


def _hashed_key(table: pa.Table, columns: tuple[str, ...]) -> np.ndarray:
    from workbench.kernels import keyed_hash

    out = np.empty((table.num_rows, 2), dtype=np.uint64)
    for j, key in enumerate(DEDUP_KEYS):
        acc = None
        for name in columns:
            col = table.column(name).combine_chunks()
            h = np.asarray(keyed_hash(col, key).fill_null(_NULL_HASH), dtype=np.uint64)
            # Fold each further column into the running key and re-hash; the rotation keeps
            # column order in the key ((1, 2) is not (2, 1)). One column: its hash is its key.
            acc = h if acc is None else np.asarray(
                keyed_hash(((acc << np.uint64(1)) | (acc >> np.uint64(63))) ^ h, key),
                dtype=np.uint64)
        out[:, j] = acc
    return out
