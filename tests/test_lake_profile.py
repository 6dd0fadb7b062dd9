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
