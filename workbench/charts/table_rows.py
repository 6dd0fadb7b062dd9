"""Rows per lake table: written and quarantined, side by side."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.charts.format import ROWS, panel_figure

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go


def table_rows(tables: pd.DataFrame) -> go.Figure:
    """A pair of bars per table (columns name, rows, quarantined; as `lake.tables()` returns):
    rows written and rows quarantined, on a log scale so a few bad rows show beside millions."""
    import plotly.graph_objects as go

    names = tables["name"].tolist()
    bars = [go.Bar(x=names, y=tables[column].to_numpy(), name=title, marker_line_width=0,
                   hovertemplate=f"%{{x}}: %{{y:,}} {title}<extra></extra>")
            for column, title in (("rows", "rows written"), ("quarantined", "rows quarantined"))]
    return panel_figure(bars, barmode="group", showlegend=True,
                        yaxis_title=f"{ROWS} (log scale)", yaxis_type="log",
                        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom"})
