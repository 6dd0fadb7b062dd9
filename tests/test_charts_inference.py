"""The inference engine and served-endpoint charts on small tables (their bars, lines, marks and
axis titles), what `bench.records` derives for them from `wb.bench.compare`'s rows, and
`CompareView` on a real comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.bench.records import comparison, fastest, labelled, one_setting, served

T0 = pd.Timestamp("2026-05-01 09:00", tz="UTC")
# variant, engine, scenario, batch size, p50 (ms), throughput (samples/s), parity, stored note
ROWS = [("fp32", "eager", "single-stream", 1, 2.0, 500.0, True, ""),
        ("fp32", "eager", "single-stream", 8, 4.0, 2000.0, True, ""),
        ("fp32", "eager", "offline", 8, 4.0, 2100.0, True, ""),
        ("fp32", "onnxruntime", "single-stream", 1, 0.5, 2000.0, True, "fastest: pick this"),
        ("fp32", "onnxruntime", "single-stream", 8, 1.0, 8000.0, True, ""),
        ("fp32", "onnxruntime", "offline", 8, 1.2, 8400.0, True, ""),
        ("fp32", "onnxruntime-int8", "single-stream", 1, 0.25, 4000.0, False, "parity failed"),
        ("fp32", "onnxruntime-int8", "single-stream", 8, 0.8, 10000.0, False, "parity failed"),
        ("fp32", "onnxruntime-int8", "offline", 8, 0.7, 12600.0, False, "parity failed")]


def compare_rows(bench_id: str = "cmp", minutes: int = 1) -> pd.DataFrame:
    """`_bench` rows as `Comparison.records()` writes them, in its order."""
    return pd.DataFrame([{
        "bench_id": bench_id, "time": T0 + pd.Timedelta(minutes=minutes), "model": "demo",
        "variant": v, "engine": e, "device": "cpu", "scenario": s, "batch_size": b,
        "qps": float("nan"), "p50_ms": p50, "p99_ms": p50 * 2, "throughput": rate,
        "size_mb": 0.02, "params": 4_000, "metric_name": "accuracy", "metric": 0.7,
        "peak_memory_mb": 1.0, "max_abs_diff": 0.0 if ok else 0.5,
        "max_rel_diff": 0.0 if ok else 0.2, "parity_ok": ok, "note": note}
        for v, e, s, b, p50, rate, ok, note in ROWS])


def endpoint_rows() -> pd.DataFrame:
    """An endpoint measured at two loads twice (the later run counts) and a plain run."""
    rows = []
    for minutes, shift in ((1, 10.0), (2, 0.0)):
        for qps, p50 in ((100.0, 1.0), (400.0, 2.0)):
            rows.append({"bench_id": f"ep{minutes}", "time": T0 + pd.Timedelta(minutes=minutes),
                         "model": "demo", "variant": "fp32", "engine": "endpoint",
                         "device": "cpu", "scenario": "server", "batch_size": 1, "qps": qps,
                         "p50_ms": p50 + shift, "p90_ms": 2 * p50 + shift,
                         "p99_ms": 4 * p50 + shift, "throughput": qps * 0.99})
    rows.append(dict(rows[0], engine="", scenario="single-stream", qps=float("nan")))
    return pd.DataFrame(rows).assign(size_mb=float("nan"), note="", parity_ok=None)


def test_comparison_speedups_by_scenario_and_its_stored_notes():
    older = compare_rows("older", 0).assign(p50_ms=100.0)
    table = comparison(pd.concat([older, compare_rows()], ignore_index=True))
    assert (table["p50_ms"] != 100.0).all() and len(table) == len(ROWS)  # the newest only
    assert table["engine"].tolist() == [e for _, e, *_ in ROWS]
    # single-stream: eager's p50 over the row's; offline: the row's throughput over eager's
    assert table["speedup"].tolist() == pytest.approx([1, 1, 1, 4, 4, 4, 8, 5, 6])
    assert table["note"].tolist() == [n for *_, n in ROWS]
    assert table["parity_ok"].tolist() == [ok for *_, ok, _ in ROWS]


def test_fastest_skips_a_failed_parity_and_one_setting_picks_single_stream_batch_one():
    table = comparison(compare_rows())
    picks = fastest(table)
    assert list(zip(picks["scenario"], picks["batch_size"], picks["engine"])) == [
        ("single-stream", 1, "onnxruntime"), ("single-stream", 8, "onnxruntime"),
        ("offline", 8, "onnxruntime")]
    setting = one_setting(table)
    assert setting["engine"].tolist() == ["eager", "onnxruntime", "onnxruntime-int8"]
    assert set(setting["scenario"]) == {"single-stream"} and set(setting["batch_size"]) == {1}


def test_labels_name_the_engine_when_rows_ran_on_several():
    rows = labelled(compare_rows())
    assert rows["label"].iloc[3] == "demo · fp32 · onnxruntime · single-stream · b1"
    assert rows["series"].iloc[3] == "demo · fp32 · onnxruntime · single-stream"
    one = labelled(compare_rows()[lambda r: r["engine"] == "eager"])
    assert one["label"].iloc[0] == "demo · fp32 · single-stream · b1"


def test_served_keeps_the_newest_endpoint_rows_by_load():
    rows = served(endpoint_rows())
    assert rows["qps"].tolist() == [100.0, 400.0] and rows["p50_ms"].tolist() == [1.0, 2.0]
    assert rows["label"].tolist() == ["demo · fp32 · server · b1 · 100 qps",
                                      "demo · fp32 · server · b1 · 400 qps"]
    assert served(endpoint_rows()[lambda r: r["engine"] == ""]).empty


def test_engine_speedup_a_panel_per_scenario_parity_failures_hatched():
    from workbench.charts.engines import SPEEDUP, engine_speedup

    table = comparison(compare_rows())
    figure = engine_speedup(table)
    assert [a.text for a in figure.layout.annotations] == ["single-stream", "offline"]
    names = [(t.name, t.showlegend) for t in figure.data]
    assert names == [("eager", True), ("eager", False), ("onnxruntime", True),
                     ("onnxruntime", False), ("onnxruntime-int8", True),
                     ("onnxruntime-int8", False)]
    eager, _, ort, _, int8, int8_offline = figure.data
    assert list(ort.x) == ["batch 1", "batch 8"] and list(ort.y) == pytest.approx([4, 4])
    assert list(ort.text) == ["4x", "4x"] and list(ort.marker.pattern.shape) == ["", ""]
    assert list(int8.marker.pattern.shape) == ["x", "x"]
    assert list(int8_offline.text) == ["6x · parity failed"]
    assert "p50 0.5 ms, 2,000 samples/s<br>fastest: pick this" in ort.customdata[0]
    assert figure.layout.yaxis.title.text == SPEEDUP
    assert figure.layout.shapes[0].y0 == 1.0  # the baseline's line
    # Untimed rows (an engine that could not run) are left out; none timed says so.
    failed = table.assign(speedup=np.nan)
    assert engine_speedup(failed).layout.title.text.startswith("No speed-up")
    assert not engine_speedup(table.iloc[:0]).data


def test_engine_speedup_names_variant_and_engine_when_several_variants():
    from workbench.charts.engines import engine_speedup

    rows = compare_rows()
    int8 = rows[rows["engine"] == "eager"].assign(variant="int8", p50_ms=8.0, throughput=250.0)
    figure = engine_speedup(comparison(pd.concat([rows, int8], ignore_index=True)))
    assert "int8 · eager" in [t.name for t in figure.data]
    assert "fp32 · onnxruntime" in [t.name for t in figure.data]


def test_compression_a_bar_per_variant_and_engine():
    from workbench.charts.compression import bar_names, compression

    setting = one_setting(comparison(compare_rows()))
    figure = compression(setting)
    assert list(figure.data[0].x) == ["eager", "onnxruntime", "onnxruntime-int8"]
    two = pd.concat([setting, setting.assign(variant="int8")], ignore_index=True)
    assert bar_names(two)[:2] == ["fp32 · eager", "fp32 · onnxruntime"]
    assert bar_names(setting.drop(columns="engine")) == ["fp32"] * 3


def test_served_latency_a_line_per_percentile_against_offered_load():
    from workbench.charts.served_latency import OFFERED, served_latency

    rows = served(endpoint_rows())
    figure = served_latency(rows)
    assert [t.name for t in figure.data] == ["p50", "p90", "p99"]
    p50, _, p99 = figure.data
    assert list(p99.x) == [100.0, 400.0] and list(p99.y) == [4.0, 8.0]
    assert p99.customdata[1] == "400/s offered, 396/s served: p99 8 ms"
    assert figure.layout.xaxis.title.text == OFFERED
    assert figure.layout.yaxis.title.text == "latency (ms)"
    two = pd.concat([rows, rows.assign(series="other", p50_ms=9.0)], ignore_index=True)
    lines = served_latency(two).data
    assert len(lines) == 6 and lines[0].name.endswith("· p50") and lines[3].line.dash == "dash"
    assert served_latency(rows.iloc[:0]).layout.title.text.startswith("No served endpoint")


def test_request_split_stacks_each_part_of_a_request():
    from workbench.charts.request_split import request_split

    rows = pd.DataFrame({"qps": [100.0, 400.0], "http_ms": [0.5, 0.6], "decode_ms": [0.05, 0.05],
                         "queue_ms": [0.3, 1.0], "model_ms": [0.1, 0.2],
                         "encode_ms": [np.nan, np.nan]})
    figure = request_split(rows)
    assert [t.name for t in figure.data] == ["HTTP", "decode", "queue", "model"]  # no encode
    assert list(figure.data[0].x) == ["100 requests/s offered", "400 requests/s offered"]
    assert list(figure.data[2].y) == [0.3, 1.0] and figure.data[2].customdata[1] == "1 ms"
    assert figure.layout.barmode == "stack"
    assert figure.layout.yaxis.title.text == "mean time of a request (ms)"
    labelled_rows = rows.assign(label=["a", "b"])
    assert list(request_split(labelled_rows).data[0].x) == ["a", "b"]
    assert not request_split(rows.iloc[:0]).data


def test_compare_view_of_a_real_comparison():
    import workbench as wb
    from workbench.models import DemoClassifier, gapminder_task

    task = gapminder_task(seed=0)
    res = wb.bench.compare(DemoClassifier(), task.x_test, engines=["eager", "onnxruntime"],
                           batch_sizes=(1, 8), eval=(task.x_test, task.y_test),
                           min_samples=50, progress=False)
    view = res.widget()
    assert isinstance(view, wb.widgets.CompareView)
    assert view.pick.value.startswith("<p class='workbench-pick'>Fastest: <b>")
    assert "for single-stream at batch 1" in view.pick.value
    assert "<th>engine</th>" in view.stats.value and "<th>accuracy %</th>" in view.stats.value
    np.testing.assert_allclose(view.comparison["speedup"], res.table["speedup"])
    speedups = [y for t in view.speedup_chart.figure.data for y in t.y]
    assert sorted(speedups) == pytest.approx(sorted(res.table["speedup"]))
    assert list(view.figure.data[0].x) == ["eager", "onnxruntime"]
