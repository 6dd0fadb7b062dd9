"""The lake browser and the profile view, on a real lake ingested on a real Dask cluster."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

PEOPLE_V0 = """id,name,email,age,score
1,ann,ann@example.com,31,1.5
2,bob,bob@example.com,42,2.5
3,cid,cid@example.com,27
"""
PEOPLE_V1 = """{"id": 4, "name": "dan", "email": "dan@example.com", "age": 55, "score": 4.0}
{"id": 5, "name": "eve", "email": "eve@example.com", "age": "old", "score": 0.5}
{"id": 1, "name": "ann", "email": "ann@example.com", "age": 31, "score": 1.5}
{"id": 6, "name":
{"id": 7, "name": "fay", "email": "fay@example.com", "age": 23, "score": 3.25}
"""


@pytest.fixture(scope="module")
def people_lake(dask_cluster, tmp_path_factory):
    """Two tables: `people` (2 versions, quarantined rows, PII, dedup) and clean `scores`;
    built once for the module (the PII key set only while ingesting)."""
    import workbench as wb

    src = tmp_path_factory.mktemp("sources")
    (src / "people.csv").write_text(PEOPLE_V0)
    (src / "people.jsonl").write_text(PEOPLE_V1)
    scores = pd.DataFrame({"player": [f"p{i}" for i in range(20)],
                           "points": np.arange(20) * 3 % 17, "weight": np.linspace(0, 1, 20)})
    scores.to_csv(src / "scores.csv", index=False)
    lake = wb.Lake(tmp_path_factory.mktemp("lake") / "lake")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_PII_KEY", "test-secret")
        reports = [lake.ingest(src / "people.csv", "people", pii=["email"], dedup=["id"],
                               progress=False),
                   lake.ingest(src / "people.jsonl", "people", pii=["email"], dedup=["id"],
                               progress=False),
                   lake.ingest(src / "scores.csv", "scores", progress=False)]
    lake.reports = reports
    return lake


def counted_rows(fragment: str) -> int:
    """Data rows of the HTML table in a widget's value."""
    return fragment.split("<tbody>")[1].count("<tr")


def test_table_list_shows_each_table_with_its_row_count(people_lake):
    from workbench.widgets import LakeBrowser

    browser = LakeBrowser(people_lake)
    assert list(browser.tables["name"]) == ["people", "scores"]
    assert browser.table_picker.options == (("people  (4 rows)", "people"),
                                            ("scores  (20 rows)", "scores"))
    assert browser.selected == "people" and browser.table.name == "people"
    assert browser.message.value == "" and browser.body.layout.display is None


def test_selecting_a_table_shows_its_schema_versions_and_preview(people_lake):
    from workbench.widgets import LakeBrowser

    browser = LakeBrowser(people_lake)
    browser.select("scores")
    assert browser.selected == "scores"
    for column, type_name in [("player", "string"), ("points", "int64"), ("weight", "double")]:
        assert f"<td>{column}</td>\n      <td>{type_name}</td>" in browser.schema.value
    assert [v for _, v in browser.version_picker.options] == [0]
    assert counted_rows(browser.preview.value) == 20
    assert "First 20 rows of version 0" in browser.preview.value

    browser.table_picker.value = "people"  # as a click in the list would
    assert [v for _, v in browser.version_picker.options] == [1, 0]
    assert browser.version == 1
    versions = browser.versions.value
    for heading in ("rows in", "rows written", "rows quarantined", "duplicates dropped"):
        assert f"<th>{heading}</th>" in versions
    assert list(browser.history["rows_in"]) == [5, 3]
    assert list(browser.history["duplicates_dropped"]) == [1, 0]
    assert counted_rows(browser.preview.value) == 4
    assert "dan" in browser.preview.value and "ann@example.com" not in browser.preview.value


def test_version_picker_time_travels_the_preview(people_lake):
    from workbench.widgets import LakeBrowser

    browser = LakeBrowser(people_lake)
    browser.select("people")
    browser.version_picker.value = 0
    assert counted_rows(browser.preview.value) == 2
    assert "ann" in browser.preview.value and "bob" in browser.preview.value
    assert "dan" not in browser.preview.value and "fay" not in browser.preview.value
    browser.version_picker.value = 1
    assert "fay" in browser.preview.value
    with pytest.raises(KeyError, match="no table 'nope'"):
        browser.select("nope")


def test_profile_button_profiles_the_picked_version_and_charts_it(people_lake):
    from workbench.widgets import LakeBrowser

    browser = LakeBrowser(people_lake)
    browser.select("scores")
    assert browser.profile_view is None
    assert "No profile of version 0 is stored yet" in browser.profile_box.children[0].value
    browser.profile_button.click()
    profile = browser.profile_future.result(timeout=120)
    assert "Profiled version 0" in browser.profile_status.value
    assert not browser.profile_button.disabled
    view = browser.profile_view
    assert view is not None and browser.profile_box.children == (view,)
    expected = people_lake.table("scores").profile(0)
    assert set(view.column_picker.options) == set(expected.histograms) == {"points", "weight"}
    for column, hist in expected.histograms.items():
        view.column_picker.value = column
        bar = view.figure.data[0]
        np.testing.assert_array_equal(bar.y, hist.counts)
        np.testing.assert_allclose(bar.x, (hist.edges[:-1] + hist.edges[1:]) / 2)
        assert column in view.figure.layout.title.text
    assert int(sum(view.figure.data[0].y)) == 20
    pd.testing.assert_frame_equal(profile.table, expected.table)

    browser.select("people")  # another table: no profile yet; back again: the kept one
    assert browser.profile_view is None
    browser.select("scores")
    assert browser.profile_view.profile is profile


def test_profile_failure_shows_in_the_status_and_reenables_the_button(people_lake):
    from workbench.widgets import LakeBrowser

    def broken(version):
        raise RuntimeError("worker lost")

    browser = LakeBrowser(people_lake)
    browser.table.profile = broken
    browser.profile_button.click()
    with pytest.raises(RuntimeError, match="worker lost"):
        browser.profile_future.result(timeout=30)
    assert "profile failed: RuntimeError: worker lost" in browser.profile_status.value
    assert not browser.profile_button.disabled and browser.profile_view is None


def test_quarantine_tab_counts_every_rejected_row_by_reason(people_lake):
    from workbench.widgets import LakeBrowser

    browser = LakeBrowser(people_lake)
    browser.select("people")
    expected = sum((Counter(r.reasons) for r in people_lake.reports), Counter())
    bar = browser.quarantine_chart.figure.data[0]
    assert dict(zip(bar.x, bar.y, strict=True)) == dict(expected)
    assert sum(bar.y) == len(people_lake.table("people").quarantine()) == 3
    rows = browser.quarantine_rows.value
    assert counted_rows(rows) == 3
    assert "people.csv</td>\n      <td>4</td>" in rows
    assert "ann@example.com" not in rows  # quarantine holds tokens, never the PII itself

    browser.select("scores")
    assert "No rows quarantined" in browser.quarantine_summary.value
    assert browser.quarantine_chart_box.layout.display == "none"
    assert browser.quarantine_chart.figure.data == ()


def test_empty_lake_says_how_to_start_and_refresh_finds_new_tables(dask_cluster, tmp_path):
    import workbench as wb
    from workbench.widgets import LakeBrowser

    lake = wb.Lake(tmp_path / "empty")
    browser = LakeBrowser(lake)
    assert "No tables yet — run <code>lake.ingest(...)</code>" in browser.message.value
    assert browser.selected is None and browser.table is None
    assert browser.body.layout.display == "none"
    with pytest.raises(LookupError, match="no tables to profile"):
        browser.compute_profile()

    lake.ingest(pd.DataFrame({"x": [1, 2, 3]}), "fresh", progress=False)
    browser.refresh_button.click()
    assert browser.selected == "fresh" and browser.message.value == ""
    assert counted_rows(browser.preview.value) == 3
    lake.ingest(pd.DataFrame({"x": [4]}), "fresh", progress=False)
    browser.refresh()
    assert browser.selected == "fresh" and browser.version == 1
    assert counted_rows(browser.preview.value) == 4


def profile_of(columns: dict[str, str], histograms: dict) -> object:
    """A Profile built by hand: the view needs no cluster."""
    from workbench.lake import Profile

    table = pd.DataFrame({"column": list(columns), "type": list(columns.values()),
                          "count": 4, "nulls": 1, "null_fraction": 0.2,
                          "mean": [1.23456789] * len(columns)})
    return Profile("t", 3, 5, table, histograms)


def test_profile_view_formats_the_statistics_and_charts_datetimes_as_dates():
    from workbench.kernels import Histogram
    from workbench.widgets import ProfileView

    start = pd.Timestamp("2024-01-01").value // 1000  # microseconds
    day = 86_400 * 10**6
    hist = Histogram(np.array([3, 1]), np.array([start, start + day, start + 2 * day], float))
    view = ProfileView(profile_of({"when": "timestamp[us, tz=UTC]", "name": "string"},
                                  {"when": hist}))
    assert "<b>Profile of t</b>" in view.header.value and "5 rows" in view.header.value
    assert "<th>null %</th>" in view.stats.value and "<td>20%</td>" in view.stats.value
    assert "<td>1.23</td>" in view.stats.value and "overflow:auto" in view.stats.value
    assert view.column_picker.options == ("when",)
    bar = view.figure.data[0]
    assert [str(x)[:19] for x in bar.x] == ["2024-01-01T12:00:00", "2024-01-02T12:00:00"]
    np.testing.assert_allclose(bar.width, [86_400_000, 86_400_000])
    assert list(bar.y) == [3, 1] and bar.customdata[1][0] == "2024-01-02 00:00:00"


def test_profile_view_without_numeric_columns_says_so():
    from workbench.widgets import ProfileView

    view = ProfileView(profile_of({"name": "string"}, {}))
    assert "No numeric columns" in view.children[-1].value
    assert view.column_picker not in view.children


def test_a_profile_shows_as_its_view_in_the_notebook(monkeypatch):
    from workbench.widgets import ProfileView

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: shown.extend(objs))
    profile = profile_of({"name": "string"}, {})
    profile._ipython_display_()  # what IPython calls to display it
    [view] = shown
    assert isinstance(view, ProfileView) and isinstance(profile.widget(), ProfileView)
    assert repr(profile).startswith("Profile('t', version=3, rows=5)")


def test_profile_view_marks_distinct_counts_and_shows_a_time_spread_as_a_duration():
    from workbench.lake import Profile
    from workbench.widgets import ProfileView

    table = pd.DataFrame({"column": ["when", "x"], "type": ["timestamp[us, tz=UTC]", "double"],
                          "count": [4, 4], "nulls": [0, 1], "null_fraction": [0.0, 0.2],
                          "distinct": [4, 3], "std": [pd.Timedelta(seconds=7_300), 0.5]})
    stats = ProfileView(Profile("t", 0, 5, table, {})).stats.value
    assert "<th>distinct (±0.81%)</th>" in stats  # HyperLogLog's error at p=14
    assert "<td>≈4</td>" in stats and "<td>≈3</td>" in stats
    assert "<td>2 h 2 min</td>" in stats and "days" not in stats and "7300" not in stats


def test_a_long_list_value_is_summarised_in_the_preview(dask_cluster, tmp_path):
    import workbench as wb
    from workbench.widgets import LakeBrowser

    lake = wb.Lake(tmp_path / "lake")
    cdf = [round(0.1 * i, 1) for i in range(101)]
    lake.record("curves", pd.DataFrame({"name": ["a"], "cdf_ms": [cdf], "few": [[1, 2]]}))
    browser = LakeBrowser(lake)
    preview = browser.preview.value
    assert "101 values, 0 to 10" in preview and "<td>1, 2</td>" in preview
    assert "0.1, 0.2" not in preview
