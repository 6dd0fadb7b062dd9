"""A compression comparison: size, latency, throughput and quality of each variant (and of each
engine it ran on) side by side, one small bar chart each."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.charts.format import SAMPLES_PER_S, axis, label, number, panel_figure

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go


def compression(rows: pd.DataFrame) -> go.Figure:
    """One panel per figure of the variants (rows with variant, size_mb, p50_ms, throughput,
    and metric_name and metric when a metric was measured; at one scenario and batch size):
    size (MB), p50 latency (ms), samples/s, and the metric under its name. Each bar's value is
    written on it. Rows with an ``engine`` column naming several engines get a bar per variant
    and engine ("int8 · onnxruntime"; the engine alone when there is one variant)."""
    import plotly.graph_objects as go

    panels = [("size_mb", label("size_mb")), ("p50_ms", label("p50_ms")),
              ("throughput", SAMPLES_PER_S)]
    if "metric" in rows and rows["metric"].notna().any():
        named = rows.loc[rows["metric_name"].fillna("") != "", "metric_name"]
        panels.append(("metric", named.iloc[0] if len(named) else "metric"))
    figure = panel_figure([]).set_subplots(
        rows=1, cols=len(panels), subplot_titles=[title for _, title in panels],
        horizontal_spacing=0.08)
    variants = bar_names(rows)
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


def bar_names(rows: pd.DataFrame) -> list[str]:
    """Each row's bar: its variant, with its engine when the rows ran on several engines (the
    engine alone when they hold one variant)."""
    variants = rows["variant"].astype(str).tolist()
    if "engine" not in rows or rows["engine"].fillna("").nunique() < 2:
        return variants
    engines = rows["engine"].fillna("").astype(str).tolist()
    if len(set(variants)) < 2:
        return engines
    return [f"{v} · {e}" for v, e in zip(variants, engines)]
