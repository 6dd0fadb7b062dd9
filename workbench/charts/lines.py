"""What the training charts share: a long series table (series, step, time, value; as
`workbench.train.series` returns) drawn as one line per series, each rank (each GPU) in the
same colour on every chart, hover text in the chart's unit, and the x axis (step or elapsed s)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from workbench.charts.format import UNITS, axis, panel_figure

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

FIXED_COLORS = {"total": "#222222", "p50": "#1f77b4", "p90": "#ff7f0e", "p99": "#d62728"}
PALETTE = ("#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692",
           "#b6e880", "#ff97ff", "#fecb52")  # plotly's default colours, one per rank or GPU
_X_HOVER = {"step": "step %{x:,}", "time": "%{x:,.1f} s"}


def x_axis(x: str) -> dict[str, Any]:
    """The x axis of a chart over ``x``: "step", or "time" (seconds since the run started)."""
    if x not in _X_HOVER:
        raise ValueError(f"x must be 'step' or 'time', not {x!r}")
    return axis("step") if x == "step" else axis("elapsed", UNITS["duration"])


def group(name: str) -> str:
    """The legend group of a line: its rank or GPU ("GPU 0" for "GPU 0 util %")."""
    return name.rsplit(" ", 2)[0] if name.startswith("GPU ") else name


def color(name: str) -> str:
    """A line's colour: fixed for total and the percentiles, else by its rank or GPU number."""
    number = re.search(r"\d+", name)
    return FIXED_COLORS.get(name) or (PALETTE[int(number.group()) % len(PALETTE)] if number
                                      else "#444444")


def lines(table: pd.DataFrame, yaxis: dict[str, Any], *, x: str = "step", factor: float = 1.0,
          unit: str = "", names: Sequence[str] = ()) -> list[go.Scatter]:
    """A line per series of ``table``, its values times ``factor`` against column ``x``: first
    ``names`` (drawn even without rows, so a live figure has every rank's line from the
    start), then the table's other series in order. Hover text is formatted as ``yaxis``'s
    ticks, followed by ``unit`` (none for "%": the percentage format writes it)."""
    import plotly.graph_objects as go

    suffix = f" {unit}" if unit and unit != "%" else ""
    y_hover = f"%{{y:{yaxis['hoverformat']}}}{suffix}"
    out = []
    for name in dict.fromkeys([*names, *table["series"].unique()]):
        part = table[table["series"] == name]
        out.append(go.Scatter(
            x=part[x].to_numpy(), y=part["value"].to_numpy(float) * factor, mode="lines",
            name=str(name), legendgroup=group(str(name)),
            line={"color": color(str(name)), "width": 3 if name == "total" else 1.8,
                  "dash": "dot" if str(name).endswith("memory %") else "solid"},
            hovertemplate=f"{name}, {_X_HOVER[x]}: {y_hover}<extra></extra>"))
    return out


def line_figure(data: list[go.Scatter], yaxis: dict[str, Any], x: str = "step") -> go.Figure:
    """A panel figure of ``data`` with the x axis over ``x`` and ``yaxis``; a legend above it
    when there is more than one line."""
    return panel_figure(data, xaxis=x_axis(x), yaxis=yaxis,
                        showlegend=len(data) > 1,
                        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom"})
