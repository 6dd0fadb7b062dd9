"""Utilisation R = compute / (compute + transfer) per run: how much of each run's step time
went to computing rather than to waiting for data, host-to-device copies and collectives. The
seconds behind R are stacked under it, so a low R says where the time went."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.charts.format import UNITS, axis, duration, panel_figure, percent
from workbench.charts.rounds import nothing_yet

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

COMPUTE, TRANSFER, R_COLOUR = "#1a7f37", "#e3a008", "#24292f"


def labels(runs: pd.DataFrame) -> list[str]:
    """Each row's label: its run's name (with its id's start when two runs share a name), or
    for per-rank rows (`workbench.train.summary.utilisation`) "rank N" and "all"."""
    if "run_id" not in runs:
        return [f"rank {r}" if str(r) != "all" else "all" for r in runs["rank"]]
    names = runs["name"].astype(str) if "name" in runs else runs["run_id"].astype(str)
    shared = names.duplicated(keep=False)
    return [f"{n} · {str(i)[:8]}" if twice else n
            for n, i, twice in zip(names, runs["run_id"], shared)]


def utilisation(runs: pd.DataFrame) -> go.Figure:
    """Compute and transfer seconds stacked per run (`_runs` rows: run_id, name, started,
    compute_s, transfer_s, utilisation; oldest on the left), with R as a marker on a 0-100%
    axis on the right. Per-rank rows (rank, compute_s, transfer_s, utilisation) draw a bar
    per rank and the "all" row. Runs whose R is unknown (NaN) are left out."""
    import plotly.graph_objects as go

    if "started" in runs:
        runs = runs.sort_values("started", kind="stable")
    runs = runs[runs["utilisation"].notna()]
    if not len(runs):
        return nothing_yet("No run has timed its compute and transfer yet")
    x = labels(runs)
    compute, transfer = (runs[c].to_numpy(float) for c in ("compute_s", "transfer_s"))
    r = runs["utilisation"].to_numpy(float)
    texts = [percent(v) for v in r]
    hover = [f"R {t}: {duration(c)} computing, {duration(w)} moving data"
             for t, c, w in zip(texts, compute, transfer)]
    data = [go.Bar(x=x, y=compute, name="compute", marker={"color": COMPUTE, "line": {
                "width": 0}}, customdata=hover, hovertemplate="%{x}: %{customdata}<extra>"
                                                              "</extra>"),
            go.Bar(x=x, y=transfer, name="transfer (data, copies, collectives)",
                   marker={"color": TRANSFER, "line": {"width": 0}}, customdata=hover,
                   hovertemplate="%{x}: %{customdata}<extra></extra>"),
            go.Scatter(x=x, y=r, name="R", yaxis="y2", mode="markers+text", text=texts,
                       textposition="top center", marker={"color": R_COLOUR, "size": 9,
                                                          "symbol": "diamond"},
                       hovertemplate="%{x}: R %{text}<extra></extra>")]
    return panel_figure(
        data, barmode="stack", showlegend=True,
        xaxis={**axis(numeric=False), "type": "category"},
        yaxis=axis("step time", UNITS["duration"]),
        yaxis2={**axis("R", "%"), "overlaying": "y", "side": "right", "range": [0, 1.1],
                "showgrid": False},
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom"},
        margin={"l": 48, "r": 48, "t": 8, "b": 36})
