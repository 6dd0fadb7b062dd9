"""The bench, inference and lake charts on small tables: their traces, axis titles with units,
and the values a person reads; and what `bench.records` derives for them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.bench.records import (
    CDF_QUANTILES,
    comparison,
    latency_bins,
    latest,
    slower_than_shown,
)

T0 = pd.Timestamp("2024-05-01 09:00", tz="UTC")


def bench_rows() -> pd.DataFrame:
    """Two variants at batch 1 and 8, and an older fp32 batch 1 the newer one replaces."""
    rows = []
    for i, (variant, b, p50, size, accuracy) in enumerate([
            ("fp32", 1, 2.0, 1.6, 0.91), ("fp32", 8, 4.0, 1.6, 0.91),
            ("int8", 1, 9.0, 0.45, 0.90), ("int8", 8, 30.0, 0.45, 0.90)]):
        rows.append({"bench_id": "cmp", "time": T0 + pd.Timedelta(minutes=1), "model": "mlp",
                     "variant": variant, "device": "cpu", "scenario": "offline",
                     "batch_size": b, "qps": float("nan"), "p50_ms": p50, "p90_ms": p50 * 1.2,
                     "p95_ms": p50 * 1.3, "p99_ms": p50 * 1.5, "max_ms": p50 * 2,
                     "mean_ms": p50, "throughput": b * 1000 / p50, "samples": 300 + i,
                     "stable": True, "size_mb": size, "params": 400_000,
                     "metric_name": "accuracy", "metric": accuracy,
                     "cdf_ms": list(np.linspace(p50 / 2, p50 * 2, 101))})
    old = dict(rows[0], bench_id="old", time=T0, p50_ms=99.0)
    return pd.DataFrame([old, *rows])


def test_latest_keeps_the_newest_per_configuration_and_labels_it():
    rows = latest(bench_rows())
    assert len(rows) == 4 and 99.0 not in rows["p50_ms"].tolist()
    assert rows["label"].tolist()[0] == "mlp · fp32 · offline · b1"
    assert rows["series"].unique().tolist() == ["mlp · fp32 · offline", "mlp · int8 · offline"]


def test_comparison_explains_int8_slower_than_fp32_on_cpu():
    table = comparison(bench_rows()[lambda r: r["batch_size"] == 1])
    assert table["variant"].tolist() == ["fp32", "int8"]
    assert table["speedup"].tolist() == pytest.approx([1.0, 2.0 / 9.0])
    fp32, int8 = table["note"]
    assert fp32 == "" and "slower than fp32" in int8 and "reference kernel" in int8
    assert "CUDA GPU" in int8  # what would make it fast
    on_gpu = comparison(bench_rows().assign(device="cuda:0")[lambda r: r["batch_size"] == 1])
    assert on_gpu["note"].tolist() == ["", ""]


def test_compare_view_writes_each_note_at_its_rows_end():
    from workbench.widgets.bench import comparison_html

    html = comparison_html(comparison(bench_rows()[lambda r: r["batch_size"] == 1]))
    assert "<td>slower than fp32: on CPU, int8 runs torchao's reference" in html
    assert html.index("<th>note</th>") > html.index("<th>parity ok</th>")
    assert "<th>accuracy %</th>" in html and "<td>91%</td>" in html
    assert "<th>p50 latency (ms)</th>" in html


def test_latency_histogram_bars_and_ranges_in_ms():
    from workbench.charts.latency import latency_histogram

    samples = np.concatenate([np.full(999, 2.0), np.linspace(2.0, 4.0, 1000), [500.0]])
    bins = latency_bins(samples, bins=4)
    assert bins["requests"].sum() + slower_than_shown(samples) == len(samples)
    assert bins["hi_ms"].max() < 500  # the outlier is counted aside, not drawn
    figure = latency_histogram(bins)
    (bars,) = figure.data
    assert list(bars.y) == bins["requests"].tolist()
    assert bars.customdata[0] == "2 ms to 2.5 ms"
    assert figure.layout.xaxis.title.text == "latency (ms)"
    assert figure.layout.yaxis.title.text == "requests"
    assert figure.layout.yaxis.exponentformat == "none"


def test_latency_cdf_one_line_per_result_and_marks():
    from workbench.charts.latency import latency_cdf

    rows = latest(bench_rows())
    figure = latency_cdf(rows)
    assert [t.name for t in figure.data] == rows["label"].tolist()
    assert list(figure.data[0].y) == list(CDF_QUANTILES)
    assert figure.layout.yaxis.title.text == "share of requests %"
    assert figure.layout.yaxis.tickformat.endswith("%")
    marked = latency_cdf(rows.iloc[:1], marks=True)
    line, marks = marked.data
    assert list(marks.text) == ["p50 2 ms", "p90 2.4 ms", "p99 3 ms"]


def test_latency_percentiles_group_of_four_bars_per_result():
    from workbench.charts.percentiles import latency_percentiles

    rows = latest(bench_rows())
    figure = latency_percentiles(rows)
    assert [t.name for t in figure.data] == ["p50", "p90", "p95", "p99"]
    assert list(figure.data[0].x) == rows["label"].tolist()
    assert figure.data[3].customdata[0] == "3 ms"  # p99 of fp32 at batch 1
    assert figure.layout.yaxis.title.text == "latency (ms)"
    assert figure.layout.barmode == "group"


def test_throughput_against_p99_one_line_per_series():
    from workbench.charts.tradeoff import throughput_latency

    figure = throughput_latency(latest(bench_rows()))
    fp32, int8 = figure.data
    assert fp32.name == "mlp · fp32 · offline" and list(fp32.text) == ["b1", "b8"]
    assert list(fp32.x) == [3.0, 6.0] and list(fp32.y) == [500.0, 2000.0]
    assert fp32.customdata[1] == "batch 8: 2,000 samples/s, p99 6 ms, p50 4 ms"
    assert figure.layout.xaxis.title.text == "p99 latency (ms)"
    assert figure.layout.yaxis.title.text == "samples/s"


def test_compression_one_panel_per_figure_with_values_written():
    from workbench.charts.compression import compression

    figure = compression(comparison(bench_rows()[lambda r: r["batch_size"] == 1]))
    assert [a.text for a in figure.layout.annotations] == [
        "size (MB)", "p50 latency (ms)", "samples/s", "accuracy"]
    size, p50, rate, accuracy = figure.data
    assert list(size.x) == ["fp32", "int8"] and list(size.text) == ["1.6", "0.45"]
    assert list(rate.text) == ["500", "111"] and list(accuracy.y) == [0.91, 0.90]
    assert figure.layout.yaxis.exponentformat == "none"
    without = compression(comparison(bench_rows()).assign(metric=float("nan")))
    assert len(without.data) == 3


def test_table_rows_written_and_quarantined_on_a_log_scale():
    from workbench.charts.table_rows import table_rows

    figure = table_rows(pd.DataFrame({"name": ["people", "sales"], "rows": [4, 1_200_000],
                                      "quarantined": [2, 0]}))
    written, quarantined = figure.data
    assert written.name == "rows written" and list(written.y) == [4, 1_200_000]
    assert quarantined.name == "rows quarantined" and list(quarantined.x) == ["people", "sales"]
    assert figure.layout.yaxis.type == "log"
    assert figure.layout.yaxis.title.text == "rows (log scale)"


def test_quarantine_reasons_most_common_first_a_segment_per_table():
    from workbench.charts.quarantine import quarantine_reasons

    figure = quarantine_reasons(pd.DataFrame({
        "table": ["a", "a", "b"], "reason": ["bad date", "too few fields", "bad date"],
        "rows": [1, 2, 5]}))
    a, b = figure.data
    assert a.name == "a" and list(a.x) == ["bad date", "too few fields"] and list(a.y) == [1, 2]
    assert list(figure.layout.xaxis.categoryarray) == ["bad date", "too few fields"]
    assert figure.layout.yaxis.title.text == "rows" and figure.layout.barmode == "stack"
    assert figure.layout.showlegend
    (single,) = quarantine_reasons(pd.DataFrame({"reason": ["x"], "rows": [3]})).data
    assert single.name == "rows"


def test_versions_a_marker_per_commit_with_what_it_did():
    from workbench.charts.versions import versions

    figure = versions(pd.DataFrame({
        "table": ["t", "t"], "version": [0, 1], "operation": ["CREATE TABLE", "WRITE"],
        "timestamp": [T0, T0 + pd.Timedelta(hours=1)], "rows_written": [12_345, None]}))
    (t,) = figure.data
    assert list(t.y) == ["t", "t"]
    assert [c[1] for c in t.customdata] == ["t v0: CREATE TABLE, 12,345 rows written",
                                            "t v1: WRITE"]
    assert figure.layout.xaxis.title.text == "commit time (UTC)"
    assert figure.layout.xaxis.tickformat is None  # dates: no number format
