"""Units, labels and the compact panel layout that every chart shares."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import plotly.graph_objects as go

PANEL_HEIGHT = 200  # px: a chart in the sidebar or a panel, under its own heading
PANEL_MARGIN = {"l": 48, "r": 8, "t": 8, "b": 36}
SAMPLES_PER_S = "samples/s"
ELAPSED = "elapsed (s)"
ROWS = "rows"


def panel_figure(data: list[Any], **layout: Any) -> go.Figure:
    """A figure for a narrow panel: compact margins, small font, no title (the panel's heading
    names the chart), no legend unless ``layout`` turns it on, transparent backgrounds so the
    page's theme shows through, and no template (its JSON would outweigh a small chart's
    data). ``layout`` is merged over that (plotly's ``update_layout``)."""
    import plotly.graph_objects as go

    axis = {"gridcolor": "rgba(128,128,128,0.25)", "zeroline": False, "automargin": True}
    figure = go.Figure(data=data, layout={
        "template": "none", "height": PANEL_HEIGHT, "margin": PANEL_MARGIN,
        "font": {"size": 11}, "showlegend": False, "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)", "xaxis": axis, "yaxis": axis})
    return figure.update_layout(**layout)


def values_of(ticks: np.ndarray, type_name: str) -> np.ndarray:
    """Numbers as a column of type ``type_name`` (an Arrow type's name) holds them: profiles count
    timestamp and date columns in integer ticks, shown here as datetimes; others as floats."""
    unit = re.match(r"timestamp\[(\w+)", type_name)
    if unit:
        return pd.to_datetime(ticks, unit=unit.group(1)).to_numpy()
    if type_name.startswith(("date32", "date64")):
        return pd.to_datetime(ticks, unit="D" if type_name.startswith("date32") else "ms"
                              ).to_numpy()
    return np.asarray(ticks, dtype=float)


def value_labels(values: np.ndarray) -> list[str]:
    """Short hover labels: datetimes to the second, numbers to 6 significant digits."""
    if np.issubdtype(values.dtype, np.datetime64):
        return [str(v)[:19].replace("T", " ") for v in values]
    return [f"{v:.6g}" for v in values]
