"""A compression comparison: size, latency, throughput and quality of each variant side by
side, one small bar chart each."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.charts.format import SAMPLES_PER_S, axis, label, number, panel_figure

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go


def compression(rows: pd.DataFrame) -> go.Figure:
    """One panel per figure of the variants (rows with variant, size_mb, p50_ms, throughput,
    and metric_name and metric when a metric was measured): size (MB), p50 latency (ms),
    samples/s, and the metric under its name. Each bar's value is written on it."""
    import plotly.graph_objects as go

    panels = [("size_mb", label("size_mb")), ("p50_ms", label("p50_ms")),
              ("throughput", SAMPLES_PER_S)]
    if "metric" in rows and rows["metric"].notna().any():
        named = rows.loc[rows["metric_name"].fillna("") != "", "metric_name"]
        panels.append(("metric", named.iloc[0] if len(named) else "metric"))
    figure = panel_figure([]).set_subplots(
        rows=1, cols=len(panels), subplot_titles=[title for _, title in panels],
        horizontal_spacing=0.08)
    variants = rows["variant"].tolist()
    for i, (column, title) in enumerate(panels, start=1):
        values = rows[column].to_numpy(float)
        texts = [number(v) for v in values]
        figure.add_trace(go.Bar(x=variants, y=values, name=title, text=texts,
                                textposition="auto", marker_line_width=0, customdata=texts,
                                hovertemplate=f"%{{x}}: %{{customdata}} {title}"
                                              "<extra></extra>"), row=1, col=i)
    figure.update_yaxes(axis())
    figure.update_xaxes(axis(numeric=False))
    return figure.update_layout(showlegend=False, margin={"t": 28})
