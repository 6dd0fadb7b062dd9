"""Who took part in a federated run: a cell per client and round, coloured by what the client
did that round (completed, dropped, idle, failed); hovering a cell shows its last error."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.charts.format import axis, panel_figure
from workbench.charts.rounds import nothing_yet

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

#: Each state a client row can have, in the colour bar's order, with its colour.
STATES = {"completed": "#1a7f37", "dropped": "#e3a008", "idle": "#d0d7de", "failed": "#b00020"}


def participation(clients: pd.DataFrame) -> go.Figure:
    """A clients x rounds grid from `_fl_clients` rows (or a job's `participation`), one
    discrete colour per state; a cell without a row (or with an unknown state) stays blank.
    Given several runs, the last one's rows are drawn (a view picks the run first)."""
    import html

    import numpy as np
    import plotly.graph_objects as go

    if "run_id" in clients and clients["run_id"].nunique() > 1:
        clients = clients[clients["run_id"] == clients["run_id"].iloc[-1]]
    if not len(clients):
        return nothing_yet("No clients have reported yet")
    last = clients.drop_duplicates(["client", "round"], keep="last")
    codes = last.assign(code=last["state"].map({s: i for i, s in enumerate(STATES)}))
    grid = codes.pivot(index="client", columns="round", values="code").sort_index()
    grid = grid.reindex(columns=sorted(grid.columns))
    errors = last.pivot(index="client", columns="round", values="last_error").reindex(
        index=grid.index, columns=grid.columns)
    states = last.pivot(index="client", columns="round", values="state").reindex(
        index=grid.index, columns=grid.columns)
    hover = np.dstack([states.fillna("no report").to_numpy(str),
                       errors.fillna("").map(
        lambda e: f"<br>{html.escape(str(e))}" if e else "").to_numpy(str)])
    n = len(STATES)
    scale = [[edge, colour] for i, colour in enumerate(STATES.values())
             for edge in (i / n, (i + 1) / n)]
    heat = go.Heatmap(
        z=grid.to_numpy(float), x=[int(r) for r in grid.columns],
        y=[f"client {c}" for c in grid.index], customdata=hover, colorscale=scale,
        zmin=-0.5, zmax=n - 0.5, xgap=1, ygap=1,
        colorbar={"tickvals": list(range(n)), "ticktext": list(STATES), "thickness": 12},
        hovertemplate="%{y}, round %{x}: %{customdata[0]}%{customdata[1]}<extra></extra>")
    return panel_figure([heat], xaxis={**axis("round"), "tickformat": ",d"},
                        yaxis_type="category", yaxis_autorange="reversed",
                        height=max(160, min(600, 60 + 22 * len(grid))))
