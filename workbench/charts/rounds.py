"""What the federated charts share: a `_fl_rounds` table (or a job's live `history`) drawn as
lines over the rounds, one per run and quantity, and the empty figure a view shows before the
first round."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from workbench.charts.format import axis, panel_figure
from workbench.charts.lines import PALETTE

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

DASHES = ("solid", "dot", "dash", "dashdot")  # one per quantity of a run


def nothing_yet(text: str) -> go.Figure:
    """An empty panel titled ``text`` (what is missing), axes hidden: a view shows it until
    there is something to draw."""
    return panel_figure([], title={"text": text, "font": {"size": 12}},
                        xaxis={"visible": False}, yaxis={"visible": False})


def runs(table: pd.DataFrame) -> Iterator[tuple[str, pd.DataFrame]]:
    """Each run of ``table`` in the order it first appears, with its label (its name, with its
    id's start when two runs share one), its rows sorted by round. A table with one run, or
    without a run_id column (a job's live history), is one run labelled ""."""
    if "run_id" not in table or table["run_id"].nunique() < 2:
        yield "", table.sort_values("round", kind="stable")
        return
    names = table.drop_duplicates("run_id").set_index("run_id").get("name")
    for run_id, part in table.groupby("run_id", sort=False):
        name = str(names[run_id]) if names is not None else ""
        shared = names is None or (names == names[run_id]).sum() > 1
        label = f"{name} {str(run_id)[:8]}".strip() if shared else name
        yield label, part.sort_values("round", kind="stable")


def round_lines(table: pd.DataFrame, columns: Sequence[tuple[str, str]],
                yaxis: dict[str, Any], *, factor: float = 1.0, unit: str = "") -> list[go.Scatter]:
    """A line per run and per (column, label) of ``columns``, values times ``factor`` against
    the round; a column a run has no number in (NaN throughout, or absent) is left out.
    Colours tell the runs apart (the quantities, with one run), dashes the quantities."""
    import numpy as np
    import plotly.graph_objects as go

    groups = list(runs(table))
    suffix = f" {unit}" if unit and unit != "%" else ""
    out = []
    for r, (run, part) in enumerate(groups):
        for q, (column, what) in enumerate(columns):
            if column not in part:
                continue
            values = part[column].to_numpy(float) * factor
            if np.isnan(values).all():
                continue
            name = f"{run} · {what}" if run else what
            out.append(go.Scatter(
                x=part["round"].to_numpy(), y=values, mode="lines+markers", name=name,
                line={"color": PALETTE[(r if len(groups) > 1 else q) % len(PALETTE)],
                      "dash": DASHES[q % len(DASHES)], "width": 2},
                marker={"size": 4}, connectgaps=False,
                hovertemplate=(f"{name}, round %{{x:,}}: %{{y:{yaxis['hoverformat']}}}"
                               f"{suffix}<extra></extra>")))
    return out


def rounds_figure(data: list[go.Scatter], yaxis: dict[str, Any]) -> go.Figure:
    """A panel of ``data`` over the rounds (whole numbers on the x axis), a legend above it
    when there is more than one line."""
    return panel_figure(data, xaxis={**axis("round"), "tickformat": ",d", "rangemode": "tozero"},
                        yaxis=yaxis, showlegend=len(data) > 1,
                        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom"})
