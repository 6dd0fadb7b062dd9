"""The label mix of a federated partition: rows of each label on each client, as a heatmap."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.charts.format import ROWS, panel_figure

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go


def label_mix(counts: pd.DataFrame) -> go.Figure:
    """A cell per (client, label) coloured by its rows (columns client, label, rows; as
    `Partitions.label_counts()` returns): a non-IID split shows as a few bright cells a row."""
    import plotly.graph_objects as go

    order = list(dict.fromkeys(counts["label"]))  # as given, not re-sorted as strings
    grid = counts.pivot(index="client", columns="label", values="rows").reindex(
        columns=order).fillna(0)
    clients = [f"client {c}" for c in grid.index]
    heat = go.Heatmap(z=grid.to_numpy(), x=[str(v) for v in grid.columns], y=clients,
                      colorscale="Blues", colorbar={"title": {"text": ROWS}},
                      hovertemplate=f"%{{y}}, label %{{x}}: %{{z:,}} {ROWS}<extra></extra>")
    return panel_figure([heat], xaxis_title="label", xaxis_type="category",
                        yaxis_type="category", yaxis_autorange="reversed",
                        height=max(160, 60 + 22 * len(clients)))
