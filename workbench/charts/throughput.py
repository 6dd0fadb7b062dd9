"""A training run's total samples per second over time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.charts.format import ELAPSED, SAMPLES_PER_S, panel_figure

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go


def throughput(series: pd.DataFrame) -> go.Figure:
    """``series`` (columns time in unix seconds, samples_per_s; as `wb.train.runs.throughput`
    returns) as a line over the seconds since its first point. No rows: an empty chart."""
    import plotly.graph_objects as go

    times = series["time"].to_numpy(float)
    line = go.Scatter(x=times - (times[0] if len(times) else 0.0),
                      y=series["samples_per_s"].to_numpy(float), mode="lines",
                      hovertemplate=f"%{{x:.1f}} s: %{{y:,.4g}} {SAMPLES_PER_S}<extra></extra>")
    return panel_figure([line], xaxis_title=ELAPSED, yaxis_title=SAMPLES_PER_S,
                        yaxis_rangemode="tozero")
