"""A training run's step-time percentiles (p50, p90, p99) over time, in ms."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.charts.format import describe
from workbench.charts.lines import line_figure, lines

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go


def step_time(series: pd.DataFrame, x: str = "time", names: tuple[str, ...] = ()) -> go.Figure:
    """A line per percentile of ``series`` (a long table of step seconds, columns series, step,
    time, value, as `wb.train.series.step_time_percentiles` or `run_timeline` return), in ms
    against ``x`` ("step" or "time"). ``names``: lines drawn even without rows."""
    column = describe("step_s")  # seconds stored, ms shown
    yaxis = {**column.axis(), "rangemode": "tozero"}
    return line_figure(lines(series, yaxis, x=x, factor=column.factor, unit=column.unit,
                                   names=names), yaxis, x)
