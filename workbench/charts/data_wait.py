"""The share of a training run's step time spent waiting for data, over time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.charts.format import describe
from workbench.charts.lines import line_figure, lines

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go


def data_wait(series: pd.DataFrame, x: str = "time", names: tuple[str, ...] = ()) -> go.Figure:
    """A line per series of ``series`` (a long table of data time over step time, columns
    series, step, time, value, as `wb.train.series.data_wait_series` or `run_timeline`
    return) on a percentage axis against ``x`` ("step" or "time"). ``names``: lines drawn even
    without rows."""
    yaxis = {**describe("data_wait_share").axis(), "rangemode": "tozero"}
    return line_figure(lines(series, yaxis, x=x, names=names), yaxis, x)
