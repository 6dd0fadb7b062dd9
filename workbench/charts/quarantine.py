"""Quarantined rows by reason: why rows were turned away at ingest."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.charts.format import ROWS, panel_figure

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

ROW_HEIGHT = 28  # px per reason, so long reason lists stay readable


def quarantine_reasons(reasons: pd.DataFrame) -> go.Figure:
    """Horizontal bars of rows per reason (columns reason, rows, and table when the reasons of
    several tables are drawn: a segment per table), the longest reason at the top."""
    import plotly.graph_objects as go

    if "table" not in reasons:
        reasons = reasons.assign(table="")
    order = reasons.groupby("reason")["rows"].sum().sort_values().index.tolist()
    bars = [go.Bar(y=group["reason"].tolist(), x=group["rows"].to_numpy(), orientation="h",
                   name=table or ROWS, marker_line_width=0,
                   hovertemplate=f"%{{y}}: %{{x:,}} {ROWS}"
                                 + (f" of {table}" if table else "") + "<extra></extra>")
            for table, group in reasons.groupby("table", sort=True)]
    return panel_figure(bars, barmode="stack", xaxis_title=ROWS, showlegend=len(bars) > 1,
                        height=max(200, 80 + ROW_HEIGHT * len(order)),
                        yaxis={"categoryorder": "array", "categoryarray": order},
                        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom"})
