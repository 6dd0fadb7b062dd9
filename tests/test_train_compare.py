"""Runs side by side: `wb.train.compare(runs)` on a lake written by the writers training uses
(`dashboard_lake`), its table against each run's summary, its series against `series.py`, its
errors, its display, the overlay chart and the training dashboard's overlay."""

from __future__ import annotations

import shutil
from types import SimpleNamespace
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from dashboard_lake import RUN_NARROW, RUN_WIDE, build_results_lake, run_metrics, save

import workbench as wb
from workbench import display
from workbench.charts.runs import runs_overlay
from workbench.train.comparison import SERIES_COLUMNS, CompareRunsError
from workbench.train.series import metric_series, step_time_percentiles, throughput_series
from workbench.train.summary import summarize

RUN_AGAIN = "run-wide-0003"  # a second run named mlp-wide, half an hour after the first


@pytest.fixture
def lake(tmp_path):
    lake = wb.Lake(build_results_lake(tmp_path / "lake"))
    save(lake, RUN_AGAIN, "mlp-wide", "succeeded",
         run_metrics(ranks=2, steps=40, accuracy=True, seed=5), hours=0.5)
    return lake


def records(lake, run_id):
    stored = lake.table("_run_metrics").to_pandas()
    return stored[stored["run_id"] == run_id].drop(columns="run_id")


def test_the_table_holds_each_runs_summary_and_its_ratio_to_the_first(lake):
    result = wb.train.compare([RUN_WIDE, RUN_NARROW, RUN_AGAIN], lake)
    table = result.table.set_index("run_id")
    assert list(table.index) == [RUN_WIDE, RUN_NARROW, RUN_AGAIN]  # in the order given
    assert list(table["status"]) == ["succeeded", "failed", "succeeded"]
    for run_id in table.index:
        summary = summarize(records(lake, run_id))
        row = table.loc[run_id]
        assert row["samples_per_s"] == pytest.approx(summary.samples_per_s)
        assert row["step_p50_s"] == pytest.approx(summary.step_p50_s)
        assert row["step_p99_s"] == pytest.approx(summary.step_p99_s)
        assert row["data_wait_share"] == pytest.approx(summary.data_wait_share)
        assert row["steps"] == summary.steps
        last = records(lake, run_id).sort_values("step").groupby("rank")["loss"].last()
        assert row["final_loss"] == pytest.approx(last.mean())  # each rank's last, averaged
    first = table.loc[RUN_WIDE]
    for name in ("duration_s", "samples_per_s", "step_p50_s", "step_p99_s", "data_wait_share",
                 "final_loss"):
        np.testing.assert_allclose(table[f"{name}_vs_first"], table[name] / first[name])
        assert first[f"{name}_vs_first"] == 1.0
    assert table.loc[RUN_NARROW, "samples_per_s_vs_first"] < 0.6  # 1 rank against 2


def test_runs_by_unique_prefix_and_the_labels_of_runs_sharing_a_name(lake):
    result = wb.train.compare(["run-narrow", RUN_WIDE, "run-wide-0003"], lake)
    assert result.run_ids == [RUN_NARROW, RUN_WIDE, RUN_AGAIN]
    assert result.labels == ["mlp-narrow", f"mlp-wide · {RUN_WIDE}", f"mlp-wide · {RUN_AGAIN}"]


def test_bad_runs_are_named_with_what_the_lake_has(lake, tmp_path):
    with pytest.raises(CompareRunsError, match=r"run 'nope' is not one of the runs in .*"
                                               r"run-wide-0001, run-narrow-0002"):
        wb.train.compare([RUN_WIDE, "nope"], lake)
    with pytest.raises(CompareRunsError, match="'run-wide' is the start of several"):
        wb.train.compare([RUN_NARROW, "run-wide"], lake)
    with pytest.raises(CompareRunsError, match="at least two runs, got 1"):
        wb.train.compare([RUN_WIDE], lake)
    with pytest.raises(CompareRunsError, match="a list of Jobs or run ids"):
        wb.train.compare(RUN_WIDE, lake)
    with pytest.raises(CompareRunsError, match="given twice"):
        wb.train.compare([RUN_WIDE, "run-wide-0001"], lake)
    with pytest.raises(CompareRunsError, match="not a int"):
        wb.train.compare([RUN_WIDE, 3], lake)
    with pytest.raises(CompareRunsError, match="has no _runs table"):
        wb.train.compare([RUN_WIDE, RUN_NARROW], tmp_path / "empty")
    assert isinstance(CompareRunsError("x"), ValueError)


def test_jobs_that_are_running_or_unrecorded_are_refused(lake, tmp_path):
    running = SimpleNamespace(run_dir=tmp_path / "r1", status="running", recorded=None)
    with pytest.raises(CompareRunsError, match="'r1' is still running.*job.wait"):
        wb.train.compare([RUN_WIDE, running], lake)
    unrecorded = SimpleNamespace(run_dir=tmp_path / "r2", status="succeeded", recorded=None)
    with pytest.raises(CompareRunsError, match="'r2' was not recorded in a lake"):
        wb.train.compare([RUN_WIDE, unrecorded], lake)


def test_the_default_lake_is_read_when_none_is_given(lake, monkeypatch):
    monkeypatch.setenv("WORKBENCH_LAKE", lake.uri)
    assert wb.train.compare([RUN_WIDE, RUN_NARROW]).run_ids == [RUN_WIDE, RUN_NARROW]


def test_series_are_series_py_lines_one_per_run(lake):
    result = wb.train.compare([RUN_WIDE, RUN_NARROW], lake)
    wide, narrow = records(lake, RUN_WIDE), records(lake, RUN_NARROW)

    throughput = result.series("throughput")
    assert tuple(throughput.columns) == SERIES_COLUMNS
    assert list(throughput["run"].unique()) == ["mlp-wide", "mlp-narrow"]
    expected = throughput_series(wide)
    expected = expected[expected["series"] == "total"]  # two ranks: their sum
    got = throughput[throughput["run_id"] == RUN_WIDE]
    np.testing.assert_allclose(got["value"], expected["value"])
    np.testing.assert_allclose(got["time"], expected["time"])
    one_rank = throughput_series(narrow)  # one rank: its line is the total
    np.testing.assert_allclose(throughput[throughput["run_id"] == RUN_NARROW]["value"],
                               one_rank["value"])

    p99 = result.series("step_p99")
    expected = step_time_percentiles(wide)
    np.testing.assert_allclose(p99[p99["run_id"] == RUN_WIDE]["value"],
                               expected[expected["series"] == "p99"]["value"])

    loss = result.series("loss")
    by_step = metric_series(wide, "loss").groupby("step")["value"].mean()
    got = loss[loss["run_id"] == RUN_WIDE]
    np.testing.assert_array_equal(got["step"], by_step.index)
    np.testing.assert_allclose(got["value"], by_step.to_numpy())
    accuracy = result.series("accuracy")  # only the wide run logged it
    assert set(accuracy["run_id"]) == {RUN_WIDE}
    assert result.series("loss") is loss  # computed once
    with pytest.raises(CompareRunsError, match=r"no series 'lr'.*'throughput'.*'loss'"):
        result.series("lr")


def test_repr_and_html_read_nothing(lake):
    result = wb.train.compare([RUN_WIDE, RUN_NARROW], lake)
    shutil.rmtree(lake.uri)  # nothing to read any more: what is shown was read by compare
    text = repr(result)
    assert text.startswith("RunComparison(2 runs, baseline 'run-wide-0001')")
    assert "samples_per_s_vs_first" in text and "mlp-narrow" in text
    page = result._repr_html_()
    assert "<table" in page and "final_loss_vs_first" in page
    assert len(result.series("throughput"))  # the records are held too


def test_it_is_shown_through_the_display_hook(lake):
    result = wb.train.compare([RUN_WIDE, RUN_NARROW], lake)
    assert display.find(result) is not None
    with mock.patch("IPython.display.display") as shown:
        result._ipython_display_()
    view = shown.call_args.args[0]
    assert isinstance(view, wb.widgets.RunComparisonView) and view.comparison is result
    widget = result.widget()
    assert list(widget.figures) == ["throughput", "loss", "step_p99"]
    assert [f.figure.layout.title.text for f in widget.figures.values()] == [
        "Throughput · 2 runs", "loss · 2 runs", "Step time p99 · 2 runs"]
    assert widget.charts.children == tuple(widget.figures.values())
    ratio = wb.charts.format.number(result.table.at[1, "samples_per_s_vs_first"])
    assert f"<b>mlp-narrow</b>: throughput {ratio}×" in widget.verdicts.value
    assert "throughput × first" in widget.stats.value
    assert "throughput (samples/s)" in widget.stats.value


def test_the_overlay_chart_draws_a_line_per_run_in_its_unit(lake):
    result = wb.train.compare([RUN_WIDE, RUN_NARROW], lake)
    figure = runs_overlay(result.series("throughput"), "throughput", runs=result.labels)
    assert [t.name for t in figure.data] == ["mlp-wide", "mlp-narrow"]
    assert len({t.line.color for t in figure.data}) == 2
    assert figure.layout.yaxis.title.text == "throughput (samples/s)"
    assert figure.layout.xaxis.title.text == "step" and figure.layout.showlegend
    p99 = result.series("step_p99")
    figure = runs_overlay(p99, "step_p99", x="time", runs=result.labels)
    assert figure.layout.yaxis.title.text == "step p99 (ms)"
    assert figure.layout.xaxis.title.text == "elapsed (s)"
    np.testing.assert_allclose(figure.data[0].y, p99[p99["run_id"] == RUN_WIDE]["value"] * 1e3)
    accuracy = runs_overlay(result.series("accuracy"), "accuracy", runs=result.labels)
    assert [len(t.x) for t in accuracy.data] == [60, 0]  # a run without it keeps its colour
    assert accuracy.layout.yaxis.title.text == "accuracy %"


def test_the_training_dashboard_overlays_picked_runs(lake):
    view = wb.widgets.TrainingRuns(lake)
    assert view.run_id == RUN_AGAIN  # the newest
    assert [v for _, v in view.compare_picker.options] == [RUN_WIDE, RUN_NARROW]
    assert view.comparison_view is None and "Pick runs to compare" in (
        view.overlay.children[0].value)
    view.compare_with(RUN_NARROW)
    overlay = view.comparison_view
    assert view.overlay.children == (overlay,)
    assert overlay.comparison.run_ids == [RUN_AGAIN, RUN_NARROW]
    assert [t.name for t in overlay.figures["throughput"].figure.data] == ["mlp-wide", "mlp-narrow"]
    expected = wb.train.compare([RUN_AGAIN, RUN_NARROW], lake)
    pd.testing.assert_frame_equal(overlay.comparison.table, expected.table)
    view.compare_with(RUN_NARROW, RUN_WIDE)
    assert len(view.comparison_view.figures["loss"].figure.data) == 3
    view.compare_with(RUN_NARROW)
    assert view.comparison_view is overlay  # built once, kept
    view.select(RUN_NARROW)  # the picked run is not offered to compare with itself
    assert [v for _, v in view.compare_picker.options] == [RUN_AGAIN, RUN_WIDE]
    assert view.compare_picker.value == () and view.comparison_view is None
    with pytest.raises(KeyError, match="cannot compare run 'run-narrow-0002' with"):
        view.compare_with(RUN_NARROW)


def steps_of(n_steps: int, batch: int) -> None:
    import torch

    run = wb.train.current()
    model = torch.nn.Linear(4, 1)
    for x in run.steps([torch.randn(batch, 4) for _ in range(n_steps)]):
        run.log(loss=model(x).pow(2).mean().item())


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_jobs_are_compared_by_their_run_ids(tmp_path):
    lake = wb.Lake(tmp_path / "lake")
    jobs = [wb.launch(steps_of, 8, batch, nprocs=1, run_dir=tmp_path / name, runs_lake=lake)
            for name, batch in (("small", 4), ("large", 16))]
    for job in jobs:
        job.wait(timeout=60)
    result = wb.train.compare(jobs, lake)
    assert result.run_ids == ["small", "large"]
    assert result.table.loc[1, "samples_per_s"] == pytest.approx(jobs[1].summary().samples_per_s)
