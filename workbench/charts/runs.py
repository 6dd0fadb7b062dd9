"""Training runs overlaid: one line per run of one number (throughput, a step-time percentile, a
logged metric such as the loss), so a change that helped shows as one line above the other."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from workbench.charts.format import Column, describe
from workbench.charts.lines import PALETTE, line_figure, lines

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

#: The stored column each overlay metric is in (its unit and the factor to it); any other
#: metric is a logged one, described by its own name.
METRIC_COLUMNS = {"throughput": "samples_per_s", "step_p50": "step_p50_s",
                  "step_p90": "step_p90_s", "step_p99": "step_p99_s"}


def metric_column(metric: str) -> Column:
    """How an overlay of ``metric`` is labelled: "throughput (samples/s)", "step p99 (ms)",
    "loss"."""
    return describe(METRIC_COLUMNS.get(metric, metric))


def runs_overlay(series: pd.DataFrame, metric: str, *, x: str = "step",
                 runs: Sequence[str] = ()) -> go.Figure:
    """A line per run of ``series`` (columns run, step, time, value; as
    `wb.train.compare(...).series(metric)` returns) against ``x`` ("step" or "time": seconds
    since each run's first record), in ``metric``'s unit. ``runs``: every run's label in order,
    drawn even without rows, so run i has the same colour on every overlay."""
    column = metric_column(metric)
    yaxis = column.axis()
    if metric in METRIC_COLUMNS:
        yaxis["rangemode"] = "tozero"  # rates and times: their size against zero matters
    data = lines(series.rename(columns={"run": "series"}), yaxis, x=x, factor=column.factor,
                 unit=column.unit, names=runs)
    for index, trace in enumerate(data):
        trace.line.color = PALETTE[index % len(PALETTE)]  # by run, not by digits in its name
        trace.line.width = 2.2
    figure = line_figure(data, yaxis, x)
    figure.update_layout(showlegend=True)  # one run's line is still a run's: say which
    return figure
