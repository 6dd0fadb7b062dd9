"""Quarantined rows by reason: why rows were turned away at ingest."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.charts.format import ROWS, panel_figure

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go


def quarantine_reasons(reasons: pd.DataFrame) -> go.Figure:
    """A bar of rows per reason (columns reason, rows, and table when the reasons of several
    tables are drawn: a segment per table), the most common reason first. No rows: no bars."""
    import plotly.graph_objects as go

    if "table" not in reasons:
        reasons = reasons.assign(table="")
    order = reasons.groupby("reason")["rows"].sum().sort_values(ascending=False).index
    bars = [go.Bar(x=group["reason"].tolist(), y=group["rows"].to_numpy(), name=table or ROWS,
                   marker_line_width=0,
                   hovertemplate=f"%{{x}}: %{{y:,}} {ROWS}"
                                 + (f" of {table}" if table else "") + "<extra></extra>")
            for table, group in reasons.groupby("table", sort=True)]
    return panel_figure(bars, barmode="stack", yaxis_title=ROWS, showlegend=len(bars) > 1,
                        xaxis={"categoryorder": "array", "categoryarray": order.tolist(),
                               "automargin": True},
                        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom"})
