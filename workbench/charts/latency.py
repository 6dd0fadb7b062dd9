"""A benchmark's latency distribution: requests per latency bin, and the CDF of each result."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from workbench.charts.format import UNITS, axis, latency_ms, panel_figure

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

LATENCY = f"latency ({UNITS['latency']})"
MARKED = {"p50_ms": 0.50, "p90_ms": 0.90, "p99_ms": 0.99}  # what ``marks`` marks


def latency_histogram(bins: pd.DataFrame) -> go.Figure:
    """Bars of requests per latency bin (columns lo_ms, hi_ms, requests; as
    `bench.records.latency_bins` returns), each as wide as its bin, its range in the
    hover."""
    import plotly.graph_objects as go

    lo, hi = bins["lo_ms"].to_numpy(float), bins["hi_ms"].to_numpy(float)
    ranges = [f"{latency_ms(a / 1e3)} to {latency_ms(b / 1e3)}" for a, b in zip(lo, hi)]
    bars = go.Bar(x=(lo + hi) / 2, y=bins["requests"].to_numpy(), width=hi - lo,
                  marker_line_width=0, name="requests", customdata=ranges,
                  hovertemplate="%{customdata}: %{y:,} requests<extra></extra>")
    return panel_figure([bars], bargap=0, xaxis_title=LATENCY, yaxis_title="requests")


def latency_cdf(rows: pd.DataFrame, *, marks: bool = False) -> go.Figure:
    """One line per result (rows of `_bench`: ``cdf_ms``, the latency at 0, 1, ... 100% of
    requests, and a ``label``); with ``marks``, each result's p50, p90 and p99 are marked and
    written."""
    import plotly.graph_objects as go

    from workbench.bench.records import CDF_QUANTILES

    lines: list[go.Scatter] = [
        go.Scatter(x=np.asarray(row.cdf_ms, dtype=np.float64), y=CDF_QUANTILES, mode="lines",
                   name=row.label, hovertemplate="%{y:.0%} within %{x:,.4~r} ms"
                                                 f"<extra>{row.label}</extra>")
        for row in rows.itertuples(index=False)
        if row.cdf_ms is not None and len(row.cdf_ms)]
    for row in rows.to_dict("records") if marks else []:
        lines.append(go.Scatter(
            x=[row[c] for c in MARKED], y=list(MARKED.values()), mode="markers+text",
            text=[f"{c[:3]} {latency_ms(row[c] / 1e3)}" for c in MARKED],
            textposition="middle right", name="percentiles", marker={"size": 9},
            hoverinfo="text"))
    figure = panel_figure(lines, xaxis_title=LATENCY, showlegend=len(rows) > 1,
                          legend={"orientation": "h", "y": -0.3, "yanchor": "top"})
    return figure.update_layout(yaxis=axis("share of requests", "%") | {"range": [0, 1.02]})
