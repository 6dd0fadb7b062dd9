"""`ProfileView`: a table profile as a widget (statistics table plus one histogram at a time).

One FigureWidget redrawn from a column Dropdown keeps wide tables compact and cheap: a profile
of a hundred columns is one chart, not a hundred.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from workbench.kernels import Histogram
    from workbench.lake.profile import Profile

_SCROLL = "<div style='overflow-x:auto; max-width:100%'>{}</div>"


class ProfileView(widgets.VBox):
    """A header (table, version, rows), the statistics table (`profile.table`), and a plotly
    histogram of the numeric column picked in `column_picker`, drawn in `figure`."""

    def __init__(self, profile: Profile, **kwargs: Any) -> None:
        self.profile = profile
        self.header = widgets.HTML(
            f"<b>Profile of {html.escape(profile.name)}</b> &middot; version {profile.version}"
            f" &middot; {profile.rows:,} rows")
        self.stats = widgets.HTML(_SCROLL.format(stats_html(profile.table)))
        columns = list(profile.histograms)
        self.column_picker = widgets.Dropdown(options=columns, description="Histogram",
                                              layout=widgets.Layout(width="320px"))
        self.figure: Any = None
        self._figures: dict[str, Any] = {}
        self.chart_box = widgets.Box()
        charts: list[widgets.Widget] = [self.column_picker, self.chart_box]
        if not columns:
            charts = [widgets.HTML("<i>No numeric columns: nothing to chart.</i>")]
        self.column_picker.observe(lambda _: self._draw(), names="value")
        self._draw()
        super().__init__(children=[self.header, self.stats, *charts], **kwargs)

    def _draw(self) -> None:
        """Show the histogram of the picked column as `figure`.

        One FigureWidget per column, built with its bars given to the constructor and kept:
        edits travel as one-off messages that a front end connecting later (Voila, a reloaded
        page) never receives, and closing the figure on screen races with its drawing.
        """
        import plotly.graph_objects as go

        column = self.column_picker.value
        if column is None:
            return
        if column not in self._figures:
            type_name = str(self.profile.table.set_index("column").at[column, "type"])
            bars = histogram_bars(self.profile.histograms[column], type_name)
            self._figures[column] = go.FigureWidget(
                data=[go.Bar(**bars, marker_line_width=0)],
                layout=go.Layout(height=280, margin=dict(l=50, r=20, t=40, b=40), bargap=0,
                                 yaxis_title="rows", showlegend=False, xaxis_title=column,
                                 title_text=f"{column} ({type_name})"))
        self.figure = self._figures[column]
        self.chart_box.children = [self.figure]


def histogram_bars(hist: Histogram, type_name: str) -> dict[str, Any]:
    """Bar properties (x at bin centres, widths, hover ranges) of a histogram; timestamp and date
    columns get datetime bins, since their profile counts them in integer ticks."""
    import numpy as np

    edges = _edges_as_values(hist.edges, type_name)
    lo, hi = edges[:-1], edges[1:]
    width = hi - lo
    if width.dtype.kind == "m":  # datetimes: plotly wants bar widths in milliseconds
        width = width / np.timedelta64(1, "ms")
    return {
        "x": lo + (hi - lo) / 2, "y": np.asarray(hist.counts), "width": width,
        "customdata": np.column_stack([_labels(lo), _labels(hi)]),
        "hovertemplate": "%{customdata[0]} to %{customdata[1]}: %{y:,} rows<extra></extra>",
    }


def _edges_as_values(edges: np.ndarray, type_name: str) -> Any:
    """Bin edges in the column's own terms: datetimes for timestamp and date columns."""
    import numpy as np
    import pandas as pd

    unit = re.match(r"timestamp\[(\w+)", type_name)
    if unit:
        return pd.to_datetime(edges, unit=unit.group(1)).to_numpy()
    if type_name.startswith(("date32", "date64")):
        return pd.to_datetime(edges, unit="D" if type_name.startswith("date32") else "ms"
                              ).to_numpy()
    return np.asarray(edges, dtype=float)


def _labels(values: np.ndarray) -> list[str]:
    import numpy as np

    if np.issubdtype(values.dtype, np.datetime64):
        return [str(v)[:19].replace("T", " ") for v in values]
    return [f"{v:.6g}" for v in values]


def stats_html(table: pd.DataFrame) -> str:
    """The statistics table as HTML: null fraction as a percentage, numbers to 4 significant
    digits, missing values blank."""
    shown = table.copy()
    if "null_fraction" in shown:
        shown["null_fraction"] = shown["null_fraction"].map(_percent)
    for name in shown.columns:
        if shown[name].dtype == object or shown[name].dtype.kind == "f":
            shown[name] = shown[name].map(_number)
    shown = shown.rename(columns={"null_fraction": "nulls %"})
    return shown.to_html(index=False, na_rep="", border=0, classes="workbench-profile")


def _percent(value: Any) -> str:
    import math

    return "" if value is None or math.isnan(value) else f"{value:.1%}"


def _number(value: Any) -> Any:
    """Floats to 4 significant digits; anything else (ints, text, times) unchanged."""
    import math

    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    return "" if value is None else value
