"""``TopK``: the most frequent values of a text column, mergeable (Misra & Gries, 1982).

Each file's values are counted exactly (Arrow's hash count); a summary keeps at most ``k``
values, and when it would hold more, every count drops by the (k+1)-th largest one and the
values left at zero go. A kept count is then at most ``error`` below the true one, and a value
not kept occurs at most ``error`` times, where ``error <= n / (k + 1)``; while the column has at
most ``k`` distinct values nothing is dropped and the counts are exact (``error == 0``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


class TopK:
    """Frequent values and their counts (``counts``: value -> count, nulls not counted),
    ``total`` values seen, and ``error``, the most any count may be below the true one."""

    def __init__(self, k: int = 256, counts: dict[str, int] | None = None, total: int = 0,
                 error: int = 0) -> None:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"TopK: argument 'k' must be an int >= 1, got {k!r}")
        self.k, self.total, self.error = k, int(total), int(error)
        self.counts: dict[str, int] = dict(counts or {})

    @property
    def exact(self) -> bool:
        """Whether every count is exact (no value was ever dropped)."""
        return self.error == 0

    def __repr__(self) -> str:
        return f"TopK(k={self.k}, values={len(self.counts)}, total={self.total}, " \
               f"error={self.error})"

    def update(self, values: Any) -> TopK:
        """Count the non-null values of a text array (pyarrow, pandas, numpy, list); returns
        ``self``."""
        arr = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values)
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            arr = pc.cast(arr, pa.string())
        counted = pc.value_counts(arr)
        found = {v: int(n) for v, n in zip(counted.field("values").to_pylist(),
                                           counted.field("counts").to_pylist()) if v is not None}
        self._absorb(found)
        self.total += sum(found.values())
        return self

    def merge(self, other: TopK) -> TopK:
        """A new summary of both inputs' values; neither input changes. Same ``k`` required."""
        if not isinstance(other, TopK) or other.k != self.k:
            raise ValueError(f"TopK.merge: expected a TopK with k={self.k}, got {other!r}")
        out = TopK(self.k, self.counts, self.total + other.total, self.error + other.error)
        out._absorb(other.counts)
        return out

    def _absorb(self, found: dict[str, int]) -> None:
        """Add ``found`` counts, then reduce to ``k`` values (Misra-Gries)."""
        for value, n in found.items():
            self.counts[value] = self.counts.get(value, 0) + n
        if len(self.counts) <= self.k:
            return
        cut = int(np.sort(np.fromiter(self.counts.values(), np.int64, len(self.counts)))[
            -(self.k + 1)])
        self.counts = {v: n - cut for v, n in self.counts.items() if n > cut}
        self.error += cut
