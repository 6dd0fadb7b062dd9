"""A federated run's loss per round: the clients' training loss and the global model's test
loss; a line per run when the table has several."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.charts.format import axis
from workbench.charts.rounds import nothing_yet, round_lines, rounds_figure

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

COLUMNS = (("train_loss", "train"), ("test_loss", "test"))


def fl_loss(rounds: pd.DataFrame) -> go.Figure:
    """Train and test loss against the round, from `_fl_rounds` rows or a job's `history`; a
    loss that is NaN throughout is left out, and with none the figure says so."""
    yaxis = axis("loss")
    data = round_lines(rounds, COLUMNS, yaxis)
    return rounds_figure(data, yaxis) if data else nothing_yet("No loss yet")
