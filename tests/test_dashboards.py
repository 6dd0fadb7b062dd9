"""The dashboards' views on lakes built here: the numbers their charts draw, their pickers, and
their empty states (no browser: `test_browser_dashboards.py` looks at them in Chromium)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dashboard_lake import RUN_NARROW, RUN_WIDE, build_results_lake

import workbench as wb
from workbench.train.series import run_timeline


@pytest.fixture
def results_lake(tmp_path):
    return wb.Lake(build_results_lake(tmp_path / "lake"))


def test_default_lake_follows_workbench_lake(tmp_path, monkeypatch, workbench_home):
    monkeypatch.delenv("WORKBENCH_LAKE", raising=False)
    assert wb.default_lake().uri == str(workbench_home / "lake")
    monkeypatch.setenv("WORKBENCH_LAKE", str(tmp_path / "elsewhere"))
    assert wb.default_lake().uri == str(tmp_path / "elsewhere")
    view = wb.widgets.TrainingRuns()  # no lake given: the default one
    assert view.lake.uri == str(tmp_path / "elsewhere") and view.empty


def test_training_runs_pick_a_run_and_draw_its_records(results_lake):
    view = wb.widgets.TrainingRuns(results_lake)
    assert not view.empty
    assert [value for _, value in view.run_picker.options] == [RUN_WIDE, RUN_NARROW]  # newest
    assert view.run_id == RUN_WIDE
    assert "2 runs (1 succeeded, 1 failed)" in view.heading.value
    assert "mlp-wide" in view.summary.value and "mlp-narrow" in view.summary.value
    assert "step p50 (ms)" in view.summary.value  # seconds shown in the unit its header says
    p50_ms = view.runs.set_index("run_id").loc[RUN_WIDE, "step_p50_s"] * 1000
    assert f">{wb.charts.format.number(p50_ms)}<" in view.summary.value

    records = view.run_metrics()
    assert len(records) == 120 and set(records["rank"]) == {0, 1}
    throughput = view.figures["throughput"].figure
    assert throughput.layout.title.text == "Throughput · mlp-wide"
    assert [t.name for t in throughput.data] == ["total", "rank 0", "rank 1"]
    total, rank0, rank1 = (np.asarray(t.y, dtype=float) for t in throughput.data)
    both = ~np.isnan(rank0) & ~np.isnan(rank1)
    np.testing.assert_allclose(total[both], rank0[both] + rank1[both])
    # Each rank's rate over the run, from its windows, is its samples over its step time.
    timeline = run_timeline(records)["throughput"].pivot(index="time", columns="series",
                                                         values="value")
    assert len(timeline) == len(total) and timeline.index.name == "time"
    for rank in (0, 1):
        steps = records[records["rank"] == rank]
        assert np.nanmax(timeline[f"rank {rank}"]) >= 32 / steps["step_s"].max()
        assert np.nanmin(timeline[f"rank {rank}"]) <= 32 / steps["step_s"].min()

    step_time = view.figures["step_time"].figure
    p50, p90, p99 = (np.asarray(t.y, dtype=float) for t in step_time.data)
    assert np.all(p50 <= p90) and np.all(p90 <= p99)
    assert p50.min() >= records["step_s"].min() * 1000 - 1e-9
    assert p99.max() <= records["step_s"].max() * 1000 + 1e-9
    share = np.asarray(view.figures["data_wait"].figure.data[0].y, dtype=float)
    assert np.all((share > 0) & (share < 1))
    overall = records["data_s"].sum() / records["step_s"].sum()
    assert share.min() <= overall <= share.max()

    assert view.metric_picker.options == ("loss", "accuracy")
    assert view.metric_picker.value == "loss"
    loss = view.metric_chart.figure
    assert [t.name for t in loss.data] == ["rank 0", "rank 1"]
    rank0_loss = records[records["rank"] == 0].sort_values("step")["loss"].to_numpy()
    np.testing.assert_allclose(np.asarray(loss.data[0].y, dtype=float), rank0_loss)
    view.metric_picker.value = "accuracy"
    assert view.metric_chart.figure.layout.title.text == "accuracy · mlp-wide"
    assert view.metric_box.children == (view.metric_chart,)


def test_training_runs_picker_swaps_every_chart(results_lake):
    view = wb.widgets.TrainingRuns(results_lake)
    wide = dict(view.figures)
    view.select(RUN_NARROW)
    assert view.run_id == RUN_NARROW
    narrow = view.figures
    assert narrow["throughput"] is not wide["throughput"]
    assert narrow["throughput"].figure.layout.title.text == "Throughput · mlp-narrow"
    assert [t.name for t in narrow["throughput"].figure.data] == ["total"]  # one rank only
    assert view.metric_picker.options == ("loss",)  # this run logged no accuracy
    assert view.charts.children[0] is narrow["throughput"]
    assert "failed" in view.run_info.value and "loss is NaN" in view.run_info.value
    assert "Traceback" not in view.run_info.value  # one sentence for a person, not the trace
    view.select(RUN_WIDE)  # back: the same figures as before, kept
    assert view.figures["throughput"] is wide["throughput"]
    with pytest.raises(KeyError, match="no run 'nope'.*run-wide-0001"):
        view.select("nope")


def test_training_runs_refresh_sees_a_new_run_and_keeps_the_pick(results_lake):
    from dashboard_lake import run_metrics, save

    view = wb.widgets.TrainingRuns(results_lake)
    view.select(RUN_NARROW)
    save(results_lake, "run-late-0003", "mlp-late", "stopped",
         run_metrics(ranks=1, steps=10, accuracy=False, seed=3), hours=2)
    view.refresh()
    assert [v for _, v in view.run_picker.options][0] == "run-late-0003"
    assert view.run_id == RUN_NARROW
    assert "1 stopped" in view.heading.value


def test_training_runs_without_step_records(tmp_path):
    """A run that failed before its first step has a `_runs` row and no records."""
    from workbench.train.records import save_run

    lake = wb.Lake(tmp_path / "lake")
    save_run(lake, {"run_id": "r0", "name": "early", "status": "failed", "started": 1.7e9,
                    "ended": 1.7e9 + 2, "nprocs": 2, "backend": "gloo", "device": "cpu",
                    "error": "ImportError: no module named nope", "run_dir": "/tmp/r0"},
             pd.DataFrame(), None)
    view = wb.widgets.TrainingRuns(lake)
    assert not view.empty and view.figures == {}
    assert "No step records for this run" in view.charts.children[0].value
    assert "no steps timed" in view.run_info.value and "ImportError" in view.run_info.value
    assert view.metric_chart is None


@pytest.mark.parametrize("view_class, says", [
    ("TrainingRuns", "wb.launch(train)"),
    ("InferenceResults", "wb.bench.latency(model, inputs).save(lake)"),
    ("LakeHealth", "lake.ingest(SOURCE, TABLE)"),
    ("FederatedRuns", "wb.fl.launch(...)"),
])
def test_empty_state_on_a_lake_that_does_not_exist(tmp_path, view_class, says):
    view = getattr(wb.widgets, view_class)(tmp_path / "no-lake-here")
    assert view.empty and view.body.children == ()
    text = view.message.value
    assert "There is no lake <code>no-lake-here</code> yet" in text
    assert str(tmp_path) not in text and "/root" not in text  # no server path reaches a page
    assert says in text and "make demo" in text and "WORKBENCH_LAKE" in text
    assert not (tmp_path / "no-lake-here").exists()  # looking created nothing


def test_empty_state_names_the_missing_table(tmp_path):
    lake = wb.Lake(tmp_path / "lake")
    lake.record("scores", pd.DataFrame({"x": [1, 2]}))
    runs = wb.widgets.TrainingRuns(lake)
    assert runs.empty and "has no training runs (no <code>_runs</code> table)" in (
        runs.message.value)
    bench = wb.widgets.InferenceResults(lake)
    assert bench.empty and "no <code>_bench</code> table" in bench.message.value
    assert not wb.widgets.LakeHealth(lake).empty


def test_inference_results_charts(results_lake):
    view = wb.widgets.InferenceResults(results_lake)
    assert not view.empty
    assert view.model_picker.options == ("All models", "demo-mlp", "tiny-transformer")
    latest = view.latest()
    # sweep (3, engine ""), comparison (5: variant x engine), endpoint (3 loads), tiny (1).
    assert len(latest) == 12
    compared = latest[latest["bench_id"] == "compare-1"]
    assert compared["label"].tolist() == [
        "demo-mlp · fp32 · eager · offline · b8", "demo-mlp · fp32 · onnxruntime · offline · b8",
        "demo-mlp · fp32 · onnxruntime-int8 · offline · b8",
        "demo-mlp · int8 · eager · offline · b8", "demo-mlp · pruned · eager · offline · b8"]
    assert "demo-mlp · fp32 · offline · b1" in latest["label"].tolist()  # the sweep: no engine

    percentiles = view.figures["percentiles"].figure
    assert [t.name for t in percentiles.data] == ["p50", "p90", "p95", "p99"]
    assert list(percentiles.data[0].x)[0] == "demo-mlp · fp32 · offline · b1"
    np.testing.assert_allclose(percentiles.data[3].y, latest["p99_ms"])
    cdf = view.figures["cdf"].figure
    assert len(cdf.data) == 12
    np.testing.assert_allclose(cdf.data[0].x, latest["cdf_ms"].iloc[0])
    assert cdf.data[0].y[0] == 0 and cdf.data[0].y[-1] == 1 and len(cdf.data[0].y) == 101
    tradeoff = view.figures["tradeoff"].figure
    assert [t.name for t in tradeoff.data][:3] == ["demo-mlp · fp32 · eager · offline",
                                                   "demo-mlp · fp32 · endpoint · server",
                                                   "demo-mlp · fp32 · offline"]
    sweep = latest[(latest["bench_id"] == "sweep-1")]
    np.testing.assert_allclose(tradeoff.data[2].y, sweep.sort_values("batch_size")["throughput"])

    comparison = view.comparison()
    assert comparison["variant"].tolist() == ["fp32", "fp32", "fp32", "int8", "pruned"]
    assert comparison["engine"].tolist() == ["eager", "onnxruntime", "onnxruntime-int8",
                                             "eager", "eager"]
    # offline: speed-up is throughput over the first variant's eager throughput
    np.testing.assert_allclose(comparison["speedup"],
                               comparison["throughput"] / comparison["throughput"].iloc[0])
    assert comparison["parity_ok"].tolist() == [True, True, False, True, True]
    assert comparison["note"].iloc[2].startswith("parity failed")
    engines = view.figures["engines"].figure
    assert [t.name for t in engines.data] == ["fp32 · eager", "fp32 · onnxruntime",
                                              "fp32 · onnxruntime-int8", "int8 · eager",
                                              "pruned · eager"]
    np.testing.assert_allclose([t.y[0] for t in engines.data], comparison["speedup"])
    assert engines.data[2].marker.pattern.shape == ("x",)  # parity failed: hatched, and said
    assert engines.data[2].text[0].endswith("parity failed")
    compression = view.figures["compression"].figure
    assert [a.text for a in compression.layout.annotations] == [
        "size (MB)", "p50 latency (ms)", "samples/s", "accuracy"]
    assert list(compression.data[0].x)[1] == "fp32 · onnxruntime"
    np.testing.assert_allclose(compression.data[0].y, [1.6, 1.7, 0.5, 0.45, 0.9])
    np.testing.assert_allclose(compression.data[3].y, [0.91, 0.91, 0.62, 0.90, 0.88])
    heading, pick = (w.value for w in view.compression.children[:2])
    assert "Engines compared &middot; demo-mlp" in heading
    # The parity failure is faster but not picked: onnxruntime fp32 is.
    assert pick.startswith("<p class='workbench-pick'>Fastest: <b>onnxruntime</b> (fp32) for "
                           "offline at batch 8 (2.6x fp32 on eager")

    served = view.served()
    assert served["qps"].tolist() == [100.0, 400.0, 800.0]
    line = view.figures["served"].figure
    assert [t.name for t in line.data] == ["p50", "p90", "p99"]
    np.testing.assert_allclose(line.data[2].y, served["p99_ms"])
    assert line.layout.xaxis.title.text == "offered load (requests/s)"
    assert "Served endpoints under load" in view.endpoints.children[0].value


def test_inference_model_picker_narrows_everything(results_lake):
    view = wb.widgets.InferenceResults(results_lake)
    everything = view.figures
    view.model_picker.value = "tiny-transformer"
    assert len(view.latest()) == 1 and len(view.figures["cdf"].figure.data) == 1
    assert not {"engines", "compression", "served"} & set(view.figures)
    assert "wb.bench.compare(model, x, engines=" in view.compression.children[0].value
    assert ".save(lake)" in view.compression.children[0].value
    assert "wb.infer.serve(model, example=x)" in view.endpoints.children[0].value
    assert "tiny-transformer" in view.results.value and "demo-mlp" not in view.results.value
    view.model_picker.value = "All models"
    assert view.figures is everything


def test_inference_results_on_a_lake_written_before_engines(tmp_path):
    """`_bench` rows without the engine columns (a lake from before wb.bench.compare): read as
    run on eager, unchecked, with the int8 note derived."""
    from dashboard_lake import bench_row

    rows = pd.DataFrame([bench_row("old", 1, "m", v, 8, p50, size_mb=s, metric=a, seed=i)
                         for i, (v, p50, s, a) in enumerate([("fp32", 2.0, 1.6, 0.9),
                                                             ("int8", 9.0, 0.4, 0.89)])])
    rows = rows.drop(columns=["engine", "peak_memory_mb", "max_abs_diff", "max_rel_diff",
                              "parity_ok", "note"])
    lake = wb.Lake(tmp_path / "lake")
    lake.record("_bench", rows)
    view = wb.widgets.InferenceResults(lake)
    comparison = view.comparison()
    assert comparison["engine"].tolist() == ["eager", "eager"]
    assert comparison["parity_ok"].isna().all()
    assert "reference kernel" in comparison["note"].iloc[1]
    assert "<b>eager</b> (fp32) for offline at batch 8" in view.compression.children[1].value
    assert "served" not in view.figures


def test_lake_health(lake, tmp_path):
    """On a lake with an ingested table (two quarantined rows) and a results table."""
    src = tmp_path / "people.csv"
    src.write_text("id,name\n1,ann\n2,bob,extra\n3\n4,dan\n")
    lake.ingest(src, "people", progress=False)
    lake.ingest(src, "people", progress=False)  # a second version, the same two bad lines
    lake.record("_runs_note", pd.DataFrame({"x": [1.0]}))
    lake.record("scores", pd.DataFrame({"x": [1.0, 2.0]}))
    view = wb.widgets.LakeHealth(lake)
    assert not view.empty
    assert view.tables["name"].tolist() == ["people", "scores"]  # no results table
    assert "2 tables &middot; 6 rows" in view.summary.value
    assert "4 rows quarantined" in view.summary.value

    rows = view.rows_chart.figure.data
    assert list(rows[0].x) == ["people", "scores"] and list(rows[0].y) == [4, 2]
    assert list(rows[1].y) == [4, 0] and rows[1].name == "rows quarantined"
    assert view.rows_chart.figure.layout.yaxis.title.text == "rows (log scale)"
    assert sorted(view.reasons["reason"]) == ["expected 2 fields, got 1",
                                              "expected 2 fields, got 3"]
    assert view.reasons["rows"].tolist() == [2, 2]
    (people,) = view.quarantine_chart.figure.data
    assert people.name == "people" and sorted(people.y) == [2, 2]
    versions = {t.name: list(t.customdata) for t in view.versions_chart.figure.data}
    assert sorted(v[0] for v in versions["people"]) == [0, 1]
    assert "people v0: CREATE TABLE, 2 rows written" in [v[1] for v in versions["people"]]
    assert view.browser.selected == "people"  # the LakeBrowser below, for one table
    assert [name for _, name in view.browser.table_picker.options] == ["people", "scores"]
    shown = view.heading.value + view.table_list.value + view.browser.title.value
    assert "people" in shown and "_runs_note" not in shown
    assert lake.uri not in shown and str(tmp_path) not in shown  # no server path


def test_lake_health_says_why_a_table_is_unreadable_in_one_sentence(lake, monkeypatch):
    lake.record("scores", pd.DataFrame({"x": [1.0]}))
    lake.record("broken", pd.DataFrame({"x": [1.0]}))
    tables = lake.tables()
    tables.loc[tables["name"] == "broken", "error"] = (
        f"DeltaError: cannot open {lake.uri}/broken/_delta_log. Check the file.\n"
        "Traceback (most recent call last):\n  File x.py")
    monkeypatch.setattr(type(lake), "tables", lambda self: tables)
    view = wb.widgets.LakeHealth(lake)
    listing = view.table_list.value
    assert "DeltaError: cannot open lake/broken/_delta_log." in listing
    assert "Traceback" not in listing and "Check the file" not in listing
    assert lake.uri not in listing


def test_server_results_at_two_loads_are_both_shown(tmp_path):
    from dashboard_lake import bench_row

    from workbench.bench.records import bench_table

    rows = [dict(bench_row("srv", m, "demo-mlp", "fp32", 1, p50, seed=m), scenario="server",
                 qps=float(qps)) for m, (qps, p50) in enumerate([(100, 2.0), (400, 6.0)])]
    lake = wb.Lake(tmp_path / "lake")
    lake.record("_bench", bench_table(rows))
    view = wb.widgets.InferenceResults(lake)
    assert view.latest()["qps"].tolist() == [100.0, 400.0]
    assert list(view.figures["percentiles"].figure.data[0].x) == [
        "demo-mlp · fp32 · server · b1 · 100 qps", "demo-mlp · fp32 · server · b1 · 400 qps"]
    (curve,) = view.figures["tradeoff"].figure.data  # one line through both loads
    assert list(curve.y) == view.latest()["throughput"].tolist()


def widget_tree(widget) -> list:
    """``widget`` and every widget under it (its children, theirs, ...)."""
    return [widget, *(w for child in getattr(widget, "children", ()) for w in widget_tree(child))]


@pytest.mark.parametrize("view_class", ["InferenceResults", "TrainingRuns", "LakeHealth"])
def test_dashboard_charts_are_plotly_outputs_not_figure_widgets(results_lake, view_class):
    """No chart ships plotly.js in its widget state: each is an Output holding one plotly
    mimetype output (drawn by the page's one plotly.js), with its figure's data in it."""
    import json

    import anywidget
    import ipywidgets
    import plotly.graph_objects as go

    from workbench.widgets.figure_view import PLOTLY_JSON, FigureView

    view = getattr(wb.widgets, view_class)(results_lake)
    tree = widget_tree(view)
    assert not [w for w in tree if isinstance(w, (go.FigureWidget, anywidget.AnyWidget))]
    charts = [w for w in tree if isinstance(w, ipywidgets.Output)]
    assert charts and all(isinstance(c, FigureView) for c in charts)
    for chart in charts:
        (output,) = chart.outputs
        assert output["output_type"] == "display_data"
        shown = output["data"][PLOTLY_JSON]  # what the page draws: the figure's JSON
        drawn = json.loads(chart.figure.to_json())
        assert shown["data"] == drawn["data"]
        assert shown["layout"] == drawn["layout"] and shown["layout"]["height"] >= 260
        assert output["data"]["text/plain"].startswith("<plotly figure: ")
    # Every chart has data but the browser's quarantine chart: `scores` quarantined no row.
    empty = [c for c in charts if not c.figure.data]
    assert empty == ([view.browser.quarantine_chart] if view_class == "LakeHealth" else [])
    if view_class == "InferenceResults":
        titles = [c.figure.layout.title.text for c in charts]
        assert titles == ["Latency percentiles", "Latency CDF",
                          "Throughput against tail latency", "Speed-up of each engine over eager",
                          "demo-mlp: each variant and engine, offline at batch size 8",
                          "Latency against the offered load"]


# -- the ops dashboard ---------------------------------------------------------------------------

def ops_lake(path, **tables):
    from ops_lake import add_ops_tables

    lake = wb.Lake(path)
    add_ops_tables(lake, **tables)
    return lake


def test_ops_board_shows_open_alerts_and_draws_every_table(tmp_path):
    from ops_lake import alerts_table, drift_table, runs_table

    view = wb.widgets.OpsBoard(ops_lake(tmp_path / "lake"))
    assert not view.empty and "2 alerts open" in view.heading.value
    assert list(view.open_alerts["rule"]) == ["stall", "nonfinite_loss"]  # critical, latest
    assert len(view.alerts) == len(alerts_table()) and len(view.drift) == len(drift_table())
    assert set(view.figures) == {"timeline", "drift", "utilisation"}
    table = view.body.children[1].value
    assert "stall on rank 0 of run-wide-0001" in table and "2026-05-04 09:10:00" in table
    assert "throughput_drop" not in table  # resolved: on the timeline, not open
    timeline = view.figures["timeline"].figure
    assert sum(len(t.y) for t in timeline.data) == 4 and "events@v3" in timeline.data[0].y
    assert list(view.figures["drift"].figure.data[0].y)[0] == "events · amount"
    r = view.figures["utilisation"].figure.data[2]
    np.testing.assert_allclose(r.y, runs_table()["utilisation"].dropna())
    headings = [w.value for w in view.body.children[::2]]
    assert headings == ["<h4>Open alerts</h4>", "<h4>Alert timeline</h4>",
                        "<h4>Drift by table and version</h4>", "<h4>Utilisation R per run</h4>"]


def test_ops_board_says_what_is_missing_without_a_traceback(tmp_path):
    # Only runs, from before R was recorded: a sentence for each section.
    lake = wb.Lake(tmp_path / "lake")
    lake.record("_runs", pd.DataFrame({"run_id": ["r0"], "name": ["old"],
                                       "started": [pd.Timestamp("2026-05-04", tz="UTC")]}))
    view = wb.widgets.OpsBoard(lake)
    assert not view.empty and view.figures == {} and view.alerts is None
    texts = " ".join(w.value for w in view.body.children)
    assert "No alert fires now" in texts and "No alert has been recorded" in texts
    assert "No drift report yet" in texts and "No run has recorded its utilisation" in texts
    # Alerts and runs, no drift: that section alone says so.
    view = wb.widgets.OpsBoard(ops_lake(tmp_path / "two", drift=False))
    assert set(view.figures) == {"timeline", "utilisation"}
    assert "No drift report yet" in view.body.children[5].value
    # No table of its own (a data table only), no lake at all: the dashboards' empty state.
    only_data = wb.Lake(tmp_path / "data")
    only_data.record("scores", pd.DataFrame({"x": [1]}))
    empty = wb.widgets.OpsBoard(only_data)
    assert empty.empty and "no alerts, drift reports or runs yet" in empty.message.value
    none = wb.widgets.OpsBoard(tmp_path / "no-lake-here")
    assert none.empty and "There is no lake <code>no-lake-here</code> yet" in none.message.value
    assert not (tmp_path / "no-lake-here").exists()


@pytest.mark.parametrize("tables", ["all", "none"])
def test_the_ops_notebook_runs_on_a_lake_with_and_without_its_tables(tmp_path, monkeypatch,
                                                                      tables):
    """The dashboard as Voila runs it: its cells in a kernel, on `WORKBENCH_LAKE`."""
    from pathlib import Path

    import nbclient
    import nbformat

    path = tmp_path / "lake"
    if tables == "all":
        ops_lake(path)
    monkeypatch.setenv("WORKBENCH_LAKE", str(path))
    notebook = Path(__file__).parent.parent / "notebooks" / "dashboards" / "ops.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    assert all(not cell.get("outputs") for cell in nb.cells)  # committed without outputs
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    outputs = [out for cell in nb.cells for out in cell.get("outputs", [])]
    assert not [out for out in outputs if out["output_type"] == "error"]
    (view,) = [out for out in outputs if out["output_type"] == "execute_result"]
    assert "application/vnd.jupyter.widget-view+json" in view["data"]
    assert view["data"]["text/plain"].startswith("OpsBoard(")
