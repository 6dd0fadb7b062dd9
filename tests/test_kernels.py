"""CPU tests of workbench.kernels: SipHash tokens, moments, histograms, quantiles, HLL."""

from __future__ import annotations

import math
import pickle
import struct
import subprocess
import sys
from itertools import pairwise

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from workbench.kernels import (
    Histogram,
    HyperLogLog,
    Moments,
    QuantileSketch,
    approx_distinct,
    array_module,
    histogram,
    keyed_hash,
    moments,
    quantiles,
    standardize,
    to_torch,
)

KEY = bytes(range(16))
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# SipHash-2-4, 64-bit output: key 00..0f, message 00..(n-1) for n = 0..63 (reference
# implementation's vectors.h / the SipHash paper), as little-endian uint64 values.
SIPHASH_VECTORS = [
    0x726FDB47DD0E0E31, 0x74F839C593DC67FD, 0x0D6C8009D9A94F5A, 0x85676696D7FB7E2D,
    0xCF2794E0277187B7, 0x18765564CD99A68D, 0xCBC9466E58FEE3CE, 0xAB0200F58B01D137,
    0x93F5F5799A932462, 0x9E0082DF0BA9E4B0, 0x7A5DBBC594DDB9F3, 0xF4B32F46226BADA7,
    0x751E8FBC860EE5FB, 0x14EA5627C0843D90, 0xF723CA908E7AF2EE, 0xA129CA6149BE45E5,
    0x3F2ACC7F57C29BDB, 0x699AE9F52CBE4794, 0x4BC1B3F0968DD39C, 0xBB6DC91DA77961BD,
    0xBED65CF21AA2EE98, 0xD0F2CBB02E3B67C7, 0x93536795E3A33E88, 0xA80C038CCD5CCEC8,
    0xB8AD50C6F649AF94, 0xBCE192DE8A85B8EA, 0x17D835B85BBB15F3, 0x2F2E6163076BCFAD,
    0xDE4DAAACA71DC9A5, 0xA6A2506687956571, 0xAD87A3535C49EF28, 0x32D892FAD841C342,
    0x7127512F72F27CCE, 0xA7F32346F95978E3, 0x12E0B01ABB051238, 0x15E034D40FA197AE,
    0x314DFFBE0815A3B4, 0x027990F029623981, 0xCADCD4E59EF40C4D, 0x9ABFD8766A33735C,
    0x0E3EA96B5304A7D0, 0xAD0C42D6FC585992, 0x187306C89BC215A9, 0xD4A60ABCF3792B95,
    0xF935451DE4F21DF2, 0xA9538F0419755787, 0xDB9ACDDFF56CA510, 0xD06C98CD5C0975EB,
    0xE612A3CB9ECBA951, 0xC766E62CFCADAF96, 0xEE64435A9752FE72, 0xA192D576B245165A,
    0x0A8787BF8ECB74B2, 0x81B3E73D20B49B6F, 0x7FA8220BA3B2ECEA, 0x245731C13CA42499,
    0xB78DBFAF3A8D83BD, 0xEA1AD565322A1A0B, 0x60E61C23A3795013, 0x6606D7E446282B93,
    0x6CA4ECB15C5F91E1, 0x9F626DA15C9625F3, 0xE51B38608EF25F57, 0x958A324CEB064572,
]  # fmt: skip

# -- an independent, slow SipHash-2-4 ------------------------------------------------------

_M64 = (1 << 64) - 1


def _rotl(x: int, b: int) -> int:
    return ((x << b) | (x >> (64 - b))) & _M64


def ref_siphash(msg: bytes, key: bytes = KEY) -> int:
    k0, k1 = struct.unpack("<QQ", key)
    v = [
        k0 ^ 0x736F6D6570736575,
        k1 ^ 0x646F72616E646F6D,
        k0 ^ 0x6C7967656E657261,
        k1 ^ 0x7465646279746573,
    ]

    def rnd() -> None:
        v[0] = (v[0] + v[1]) & _M64
        v[1] = _rotl(v[1], 13) ^ v[0]
        v[0] = _rotl(v[0], 32)
        v[2] = (v[2] + v[3]) & _M64
        v[3] = _rotl(v[3], 16) ^ v[2]
        v[0] = (v[0] + v[3]) & _M64
        v[3] = _rotl(v[3], 21) ^ v[0]
        v[2] = (v[2] + v[1]) & _M64
        v[1] = _rotl(v[1], 17) ^ v[2]
        v[2] = _rotl(v[2], 32)

    whole = len(msg) - len(msg) % 8
    for i in range(0, whole, 8):
        m = int.from_bytes(msg[i : i + 8], "little")
        v[3] ^= m
        rnd()
        rnd()
        v[0] ^= m
    b = ((len(msg) & 0xFF) << 56) | int.from_bytes(msg[whole:], "little")
    v[3] ^= b
    rnd()
    rnd()
    v[0] ^= b
    v[2] ^= 0xFF
    for _ in range(4):
        rnd()
    return v[0] ^ v[1] ^ v[2] ^ v[3]


def ref_int(v: int) -> int:
    return ref_siphash(int(v).to_bytes(8, "little", signed=True))


def ref_float(v: float) -> int:
    v = 0.0 if v == 0.0 else (math.nan if math.isnan(v) else v)
    return ref_siphash(struct.pack("<d", v))


def tokens(arr: pa.Array) -> list[int | None]:
    return arr.to_pylist()


# -- keyed_hash -----------------------------------------------------------------------------


def test_siphash_reference_vectors() -> None:
    msgs = [bytes(range(n)) for n in range(64)]
    assert [ref_siphash(m) for m in msgs[:16]] == SIPHASH_VECTORS[:16]
    for binary, string in [(pa.binary(), pa.string()), (pa.large_binary(), pa.large_string())]:
        arr = pa.array(msgs, binary)
        assert tokens(keyed_hash(arr, KEY)) == SIPHASH_VECTORS
        # the same bytes as a string column (not valid UTF-8, but the kernel only sees bytes)
        as_string = pa.Array.from_buffers(string, len(msgs), arr.buffers())
        assert tokens(keyed_hash(as_string, KEY)) == SIPHASH_VECTORS
    obj = np.array(msgs, dtype=object)
    assert keyed_hash(obj, KEY).tolist() == SIPHASH_VECTORS


strings = st.lists(st.one_of(st.none(), st.text(max_size=40)), max_size=40)


@FAST
@given(values=strings, typ=st.sampled_from([pa.string(), pa.large_string(), pa.string_view()]))
def test_keyed_hash_strings_match_reference(values: list[str | None], typ: pa.DataType) -> None:
    got = keyed_hash(pa.array(values, typ), KEY)
    assert isinstance(got, pa.UInt64Array)
    want = [None if s is None else ref_siphash(s.encode()) for s in values]
    assert tokens(got) == want


@FAST
@given(values=strings, data=st.data())
def test_keyed_hash_sliced_and_chunked(values: list[str | None], data: st.DataObject) -> None:
    arr = pa.array(values, pa.string())
    start = data.draw(st.integers(0, len(values)))
    stop = data.draw(st.integers(start, len(values)))
    want = [None if s is None else ref_siphash(s.encode()) for s in values]
    assert tokens(keyed_hash(arr.slice(start, stop - start), KEY)) == want[start:stop]
    cuts = sorted(data.draw(st.lists(st.integers(0, len(values)), max_size=4)))
    bounds = [0, *cuts, len(values)]
    chunked = pa.chunked_array([arr[a:b] for a, b in pairwise(bounds)], pa.string())
    got = keyed_hash(chunked, KEY)
    assert isinstance(got, pa.UInt64Array)
    assert tokens(got) == want


@FAST
@given(values=st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), max_size=30))
def test_keyed_hash_ints_match_reference(values: list[int | None]) -> None:
    want = [None if v is None else ref_int(v) for v in values]
    assert tokens(keyed_hash(pa.array(values, pa.int64()), KEY)) == want
    plain = [v for v in values if v is not None]
    assert keyed_hash(np.array(plain, dtype=np.int64), KEY).tolist() == [ref_int(v) for v in plain]


@FAST
@given(values=st.lists(st.one_of(st.none(), st.floats(allow_nan=True)), max_size=30))
def test_keyed_hash_floats_match_reference(values: list[float | None]) -> None:
    want = [None if v is None else ref_float(v) for v in values]
    assert tokens(keyed_hash(pa.array(values, pa.float64()), KEY)) == want
    plain = np.array([v for v in values if v is not None], dtype=np.float64)
    assert keyed_hash(plain, KEY).tolist() == [ref_float(v) for v in plain]


def test_keyed_hash_floats_normalised() -> None:
    weird_nan = np.array([0x7FF8DEADBEEF0001, 0xFFF0000000000001], dtype=np.uint64).view(np.float64)
    x = np.concatenate([[0.0, -0.0, np.nan, -np.nan], weird_nan])
    got = keyed_hash(x, KEY)
    assert got[0] == got[1]
    assert len(set(got[2:].tolist())) == 1
    assert (
        keyed_hash(np.float32([1.5, -0.0]), KEY).tolist()
        == keyed_hash(np.array([1.5, 0.0]), KEY).tolist()
    )


@FAST
@given(values=st.lists(st.integers(-128, 127), max_size=20))
def test_keyed_hash_same_value_same_token_across_widths(values: list[int]) -> None:
    want = [ref_int(v) for v in values]
    for dt in ("int8", "int16", "int32", "int64"):
        assert keyed_hash(np.array(values, dtype=dt), KEY).tolist() == want
        assert tokens(keyed_hash(pa.array(values, getattr(pa, dt)()), KEY)) == want
    small = [v for v in values if v >= 0]
    for dt in ("uint8", "uint16", "uint32", "uint64"):
        assert tokens(keyed_hash(pa.array(small, getattr(pa, dt)()), KEY)) == [
            ref_int(v) for v in small
        ]


def test_keyed_hash_bools_temporals_dictionaries() -> None:
    b = pa.array([True, None, False, True, False, False, True, True, False, True])
    assert tokens(keyed_hash(b, KEY)) == [
        None if v is None else ref_int(int(v)) for v in b.to_pylist()
    ]
    sliced = b.slice(3, 6)
    assert tokens(keyed_hash(sliced, KEY)) == [ref_int(int(v)) for v in sliced.to_pylist()]
    assert keyed_hash(np.array([True, False]), KEY).tolist() == [ref_int(1), ref_int(0)]
    ts = pa.array([0, 1_700_000_000_000_000, None], pa.timestamp("us"))
    assert tokens(keyed_hash(ts, KEY)) == [ref_int(0), ref_int(1_700_000_000_000_000), None]
    d32 = pa.array([19000, None], pa.date32())
    assert tokens(keyed_hash(d32, KEY)) == [ref_int(19000), None]
    npts = np.array(["2024-01-01T00:00:00"], dtype="datetime64[us]")
    assert keyed_hash(npts, KEY).tolist() == [ref_int(npts.view(np.int64)[0])]
    dic = pa.array(["a", "b", None, "a"]).dictionary_encode()
    assert tokens(keyed_hash(dic, KEY)) == tokens(keyed_hash(pa.array(["a", "b", None, "a"]), KEY))
    assert tokens(keyed_hash(pa.nulls(3), KEY)) == [None, None, None]


def test_keyed_hash_numpy_strings_and_shapes() -> None:
    words = ["alice@example.com", "", "zoë@exämple.org"]
    want = [ref_siphash(w.encode()) for w in words]
    assert keyed_hash(np.array(words), KEY).tolist() == want
    assert keyed_hash(np.array(words, dtype=object), KEY).tolist() == want
    grid = keyed_hash(np.arange(6).reshape(2, 3), KEY)
    assert grid.shape == (2, 3) and grid.dtype == np.uint64
    with pytest.raises(ValueError, match="None"):
        keyed_hash(np.array(["a", None], dtype=object), KEY)


def test_keyed_hash_empty_and_sliced_nulls() -> None:
    assert keyed_hash(np.array([], dtype=np.int64), KEY).shape == (0,)
    assert len(keyed_hash(pa.array([], pa.string()), KEY)) == 0
    assert len(keyed_hash(pa.chunked_array([], pa.string()), KEY)) == 0
    values = [None if i % 3 == 0 else f"v{i}" for i in range(100)]
    arr = pa.array(values)
    for start in (1, 7, 9, 33):
        got = keyed_hash(arr.slice(start, 50), KEY)
        assert got.null_count == sum(v is None for v in values[start : start + 50])
        assert tokens(got) == [
            None if v is None else ref_siphash(v.encode()) for v in values[start : start + 50]
        ]


def test_keyed_hash_key_changes_tokens_and_errors() -> None:
    x = pa.array(["a", "b"])
    other = keyed_hash(x, bytes(16))
    assert tokens(other) != tokens(keyed_hash(x, KEY))
    for bad in (b"", bytes(15), bytes(17)):
        with pytest.raises(ValueError, match="'key' must be exactly 16 bytes"):
            keyed_hash(x, bad)
    with pytest.raises(TypeError, match="'key'"):
        keyed_hash(x, "0123456789abcdef")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"unsupported dtype list<item: int64>.*supported: string"):
        keyed_hash(pa.array([[1, 2]]), KEY)
    with pytest.raises(TypeError, match="'values' must be a pyarrow or numpy array"):
        keyed_hash(["a"], KEY)
    with pytest.raises(TypeError, match="unsupported dtype complex128"):
        keyed_hash(np.array([1j]), KEY)
    with pytest.raises(TypeError, match="unsupported dtype decimal"):
        keyed_hash(pa.chunked_array([], pa.decimal128(5, 2)), KEY)


# -- moments ---------------------------------------------------------------------------------


def _close(a: float, b: float, rel: float = 1e-9, abs_: float = 0.0) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


@pytest.mark.parametrize("n", [0, 1, 2, 17, 4096, 4097, 100_003])
def test_moments_match_pandas(n: int) -> None:
    rng = np.random.default_rng(n)
    x = rng.normal(50.0, 12.0, n) * rng.choice([1.0, 1e3], n)
    x[rng.random(n) < 0.1] = np.nan
    s = pd.Series(x)
    m = moments(x)
    assert (m.count, m.nulls) == (s.count(), s.isna().sum())
    for got, want in [(m.min, s.min()), (m.max, s.max()), (m.mean, s.mean()), (m.std, s.std())]:
        assert _close(got, want), (got, want)
    assert _close(m.variance, s.var())


def test_moments_arrow_nulls_ints_bools_timestamps() -> None:
    arr = pa.array([1, None, 3, 4, None], pa.int32())
    m = moments(arr)
    assert (m.count, m.nulls, m.min, m.max, m.mean) == (3, 2, 1.0, 4.0, 8 / 3)
    chunked = pa.chunked_array([pa.array([1.0, np.nan]), pa.array([None, 5.0], pa.float64())])
    m = moments(chunked)
    assert (m.count, m.nulls, m.mean) == (2, 2, 3.0)
    assert moments(np.array([True, False, True])).mean == pytest.approx(2 / 3)
    ts = pa.array([0, 10, None], pa.timestamp("s"))
    assert (moments(ts).count, moments(ts).max) == (2, 10.0)
    assert moments(pd.Series([1, None, 3], dtype="Int64")).count == 2
    with pytest.raises(TypeError, match="moments: unsupported dtype string"):
        moments(pa.array(["a"]))


def test_moments_infinities_and_empty() -> None:
    m = moments(np.array([1.0, np.inf, 2.0]))
    assert (m.count, m.max, m.mean) == (3, math.inf, math.inf) and math.isnan(m.std)
    assert math.isnan(moments(np.array([-np.inf, np.inf])).mean)
    e = moments(np.array([np.nan, np.nan]))
    assert (e.count, e.nulls) == (2 - 2, 2) and math.isnan(e.mean) and math.isnan(e.min)
    assert Moments.empty().merge(m) == m and m.merge(Moments.empty()) == m
    assert math.isnan(moments(np.array([3.0])).variance)


@FAST
@given(
    values=st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(math.nan)), min_size=0, max_size=300),
    data=st.data(),
)
def test_moments_merge_equals_whole(values: list[float], data: st.DataObject) -> None:
    x = np.array(values, dtype=np.float64)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(x)), max_size=4)))
    bounds = [0, *cuts, len(x)]
    merged = Moments.empty()
    for a, b in pairwise(bounds):
        merged = merged.merge(moments(x[a:b]))
    whole = moments(x)
    assert (merged.count, merged.nulls) == (whole.count, whole.nulls)
    assert _close(merged.min, whole.min) and _close(merged.max, whole.max)
    scale = float(np.nansum(x * x)) if whole.count else 0.0
    assert _close(merged.mean, whole.mean, abs_=1e-9 * math.sqrt(scale + 1))
    assert _close(merged.m2, whole.m2, abs_=1e-9 * (scale + 1))


# -- histogram ------------------------------------------------------------------------------


@FAST
@given(
    values=st.lists(st.floats(-10, 10, allow_nan=False), max_size=200),
    bins=st.integers(1, 30),
    lo=st.floats(-5, 0),
    width=st.floats(1e-3, 8),
)
def test_histogram_matches_numpy(values: list[float], bins: int, lo: float, width: float) -> None:
    hi = lo + width
    edges = np.linspace(lo, hi, bins + 1)
    x = np.array(values + list(edges), dtype=np.float64)  # the edges themselves are the hard part
    h = histogram(np.concatenate([x, [np.nan]]), bins, (lo, hi))
    want_counts, want_edges = np.histogram(x, bins, (lo, hi))
    np.testing.assert_array_equal(h.counts, want_counts)
    np.testing.assert_array_equal(h.edges, want_edges)
    assert h.counts.dtype == np.int64 and h.edges.dtype == np.float64


@FAST
@given(
    lo=st.sampled_from([1e15, 3.3e16, -7.1e17, 1.7e18, 123456789.0, 0.1, -3.0]),
    bins=st.integers(1, 60),
    ulps_per_bin=st.integers(1, 4),
)
def test_histogram_bins_a_few_ulps_wide(lo: float, bins: int, ulps_per_bin: int) -> None:
    """Where rounding is largest against a bin's width, values on, just below and just above
    every edge still land in the bins numpy gives (the arithmetic estimate is corrected)."""
    hi = lo + float(np.spacing(abs(lo))) * bins * ulps_per_bin
    edges = np.linspace(lo, hi, bins + 1)
    assume(np.all(edges[:-1] < edges[1:]))  # else histogram refuses the range (tested below)
    x = np.concatenate([edges, np.nextafter(edges, np.inf), np.nextafter(edges, -np.inf)])
    np.testing.assert_array_equal(histogram(x, bins, (lo, hi)).counts,
                                  np.histogram(x, bins, (lo, hi))[0])


@FAST
@given(values=st.lists(st.floats(-3, 3), max_size=200), data=st.data())
def test_histogram_merge_equals_whole(values: list[float], data: st.DataObject) -> None:
    x = np.array(values, dtype=np.float64)
    cut = data.draw(st.integers(0, len(x)))
    merged = histogram(x[:cut], 12, (-2.0, 2.0)).merge(histogram(x[cut:], 12, (-2.0, 2.0)))
    np.testing.assert_array_equal(merged.counts, histogram(x, 12, (-2.0, 2.0)).counts)


def test_histogram_nulls_and_errors() -> None:
    h = histogram(pa.array([0.5, None, 1.5, 9.0]), 2, (0.0, 2.0))
    assert h.counts.tolist() == [1, 1] and h.total == 2
    with pytest.raises(ValueError, match="different edges"):
        h.merge(histogram(np.array([1.0]), 3, (0.0, 2.0)))
    with pytest.raises(ValueError, match="different edges"):
        h.merge(histogram(np.array([1.0]), 2, (0.0, 3.0)))
    with pytest.raises(ValueError, match="'range'"):
        histogram(np.array([1.0]), 2, (1.0, 1.0))
    with pytest.raises(ValueError, match="'bins'"):
        histogram(np.array([1.0]), 0, (0.0, 1.0))
    with pytest.raises(ValueError, match="too many"):  # bins narrower than a float's spacing
        histogram(np.array([1e16]), 8, (1e16, 1e16 + 4))
    assert isinstance(h, Histogram)


# -- exact quantiles ------------------------------------------------------------------------


@FAST
@given(values=st.lists(st.one_of(st.floats(-1e9, 1e9), st.none()), max_size=100))
def test_quantiles_match_numpy(values: list[float | None]) -> None:
    qs = [0.0, 0.01, 0.25, 0.5, 0.9, 0.999, 1.0]
    got = quantiles(pa.array(values, pa.float64()), qs)
    plain = np.array([v for v in values if v is not None], dtype=np.float64)
    if plain.size == 0:
        assert np.isnan(got).all() and got.shape == (7,)
    else:
        np.testing.assert_array_equal(got, np.quantile(plain, qs, method="linear"))


def test_quantiles_nan_ints_and_errors() -> None:
    x = np.array([3.0, np.nan, 1.0, 2.0])
    np.testing.assert_array_equal(quantiles(x, [0.5]), [2.0])
    np.testing.assert_array_equal(quantiles(np.arange(11), [0.1, 0.95]), [1.0, 9.5])
    assert quantiles(np.array([np.nan]), 0.5).shape == ()
    with pytest.raises(ValueError, match="'qs'"):
        quantiles(x, [1.5])


# -- KLL sketch ------------------------------------------------------------------------------


def _max_rank_error(sorted_values: np.ndarray, estimates: np.ndarray, qs: np.ndarray) -> float:
    n = len(sorted_values)
    lo = np.searchsorted(sorted_values, estimates, side="left") / n
    hi = np.searchsorted(sorted_values, estimates, side="right") / n
    return float(np.max(np.maximum(0.0, np.maximum(lo - qs, qs - hi))))


QS = np.linspace(0.0, 1.0, 201)


@pytest.mark.parametrize(("n", "batch"), [(100_000, 97), (1_000_000, 20_000)])
def test_kll_rank_error_within_bound(n: int, batch: int) -> None:
    x = np.random.default_rng(n).lognormal(0.0, 2.0, n)
    sk = QuantileSketch(k=200, seed=1)
    for i in range(0, n, batch):
        sk.update(x[i : i + batch])
    assert sk.count == n and sk.retained < 3 * 200 + 100
    assert sk.rank_error == pytest.approx(0.0165, abs=5e-4)
    err = _max_rank_error(np.sort(x), sk.quantiles(QS), QS)
    assert err <= sk.rank_error, err
    assert sk.quantiles([0.0, 1.0]).tolist() == [x.min(), x.max()]
    ranks = sk.rank(np.quantile(x, QS[1:-1]))
    assert np.max(np.abs(ranks - QS[1:-1])) <= sk.rank_error


@SLOW
@given(cuts=st.lists(st.integers(0, 100_000), max_size=6), seed=st.integers(0, 2**32 - 1))
def test_kll_merge_of_partitions_within_bound(cuts: list[int], seed: int) -> None:
    x = np.random.default_rng(7).normal(size=100_000)
    bounds = [0, *sorted(cuts), len(x)]
    parts = [
        QuantileSketch(seed=seed + i).update(x[a:b]) for i, (a, b) in enumerate(pairwise(bounds))
    ]
    merged = parts[0]
    for p in parts[1:]:
        merged = merged.merge(p)
    whole = QuantileSketch(seed=seed).update(x)
    truth = np.sort(x)
    assert merged.count == whole.count == len(x)
    assert _max_rank_error(truth, merged.quantiles(QS), QS) <= merged.rank_error
    assert _max_rank_error(truth, whole.quantiles(QS), QS) <= whole.rank_error


def test_kll_pickle_determinism_and_errors() -> None:
    x = np.random.default_rng(3).random(50_000)
    a = QuantileSketch(seed=5).update(pa.array(x)).update(pa.array([None, 0.5]))
    b = QuantileSketch(seed=5).update(x).update(np.array([np.nan, 0.5]))
    np.testing.assert_array_equal(a.quantiles(QS), b.quantiles(QS))
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(c.quantiles(QS), a.quantiles(QS))
    np.testing.assert_array_equal(
        c.update(x[:100]).quantiles(QS), a.update(x[:100]).quantiles(QS)
    )  # the random state travels too
    assert np.isnan(QuantileSketch().quantiles([0.1, 0.5])).all()
    merged = QuantileSketch().merge(a)
    assert merged.count == a.count
    with pytest.raises(ValueError, match="k differs"):
        a.merge(QuantileSketch(k=100))
    with pytest.raises(ValueError, match="'qs'"):
        a.quantiles([-0.1])


# -- HyperLogLog ------------------------------------------------------------------------------


@pytest.mark.parametrize("distinct", [1_000, 100_000])
def test_hll_estimate_within_three_sigma(distinct: int) -> None:
    rng = np.random.default_rng(distinct)
    x = rng.integers(0, 2**62, distinct)
    x = np.concatenate([x, rng.choice(x, distinct)])  # duplicates must not count
    hll = HyperLogLog(14).update(x)
    assert abs(hll.estimate() - distinct) <= 3 * hll.relative_error * distinct
    emails = pa.array([f"user{i}@example.com" for i in range(distinct)] * 2)
    assert abs(approx_distinct(emails) - distinct) <= 3 * hll.relative_error * distinct


@FAST
@given(cuts=st.lists(st.integers(0, 5_000), max_size=5))
def test_hll_merge_equals_whole(cuts: list[int]) -> None:
    x = pa.array([f"k{i % 3_000}" for i in range(5_000)])
    bounds = [0, *sorted(cuts), len(x)]
    merged = HyperLogLog(10)
    for a, b in pairwise(bounds):
        merged = merged.merge(HyperLogLog(10).update(x[a:b]))
    np.testing.assert_array_equal(merged.registers, HyperLogLog(10).update(x).registers)


def test_hll_widths_nulls_pickle_errors() -> None:
    a = HyperLogLog(12).update(np.arange(1000, dtype=np.int32))
    b = HyperLogLog(12).update(pa.array(list(range(1000)) + [None], pa.int64()))
    np.testing.assert_array_equal(a.registers, b.registers)
    assert a.registers.dtype == np.uint8 and a.registers.shape == (4096,)
    c = HyperLogLog(12).update(np.concatenate([np.arange(1000.0), [np.nan, np.nan]]))
    assert c.estimate() == pytest.approx(1000, rel=0.05)
    assert HyperLogLog().estimate() == 0.0
    d = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(d.registers, a.registers)
    assert d.estimate() == a.estimate()
    with pytest.raises(ValueError, match="p differs"):
        a.merge(HyperLogLog(13))
    with pytest.raises(ValueError, match="'p'"):
        HyperLogLog(3)


# -- standardize ---------------------------------------------------------------------------


def ref_standardize(x: np.ndarray, mean, std, fill: float, clip) -> np.ndarray:
    """The plain numpy composition the fused kernel replaces."""
    out = (np.asarray(x, dtype=np.float64) - mean) / std
    out = np.clip(out, *clip) if clip is not None else out
    return np.where(np.isnan(np.asarray(x, dtype=np.float64)), fill, out)


@FAST
@given(
    values=st.lists(
        st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64)), max_size=60
    ),
    mean=st.floats(-1e6, 1e6),
    std=st.floats(1e-3, 1e6),
    fill=st.floats(-10, 10),
    clip=st.one_of(st.none(), st.tuples(st.floats(-5, 0), st.floats(0, 5))),
)
def test_standardize_matches_numpy(values, mean, std, fill, clip) -> None:
    x = np.array(values, dtype=np.float64)
    with np.errstate(all="ignore"):
        expected = ref_standardize(x, mean, std, fill, clip)
    got = standardize(x, mean, std, fill=fill, clip=clip)
    assert got.dtype == np.float64 and got.shape == x.shape
    np.testing.assert_array_equal(got, expected)


@FAST
@given(
    values=st.lists(st.one_of(st.none(), st.integers(-1000, 1000)), max_size=40),
    cols=st.integers(1, 4),
)
def test_standardize_nulls_columns_and_dtypes(values: list[int | None], cols: int) -> None:
    arr = pa.array(values, type=pa.int64())
    got = standardize(arr, 3.0, 2.0, fill=-1.0, clip=4)
    series = pd.Series(values, dtype="float64")
    expected = ((series - 3.0) / 2.0).clip(-4, 4).fillna(-1.0).to_numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=0)
    grid = np.arange(len(values) * cols, dtype=np.float32).reshape(-1, cols)
    mean, std = np.arange(cols, dtype=np.float64), np.arange(1, cols + 1, dtype=np.float64)
    out = standardize(grid, mean, std)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, (grid - mean) / std, rtol=1e-6)


def test_standardize_edge_cases_and_errors() -> None:
    assert standardize(np.empty(0), 0.0, 1.0).shape == (0,)
    assert standardize(np.empty((0, 3)), [0, 0, 0], [1, 1, 1]).shape == (0, 3)
    np.testing.assert_array_equal(
        standardize(np.array([np.inf, -np.inf, np.nan]), 0, 1, clip=(-2, 3)), [3, -2, 0]
    )
    np.testing.assert_array_equal(standardize(np.arange(4)[::-2], 1, 1), [2, 0])
    with pytest.raises(ValueError, match="std"):
        standardize(np.ones(3), 0.0, 0.0)
    with pytest.raises(ValueError, match="mean"):
        standardize(np.ones(3), np.nan, 1.0)
    with pytest.raises(ValueError, match="clip"):
        standardize(np.ones(3), 0.0, 1.0, clip=(2, 1))
    with pytest.raises(TypeError, match="clip"):
        standardize(np.ones(3), 0.0, 1.0, clip="x")
    with pytest.raises(ValueError, match="per column"):
        standardize(np.ones((2, 3)), [0, 0], 1.0)
    with pytest.raises(TypeError, match="dtype"):
        standardize(np.array(["a"]), 0.0, 1.0)
    with pytest.raises(ValueError, match="1-d or 2-d"):
        standardize(np.ones((1, 1, 1)), 0.0, 1.0)


# -- to_torch ------------------------------------------------------------------------------


@FAST
@given(
    values=st.lists(st.integers(0, 255), min_size=1, max_size=30),
    dtype=st.sampled_from([np.float64, np.float32, np.int64, np.int32, np.uint8, np.bool_]),
)
def test_to_torch_shares_numpy_memory(values: list[int], dtype) -> None:
    x = np.array(values).astype(dtype)
    t = to_torch(x)
    assert t.device.type == "cpu" and tuple(t.shape) == x.shape
    np.testing.assert_array_equal(t.numpy(), x)
    assert t.data_ptr() == x.__array_interface__["data"][0]  # zero-copy


def test_to_torch_copies_only_when_it_must() -> None:
    grid = np.arange(12.0).reshape(3, 4)[:, ::2]  # strided: shared, with its strides
    t = to_torch(grid)
    assert t.data_ptr() == grid.__array_interface__["data"][0] and t.stride() == (4, 2)
    rev = np.arange(5.0)[::-1]  # negative strides: copied
    np.testing.assert_array_equal(to_torch(rev).numpy(), rev)
    arr = pa.array([1.5, 2.5, 3.5]).slice(1)
    t = to_torch(arr)
    assert t.data_ptr() == arr.buffers()[1].address + 8  # Arrow without nulls: shared
    np.testing.assert_array_equal(to_torch(pa.array([1, None, 3])).numpy(), [1, np.nan, 3])
    np.testing.assert_array_equal(to_torch(pa.array([True, False])).numpy(), [True, False])
    chunked = pa.chunked_array([[1, 2], [3]])
    np.testing.assert_array_equal(to_torch(chunked).numpy(), [1, 2, 3])
    series = pd.Series([1, None], dtype="Int64")
    np.testing.assert_array_equal(to_torch(series).numpy(), [1, np.nan])
    assert to_torch(np.empty(0)).shape == (0,)
    with pytest.raises(TypeError, match="dtype"):
        to_torch(np.array(["2020-01-01"], dtype="datetime64[s]"))


# -- package ------------------------------------------------------------------------------


def test_backend_follows_the_array() -> None:
    assert array_module(np.zeros(2)) is np
    assert array_module(pa.array([1])) is np


def test_keyed_hash_offsets_pair_matches_arrow() -> None:
    arr = pa.array(["", "a", "hello", "longer than eight bytes"])
    offsets = np.frombuffer(arr.buffers()[1], np.int32)[: len(arr) + 1]
    data = np.frombuffer(arr.buffers()[2], np.uint8)
    np.testing.assert_array_equal(keyed_hash((offsets, data), KEY), keyed_hash(arr, KEY))
    with pytest.raises(ValueError, match="outside"):
        keyed_hash((offsets + 100, data), KEY)
    with pytest.raises(TypeError, match="uint8"):
        keyed_hash((offsets, data.astype(np.int8)), KEY)


def test_import_is_cheap() -> None:
    code = (
        "import sys, workbench; before = set(sys.modules); import workbench.kernels as k; "
        "assert 'numba' not in set(sys.modules) - before; assert callable(k.moments)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3)), max_size=200), st.integers(1, 5))
def test_keyset_marks_first_occurrences_across_batches(pairs, n_batches):
    from workbench.kernels import KeySet

    keys = np.array(pairs, dtype=np.uint64).reshape(-1, 2)
    expected = ~pd.DataFrame(keys).duplicated().to_numpy()
    ks = KeySet(expected=2)  # tiny: the set grows while batches arrive
    got = np.concatenate([ks.add(b) for b in np.array_split(keys, n_batches)])
    assert got.tolist() == expected.tolist()
    assert len(ks) == len({tuple(p) for p in pairs})


def test_keyset_on_hashed_keys_at_scale():
    from workbench.kernels import KeySet

    rng = np.random.default_rng(3)
    keys = rng.integers(0, 2**63, size=(200_000, 2), dtype=np.int64).astype(np.uint64)
    keys[100_000:150_000] = keys[:50_000]  # 50k repeats of earlier keys
    fresh = KeySet().add(keys)
    assert fresh.sum() == 150_000 and not fresh[100_000:150_000].any()
    with pytest.raises(ValueError, match=r"shape \(n, 1\) or \(n, 2\)"):
        KeySet().add(keys[:, 0])
    ks = KeySet()
    ks.add(keys[:10])
    with pytest.raises(ValueError, match=r"shape \(n, 2\), got \(10, 1\)"):
        ks.add(keys[:10, :1])
    with pytest.raises(ValueError, match="valid has 3 entries for 10 keys"):
        ks.add(keys[:10], valid=np.ones(3, bool))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1),
                          st.sampled_from([0, -1, 2**62, 2**62 + 1])), max_size=200),
       st.integers(1, 5))
def test_keyset_of_exact_words_with_nulls_marks_first_occurrences(values, n_batches):
    """One-word keys are values as they are (0, -1 and neighbours beyond 2**53 included), and
    every null is the same key, as pandas' duplicated has it."""
    from workbench.kernels import KeySet

    expected = ~pd.Series(values, dtype=object).duplicated().to_numpy()
    words = np.array([0 if v is None else v for v in values], dtype=np.int64).view(np.uint64)
    valid = np.array([v is not None for v in values], dtype=bool)
    ks = KeySet(expected=2)
    got = [ks.add(w.reshape(-1, 1), m) for w, m in zip(np.array_split(words, n_batches),
                                                       np.array_split(valid, n_batches))]
    assert np.concatenate(got).tolist() == expected.tolist()
    assert len(ks) == len(set(values))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), max_size=50))
def test_hex_digits_are_each_value_in_16_lowercase_hex_digits(values):
    from workbench.kernels import hex_digits

    digits = hex_digits(np.array(values, dtype=np.uint64))
    assert digits.dtype == np.uint8 and len(digits) == 16 * len(values)
    assert digits.tobytes().decode() == "".join(f"{v:016x}" for v in values)
