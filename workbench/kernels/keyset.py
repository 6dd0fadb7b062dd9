"""``KeySet``: exact first-occurrence detection over row keys, for dedup.

An open-addressing hash set (linear probing, load at most 1/2) in one numba loop. A key is one
or two uint64 words: a column's own 64-bit value (exact), or 128 bits of SipHash output. The
first word times 2**64 / phi (Fibonacci hashing) spreads sequential ids and ids in strides as
well as hashes; its high half, scaled to the table's length (multiply-shift), picks the slot, so
the table is twice the keys expected, not the next power of two (up to half the memory, whose
page faults are most of the cost). A byte per slot says whether it is taken: probing that small
array, not the keys, is what a new key's insert waits on (0.46 s for 12 M two-word keys, 0.61 s
probing the keys themselves). pandas' ``duplicated`` on the two halves of a hashed key took
~10x longer, and a set that persists across batches lets the driver decide piece by piece while
the workers keep parsing.
"""

from __future__ import annotations

import mmap

import numpy as np
from numba import njit

_PHI = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio, odd


@njit(cache=True, nogil=True)
def _insert1(table, used, keys, valid, fresh, null_seen):
    """Insert one-word keys; ``fresh[i]`` is True when key i was not in the set before.

    Rows where ``valid`` (when not empty) is False hold the null key, tracked apart in
    ``null_seen[0]``. Returns how many keys were new.
    """
    size = np.uint64(table.shape[0])
    nullable = valid.shape[0] > 0
    added = 0
    for i in range(keys.shape[0]):
        if nullable and not valid[i]:
            fresh[i] = not null_seen[0]
            null_seen[0] = True
            added += fresh[i]
            continue
        a = keys[i, 0]
        slot = (((a * _PHI) >> np.uint64(32)) * size) >> np.uint64(32)
        while True:
            if not used[slot]:
                used[slot] = True
                table[slot, 0] = a
                fresh[i] = True
                added += 1
                break
            if table[slot, 0] == a:
                fresh[i] = False
                break
            slot += np.uint64(1)
            if slot == size:
                slot = np.uint64(0)
    return added


@njit(cache=True, nogil=True)
def _insert2(table, used, keys, valid, fresh, null_seen):
    """`_insert1` for two-word keys. Two loops, not one over a key's words: numba leaves a loop
    over a width it cannot see unrolled, and one function for both widths took 0.60 s against
    0.48 s for 12 M two-word keys."""
    size = np.uint64(table.shape[0])
    nullable = valid.shape[0] > 0
    added = 0
    for i in range(keys.shape[0]):
        if nullable and not valid[i]:
            fresh[i] = not null_seen[0]
            null_seen[0] = True
            added += fresh[i]
            continue
        a = keys[i, 0]
        b = keys[i, 1]
        slot = (((a * _PHI) >> np.uint64(32)) * size) >> np.uint64(32)
        while True:
            if not used[slot]:
                used[slot] = True
                table[slot, 0] = a
                table[slot, 1] = b
                fresh[i] = True
                added += 1
                break
            if table[slot, 0] == a and table[slot, 1] == b:
                fresh[i] = False
                break
            slot += np.uint64(1)
            if slot == size:
                slot = np.uint64(0)
    return added


_INSERT = {1: _insert1, 2: _insert2}


def _zeros(shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """Zeroed memory in 4 KB pages, never huge ones.

    numpy asks Linux for transparent huge pages on large arrays; the first touch of each 2 MB
    page then may wait for the kernel to compact memory. For this table, touched at random
    slots, that took 1.5 s for 12 M keys in a process that had worked a while, against 0.45 s
    in small pages (0.25 s with huge pages ready at hand: rare, and never on a fresh set).
    """
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if nbytes < 1 << 22 or not hasattr(mmap, "MADV_NOHUGEPAGE"):
        return np.zeros(shape, dtype=dtype)
    # private and anonymous: zero-filled by the kernel, page by page
    memory = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    memory.madvise(mmap.MADV_NOHUGEPAGE)
    return np.frombuffer(memory, dtype=dtype).reshape(shape)


class KeySet:
    """A growing set of (n, 1) or (n, 2) uint64 keys: ``fresh = keys.add(batch)`` marks first
    sightings, within the batch and against every earlier batch. Every batch has the first
    one's width."""

    def __init__(self, expected: int = 0) -> None:
        """``expected``: about how many keys will be added; sizing the table up front saves
        rehashing as it grows (a third of the time on 12 M keys)."""
        self._expected = expected
        self._table: np.ndarray | None = None  # allocated by the first batch, at its width
        self._null_seen = np.zeros(1, dtype=np.bool_)
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, keys: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
        """Insert a batch; returns a bool mask, True where the key is seen for the first time.

        ``valid``: False marks a null key (its words are ignored); all nulls are one key.
        """
        keys = np.ascontiguousarray(keys, dtype=np.uint64)
        width = keys.shape[1] if keys.ndim == 2 else 0
        if width not in _INSERT or (self._table is not None and width != self._table.shape[1]):
            want = "(n, 1) or (n, 2)" if self._table is None else f"(n, {self._table.shape[1]})"
            raise ValueError(f"keys must have shape {want}, got {keys.shape}")
        if valid is None:
            valid = np.zeros(0, dtype=np.bool_)
        elif len(valid) != len(keys):
            raise ValueError(f"valid has {len(valid)} entries for {len(keys)} keys")
        self._reserve(self._count + len(keys), width)
        fresh = np.zeros(len(keys), dtype=np.bool_)
        self._count += _INSERT[width](self._table, self._used, keys,
                                      np.asarray(valid, dtype=np.bool_), fresh, self._null_seen)
        return fresh

    def _reserve(self, n: int, width: int) -> None:
        if self._table is None:
            self._allocate(max(n, self._expected), width)
        elif 2 * n > len(self._used):
            old = self._table[self._used]
            self._allocate(2 * n, width)  # room for as many again before the next rehash
            _INSERT[width](self._table, self._used, old, np.zeros(0, np.bool_),
                           np.zeros(len(old), np.bool_), np.zeros(1, np.bool_))

    def _allocate(self, n: int, width: int) -> None:
        size = max(2 * n, 16)
        self._table = _zeros((size, width), np.uint64)
        self._used = _zeros((size,), np.bool_)
