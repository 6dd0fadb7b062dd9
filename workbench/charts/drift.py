"""A drift report between two versions of a table: PSI per column coloured by verdict, with the
0.1 and 0.25 thresholds, and the worst columns' distributions in both versions overlaid."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.charts.format import PANEL_HEIGHT, PANEL_MARGIN, axis, number, percent

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

#: A verdict's colour (as the drift history's); added, removed and unmeasured are grey.
COLOURS = {"stable": "#1a7f37", "moderate": "#e3a008", "drift": "#b00020"}
OTHER = "#8c8c8c"
THRESHOLDS = (0.1, 0.25)  # PSI: moderate from the first, drift above the second
MAX_BUCKETS = 20  # of a text column's values shown (its most frequent in the reference)


def drift(table: pd.DataFrame, distributions: pd.DataFrame, *, worst: int = 3,
          labels: tuple[str, str] = ("reference", "current")) -> go.Figure:
    """A bar of PSI per column of ``table`` (a drift report's: column, psi, verdict, ...) in
    its verdict's colour, then for the ``worst`` columns by PSI their bucket shares from
    ``distributions`` (column, bucket, ref, cur) as overlaid bars named by ``labels``."""
    from plotly.subplots import make_subplots

    shown = table.dropna(subset=["psi"]).sort_values("psi", ascending=False)
    columns = shown["column"].head(worst).tolist()
    figure = make_subplots(rows=1 + len(columns), cols=1, vertical_spacing=0.12,
                           subplot_titles=["PSI per column",
                                           *(f"{c}: share of rows" for c in columns)])
    figure.add_trace(_psi_bars(table), row=1, col=1)
    for value in THRESHOLDS:
        figure.add_hline(y=value, line_dash="dot", line_width=1, row=1, col=1)
    for i, column in enumerate(columns, start=2):
        buckets = distributions[distributions["column"] == column].head(MAX_BUCKETS)
        for trace in _overlaid(buckets, labels, first=i == 2):
            figure.add_trace(trace, row=i, col=1)
        figure.update_yaxes(axis("share", "%"), row=i, col=1)
    # the panel look of `panel_figure`, which draws one panel where this draws several
    figure.update_layout(template="none", margin={**PANEL_MARGIN, "t": 24}, font={"size": 11},
                         paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
                         height=PANEL_HEIGHT * (1 + len(columns)) + 40, barmode="overlay",
                         showlegend=bool(columns), legend={"orientation": "h", "y": -0.08})
    figure.update_yaxes(axis("PSI"), row=1, col=1)
    figure.update_xaxes(axis(numeric=False))
    return figure


def _psi_bars(table: pd.DataFrame) -> go.Bar:
    """One bar per column, its verdict and scores in the hover."""
    import plotly.graph_objects as go

    hover = [f"{c}: {v}, PSI {number(p)}" + (f", KS {number(k)}" if k == k else "")
             + (f", JS {number(j)}" if j == j else "")
             for c, v, p, k, j in zip(table["column"], table["verdict"], table["psi"],
                                      table["ks"], table["js"])]
    return go.Bar(x=table["column"].tolist(), y=table["psi"].tolist(), name="PSI",
                  showlegend=False, marker_color=[COLOURS.get(v, OTHER) for v in table["verdict"]],
                  customdata=hover, hovertemplate="%{customdata}<extra></extra>")


def _overlaid(buckets: pd.DataFrame, labels: tuple[str, str], first: bool) -> list[go.Bar]:
    """A column's bucket shares in both versions, as half-transparent bars over each other."""
    import plotly.graph_objects as go

    return [go.Bar(x=buckets["bucket"].tolist(), y=buckets[side].tolist(), name=label,
                   legendgroup=label, showlegend=first, opacity=0.55, marker_color=colour,
                   customdata=[percent(v) for v in buckets[side]],
                   hovertemplate=f"{label}, %{{x}}: %{{customdata}}<extra></extra>")
            for side, label, colour in (("ref", labels[0], "#4c78a8"),
                                        ("cur", labels[1], "#f58518"))]
