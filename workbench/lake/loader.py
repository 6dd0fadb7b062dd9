"""Stream a lake table into PyTorch: Arrow row groups -> normalised tensors, sharded by rank.

``Table.to_torch(...)`` returns a :class:`TableLoader`, an iterable of batches with ``len`` and
``set_epoch`` (as ``DistributedSampler``). It reads one version of the table, fixed when the
loader is made, row group by row group with pyarrow: only the feature and label columns of one
row group plus a bounded shuffle buffer are in memory at a time, never the whole table.

How an epoch is laid out
------------------------
The *units* are the row groups of the version's data files (in the Delta log's file order).
Each epoch, the units are permuted by a generator seeded with ``(seed, epoch)`` only, so every
rank computes the same permuted stream of rows, and the ranks split that stream into contiguous
shards: rank ``r`` of ``W`` takes positions ``[r * N // W, (r + 1) * N // W)`` of the ``N``
rows (a unit on a boundary is read by both neighbours, each keeping its slice). So every row is
yielded exactly once per epoch across the ranks, and each rank reads only about ``N / W`` rows.

Within a shard, rows pass through a shuffle buffer: units are read in the epoch's order and,
whenever the buffer holds at least ``buffer_rows`` rows (and at the end), its rows are permuted
(seeded by ``(seed, epoch, rank, world_size)``) and emitted as batches; the leftover, fewer
than ``batch_size`` rows, stays and mixes with the next window.

What ``shuffle=True`` guarantees: each epoch visits every row exactly once across ranks; the
order is a deterministic function of ``(seed, epoch)`` (and of the rank layout), so a rerun
reproduces it and a new epoch reorders it; row groups come in a uniformly random order and rows
are uniformly permuted within each window of ``buffer_rows`` rows. It is *not* a uniform
permutation of the whole table: two rows of the same row group tend to land near each other
when row groups are large compared with ``buffer_rows``. ``shuffle=False`` yields the rows in
table order, the order of ``t.to_pandas()`` (rank ``r`` a contiguous slice of it).

Sharding and batches
--------------------
Without ``drop_last``, shard sizes differ by at most one row, so ranks differ in batch count by
at most one (only the last batch of a shard may be short). DDP needs the same number of steps
on every rank: pass ``drop_last=True`` (or use ``torch.distributed.algorithms.Join``). With
``drop_last=True`` every rank yields the same number of full batches, ``(N // W) //
batch_size``; the rows left over, the last ones of the epoch's permuted stream, are skipped and
counted by ``loader.dropped`` (across all ranks).

Values
------
A batch is a dict: ``"features"`` a ``(b, F)`` tensor of ``columns_dtype`` (float32 by default)
with the ``features`` columns in the order given, ``"label"`` a ``(b,)`` tensor (int64 for an
integer label column, ``columns_dtype`` for floating, decimal and boolean labels) and
``"samples"`` the number of rows ``b`` (an ``int``).

With ``normalize=True`` each feature becomes ``(x - mean) / std`` (``workbench.kernels``'
``standardize``), with the mean and the sample std (ddof=1, as pandas) of the version's
non-null values, computed once when the loader is made (``workbench.kernels.moments`` over the
feature columns, one streaming pass; pass ``normalize=(mean, std)`` to reuse statistics, e.g.
``loader.mean, loader.std`` from the notebook, and skip that pass in each worker). Nulls and NaN
become 0 after standardising, i.e. the feature's mean. A feature with no spread (one value, or
fewer than two) keeps std 1 and one with no values mean 0. With ``normalize=False`` features are
only cast, and nulls are NaN. An integer label with nulls is an error (it has no int64 value);
a null float label is NaN.

Caching
-------
Decoding is the cost of a loader, not reading: a row group is decoded, cast and normalised once
and, with ``cache=True``, kept in memory as ready arrays, so later epochs only permute and slice
(what iterating over in-memory tensors does). ``cache="auto"`` (the default) caches when the
table's decoded features and labels take at most a quarter of the memory available when the
loader is made; otherwise every epoch streams from the files. Each rank caches the row groups it
has read; as shards move between epochs a rank may end up holding most of the table. Unshuffled
CPU batches are views of the cached tensors (no copy, as slicing in-memory tensors); a batch
changed in place is noticed by its version counter and its row group decoded again next time,
so the cache never serves changed values.

Tensors reach torch through ``workbench.kernels.to_torch`` (DLPack, no copy). For a CUDA
``device`` each batch is copied into pinned host memory and sent with ``non_blocking=True``, so
the copy overlaps the model's work; for the CPU the tensors are plain, sharing the buffer.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:
    import pyarrow.parquet as pq
    import torch

    from workbench.lake.parts import Part
    from workbench.lake.table import Table

DEFAULT_BUFFER_ROWS = 65_536


@dataclass(frozen=True)
class _Unit:
    """One row group of one data file: where it is, and how many rows it holds."""

    file: int
    row_group: int
    rows: int


def _numeric(t: pa.DataType) -> bool:
    return (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)
            or pa.types.is_decimal(t))


def _distributed_default(name: str, value: int | None) -> int | None:
    """``value``, else what an initialised ``torch.distributed`` says, else the env variable."""
    if value is not None:
        return value
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() if name == "rank" else dist.get_world_size()
    env = os.environ.get(name.upper())
    if env is None:
        return None
    try:
        return int(env)
    except ValueError as e:
        raise ValueError(f"{name}: environment variable {name.upper()}={env!r} is not an "
                         "integer") from e


def _int_arg(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name}={value!r}: must be an integer >= {minimum}")
    return int(value)


def _rank_and_world_size(rank: Any, world_size: Any) -> tuple[int, int]:
    """This loader's (rank, world_size): as given, else from torch.distributed or the env."""
    world_size = _distributed_default("world_size", world_size)
    world_size = _int_arg("world_size", 1 if world_size is None else world_size, 1)
    rank = _distributed_default("rank", rank)
    rank = 0 if rank is None else rank
    if isinstance(rank, bool) or not isinstance(rank, int | np.integer) \
            or not 0 <= rank < world_size:
        raise ValueError(f"rank={rank!r}: must be in 0..{world_size - 1} for "
                         f"world_size={world_size}")
    return int(rank), world_size


def _float_dtype(columns_dtype: Any) -> torch.dtype:
    """The features' torch dtype (float32 by default); only floating dtypes can hold them."""
    import torch

    dtype = torch.float32 if columns_dtype is None else columns_dtype
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"columns_dtype={columns_dtype!r}: must be a floating torch dtype "
                        "(torch.float32, torch.float64, torch.bfloat16, ...)")
    return dtype


def _row_groups(parts: list[Part]) -> tuple[list[pq.FileMetaData], list[_Unit]]:
    """Each part's parquet footer and its row groups as units, counting only the live rows."""
    import pyarrow.parquet as pq

    from workbench.lake.files import filesystem

    files, units = [], []
    for i, part in enumerate(parts):
        fs, path = filesystem(part.uri)
        meta = pq.read_metadata(path, filesystem=fs)
        files.append(meta)
        start = 0
        for g in range(meta.num_row_groups):  # rows a deletion vector removes don't count
            stop = start + meta.row_group(g).num_rows
            units.append(_Unit(i, g, part.live_rows(start, stop)))
            start = stop
    return files, units


def _shard(rows: int, world_size: int, batch_size: int, rank: int,
           drop_last: bool) -> tuple[tuple[int, int], int]:
    """Rank's [start, stop) of the epoch's ``rows``, and the rows ``drop_last`` skips overall."""
    if drop_last:
        per_rank = (rows // world_size) // batch_size * batch_size
        return (rank * per_rank, (rank + 1) * per_rank), rows - world_size * per_rank
    return (rank * rows // world_size, (rank + 1) * rows // world_size), 0


class TableLoader:
    """Batches of one lake table version for PyTorch; see the module docstring for the layout,
    what the shuffle guarantees and the batch format. Made by ``Table.to_torch``."""

    def __init__(self, table: Table, features: Sequence[str] | str, label: str,
                 batch_size: int, shuffle: bool = True, seed: int = 0, *,
                 version: int | None = None, rank: int | None = None,
                 world_size: int | None = None,
                 normalize: bool | tuple[Sequence[float], Sequence[float]] = True,
                 device: str | torch.device | None = None, drop_last: bool = False,
                 columns_dtype: torch.dtype | None = None,
                 buffer_rows: int = DEFAULT_BUFFER_ROWS, cache: bool | str = "auto") -> None:
        import torch

        self.batch_size = _int_arg("batch_size", batch_size, 1)
        self.seed = _int_arg("seed", seed, 0)
        self.buffer_rows = _int_arg("buffer_rows", buffer_rows, 1)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.rank, self.world_size = _rank_and_world_size(rank, world_size)
        self.dtype = _float_dtype(columns_dtype)
        # the host buffer's dtype: float64 only when asked for; others are cast from float32
        self._host_dtype = np.float64 if self.dtype == torch.float64 else np.float32
        self.device = torch.device(device) if device is not None else torch.device("cpu")

        self.table_name = table.name
        dt = table.readable(version)
        self.version = dt.version()
        schema = pa.schema(dt.schema().to_arrow())
        self.features = [features] if isinstance(features, str) else list(features)
        self.label = label
        self._check_columns(schema)
        self._schema, self._physical = table.read_schemas(
            dt, list(dict.fromkeys([*self.features, label])))
        label_type = schema.field(label).type
        self._label_int = pa.types.is_integer(label_type)

        self._parts = table.parts(dt)
        self._files, units = _row_groups(self._parts)  # parquet footers, read once, here
        self._units = [u for u in units if u.rows]
        self.total_rows = sum(u.rows for u in self._units)
        self._shard, self.dropped = _shard(self.total_rows, self.world_size, self.batch_size,
                                           self.rank, self.drop_last)
        self.rows = self._shard[1] - self._shard[0]
        self.epoch = 0

        self.cache = self._cache_wanted(cache)
        # unit -> (features, labels, their version counters when cached)
        self._cached: dict[int, tuple[torch.Tensor, torch.Tensor, tuple[int, int]]] = {}

        self.normalize = normalize is not False
        if normalize is True:
            self.mean, self.std = self._moments()
        elif normalize is False:
            self.mean = self.std = None
        else:
            self.mean, self.std = self._given_stats(normalize)

    def _check_columns(self, schema: pa.Schema) -> None:
        names = schema.names
        if not self.features:
            raise ValueError(f"features: give at least one column; table {self.table_name!r} "
                             f"has columns {names}")
        unknown = [c for c in self.features if c not in names]
        if unknown:
            raise ValueError(f"features: unknown column(s) {unknown}; table "
                             f"{self.table_name!r} has columns {names}")
        if self.label not in names:
            raise ValueError(f"label: unknown column {self.label!r}; table {self.table_name!r} "
                             f"has columns {names}")
        bad = [f"{c!r} ({schema.field(c).type})" for c in self.features
               if not _numeric(schema.field(c).type)]
        if bad:
            raise TypeError(f"features: column(s) {', '.join(bad)} are not numeric; features "
                            "must be integer, floating, decimal or boolean columns")
        t = schema.field(self.label).type
        if not _numeric(t):
            raise TypeError(f"label: column {self.label!r} ({t}) is not numeric; the label "
                            "must be an integer, floating, decimal or boolean column")

    def _cache_wanted(self, cache: bool | str) -> bool:
        """Whether to keep decoded row groups: ``"auto"`` when they fit a quarter of free memory."""
        if cache not in (True, False, "auto"):
            raise ValueError(f"cache={cache!r}: must be True, False or 'auto'")
        if cache == "auto":
            import psutil

            row_bytes = len(self.features) * np.dtype(self._host_dtype).itemsize + 8
            cache = self.total_rows * row_bytes <= psutil.virtual_memory().available // 4
        return bool(cache)

    def _given_stats(self, stats: Any) -> tuple[np.ndarray, np.ndarray]:
        try:
            mean, std = (np.asarray(v, dtype=np.float64).reshape(-1) for v in stats)
        except (TypeError, ValueError) as e:
            raise TypeError(f"normalize: must be True, False or (mean, std) with one value per "
                            f"feature, got {stats!r}") from e
        f = len(self.features)
        if mean.shape != (f,) or std.shape != (f,) or not np.isfinite(mean).all() \
                or not (np.isfinite(std) & (std > 0)).all():
            raise ValueError(f"normalize: (mean, std) must hold {f} finite values each, std > 0")
        return mean, std

    def _moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and sample std of each feature over the version: one pass, unit by unit."""
        from workbench.kernels import Moments, moments

        merged = {c: Moments.empty() for c in self.features}
        for unit in self._units:
            data = self._read(unit, self.features)
            merged = {c: m.merge(moments(data.column(c))) for c, m in merged.items()}
        mean, std = np.zeros(len(self.features)), np.ones(len(self.features))
        for j, (c, m) in enumerate(merged.items()):
            if m.count and not math.isfinite(m.mean):
                raise ValueError(f"features: column {c!r} holds infinite values, which have no "
                                 "mean; clean them or pass normalize=False or (mean, std)")
            if m.count:
                mean[j] = m.mean
            if m.count >= 2 and m.std > 0:
                std[j] = m.std
        return mean, std

    def _read(self, unit: _Unit, columns: list[str] | None = None) -> pa.Table:
        """One row group's ``columns`` (default: features and label) that its file's deletion
        vector keeps; partition columns restored from the log (`workbench.lake.parts`)."""
        from workbench.lake.parts import read_part, select

        schema, physical = self._schema, self._physical
        if columns is not None:
            schema, physical = select(schema, physical, columns)
        return read_part(self._parts[unit.file], schema, physical, row_group=unit.row_group,
                         metadata=self._files[unit.file])

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch``'s order on the next iteration (call it with the same value on every
        rank, before each epoch, as with ``DistributedSampler``)."""
        self.epoch = _int_arg("epoch", epoch, 0)

    def __len__(self) -> int:
        """Batches this rank yields per epoch."""
        if self.drop_last:
            return self.rows // self.batch_size
        return -(-self.rows // self.batch_size)

    def _slices(self) -> Iterator[tuple[int, int, int]]:
        """(unit index, start, stop) of the rows of this rank's shard, in the epoch's order."""
        order = np.arange(len(self._units))
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch, 0]).permutation(order)
        lo, hi = self._shard
        offset = 0
        for i in order:
            unit = self._units[i]
            start, stop = max(lo - offset, 0), min(hi - offset, unit.rows)
            offset += unit.rows
            if start < stop:
                yield i, start, stop
            if offset >= hi:
                return

    def _convert(self, data: pa.Table) -> tuple[np.ndarray, np.ndarray]:
        """A row group slice as (features (n, F), labels (n,)) numpy arrays, normalised."""
        from workbench.kernels import standardize

        x = np.empty((data.num_rows, len(self.features)), dtype=np.float64)
        for j, c in enumerate(self.features):
            # unsafe: integers beyond 2**53 round to the nearest float, as numpy's would
            x[:, j] = data.column(c).cast(pa.float64(), safe=False).to_numpy(
                zero_copy_only=False)
        if self.normalize:
            x = standardize(x, self.mean, self.std)
        x = x.astype(self._host_dtype, copy=False)
        y = data.column(self.label)
        if self._label_int:
            if y.null_count:
                raise ValueError(f"label: integer column {self.label!r} has nulls in table "
                                 f"{self.table_name!r} version {self.version}; an int64 label "
                                 "has no value for them (fill or filter them)")
            return x, y.cast(pa.int64()).to_numpy()
        return x, y.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False)

    def _arrays(self, index: int, start: int, stop: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows ``start:stop`` of a unit as tensors: from the cache, or read (and cached)."""
        entry = self._cached.get(index)
        # Unshuffled batches are views of the cache. A tensor's version counter (shared with
        # its views; autograd's check for in-place changes) tells whether a training loop
        # changed one in place: then the row group is decoded again, never served changed.
        if entry is not None and (entry[0]._version, entry[1]._version) != entry[2]:
            entry = None
        if entry is None:
            unit = self._units[index]
            if not self.cache:  # read only the rows needed
                data = self._read(unit).slice(start, stop - start)
                return self._tensors(*self._convert(data))
            x, y = self._tensors(*self._convert(self._read(unit)))
            entry = self._cached[index] = (x, y, (x._version, y._version))
        x, y, _ = entry
        return x[start:stop], y[start:stop]

    def _tensors(self, x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Decoded arrays -> CPU tensors of the batch dtypes, once per piece (DLPack, no copy
        when the dtype already fits), so batches are only slices or gathers of them."""
        from workbench.kernels import to_torch

        features, label = to_torch(x).to(self.dtype), to_torch(y)
        if not self._label_int:
            label = label.to(self.dtype)
        return features, label

    def _batch(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
        if self.device.type == "cuda":
            x = x.pin_memory().to(self.device, non_blocking=True)
            y = y.pin_memory().to(self.device, non_blocking=True)
        elif self.device.type != "cpu":
            x, y = x.to(self.device), y.to(self.device)
        return {"features": x, "label": y, "samples": len(y)}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        import torch

        if not self.shuffle:
            yield from self._in_order()
            return
        rng = np.random.default_rng([self.seed, self.epoch, 1, self.rank, self.world_size])
        b = self.batch_size
        xs: list[torch.Tensor] = []
        ys: list[torch.Tensor] = []
        held = 0
        slices = self._slices()
        while True:
            piece = next(slices, None)
            if piece is not None:
                x, y = self._arrays(*piece)
                xs.append(x)
                ys.append(y)
                held += len(y)
                if held < self.buffer_rows:
                    continue
            if not held:
                return
            x, y = (xs[0], ys[0]) if len(xs) == 1 else (torch.cat(xs), torch.cat(ys))
            end = held if piece is None else held // b * b
            perm = torch.from_numpy(rng.permutation(held))
            for i in range(0, end, b):  # gather batch by batch: no permuted copy of the window
                idx = perm[i:i + b]
                yield self._batch(x.index_select(0, idx), y.index_select(0, idx))
            rest = perm[end:]
            xs, ys = [x.index_select(0, rest)], [y.index_select(0, rest)]
            held -= end
            if piece is None:
                return

    def _in_order(self) -> Iterator[dict[str, Any]]:
        """Batches in table order: views of each row group's tensors, split in one call (as
        slicing in-memory tensors; see ``_arrays`` for a batch changed in place), and one
        copied batch where a batch spans two row groups."""
        import torch

        b = self.batch_size
        carry: tuple[torch.Tensor, torch.Tensor] | None = None  # rows short of a batch
        for piece in self._slices():
            x, y = self._arrays(*piece)
            if carry is not None:
                need = b - len(carry[1])
                carry = torch.cat([carry[0], x[:need]]), torch.cat([carry[1], y[:need]])
                x, y = x[need:], y[need:]
                if len(carry[1]) < b:
                    continue
                yield self._batch(*carry)
                carry = None
            end = len(y) // b * b
            if end:  # (split of no rows gives one empty piece)
                for xb, yb in zip(x[:end].split(b), y[:end].split(b)):
                    yield self._batch(xb, yb)
            if end < len(y):
                carry = x[end:], y[end:]
        if carry is not None:
            yield self._batch(*carry)

    def __repr__(self) -> str:
        order = f"shuffle seed={self.seed} epoch={self.epoch}" if self.shuffle else "table order"
        return (f"TableLoader({self.table_name!r}, version={self.version}, "
                f"rank={self.rank}/{self.world_size}, rows={self.rows:,} of "
                f"{self.total_rows:,}, batches={len(self)} of {self.batch_size}, {order}, "
                f"cache={self.cache}, device={self.device})")

