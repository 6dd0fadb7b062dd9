"""A lake's versions on a timeline: one row per table, one marker per commit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.charts.format import count, panel_figure

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

ROW_HEIGHT = 30  # px per table


def versions(histories: pd.DataFrame) -> go.Figure:
    """A marker per version (columns table, version, timestamp, operation, rows_written; the
    tables' `history()` stacked), at its commit time on its table's row; the hover says what
    the commit did."""
    import pandas as pd
    import plotly.graph_objects as go

    markers = []
    for table, history in histories.groupby("table", sort=True):
        hover = [f"{table} v{v}: {op}" + ("" if pd.isna(n) else f", {count(n)} rows written")
                 for v, op, n in zip(history["version"], history["operation"],
                                     history["rows_written"])]
        markers.append(go.Scatter(
            x=history["timestamp"].tolist(), y=[table] * len(history), mode="markers",
            name=table, marker={"size": 11}, customdata=list(zip(history["version"], hover)),
            hovertemplate="%{customdata[1]}<br>%{x}<extra></extra>"))
    return panel_figure(markers, xaxis_title="commit time (UTC)",
                        height=max(200, 80 + ROW_HEIGHT * histories["table"].nunique()))
