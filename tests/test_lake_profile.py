"""Profiles computed per file on the cluster and merged agree with pandas on the same data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.kernels import device_module


@pytest.fixture
def frame():
    rng = np.random.default_rng(7)
    n = 20_000
    x = rng.normal(50, 12, n)
    x[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame({
        "x": x,
        "k": rng.integers(0, 5000, n),
        "flag": rng.random(n) < 0.3,
        "city": rng.choice(["oslo", "lima", "pune", None], n),
        "ts": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n), "s"),
    })


def test_profile_agrees_with_pandas(lake, frame):
    for i in range(4):  # four ingests: the profile merges many files
        part = frame.iloc[i * 5000:(i + 1) * 5000]
        lake.ingest(part, "data", progress=False)
    p = lake.table("data").profile(bins=20)
    stats = p.table.set_index("column")
    assert p.rows == len(frame)
    assert p.backend == device_module().__name__  # cupy on a GPU machine, else numpy
    for col in ["x", "k"]:
        s = frame[col]
        row = stats.loc[col]
        assert row["nulls"] == s.isna().sum()
        assert row["null_fraction"] == pytest.approx(s.isna().mean())
        assert row["min"] == pytest.approx(s.min())
        assert row["max"] == pytest.approx(s.max())
        assert row["mean"] == pytest.approx(s.mean(), rel=1e-9)
        assert row["std"] == pytest.approx(s.std(), rel=1e-9)
        # distinct: HyperLogLog p=14, 1.04/sqrt(2**14) = 0.8% standard error; allow 4 sigma
        assert row["distinct"] == pytest.approx(s.nunique(), rel=0.033)
        assert row["distinct"] <= row["count"]  # an estimate, capped by what it counted
        # quantiles: KLL rank error <= 1.65%: the sketch's value lies between the exact
        # quantiles at q -/+ that error
        for q in (0.05, 0.25, 0.5, 0.75, 0.95):
            got = row[f"p{round(q * 100):02d}"]
            lo, hi = s.quantile(max(q - 0.0165, 0)), s.quantile(min(q + 0.0165, 1))
            assert lo <= got <= hi
        h = p.histograms[col]
        counts, _ = np.histogram(s.dropna(), bins=20, range=(s.min(), s.max()))
        assert h.counts.tolist() == counts.tolist()
    assert stats.loc["city", "nulls"] == frame["city"].isna().sum()
    assert stats.loc["city", "distinct"] == 3
    assert stats.loc["city", "min"] == "lima" and stats.loc["city", "max"] == "pune"
    assert stats.loc["flag", "mean"] == pytest.approx(frame["flag"].mean())
    assert stats.loc["ts", "min"] == frame["ts"].min()
    assert stats.loc["ts", "max"] == frame["ts"].max()
    assert "Profile of data" in p._repr_html_()


def test_profile_of_an_old_version_and_of_an_empty_table(lake, frame):
    lake.ingest(frame.head(10), "data", progress=False)
    lake.ingest(frame.tail(10), "data", progress=False)
    assert lake.table("data").profile(version=0).rows == 10
    assert lake.table("data").profile().rows == 20
    lake.ingest(frame.head(0), "empty", progress=False)
    p = lake.table("empty").profile()
    assert p.rows == 0 and p.histograms == {}


@pytest.fixture
def typed():
    """Every kind of column a profile has statistics for, each with nulls."""
    rng = np.random.default_rng(11)
    n = 2_000
    missing = rng.random(n) < 0.1
    ticks = pd.to_timedelta(rng.integers(0, 10**9, n), "ms")
    return pd.DataFrame({
        "x": np.where(missing, np.nan, rng.normal(3, 2, n)),
        "k": pd.array(np.where(missing, None, rng.integers(-50, 50, n)), dtype="Int64"),
        "flag": pd.array(np.where(missing, None, rng.random(n) < 0.4), dtype="boolean"),
        "city": np.where(missing, None, rng.choice(["oslo", "lima", "pune"], n)),
        "ts": (pd.Timestamp("2026-01-01") + ticks).where(~missing),
        "when": (pd.Timestamp("2026-01-01", tz="Europe/Oslo") + ticks).where(~missing),
        "day": [None if m else d for m, d in zip(missing, (pd.Timestamp("2025-01-01")
                                                             + ticks).date)],
        "empty": np.full(n, np.nan),
    })


def _assert_same_profile(computed, stored):
    assert (stored.name, stored.version, stored.rows, stored.backend, stored.computed) == (
        computed.name, computed.version, computed.rows, computed.backend, computed.computed)
    pd.testing.assert_frame_equal(stored.table, computed.table, check_exact=True)
    for column in computed.table.columns:  # 1 == 1.0 == True: the values' types must match too
        assert ([type(v) for v in stored.table[column]]
                == [type(v) for v in computed.table[column]]), column
    assert list(stored.histograms) == list(computed.histograms)
    for column, h in computed.histograms.items():
        assert stored.histograms[column].counts.dtype == h.counts.dtype
        assert np.array_equal(stored.histograms[column].counts, h.counts)
        assert np.array_equal(stored.histograms[column].edges, h.edges)


def test_a_profile_is_stored_and_reads_back_the_same(lake, typed):
    lake.ingest(typed.iloc[:1000], "data", progress=False)
    lake.ingest(typed.iloc[1000:], "data", progress=False)
    t = lake.table("data")
    assert t.stored_profile(bins=12) is None and "_profiles" not in lake
    p = t.profile(bins=12)
    stats = p.table.set_index("column")
    assert stats.loc["ts", "min"] == typed["ts"].min()
    assert stats.loc["when", "max"] == typed["when"].max()
    assert stats.loc["day", "min"] == min(d for d in typed["day"] if d is not None)
    assert stats.loc["k", "nulls"] == typed["k"].isna().sum()
    assert stats.loc["flag", "max"] is True and stats.loc["empty", "min"] is None
    assert set(p.histograms) == {"x", "k", "flag", "ts", "when", "day"}

    stored = t.stored_profile(bins=12)
    _assert_same_profile(p, stored)
    assert t.stored_profile(bins=30) is None  # another bin count is another profile
    rows = lake.table("_profiles").to_pandas()
    assert len(rows) == len(typed.columns)
    assert (rows["table"] == "data").all() and (rows["version"] == t.version).all()
    assert rows.loc[rows["column"] == "city", "hist_counts"].isna().all()
    assert "_profiles" in lake.names()  # a results table, listed like _runs and _bench


def test_a_stored_profile_needs_no_cluster_until_refresh(lake, frame, monkeypatch):
    import workbench.compute

    lake.ingest(frame, "data", progress=False)
    t = lake.table("data")
    p = t.profile()

    def no_cluster():
        raise RuntimeError("the profile was computed again")

    monkeypatch.setattr(workbench.compute, "current_cluster", no_cluster)
    _assert_same_profile(p, t.profile())
    _assert_same_profile(p, lake.table("data").stored_profile())
    with pytest.raises(RuntimeError, match="computed again"):
        t.profile(refresh=True)
    monkeypatch.undo()

    again = t.profile(refresh=True)
    assert again.computed > p.computed
    _assert_same_profile(again, t.stored_profile())  # the newest of the key wins
    assert again.table.drop(columns="distinct").equals(p.table.drop(columns="distinct"))
    assert lake.table("_profiles").to_pandas()["profile_id"].nunique() == 2


def test_each_version_has_its_own_stored_profile(lake, frame):
    lake.ingest(frame.head(100), "data", progress=False)
    first = lake.table("data").profile()
    lake.ingest(frame.tail(50), "data", progress=False)
    t = lake.table("data")
    assert t.stored_profile() is None  # version 1 was never profiled
    _assert_same_profile(first, t.stored_profile(version=0))
    second = t.profile()
    assert (second.version, second.rows) == (1, 150)
    _assert_same_profile(second, t.stored_profile())
    _assert_same_profile(first, t.profile(version=0))


def test_a_re_created_table_does_not_read_the_old_ones_profile(lake, frame):
    import shutil

    lake.ingest(frame.head(100), "data", progress=False)
    lake.table("data").profile()
    shutil.rmtree(lake.table_uri("data"))
    lake.ingest(frame.tail(30), "data", progress=False)  # version 0 again, other rows
    t = lake.table("data")
    assert t.stored_profile() is None
    assert t.profile().rows == 30


def test_profiling_the_profiles_table_stores_nothing(lake, frame):
    lake.ingest(frame.head(10), "data", progress=False)
    lake.table("data").profile()
    profiles = lake.table("_profiles")
    assert profiles.profile().rows == len(frame.columns)
    assert profiles.version == 0 and profiles.stored_profile() is None


def test_profile_arguments_are_checked(lake, frame):
    lake.ingest(frame.head(10), "data", progress=False)
    t = lake.table("data")
    with pytest.raises(ValueError, match="'bins' must be at least 1"):
        t.profile(bins=0)
    with pytest.raises(TypeError, match="'bins' must be an int"):
        t.stored_profile(bins="30")
    with pytest.raises(TypeError, match="'refresh' must be True or False"):
        t.profile(refresh="yes")
    with pytest.raises(ValueError, match="version=5"):
        t.stored_profile(version=5)


@pytest.mark.parametrize("value", [
    True, False, 0, -(2**63), 2.5, -0.0, float("inf"), 1 / 3, "", "a:b\nc", b"\x00\xff",
    pd.Timestamp("2026-03-01").date(), pd.Timestamp("2026-03-01 12:00:00.123456789"),
    pd.Timestamp("2026-03-29 02:30", tz="UTC").tz_convert("Europe/Oslo"),
    pd.Timestamp("2026-03-01", tz="UTC"), pd.Timedelta(3, "D") + pd.Timedelta(7, "ns"),
])
def test_stored_statistics_decode_to_the_same_value_and_type(value):
    from workbench.lake.profile import decode_stat, encode_stat

    back = decode_stat(encode_stat(value))
    assert back == value and type(back) is type(value)
    if isinstance(value, pd.Timestamp):
        assert str(back.tz) == str(value.tz)


def test_stored_statistics_keep_nan_and_none_apart_and_reject_the_unknown():
    from workbench.lake.profile import decode_stat, encode_stat

    assert np.isnan(decode_stat(encode_stat(float("nan"))))
    assert encode_stat(None) is None and decode_stat(None) is None
    with pytest.raises(ValueError, match="no known tag"):
        decode_stat("complex:1j")
    with pytest.raises(TypeError, match="has no stored form"):
        encode_stat(1j)


def test_constant_and_nearly_constant_columns_get_histograms(lake):
    n = 40
    lake.ingest(pd.DataFrame({
        "at": [pd.Timestamp("2026-12-05 14:46:00.123456")] * n,  # 1.8e15 microseconds
        "near": [1.0, 1.0 + 2**-52] * (n // 2),
        "one": [3.0] * n,
    }), "flat", progress=False)
    p = lake.table("flat").profile(bins=30)
    for column in ("at", "near", "one"):
        h = p.histograms[column]
        assert h.total == n and np.all(np.diff(h.edges) > 0), column
    assert p.histograms["one"].edges[[0, -1]].tolist() == [2.5, 3.5]
    assert p.histograms["near"].counts[[0, -1]].tolist() == [0, 0]  # both values inside


def test_a_distinct_estimate_above_the_values_counted_is_clamped_to_them():
    """HyperLogLog can estimate 1,905 distinct among 1,900 values; the profile says 1,900."""
    import pyarrow as pa

    from workbench.kernels import HyperLogLog
    from workbench.lake.profile import ColumnSketch, Profile, _stats_table

    class Over(HyperLogLog):
        def estimate(self) -> float:
            return 1_905.4

    table = _stats_table({"k": ColumnSketch(pa.string(), count=1_900, nulls=100,
                                            distinct=Over())})
    assert table.loc[0, "distinct"] == 1_900
    assert Profile("t", 0, 2_000, table).distinct_error == pytest.approx(1.04 / 2 ** 7)
