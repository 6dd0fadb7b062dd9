"""The privacy a differentially private federated run has spent: ε after each round, against
its budget."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.charts.format import axis, number
from workbench.charts.rounds import nothing_yet, round_lines, rounds_figure

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

BUDGET_COLOR = "#b00020"


def privacy_spent(rounds: pd.DataFrame, budget: float | None = None) -> go.Figure:
    """ε spent so far against the round (column epsilon of `_fl_rounds` or a job's
    `history`), a line per run, and ``budget`` as a dashed line across the rounds. A run
    without differential privacy (ε NaN throughout) gives a figure that says so."""
    import plotly.graph_objects as go

    yaxis = {**axis("ε spent"), "rangemode": "tozero"}
    data = round_lines(rounds, (("epsilon", "ε"),), yaxis)
    if not data:
        return nothing_yet("No privacy spent yet" if not len(rounds) else
                           "No privacy accounting: this run has no differential privacy")
    if budget is not None:
        first, last = int(rounds["round"].min()), int(rounds["round"].max())
        data.append(go.Scatter(
            x=[first, last], y=[float(budget)] * 2, mode="lines",
            name=f"budget ε = {number(budget)}",
            line={"color": BUDGET_COLOR, "dash": "dash", "width": 1.5},
            hovertemplate=f"budget: ε = {number(budget)}<extra></extra>"))
    return rounds_figure(data, yaxis)
