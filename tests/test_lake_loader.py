"""Table.to_torch: every row once per epoch across ranks, deterministic reshuffles, normalised
features that agree with pandas, documented null and dtype handling, drop_last, clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import torch

from workbench.compute.probe import free_port

SIZES = (130, 97, 151, 64)  # four ingests: four data files of uneven size
N = sum(SIZES)


def frame(start: int, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(50, 12, n)
    x[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame({
        "id": np.arange(start, start + n),
        "x": x,
        "k": rng.integers(-5, 1000, n),
        "flag": rng.random(n) < 0.3,
        "y": rng.normal(0, 1, n),
        "city": rng.choice(["oslo", "lima"], n),
    })


@pytest.fixture
def table(lake):
    start = 0
    for i, n in enumerate(SIZES):
        lake.ingest(frame(start, n, seed=i), "t", progress=False)
        start += n
    return lake.table("t")


def labels(loader) -> list[int]:
    return [int(v) for b in loader for v in b["label"]]


def epoch_of(table, world_size: int, epoch: int, **kw) -> list[list[int]]:
    """Each rank's labels (ids) for ``epoch``, each rank a separate loader as under DDP."""
    out = []
    for rank in range(world_size):
        loader = table.to_torch(["x", "k"], "id", 16, rank=rank, world_size=world_size, **kw)
        loader.set_epoch(epoch)
        out.append(labels(loader))
    return out


@pytest.mark.parametrize("world_size", [2, 3])
def test_every_row_once_per_epoch_across_ranks(table, world_size):
    for epoch in (0, 1):
        shards = epoch_of(table, world_size, epoch, buffer_rows=64)
        seen = [i for shard in shards for i in shard]
        assert sorted(seen) == list(range(N))  # exactly once: no row lost, none repeated
    loaders = [table.to_torch(["x"], "id", 16, rank=r, world_size=world_size)
               for r in range(world_size)]
    counts = [sum(1 for _ in loader) for loader in loaders]
    assert counts == [len(loader) for loader in loaders]
    assert max(counts) - min(counts) <= 1
    assert sum(loader.rows for loader in loaders) == N


def test_the_cache_changes_nothing_but_speed(table):
    """The same loader over three epochs (its cache filled by the first) gives the same
    batches, values and order, as one that decodes every epoch from the files."""
    for rank in (0, 1):
        cached = table.to_torch(["x", "k"], "id", 16, rank=rank, world_size=2, buffer_rows=64,
                                cache=True)
        streamed = table.to_torch(["x", "k"], "id", 16, rank=rank, world_size=2,
                                  buffer_rows=64, cache=False)
        for epoch in (0, 1, 2):
            cached.set_epoch(epoch)
            streamed.set_epoch(epoch)
            pairs = list(zip(cached, streamed, strict=True))
            assert pairs and all(torch.equal(a["features"], b["features"])
                                 and torch.equal(a["label"], b["label"]) for a, b in pairs)
        assert cached._cached and not streamed._cached
    ordered = table.to_torch(["x"], "id", 16, shuffle=False, cache=True)
    first = [batch["features"].clone() for batch in ordered]
    cached = [entry[0] for entry in ordered._cached.values()]  # held: their ids stay theirs
    views = 0
    for batch in ordered:  # unshuffled batches are views of the cache: nothing copied
        views += any(batch["features"]._base is tensor for tensor in cached)
        batch["features"].mul_(0)  # a training loop may change its batch in place
    # all but the (at most one) batch at each of the 3 row group boundaries, which is a copy
    assert views >= len(first) - (len(SIZES) - 1)
    # the changed row groups are noticed and decoded again: the cache never serves zeros
    assert all(torch.equal(a["features"], b) for a, b in zip(ordered, first, strict=True))
    assert not any(entry[0] is tensor for entry in ordered._cached.values() for tensor in cached)
    with pytest.raises(ValueError, match="cache='yes'"):
        table.to_torch(["x"], "id", 16, cache="yes")


def test_epochs_reshuffle_deterministically(table):
    a = epoch_of(table, 2, epoch=3, buffer_rows=100)
    assert a == epoch_of(table, 2, epoch=3, buffer_rows=100)  # same seed and epoch
    b = epoch_of(table, 2, epoch=4, buffer_rows=100)
    assert a != b and sorted(sum(a, [])) == sorted(sum(b, []))
    assert a != epoch_of(table, 2, epoch=3, buffer_rows=100, seed=1)
    # within one loader, set_epoch switches the order and switching back restores it
    loader = table.to_torch(["x"], "id", 32)
    first = labels(loader)
    assert labels(loader) == first  # no set_epoch: the same epoch again
    loader.set_epoch(1)
    assert labels(loader) != first
    loader.set_epoch(0)
    assert labels(loader) == first
    assert first != list(range(N)) and sorted(first) == list(range(N))


def test_shuffle_false_gives_table_order(table):
    order = table.to_pandas()["id"].tolist()
    for batch_size in (1, 50, 64, 97, 1000):  # batches inside, across and beyond row groups
        loader = table.to_torch(["x"], "id", batch_size, shuffle=False)
        sizes = [b["samples"] for b in loader]
        assert len(sizes) == len(loader) and all(n == batch_size for n in sizes[:-1])
        assert labels(loader) == order
    dropped = table.to_torch(["x"], "id", 64, shuffle=False, drop_last=True)
    assert labels(dropped) == order[:N // 64 * 64]
    shards = epoch_of(table, 3, epoch=5, shuffle=False)
    assert sum(shards, []) == order  # ranks take contiguous slices of the table


def test_normalisation_matches_pandas(table):
    df = table.to_pandas().set_index("id").sort_index()
    loader = table.to_torch(["x", "k", "flag"], "id", 64, world_size=2, rank=1)
    got = {int(i): row for b in loader for i, row in zip(b["label"], b["features"].numpy())}
    for j, c in enumerate(["x", "k", "flag"]):
        s = df[c].astype(float)
        z = ((s - s.mean()) / s.std()).fillna(0.0)  # nulls become 0 after standardising
        np.testing.assert_allclose(loader.mean[j], s.mean(), rtol=1e-12)
        np.testing.assert_allclose(loader.std[j], s.std(), rtol=1e-12)
        ids = sorted(got)
        np.testing.assert_allclose([got[i][j] for i in ids], z.loc[ids].to_numpy(), atol=1e-6)
    assert df["x"].isna().any()
    # statistics computed once can be handed to other loaders (e.g. each DDP worker)
    again = table.to_torch(["x", "k", "flag"], "id", 64, world_size=2, rank=1,
                           normalize=(loader.mean, loader.std))
    for b1, b2 in zip(loader, again):
        assert torch.equal(b1["features"], b2["features"])


def test_without_normalisation_values_are_cast_and_nulls_are_nan(table):
    df = table.to_pandas()
    loader = table.to_torch(["x", "k"], "id", 1000, shuffle=False, normalize=False,
                            columns_dtype=torch.float64)
    (batch,) = list(loader)
    assert batch["samples"] == N and batch["features"].shape == (N, 2)
    np.testing.assert_array_equal(batch["features"].numpy(), df[["x", "k"]].to_numpy(float))
    assert loader.mean is None


def test_label_and_feature_dtypes(table):
    def first(label, **kw):
        return next(iter(table.to_torch(["x", "k"], label, 8, **kw)))

    b = first("id")
    assert b["label"].dtype == torch.int64 and b["features"].dtype == torch.float32
    assert b["samples"] == 8 and b["features"].shape == (8, 2) and b["label"].shape == (8,)
    assert first("y")["label"].dtype == torch.float32
    assert first("flag")["label"].dtype == torch.float32
    b = first("y", columns_dtype=torch.float64)
    assert b["features"].dtype == torch.float64 and b["label"].dtype == torch.float64
    assert first("k", columns_dtype=torch.bfloat16)["features"].dtype == torch.bfloat16


def test_drop_last_gives_every_rank_the_same_full_batches(table):
    world, batch = 3, 16
    loaders = [table.to_torch(["x"], "id", batch, rank=r, world_size=world, drop_last=True)
               for r in range(world)]
    per_rank = (N // world) // batch
    seen = []
    for loader in loaders:
        loader.set_epoch(2)
        sizes = [b["samples"] for b in loader]
        assert sizes == [batch] * per_rank == [batch] * len(loader)
        seen += labels(loader)
    assert len(set(seen)) == len(seen) == world * per_rank * batch
    assert all(loader.dropped == N - len(seen) for loader in loaders)
    assert table.to_torch(["x"], "id", batch, world_size=world).dropped == 0


def test_rank_and_world_size_from_the_environment(table, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "4")
    loader = table.to_torch(["x"], "id", 16)
    assert (loader.rank, loader.world_size) == (1, 4)
    assert loader.rows == 2 * N // 4 - N // 4
    assert "rank=1/4" in repr(loader)
    monkeypatch.setenv("RANK", "one")
    with pytest.raises(ValueError, match="RANK='one'"):
        table.to_torch(["x"], "id", 16)


def test_version_is_fixed_when_the_loader_is_made(table, lake):
    loader = table.to_torch(["x"], "id", 64)
    old = table.version
    lake.ingest(frame(N, 10, seed=9), "t", progress=False)
    assert loader.version == old and sorted(labels(loader)) == list(range(N))
    assert table.to_torch(["x"], "id", 64).total_rows == N + 10
    assert table.to_torch(["x"], "id", 64, version=0).total_rows == SIZES[0]


def test_row_groups_and_partition_columns(lake, dask_cluster):
    from deltalake import WriterProperties, write_deltalake

    n = 500
    data = pa.table({"id": np.arange(n), "x": np.arange(n) * 0.5, "part": np.arange(n) % 3})
    write_deltalake(lake.table_uri("rg"), data, partition_by=["part"],
                    writer_properties=WriterProperties(max_row_group_size=40))
    t = lake.table("rg")
    loader = t.to_torch(["x", "part"], "id", 32, world_size=2, rank=0, normalize=False,
                        buffer_rows=50)
    assert len(loader._units) > len(t.files())  # several row groups per file
    rows = {}
    for r in range(2):
        loader = t.to_torch(["x", "part"], "id", 32, world_size=2, rank=r, normalize=False,
                            buffer_rows=50)
        rows.update({int(i): f.tolist() for b in loader for i, f in zip(b["label"],
                                                                         b["features"])})
    assert sorted(rows) == list(range(n))
    assert all(rows[i] == [i * 0.5, i % 3] for i in rows)
    # the lake's own partitioned tables (partition values stored as text)
    lake.ingest(data.to_pandas(), "parts", partition_by=["part"], progress=False)
    loader = lake.table("parts").to_torch(["x", "part"], "id", 1000, normalize=False)
    (b,) = list(loader)
    assert sorted(zip(b["label"].tolist(), b["features"].tolist())) == sorted(rows.items())


def test_clear_errors_name_the_argument(table, lake):
    columns = "['id', 'x', 'k', 'flag', 'y', 'city']"
    with pytest.raises(ValueError, match=r"features: unknown column\(s\) \['nope'\]") as e:
        table.to_torch(["x", "nope"], "id", 8)
    assert columns in str(e.value)
    with pytest.raises(ValueError, match="label: unknown column 'nope'") as e:
        table.to_torch(["x"], "nope", 8)
    assert columns in str(e.value)
    with pytest.raises(TypeError, match=r"features: column\(s\) 'city' \(string\)"):
        table.to_torch(["x", "city"], "id", 8)
    with pytest.raises(TypeError, match="label: column 'city'"):
        table.to_torch(["x"], "city", 8)
    with pytest.raises(ValueError, match="batch_size=0"):
        table.to_torch(["x"], "id", 0)
    with pytest.raises(ValueError, match="rank=2: must be in 0..1"):
        table.to_torch(["x"], "id", 8, rank=2, world_size=2)
    with pytest.raises(ValueError, match="world_size=0"):
        table.to_torch(["x"], "id", 8, world_size=0)
    with pytest.raises(TypeError, match="columns_dtype"):
        table.to_torch(["x"], "id", 8, columns_dtype=torch.int64)
    with pytest.raises(ValueError, match="normalize"):
        table.to_torch(["x", "k"], "id", 8, normalize=([0.0], [1.0]))
    lake.ingest(pd.DataFrame({"x": [1.0, 2.0], "n": pd.array([1, None], dtype="Int64")}),
                "nulls", progress=False)
    loader = lake.table("nulls").to_torch(["x"], "n", 8)
    with pytest.raises(ValueError, match="label: integer column 'n' has nulls"):
        list(loader)


def _ddp_worker(rank: int, world_size: int, port: int, uri: str, out: str) -> None:
    """One rank of a real gloo process group: its loader takes rank and world size from it."""
    import torch.distributed as dist

    import workbench as wb

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world_size)
    try:
        loader = wb.Lake(uri).table("t").to_torch(["x", "k"], "id", 16, drop_last=True)
        loader.set_epoch(1)
        mine = labels(loader)
        gathered: list = [None] * world_size
        dist.all_gather_object(gathered, (loader.rank, loader.world_size, mine))
        if rank == 0:
            import json

            with open(out, "w") as f:
                json.dump(gathered, f)
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_ranks_from_a_real_gloo_process_group(table, tmp_path):
    import json

    import torch.multiprocessing as mp

    port = free_port()
    out = tmp_path / "ranks.json"
    mp.spawn(_ddp_worker, args=(2, port, table.lake.uri, str(out)), nprocs=2)
    (r0, w0, a), (r1, w1, b) = json.loads(out.read_text())
    assert (r0, w0, r1, w1) == (0, 2, 1, 2)
    assert len(a) == len(b) == N // 2 // 16 * 16 and not set(a) & set(b)
    assert [a, b] == epoch_of(table, 2, epoch=1, drop_last=True)  # as with explicit ranks
