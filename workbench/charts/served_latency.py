"""A served endpoint's latency under load: p50, p90 and p99 against the offered requests/s, as
an open-loop load generator (Poisson arrivals over HTTP) measured them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.charts.format import UNITS, axis, latency_ms, number, panel_figure
from workbench.charts.lines import FIXED_COLORS
from workbench.charts.rounds import nothing_yet

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

PERCENTILES = ("p50", "p90", "p99")
OFFERED = "offered load (requests/s)"
DASHES = ("solid", "dash", "dot", "dashdot")


def served_latency(rows: pd.DataFrame) -> go.Figure:
    """A line per percentile (p50, p90, p99 in ms) against the offered load, a point per load
    measured: rows with ``qps`` (offered requests/s) and ``p50_ms``, ``p90_ms``, ``p99_ms``,
    and ``series`` naming each endpoint (one dash per endpoint when there are several); the achieved
    ``requests_per_s`` (or ``throughput``) on hover when given. Without rows, the figure says
    so."""
    import plotly.graph_objects as go

    if not len(rows):
        return nothing_yet("No served endpoint measured under load yet")
    several = "series" in rows and rows["series"].nunique() > 1
    groups = rows.groupby("series", sort=False) if several else [("", rows)]
    achieved = "requests_per_s" if "requests_per_s" in rows else "throughput"
    lines = []
    for i, (series, group) in enumerate(groups):
        group = group.sort_values("qps")
        served = group[achieved] if achieved in group else [float("nan")] * len(group)
        for p in PERCENTILES:
            name = f"{series} · {p}" if series else p
            hover = [f"{number(q)}/s offered, {number(r)}/s served: {p} "
                     f"{latency_ms(v / 1e3)}" for q, r, v in zip(group["qps"], served,
                                                                 group[f"{p}_ms"])]
            lines.append(go.Scatter(
                x=group["qps"].to_numpy(float), y=group[f"{p}_ms"].to_numpy(float),
                mode="lines+markers", name=name, legendgroup=str(series),
                line={"color": FIXED_COLORS[p], "dash": DASHES[i % len(DASHES)]},
                customdata=hover, hovertemplate="%{customdata}<extra></extra>"))
    return panel_figure(lines, xaxis=axis(OFFERED), showlegend=True,
                        yaxis={**axis("latency", UNITS["latency"]), "rangemode": "tozero"},
                        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom"})
