"""The training charts on small long tables: their lines, axis titles in the product's units,
and the tick and hover formats a person reads (plain decimals, never an exponent)."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.charts import loss, throughput
from workbench.charts.data_wait import data_wait
from workbench.charts.gpu import gpu
from workbench.charts.lines import PALETTE
from workbench.charts.step_time import step_time
from workbench.train.series import run_timeline


def table(rows: dict[str, list[float]], step: bool = True) -> pd.DataFrame:
    """A long series table: each series with the same points at times 0.5, 1.5, ..."""
    parts = [pd.DataFrame({"series": name, "step": range(len(values)) if step else float("nan"),
                           "time": [i + 0.5 for i in range(len(values))], "value": values})
             for name, values in rows.items()]
    return pd.concat(parts, ignore_index=True)


def test_throughput_per_rank_and_total_total_first_in_samples_per_s():
    fig = throughput(table({"rank 0": [10.0, 12.0], "rank 1": [20.0, 2e7], "total": [30, 1e7]}),
                     x="step")
    assert [t.name for t in fig.data] == ["total", "rank 0", "rank 1"]
    assert fig.layout.yaxis.title.text == "samples/s" and fig.layout.xaxis.title.text == "step"
    assert fig.layout.yaxis.tickformat == ",.6~r" and fig.layout.yaxis.exponentformat == "none"
    assert fig.data[0].hovertemplate == "total, step %{x:,}: %{y:,.6~r} samples/s<extra></extra>"
    assert fig.data[0].line.width == 3 and fig.data[2].line.color == PALETTE[1]
    assert list(fig.data[2].y) == [20.0, 2e7] and fig.layout.showlegend
    one = throughput(table({"rank 0": [5.0], "total": [5.0]}))  # one rank: drawn once
    assert [t.name for t in one.data] == ["total"]
    assert one.layout.xaxis.title.text == "elapsed (s)"
    assert "%{x:,.1f} s" in one.data[0].hovertemplate
    live = throughput(table({"rank 0": [1.0]}).iloc[0:0], names=("rank 0", "rank 1"))
    assert [(t.name, len(t.x)) for t in live.data] == [("rank 0", 0), ("rank 1", 0)]


def test_step_time_is_drawn_in_ms():
    fig = step_time(table({"p50": [0.0125, 0.02], "p90": [0.03, 0.04], "p99": [0.05, 1.5]}))
    assert [t.name for t in fig.data] == ["p50", "p90", "p99"]
    assert list(fig.data[0].y) == pytest.approx([12.5, 20.0])  # seconds stored, ms shown
    assert fig.layout.yaxis.title.text == "step time (ms)"
    assert fig.data[2].hovertemplate == "p99, %{x:,.1f} s: %{y:,.6~r} ms<extra></extra>"
    assert fig.layout.yaxis.tickformat == ",.6~r" and fig.layout.yaxis.rangemode == "tozero"


def test_data_wait_is_a_percentage_axis_of_fractions():
    fig = data_wait(table({"rank 0": [0.5, 0.25], "rank 1": [0.125, 0.0]}), x="step")
    assert [t.name for t in fig.data] == ["rank 0", "rank 1"]
    assert list(fig.data[0].y) == [0.5, 0.25]
    assert fig.layout.yaxis.title.text == "data wait %"
    assert fig.layout.yaxis.tickformat == fig.layout.yaxis.hoverformat == ",.6~%"
    assert fig.data[1].hovertemplate == "rank 1, step %{x:,}: %{y:,.6~%}<extra></extra>"


def test_gpu_util_solid_memory_dotted_per_gpu():
    fig = gpu(table({"GPU 0 util %": [40.0, 90.0], "GPU 0 memory %": [25.0, 50.0]}, step=False))
    util, memory = fig.data
    assert list(memory.y) == [0.25, 0.5] and list(util.y) == [0.4, 0.9]  # percent as fractions
    assert util.line.dash == "solid" and memory.line.dash == "dot"
    assert util.legendgroup == memory.legendgroup == "GPU 0" and util.line.color == PALETTE[0]
    assert fig.layout.yaxis.title.text == "GPU util, memory %"
    assert fig.layout.yaxis.tickformat == ",.6~%"
    assert fig.layout.xaxis.title.text == "elapsed (s)"


def test_loss_from_records_or_its_long_table_and_a_fraction_metric_in_percent():
    records = pd.DataFrame({"rank": [0, 0, 1], "step": [0, 1, 0], "time": [1.0, 2.0, 1.5],
                            "loss": [2.0, 1.0, 3.0], "accuracy": [0.5, 0.75, 0.25]})
    fig = loss(records, x="time")
    assert [t.name for t in fig.data] == ["rank 0", "rank 1"]
    assert list(fig.data[0].x) == [0.0, 1.0] and list(fig.data[0].y) == [2.0, 1.0]
    assert fig.layout.yaxis.title.text == "loss" and fig.layout.xaxis.title.text == "elapsed (s)"
    assert fig.data[0].hovertemplate == "rank 0, %{x:,.1f} s: %{y:,.6~r}<extra></extra>"
    accuracy = loss(records, "accuracy")
    assert accuracy.layout.yaxis.title.text == "accuracy %"
    assert accuracy.layout.yaxis.tickformat == ",.6~%"
    same = loss(table({"rank 0": [2.0, 1.0]}), "loss")
    assert list(same.data[0].y) == [2.0, 1.0]


def test_a_finished_runs_timeline_draws_with_the_same_charts():
    records = pd.DataFrame({"rank": [0, 0, 1, 1], "step": [0, 1, 0, 1],
                            "time": [1.0, 2.0, 2.0, 4.0], "samples": [10.0] * 4,
                            "step_s": [1.0, 1.0, 2.0, 2.0], "data_s": [0.5, 0.0, 0.5, 0.5]})
    timeline = run_timeline(records)
    rate = throughput(timeline["throughput"])
    assert [t.name for t in rate.data] == ["total", "rank 0", "rank 1"]
    assert set(timeline["step_time"]["series"]) == {"p50", "p90", "p99"}
    share = data_wait(timeline["data_wait"])
    assert [t.name for t in share.data] == ["all ranks"]
    assert min(share.data[0].y) > 0 and max(share.data[0].y) <= 1
