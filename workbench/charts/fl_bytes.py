"""What a federated run sends per round: updates up from the clients, the global model down to
them, in MB."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.charts.format import UNITS, axis
from workbench.charts.rounds import nothing_yet, round_lines, rounds_figure

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

COLUMNS = (("bytes_up", "up (to the server)"), ("bytes_down", "down (to the clients)"))


def fl_bytes(rounds: pd.DataFrame) -> go.Figure:
    """Bytes up and down per round (shown in MB), from `_fl_rounds` rows or a job's
    `history`; a line per run and direction."""
    yaxis = {**axis("sent", UNITS["size"]), "rangemode": "tozero"}
    data = round_lines(rounds, COLUMNS, yaxis, factor=1e-6, unit=UNITS["size"])
    return rounds_figure(data, yaxis) if data else nothing_yet("No traffic yet")
