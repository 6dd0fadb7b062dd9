"""Throughput against tail latency: what a larger batch or a higher load buys and costs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.charts.format import SAMPLES_PER_S, UNITS, latency_ms, panel_figure, throughput

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go


def throughput_latency(rows: pd.DataFrame) -> go.Figure:
    """Throughput (samples/s) against p99 latency (ms): one line per ``series`` of `_bench`
    rows (model · variant · scenario), a point per batch size and offered load, in order."""
    import plotly.graph_objects as go

    lines = []
    for name, group in rows.groupby("series", sort=True):
        group = group.sort_values(["batch_size", "qps"])
        hover = [f"batch {b}: {throughput(t)}, p99 {latency_ms(p99 / 1e3)}, "
                 f"p50 {latency_ms(p50 / 1e3)}"
                 for b, t, p99, p50 in zip(group["batch_size"], group["throughput"],
                                           group["p99_ms"], group["p50_ms"])]
        lines.append(go.Scatter(
            x=group["p99_ms"].to_numpy(float), y=group["throughput"].to_numpy(float),
            mode="lines+markers+text", name=name, marker={"size": 8},
            text=[f"b{b}" for b in group["batch_size"]], textposition="top left",
            customdata=hover, hovertemplate=f"%{{customdata}}<extra>{name}</extra>"))
    return panel_figure(lines, xaxis_title=f"p99 latency ({UNITS['latency']})",
                        yaxis_title=SAMPLES_PER_S, yaxis_rangemode="tozero",
                        showlegend=len(lines) > 1,
                        legend={"orientation": "h", "y": -0.3, "yanchor": "top"})
