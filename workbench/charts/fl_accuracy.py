"""A federated run's accuracy per round: the global model on the test data, and on the clients'
own data (local accuracy), as percentages; a line per run when the table has several."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.charts.format import UNITS, axis
from workbench.charts.rounds import nothing_yet, round_lines, rounds_figure

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

COLUMNS = (("test_accuracy", "test"), ("local_accuracy", "local"))


def fl_accuracy(rounds: pd.DataFrame) -> go.Figure:
    """Test and local accuracy (fractions, shown in %) against the round, from `_fl_rounds`
    rows or a job's `history`. A quantity that is NaN throughout (no test data; a regression)
    is left out; with neither, the figure says so."""
    yaxis = {**axis("accuracy", UNITS["fraction"]), "rangemode": "tozero"}
    data = round_lines(rounds, COLUMNS, yaxis, unit=UNITS["fraction"])
    if not data:
        return nothing_yet("No accuracy yet" if not len(rounds) else
                           "No accuracy: no test data, and no classification labels")
    return rounds_figure(data, yaxis)
