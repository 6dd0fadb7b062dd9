"""A profile column's histogram: bars over the bin edges, in the column's own terms."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from workbench.charts.format import ROWS, panel_figure, value_labels, values_of

if TYPE_CHECKING:
    import plotly.graph_objects as go


def histogram(edges: np.ndarray, counts: np.ndarray, *, column: str,
              type_name: str = "double") -> go.Figure:
    """Bars of ``counts`` (one per bin) between ``edges`` (one more than the bins), as a profile
    stores them: x at the bin centres, each bar as wide as its bin, the range in the hover.
    ``type_name`` is the column's Arrow type: timestamp and date columns get datetime bins."""
    import plotly.graph_objects as go

    edges = values_of(np.asarray(edges), type_name)
    counts = np.asarray(counts)
    if len(edges) != len(counts) + 1:
        raise ValueError(f"histogram of {column!r}: {len(counts)} counts need {len(counts) + 1} "
                         f"edges, not {len(edges)}")
    lo, hi = edges[:-1], edges[1:]
    width = hi - lo
    if width.dtype.kind == "m":  # datetimes: plotly wants bar widths in milliseconds
        width = width / np.timedelta64(1, "ms")
    bars = go.Bar(x=lo + (hi - lo) / 2, y=counts, width=width, marker_line_width=0,
                  customdata=np.column_stack([value_labels(lo), value_labels(hi)]),
                  hovertemplate="%{customdata[0]} to %{customdata[1]}: %{y:,} rows"
                                "<extra></extra>")
    return panel_figure([bars], bargap=0, xaxis_title=column, yaxis_title=ROWS)
