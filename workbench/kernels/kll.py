"""``QuantileSketch``: a mergeable KLL quantile sketch (Karnin, Lang & Liberty, FOCS 2016).

Each partition of a table is sketched on its own Dask worker; the sketches are pickled,
shipped and merged, and approximate quantiles of the whole column come out of about 3k
retained values whatever the row count.

A cupy batch is sorted on its GPU and halved there (every other value, random offset) until
at most ``_DEVICE_TARGET * k`` values remain at some level h; only those, and the odd values
left at each halving, come to the host. Halving a sorted batch is exactly a KLL compaction
of a level holding only that batch (its rank error is at most its weight, 2**h), so the
sketch is the same kind of sketch and merges with CPU-built ones.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from ._backend import array_module
from ._values import as_float64
from .exact_quantiles import check_qs

_MIN_WIDTH = 8  # the smallest compactor, as in Apache DataSketches
_SHRINK = 2.0 / 3.0  # each level below the top holds 2/3 of the one above
_DEVICE_TARGET = 8  # a GPU batch is halved until at most 8k values remain (rank error 1/(4k))


def rank_error(k: int) -> float:
    """The normalised rank error bound of a KLL sketch with parameter ``k``.

    ``2.446 / k**0.9433`` (about 1.65% at k=200): with probability at least 99% every quantile
    the sketch returns has a true rank within this fraction of the one asked for. This is the
    empirically fitted bound Apache DataSketches publishes for the same compactor schedule
    (widths ``k * (2/3)**depth``, at least 8, lazy compaction, random halving offsets).
    """
    return 2.446 / k**0.9433


class QuantileSketch:
    """KLL sketch of a numeric column: ``update`` with arrays, ``merge``, ask ``quantiles``.

    Nulls and NaN are skipped. ``min`` and ``max`` are tracked exactly, so q=0 and q=1 are
    exact. Accuracy: see ``rank_error`` (``self.rank_error``). Deterministic for a given
    ``seed`` and sequence of calls; picklable.
    """

    def __init__(self, k: int = 200, seed: int | None = 0) -> None:
        if int(k) != k or k < _MIN_WIDTH:
            raise ValueError(f"QuantileSketch: argument 'k' must be an int >= 8, got {k!r}")
        self.k = int(k)
        self._rng = np.random.default_rng(seed)
        self._levels: list[np.ndarray] = [np.empty(0)]
        self._n = 0
        self._min = math.inf
        self._max = -math.inf

    # -- state -----------------------------------------------------------------------------

    @property
    def count(self) -> int:
        """Number of values seen (nulls and NaN excluded)."""
        return self._n

    @property
    def min(self) -> float:
        return self._min if self._n else math.nan

    @property
    def max(self) -> float:
        return self._max if self._n else math.nan

    @property
    def rank_error(self) -> float:
        """Normalised rank error bound (99% confidence) for this ``k``."""
        return rank_error(self.k)

    @property
    def retained(self) -> int:
        """Number of values the sketch keeps (its memory, in float64s)."""
        return sum(len(level) for level in self._levels)

    def __repr__(self) -> str:
        return f"QuantileSketch(k={self.k}, count={self._n}, retained={self.retained})"

    def _capacity(self, h: int) -> int:
        depth = len(self._levels) - 1 - h
        return max(_MIN_WIDTH, math.ceil(self.k * _SHRINK**depth))

    def _max_size(self) -> int:
        return sum(self._capacity(h) for h in range(len(self._levels)))

    # -- building --------------------------------------------------------------------------

    def _compact(self, h: int) -> None:
        """Halve level ``h``: sort it, promote every other value (random offset) to h + 1."""
        if h + 1 == len(self._levels):
            self._levels.append(np.empty(0))
        level = self._levels[h]
        keep = level[-1:] if len(level) % 2 else level[:0]  # an odd one out stays put
        ordered = np.sort(level[: len(level) - len(keep)])
        promoted = ordered[int(self._rng.integers(2)) :: 2]
        self._levels[h] = keep.copy()
        self._levels[h + 1] = np.concatenate([self._levels[h + 1], promoted])

    def _compress(self) -> None:
        while self.retained >= self._max_size():
            for h in range(len(self._levels)):
                if len(self._levels[h]) >= self._capacity(h):
                    self._compact(h)
                    break

    def _add_level(self, h: int, values: np.ndarray) -> None:
        while len(self._levels) <= h:
            self._levels.append(np.empty(0))
        self._levels[h] = np.concatenate([self._levels[h], values])

    def _update_cupy(self, x: Any) -> None:
        """Sort and halve a cupy batch on the GPU; add what is left to the levels."""
        xp = array_module(x)
        if x.dtype.kind not in "iubf":
            raise TypeError(f"QuantileSketch.update: unsupported dtype cupy {x.dtype}")
        values = x.ravel().astype(np.float64)
        values = xp.sort(values[~xp.isnan(values)])
        if values.shape[0] == 0:
            return
        self._n += int(values.shape[0])
        self._min = min(self._min, float(values[0]))
        self._max = max(self._max, float(values[-1]))
        h = 0
        while values.shape[0] > _DEVICE_TARGET * self.k:
            if values.shape[0] % 2:  # the odd one out stays at this level, as in _compact
                self._add_level(h, values[-1:].get())
                values = values[:-1]
            values = values[int(self._rng.integers(2)) :: 2]
            h += 1
        self._add_level(h, values.get())
        self._compress()

    def update(self, x: Any) -> QuantileSketch:
        """Add the values of a numeric array (numpy, pyarrow, pandas, cupy); returns ``self``.

        Pass whole arrays or partitions: each call has a fixed cost of some microseconds.
        """
        if array_module(x) is not np:
            self._update_cupy(x)
            return self
        values = as_float64(x, "QuantileSketch.update")
        values = values[~np.isnan(values)]
        if values.shape[0] == 0:
            return self
        self._n += int(values.shape[0])
        self._min = min(self._min, float(values.min()))
        self._max = max(self._max, float(values.max()))
        self._levels[0] = np.concatenate([self._levels[0], values])
        self._compress()
        return self

    def merge(self, other: QuantileSketch) -> QuantileSketch:
        """A new sketch of both inputs' values; neither input changes. Same ``k`` required."""
        if not isinstance(other, QuantileSketch):
            raise TypeError(f"QuantileSketch.merge: expected a QuantileSketch, got {other!r}")
        if other.k != self.k:
            raise ValueError(
                f"QuantileSketch.merge: k differs ({self.k} vs {other.k}); "
                "build every partition's sketch with the same k"
            )
        out = copy.deepcopy(self)
        while len(out._levels) < len(other._levels):
            out._levels.append(np.empty(0))
        for h, level in enumerate(other._levels):
            out._levels[h] = np.concatenate([out._levels[h], level])
        out._n += other._n
        out._min = min(out._min, other._min)
        out._max = max(out._max, other._max)
        out._compress()
        return out

    # -- queries ---------------------------------------------------------------------------

    def _sorted_weights(self) -> tuple[np.ndarray, np.ndarray]:
        values = np.concatenate(self._levels)
        weights = np.concatenate(
            [np.full(len(level), 2**h, dtype=np.int64) for h, level in enumerate(self._levels)]
        )
        order = np.argsort(values, kind="stable")
        return values[order], np.cumsum(weights[order])

    def quantiles(self, qs: Any) -> np.ndarray:
        """Approximate quantiles (float64, shape of ``qs``): for each q a retained value whose
        rank is within ``rank_error`` of ``q * count``. All NaN when the sketch is empty."""
        q = check_qs(qs, "QuantileSketch.quantiles")
        if self._n == 0:
            return np.full(q.shape, np.nan)
        values, cum = self._sorted_weights()
        idx = np.searchsorted(cum, q * cum[-1], side="left")
        out = values[np.minimum(idx, len(values) - 1)]
        out = np.where(q == 0.0, self._min, out)
        return np.where(q == 1.0, self._max, out).astype(np.float64)

    def rank(self, x: Any) -> np.ndarray:
        """Approximate fraction of values <= each of ``x`` (NaN when the sketch is empty)."""
        points = np.asarray(x, dtype=np.float64)
        if self._n == 0:
            return np.full(points.shape, np.nan)
        values, cum = self._sorted_weights()
        idx = np.searchsorted(values, points, side="right")
        below = np.where(idx > 0, cum[np.maximum(idx - 1, 0)], 0)
        return below / cum[-1]

    # -- storage ---------------------------------------------------------------------------

    @property
    def exact(self) -> bool:
        """Whether nothing was compacted yet: every value is retained, ranks are exact."""
        return len(self._levels) == 1

    def to_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The retained values (level 0 first) and each level's length: with ``k``, ``min``
        and ``max``, what `from_arrays` needs to rebuild the sketch (to store it in a table)."""
        return (np.concatenate(self._levels).astype(np.float64),
                np.array([len(level) for level in self._levels], dtype=np.int64))

    @classmethod
    def from_arrays(cls, values: Any, sizes: Any, k: int, lo: float, hi: float
                    ) -> QuantileSketch:
        """The sketch `to_arrays` described: answers ``rank`` and ``quantiles`` as the original
        did and merges with others of the same ``k``."""
        values = np.asarray(values, dtype=np.float64)
        sizes = np.asarray(sizes, dtype=np.int64)
        if sizes.sum() != len(values) or (sizes < 0).any() or not len(sizes):
            raise ValueError(f"QuantileSketch.from_arrays: level sizes {sizes.tolist()} do not "
                             f"add up to the {len(values)} values given")
        out = cls(k)
        out._levels = [values[a:b].copy() for a, b in zip(np.r_[0, np.cumsum(sizes)[:-1]],
                                                           np.cumsum(sizes))]
        out._n = int(sum(int(s) << h for h, s in enumerate(sizes)))
        if out._n:
            out._min, out._max = float(lo), float(hi)
        return out
