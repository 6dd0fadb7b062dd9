"""Drift by table and version: a cell per column and version of each table, coloured by the
verdict of its drift report against its reference version, its PSI written in it; a column
that drifted shows as a red row, a release that moved many columns as a red column."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.charts.format import number, panel_figure
from workbench.charts.rounds import nothing_yet

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

#: Each verdict of a drift report, in the colour bar's order, with its colour: a column new in
#: the version, or gone from it, has no score and is grey.
VERDICTS = {"stable": "#1a7f37", "moderate": "#e3a008", "drift": "#b00020", "added": "#8c959f",
            "removed": "#57606a"}
ROW_HEIGHT = 22  # px per table column


def drift_history(drift: pd.DataFrame) -> go.Figure:
    """A (table · column) x version grid of `_drift` rows (table, version, reference_version,
    column, psi, ks, js, verdict, time): each cell the verdict's colour and its PSI, the
    latest report where a version was compared twice; hovering a cell shows every score. A
    cell without a report (or with an unknown verdict) stays blank."""
    import html

    import numpy as np
    import plotly.graph_objects as go

    if not len(drift):
        return nothing_yet("No drift report yet")
    latest = drift.sort_values("time", kind="stable").drop_duplicates(
        ["table", "column", "version"], keep="last")
    latest = latest.assign(row=latest["table"].astype(str) + " · " + latest["column"].astype(str),
                           code=latest["verdict"].map({v: i for i, v in enumerate(VERDICTS)}))
    rows = latest.sort_values(["table", "column"])["row"].unique().tolist()
    versions = sorted(int(v) for v in latest["version"].unique())
    grid = latest.pivot(index="row", columns="version", values="code").reindex(
        index=rows, columns=versions)
    psi = latest.pivot(index="row", columns="version", values="psi").reindex(
        index=rows, columns=versions)
    hover = latest.assign(text=[
        f"{html.escape(str(r.verdict))} against v{r.reference_version}: PSI {number(r.psi)}, "
        f"KS {number(r.ks)}, JS {number(r.js)}" for r in latest.itertuples(index=False)]
    ).pivot(index="row", columns="version", values="text").reindex(index=rows, columns=versions)
    n = len(VERDICTS)
    scale = [[edge, colour] for i, colour in enumerate(VERDICTS.values())
             for edge in (i / n, (i + 1) / n)]
    heat = go.Heatmap(
        z=grid.to_numpy(float), x=[f"v{v}" for v in versions], y=rows,
        text=psi.map(lambda v: "" if np.isnan(v) else number(v, 2)).to_numpy(str),
        texttemplate="%{text}", customdata=hover.fillna("no report").to_numpy(str),
        colorscale=scale, zmin=-0.5, zmax=n - 0.5, xgap=1, ygap=1,
        colorbar={"tickvals": list(range(n)), "ticktext": list(VERDICTS), "thickness": 12},
        hovertemplate="%{y}, %{x}: %{customdata}<extra></extra>")
    return panel_figure([heat], xaxis={"type": "category", "title": {"text": "version"}},
                        yaxis={"type": "category", "autorange": "reversed"},
                        height=max(160, min(700, 60 + ROW_HEIGHT * len(rows))))
