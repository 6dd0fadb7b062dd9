"""Latency percentiles of benchmark results: p50, p90, p95 and p99 side by side per result."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.charts.format import UNITS, latency_ms, panel_figure

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

PERCENTILES = ("p50", "p90", "p95", "p99")


def latency_percentiles(rows: pd.DataFrame) -> go.Figure:
    """A group of bars per result (rows of `_bench` with a ``label``), one bar per percentile,
    the latency written in ms on hover."""
    import plotly.graph_objects as go

    bars = [go.Bar(x=rows["label"].tolist(), y=rows[f"{p}_ms"].to_numpy(float), name=p,
                   marker_line_width=0,
                   customdata=[latency_ms(v / 1e3) for v in rows[f"{p}_ms"]],
                   hovertemplate=f"%{{x}}: {p} %{{customdata}}<extra></extra>")
            for p in PERCENTILES]
    return panel_figure(bars, barmode="group", showlegend=True,
                        yaxis_title=f"latency ({UNITS['latency']})",
                        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom"})
