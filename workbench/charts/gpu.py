"""GPU utilisation and memory use over time, a solid and a dotted line per GPU."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.charts.format import axis
from workbench.charts.lines import line_figure, lines

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go


def gpu(series: pd.DataFrame, names: tuple[str, ...] = ()) -> go.Figure:
    """Each GPU's utilisation and memory use (``series``: a long table in percent, series "GPU i
    util %" and "GPU i memory %", as `wb.train.series.gpu_series` returns) on a percentage axis
    against the seconds since the run started. ``names``: lines drawn even without rows."""
    yaxis = {**axis("GPU util, memory", "%"), "rangemode": "tozero"}
    return line_figure(lines(series, yaxis, x="time", factor=0.01, names=names), yaxis, "time")
