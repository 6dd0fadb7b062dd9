"""GPU tests of workbench.kernels: every CuPy result against the numpy one on the same inputs."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pyarrow as pa
import pytest


def _cuda_available() -> bool:
    if importlib.util.find_spec("cupy") is None:
        return False
    import cupy

    try:
        return cupy.cuda.runtime.getDeviceCount() > 0
    except cupy.cuda.runtime.CUDARuntimeError:
        return False


pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not _cuda_available(), reason="needs cupy and a CUDA device"),
]

from workbench.kernels import (  # noqa: E402
    HyperLogLog,
    QuantileSketch,
    histogram,
    keyed_hash,
    moments,
    quantiles,
    standardize,
    to_torch,
)

KEY = bytes(range(16))
RNG = np.random.default_rng(7)


@pytest.fixture(scope="module")
def cp():
    import cupy

    return cupy


def _pair(cp, arr: pa.Array):
    """The device (offsets, data) pair of an Arrow string array."""
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(arr.buffers()[1], width)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(arr.buffers()[2], np.uint8) if arr.buffers()[2] else np.empty(0, np.uint8)
    return cp.asarray(offsets), cp.asarray(data)


def test_siphash_vectors_on_gpu(cp) -> None:
    from test_kernels import SIPHASH_VECTORS

    arr = pa.array([bytes(range(n)) for n in range(64)], type=pa.binary())
    got = keyed_hash(_pair(cp, arr), KEY).get()
    np.testing.assert_array_equal(got, np.array(SIPHASH_VECTORS, dtype=np.uint64))


@pytest.mark.parametrize("typ", [pa.string(), pa.large_string()])
def test_keyed_hash_random_strings_bit_identical(cp, typ) -> None:
    lengths = RNG.integers(0, 40, 20_000)
    alphabet = np.array(list("abcdefghé漢字 0123456789"))
    strings = ["".join(RNG.choice(alphabet, n)) for n in lengths]
    arr = pa.array(strings, type=typ).slice(3)
    got = keyed_hash(_pair(cp, arr), KEY)
    assert isinstance(got, cp.ndarray)
    np.testing.assert_array_equal(got.get(), keyed_hash(arr, KEY).to_numpy())
    nulls = pa.array(["a", None, "ccc"], type=typ)  # validity stays with the caller
    tokens = keyed_hash(_pair(cp, nulls), KEY).get()
    expected = keyed_hash(nulls, KEY)
    assert tokens[0] == expected[0].as_py() and tokens[2] == expected[2].as_py()


@pytest.mark.parametrize(
    "dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint32, np.uint64, np.bool_]
)
def test_keyed_hash_ints_bit_identical(cp, dtype) -> None:
    info = np.iinfo(dtype) if dtype != np.bool_ else None
    if info is None:
        x = RNG.integers(0, 2, 5000).astype(np.bool_)
    else:
        x = RNG.integers(info.min, info.max, 5000, dtype=dtype, endpoint=True)
    np.testing.assert_array_equal(keyed_hash(cp.asarray(x), KEY).get(), keyed_hash(x, KEY))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_keyed_hash_floats_bit_identical(cp, dtype) -> None:
    x = RNG.normal(size=5000).astype(dtype)
    x[:6] = [np.nan, -np.nan, 0.0, -0.0, np.inf, -np.inf]
    got = keyed_hash(cp.asarray(x.reshape(50, 100)), KEY).get()
    np.testing.assert_array_equal(got, keyed_hash(x.reshape(50, 100), KEY))
    assert got.ravel()[0] == got.ravel()[1] and got.ravel()[2] == got.ravel()[3]


def test_keyed_hash_gpu_errors_and_empty(cp) -> None:
    assert keyed_hash(cp.empty(0, dtype=np.int64), KEY).shape == (0,)
    assert keyed_hash((cp.zeros(1, dtype=np.int32), cp.empty(0, np.uint8)), KEY).shape == (0,)
    with pytest.raises(ValueError, match="16 bytes"):
        keyed_hash(cp.arange(3), b"short")
    with pytest.raises(TypeError, match="two backends"):
        keyed_hash((cp.zeros(2, dtype=np.int32), np.zeros(1, np.uint8)), KEY)
    with pytest.raises(TypeError, match="unsupported dtype"):
        keyed_hash(cp.zeros(2, dtype=np.complex64), KEY)


def test_standardize_matches_cpu(cp) -> None:
    x = RNG.normal(3, 2, 100_001)
    x[::97] = np.nan
    x[:2] = [np.inf, -np.inf]
    for clip in (None, 2.5, (-1.0, 4.0)):
        got = standardize(cp.asarray(x), 3.0, 2.0, fill=-7.0, clip=clip)
        assert isinstance(got, cp.ndarray) and got.dtype == np.float64
        np.testing.assert_allclose(got.get(), standardize(x, 3.0, 2.0, -7.0, clip), rtol=1e-15)
    grid = RNG.normal(size=(1000, 3)).astype(np.float32)
    mean, std = np.array([0.1, 0.2, 0.3]), np.array([1.0, 2.0, 3.0])
    got = standardize(cp.asarray(grid), cp.asarray(mean), cp.asarray(std))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.get(), standardize(grid, mean, std), rtol=1e-6)
    assert standardize(cp.empty(0), 0.0, 1.0).shape == (0,)
    with pytest.raises(TypeError, match="two backends"):
        standardize(cp.asarray(grid), mean, std)
    with pytest.raises(ValueError, match="std"):
        standardize(cp.ones(3), 0.0, -1.0)


@pytest.mark.parametrize("n", [0, 1, 17, 4097, 1_000_003])
def test_moments_match_cpu(cp, n: int) -> None:
    x = RNG.normal(1e3, 5.0, n)
    x[::13] = np.nan
    for host in (x, x.astype(np.float32), np.nan_to_num(x * 10).astype(np.int64)):
        got, want = moments(cp.asarray(host)), moments(host)
        assert (got.count, got.nulls) == (want.count, want.nulls)
        for field in ("min", "max", "mean", "m2"):
            a, b = getattr(got, field), getattr(want, field)
            assert (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9), field
    merged = moments(cp.asarray(x[: n // 2])).merge(moments(x[n // 2 :]))
    if n > 1:
        assert math.isclose(merged.m2, moments(x).m2, rel_tol=1e-9)


def test_moments_infinities_and_all_nan(cp) -> None:
    for values in ([1.0, np.inf], [np.inf, -np.inf, 2.0], [-np.inf], [np.nan, np.nan]):
        got, want = moments(cp.asarray(values)), moments(np.array(values))
        assert (got.count, got.nulls) == (want.count, want.nulls)
        for a, b in ((got.mean, want.mean), (got.m2, want.m2), (got.min, want.min)):
            assert (math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.parametrize(("bins", "n"), [(1, 1000), (10, 1_000_003), (20_000, 200_000)])
def test_histogram_identical_counts(cp, bins: int, n: int) -> None:
    x = RNG.normal(size=n)
    x[::11] = np.nan
    x[:3] = [-3.0, 3.0, np.nextafter(3.0, 4)]  # exact edges and just outside
    got = histogram(cp.asarray(x), bins, (-3, 3))
    want = histogram(x, bins, (-3, 3))
    np.testing.assert_array_equal(got.counts, want.counts)
    np.testing.assert_array_equal(got.merge(want).counts, 2 * want.counts)
    assert histogram(cp.empty(0), 4, (0, 1)).total == 0
    ints = RNG.integers(0, 100, n).astype(np.int32)
    np.testing.assert_array_equal(
        histogram(cp.asarray(ints), 7, (0, 99)).counts, histogram(ints, 7, (0, 99)).counts
    )


def test_quantiles_match_cpu(cp) -> None:
    qs = [0, 0.01, 0.25, 0.5, 0.9, 0.999, 1]
    x = RNG.lognormal(size=200_001)
    x[::7] = np.nan
    np.testing.assert_allclose(quantiles(cp.asarray(x), qs), quantiles(x, qs), rtol=1e-12)
    assert np.isnan(quantiles(cp.asarray([np.nan]), [0.5])).all()
    assert np.isnan(quantiles(cp.empty(0), [0.5])).all()


def test_kll_gpu_batches_merge_with_cpu(cp) -> None:
    x = RNG.normal(size=2_000_000)
    gpu = QuantileSketch(k=200, seed=1)
    for part in np.array_split(x[:1_000_000], 4):
        gpu.update(cp.asarray(part))
    cpu = QuantileSketch(k=200, seed=2).update(x[1_000_000:])
    merged = gpu.merge(cpu)
    assert merged.count == len(x)
    qs = np.linspace(0, 1, 101)
    ranks = np.searchsorted(np.sort(x), merged.quantiles(qs), side="right") / len(x)
    assert np.max(np.abs(ranks - qs)) <= merged.rank_error
    assert merged.min == x.min() and merged.max == x.max()
    assert QuantileSketch().update(cp.asarray([np.nan])).count == 0


def test_hll_registers_identical_to_cpu(cp) -> None:
    ints = RNG.integers(0, 50_000, 300_000)
    assert np.array_equal(
        HyperLogLog(12).update(cp.asarray(ints)).registers, HyperLogLog(12).update(ints).registers
    )
    floats = RNG.normal(size=10_000)
    floats[::3] = np.nan
    assert np.array_equal(
        HyperLogLog().update(cp.asarray(floats)).registers, HyperLogLog().update(floats).registers
    )
    arr = pa.array([f"user{i}" for i in range(30_000)])
    gpu = HyperLogLog().update(_pair(cp, arr))
    assert np.array_equal(gpu.registers, HyperLogLog().update(arr).registers)
    half = HyperLogLog().update(cp.asarray(ints[:1000])).merge(HyperLogLog().update(ints[1000:]))
    assert np.array_equal(half.registers, HyperLogLog().update(ints).registers)


def test_to_torch_cupy_is_zero_copy(cp) -> None:
    x = cp.arange(10, dtype=cp.float32)
    t = to_torch(x)
    assert t.is_cuda and t.data_ptr() == x.data.ptr
    t[0] = 42
    assert float(x[0]) == 42  # shared memory
    rev = x[::-1]
    np.testing.assert_array_equal(to_torch(rev).cpu().numpy(), rev.get())
    grid = cp.arange(12.0).reshape(3, 4)[:, ::2]
    assert to_torch(grid).stride() == (4, 2)
