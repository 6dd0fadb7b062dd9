"""Drift between table versions, from the sketches stored with each version's profile, checked
against scipy and an exact PSI on the raw rows (gapminder, plotly's bundled dataset, and
generated data large enough that the sketches are approximate)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.data
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp

from workbench.lake import DriftError, DriftWarning, LakeError
from workbench.lake.drift import FLOOR, NULL, OTHER, compare


@pytest.fixture(scope="module")
def gapminder() -> pd.DataFrame:
    return plotly.data.gapminder()


def _psi(ref: np.ndarray, cur: np.ndarray) -> float:
    r, c = np.maximum(ref, FLOOR), np.maximum(cur, FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def _numeric_shares(x: pd.Series, edges: np.ndarray) -> np.ndarray:
    """Exact shares of rows in the right-closed bins between ``edges``, then nulls."""
    v = np.sort(x.dropna().to_numpy(dtype=float))
    below = np.searchsorted(v, edges, side="right")
    return np.r_[np.diff(np.r_[0, below, len(v)]), x.isna().sum()] / len(x)


def _edges(report, column: str) -> np.ndarray:
    """The bin edges the report cut ``column`` at (its buckets' finite bounds)."""
    d = report.distributions[report.distributions["column"] == column]
    bounds = np.r_[d["lo"].to_numpy(float), d["hi"].to_numpy(float)]
    return np.unique(bounds[np.isfinite(bounds)])


def _categorical_shares(report, column: str, ref: pd.Series, cur: pd.Series
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Exact shares of rows per value the report made a bucket of, then the others, then
    nulls."""
    d = report.distributions
    values = [v for v in d.loc[d["column"] == column, "bucket"] if v not in (OTHER, NULL)]
    shares = []
    for s in (ref, cur):
        counts = s.value_counts().reindex(values, fill_value=0).to_numpy()
        shares.append(np.r_[counts, s.notna().sum() - counts.sum(), s.isna().sum()] / len(s))
    return tuple(shares)


def _check_against_exact(report, ref: pd.DataFrame, cur: pd.DataFrame) -> None:
    """Every score within the report's stated error of the exact figure on the raw rows."""
    rows = report.table.set_index("column")
    errors = report.errors.set_index("column")
    for column in ref.columns:
        row, err = rows.loc[column], errors.loc[column]
        assert row["null_rate_ref"] == pytest.approx(ref[column].isna().mean())
        assert row["null_rate_cur"] == pytest.approx(cur[column].isna().mean())
        if row["kind"] == "numeric":
            exact_ks = ks_2samp(ref[column].dropna(), cur[column].dropna()).statistic
            assert abs(row["ks"] - exact_ks) <= err["ks_error"] + 1e-12, column
            edges = _edges(report, column)
            exact = _psi(_numeric_shares(ref[column], edges), _numeric_shares(cur[column], edges))
        else:
            p, q = _categorical_shares(report, column, ref[column], cur[column])
            exact = _psi(p, q)
            if err["js_error"] == 0:
                assert row["js"] == pytest.approx(jensenshannon(p, q, base=2), abs=1e-9), column
        assert abs(row["psi"] - exact) <= err["psi_error"] + 1e-9, column


def test_gapminder_1952_to_2007_drifts_in_life_expectancy_and_income(lake, gapminder):
    y1952, y2007 = gapminder[gapminder.year == 1952], gapminder[gapminder.year == 2007]
    lake.ingest(y1952, "gap", progress=False)
    lake.ingest(y2007, "gap", mode="overwrite", progress=False)
    report = lake.table("gap").drift(reference=0)
    assert (report.reference, report.current) == (0, 1)
    assert list(report.table.columns) == ["column", "kind", "psi", "ks", "js", "null_rate_ref",
                                          "null_rate_cur", "distinct_ref", "distinct_cur",
                                          "verdict"]
    rows = report.table.set_index("column")
    assert {"lifeExp", "gdpPercap"} <= set(report.drifted)
    assert rows.loc["lifeExp", "psi"] > 1 and rows.loc["lifeExp", "ks"] > 0.5
    # the same 142 countries in both years
    for column in ("country", "continent", "iso_alpha"):
        assert rows.loc[column, ["kind", "verdict"]].tolist() == ["categorical", "stable"]
        assert rows.loc[column, "js"] == 0 and rows.loc[column, "psi"] == 0
    assert rows.loc["country", "distinct_ref"] == 142
    # 142 rows a version: the sketches hold every value, so the figures are exact
    assert (report.errors[["psi_error"]].fillna(0) == 0).all().all()
    _check_against_exact(report, y1952.reset_index(drop=True), y2007.reset_index(drop=True))
    assert "lifeExp" in report._repr_html_()


def test_random_halves_of_gapminder_are_stable(lake, gapminder):
    shuffled = gapminder.sample(frac=1.0, random_state=3).reset_index(drop=True)
    first, second = shuffled.iloc[:852], shuffled.iloc[852:]
    lake.ingest(first, "gap", progress=False)
    lake.ingest(second, "gap", mode="overwrite", progress=False)
    report = lake.table("gap").drift(0, current=1)
    assert set(report.table["verdict"]) == {"stable"}, report.table
    assert report.drifted == []
    # 852 rows: the KLL sketches have compacted, the scores are estimates within their bounds
    assert (report.errors["ks_error"].dropna() > 0).all()
    _check_against_exact(report, first.reset_index(drop=True), second.reset_index(drop=True))


def test_sketched_scores_are_within_their_stated_error_on_large_data(lake):
    n = 40_000

    def batch(shift: float, seed: int) -> pd.DataFrame:
        r = np.random.default_rng(seed)
        x = r.normal(shift, 1.0, n)
        x[r.random(n) < 0.02 + shift / 10] = np.nan
        words = np.array([f"w{i}" for i in range(600)])  # more than TopK keeps: approximate
        return pd.DataFrame({"x": x, "k": r.integers(0, 50, n) + int(shift * 10),
                             "word": words[np.minimum(r.zipf(1.3, n), 600) - 1]})

    ref, cur = batch(0.0, 1), batch(0.3, 2)
    lake.ingest(ref, "big", progress=False)
    lake.ingest(cur, "big", mode="overwrite", progress=False)
    report = lake.table("big").drift(0)
    _check_against_exact(report, ref, cur)
    assert report.table.set_index("column").loc["x", "verdict"] in ("moderate", "drift")


def test_drift_reads_stored_profiles_and_profiles_a_version_once(lake, gapminder, monkeypatch):
    import workbench.compute

    lake.ingest(gapminder[gapminder.year == 1952], "gap", progress=False)
    lake.ingest(gapminder[gapminder.year == 1957], "gap", progress=False)
    t = lake.table("gap")
    assert t.stored_profile(0) is None
    first = t.drift(0)
    assert t.stored_profile(0).sketched and t.stored_profile(1).sketched

    def no_cluster():
        raise RuntimeError("a profile was computed again")

    monkeypatch.setattr(workbench.compute, "current_cluster", no_cluster)
    monkeypatch.setattr(type(t), "to_arrow", lambda *a, **k: pytest.fail("rows were read"))
    again = lake.table("gap").drift(0)
    pd.testing.assert_frame_equal(first.table, again.table)
    monkeypatch.undo()
    assert lake.table("_profiles").to_pandas()["profile_id"].nunique() == 2


def test_a_profile_stored_without_sketches_is_profiled_again(lake, gapminder):
    import shutil

    from workbench.lake.profile import _SKETCHES, PROFILES_TABLE, _profile_rows

    lake.ingest(gapminder[gapminder.year == 1952], "gap", progress=False)
    t = lake.table("gap")
    old = t.profile()
    old_rows = _profile_rows(old, t._dt.metadata().id, 30).drop_columns(list(_SKETCHES))
    shutil.rmtree(lake.table_uri(PROFILES_TABLE))
    lake.record(PROFILES_TABLE, old_rows)  # as a release before the sketches stored it
    assert not t.stored_profile().sketched
    lake.ingest(gapminder[gapminder.year == 2007], "gap", progress=False)
    lake.table("gap").drift(0)
    assert t.stored_profile(0).sketched


def test_a_reference_can_be_a_time(lake, gapminder):
    lake.ingest(gapminder[gapminder.year == 1952], "gap", progress=False)
    lake.ingest(gapminder[gapminder.year == 2007], "gap", mode="overwrite", progress=False)
    t = lake.table("gap")
    times = t.history().set_index("version")["timestamp"]
    assert t.drift(times[0]).reference == 0
    assert t.drift(str(times[1] + pd.Timedelta("1h"))).reference == 1
    with pytest.raises(LakeError, match=r"reference='1900-01-01'.*did not exist yet.*0\.\.1"):
        t.drift("1900-01-01")


def test_added_and_removed_columns_are_rows_not_errors(lake, gapminder):
    g = gapminder[gapminder.year == 1952]
    lake.ingest(g, "gap", progress=False)
    lake.ingest(g.drop(columns=["pop"]).assign(region=g["continent"]), "other", progress=False)
    report = compare(lake.table("gap").profile(), lake.table("other").profile())
    rows = report.table.set_index("column")
    assert rows.loc["pop", ["kind", "verdict"]].tolist() == ["numeric", "removed"]
    assert rows.loc["region", ["kind", "verdict"]].tolist() == ["categorical", "added"]
    assert np.isnan(rows.loc["region", "null_rate_ref"])
    assert rows.loc["lifeExp", "verdict"] == "stable"

    lake.ingest(g.assign(region=g["continent"]), "gap", schema_mode="merge", progress=False)
    rows = lake.table("gap").drift(0).table.set_index("column")
    assert rows.loc["region", "verdict"] == "added"


def test_bad_versions_say_which_exist(lake, gapminder):
    lake.ingest(gapminder.head(50), "gap", progress=False)
    lake.ingest(gapminder.tail(50), "gap", progress=False)
    t = lake.table("gap")
    with pytest.raises(LakeError, match=r"reference=7: no such version; table 'gap' has "
                                        r"versions 0\.\.1"):
        t.drift(7)
    with pytest.raises(LakeError, match=r"current=-1: no such version.*0\.\.1"):
        t.drift(0, current=-1)
    with pytest.raises(LakeError, match=r"reference=True: pass a version number or a time"):
        t.drift(True)
    with pytest.raises(LakeError, match=r"reference='yesterday-ish' is neither"):
        t.drift("yesterday-ish")


def test_ingest_drift_argument_is_checked(lake, gapminder):
    with pytest.raises(LakeError, match=r"drift='maybe': use None .* 'warn' .* 'refuse'"):
        lake.ingest(gapminder.head(5), "gap", drift="maybe", progress=False)
    assert "gap" not in lake


def test_ingest_refuses_a_drifted_batch_and_leaves_the_table(lake, gapminder):
    from pathlib import Path

    lake.ingest(gapminder[gapminder.year == 1952], "gap", progress=False)
    files = sorted(Path(lake.table_uri("gap")).glob("*.parquet"))
    with pytest.raises(DriftError, match=r"refused.*lifeExp \(PSI [0-9.]+\).*stays at version 0"
                       ) as caught:
        lake.ingest(gapminder[gapminder.year == 2007], "gap", drift="refuse", progress=False)
    assert "gdpPercap" in caught.value.report.drifted
    assert caught.value.report.current is None
    t = lake.table("gap")
    assert t.version == 0 and len(t.to_pandas()) == 142
    assert sorted(Path(lake.table_uri("gap")).glob("*.parquet")) == files  # nothing left over
    assert "_drift" not in lake

    # a stable batch goes through, and its report is recorded
    same = gapminder[gapminder.year == 1952].sample(frac=1.0, random_state=1)
    report = lake.ingest(same, "gap", drift="refuse", progress=False)
    assert report.version == 1 and report.drift.drifted == []
    assert (lake.table("_drift").to_pandas()["version"] == 1).all()


def test_ingest_warns_records_the_report_and_raises_an_alert(lake, gapminder):
    lake.ingest(gapminder[gapminder.year == 1952], "gap", progress=False)
    with pytest.warns(DriftWarning, match=r"table gap v1: drift in columns .*lifeExp \(PSI "
                                          r"[0-9.]+\).* against v0"):
        report = lake.ingest(gapminder[gapminder.year == 2007], "gap", drift="warn",
                             progress=False)
    assert report.version == 1 and "lifeExp" in report.drift.drifted
    assert "drift" in str(report)
    rows = lake.table("_drift").to_pandas()
    assert list(rows.columns) == ["table", "version", "reference_version", "column", "kind",
                                  "psi", "ks", "js", "null_rate_ref", "null_rate_cur",
                                  "distinct_ref", "distinct_cur", "verdict", "time"]
    assert len(rows) == 8 and (rows["version"] == 1).all()
    assert (rows["reference_version"] == 0).all() and (rows["table"] == "gap").all()
    assert str(rows["time"].dtype).startswith("datetime64") and rows["time"].dt.tz is not None
    alerts = lake.table("_alerts").to_pandas()
    assert alerts[["rule", "severity", "run_id", "state"]].values.tolist() == [
        ["drift", "warning", "gap@v1", "firing"]]
    assert alerts["value"][0] == rows["psi"].max() and alerts["threshold"][0] == 0.25


def test_drift_alert_is_none_without_drift():
    from workbench.ops.drift import drift_alert

    table = pd.DataFrame({"column": ["a", "b"], "psi": [0.05, 0.2],
                          "verdict": ["stable", "moderate"]})
    assert drift_alert("events", 3, table, 2) is None
    table.loc[0, ["psi", "verdict"]] = [0.41, "drift"]
    table.loc[1, ["psi", "verdict"]] = [0.3, "drift"]
    alert = drift_alert("events", 3, table, 2)
    assert alert.message == "table events v3: drift in columns a (PSI 0.41), b (PSI 0.3) " \
                            "against v2"
    assert (alert.value, alert.rank, alert.run, alert.action) == (0.41, -1, "events@v3",
                                                                  "notify")


def test_the_chart_shows_psi_per_column_and_the_worst_distributions(lake, gapminder):
    lake.ingest(gapminder[gapminder.year == 1952], "gap", progress=False)
    lake.ingest(gapminder[gapminder.year == 2007], "gap", mode="overwrite", progress=False)
    report = lake.table("gap").drift(0)
    figure = report.chart()
    bars = figure.data[0]
    assert list(bars.x) == report.table["column"].tolist()
    names = {trace.name for trace in figure.data[1:]}
    assert names == {"version 0", "version 1"}
    titles = [a.text for a in figure.layout.annotations]
    worst = report.table.sort_values("psi", ascending=False)["column"].head(3)
    assert all(any(c in t for t in titles) for c in worst)


def test_a_partitioned_batch_is_profiled_with_its_partition_values(lake, gapminder):
    lake.ingest(gapminder[gapminder.year == 1952], "gap", partition_by=["continent"],
                progress=False)
    report = lake.ingest(gapminder[gapminder.year == 1952], "gap", drift="refuse",
                         progress=False)
    rows = report.drift.table.set_index("column")
    assert rows.loc["continent", ["psi", "js", "null_rate_cur"]].tolist() == [0, 0, 0]
    assert report.drift.drifted == [] and report.version == 1
