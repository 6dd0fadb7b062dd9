"""A logged metric (the loss by default) per rank, over the steps."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.charts.format import panel_figure

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go


def loss(records: pd.DataFrame, metric: str = "loss") -> go.Figure:
    """One line per rank of ``metric`` against step, from a run's records (columns rank, step
    and the logged metrics; as `wb.train.read_run` returns). Records without a number for
    ``metric`` are left out; a run that never logged it gives an empty chart."""
    import pandas as pd
    import plotly.graph_objects as go

    values = (pd.to_numeric(records[metric], errors="coerce") if metric in records
              else pd.Series(float("nan"), index=records.index))
    kept = records.assign(_value=values)[values.notna()].sort_values(["rank", "step"])
    lines = [go.Scatter(x=group["step"].to_numpy(), y=group["_value"].to_numpy(float),
                        mode="lines", name=f"rank {rank}",
                        hovertemplate=f"rank {rank}, step %{{x}}: %{{y:.4g}}<extra></extra>")
             for rank, group in kept.groupby("rank", sort=True)]
    return panel_figure(lines, xaxis_title="step", yaxis_title=metric,
                        showlegend=len(lines) > 1,
                        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom"})
