"""`ProfileView`: a table profile as a widget (statistics table plus one histogram at a time).

One chart (a `FigureView`) redrawn from a column Dropdown keeps wide tables compact and cheap: a
profile of a hundred columns is one chart, not a hundred; the statistics scroll inside a fixed
frame.
Distinct counts read as the estimates they are (≈, with the sketch's error), a time column's
spread as a duration.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from workbench.lake.profile import Profile

from workbench.widgets.figure_view import FigureView
from workbench.widgets.lake_view import table_html

STATS_HEIGHT = 360  # px: the statistics table's frame


class ProfileView(widgets.VBox):
    """A header (table, version, rows), the statistics table (`profile.table`), and a plotly
    histogram of the numeric column picked in `column_picker`, shown in `chart` (its figure:
    `figure`)."""

    def __init__(self, profile: Profile, **kwargs: Any) -> None:
        self.profile = profile
        self.header = widgets.HTML(
            f"<b>Profile of {html.escape(profile.name)}</b> &middot; version {profile.version}"
            f" &middot; {profile.rows:,} rows")
        self.stats = widgets.HTML(stats_html(profile.table, profile.distinct_error))
        columns = list(profile.histograms)
        self.column_picker = widgets.Dropdown(options=columns, description="Histogram",
                                              layout=widgets.Layout(width="320px"))
        self.chart: FigureView | None = None
        self.chart_box = widgets.Box()
        charts: list[widgets.Widget] = [self.column_picker, self.chart_box]
        if not columns:
            charts = [widgets.HTML("<i>No numeric columns: nothing to chart.</i>")]
        self.column_picker.observe(lambda _: self._draw(), names="value")
        self._draw()
        super().__init__(children=[self.header, self.stats, *charts], **kwargs)

    @property
    def figure(self) -> go.Figure | None:
        """The histogram shown, or None when the table has no numeric column."""
        return None if self.chart is None else self.chart.figure

    def _draw(self) -> None:
        """Show the histogram of the picked column in `chart` (made on the first draw)."""
        from workbench.charts import histogram

        column = self.column_picker.value
        if column is None:
            return
        type_name = str(self.profile.table.set_index("column").at[column, "type"])
        hist = self.profile.histograms[column]
        figure = histogram(hist.edges, hist.counts, column=column, type_name=type_name)
        figure.update_layout(height=280, margin=dict(l=50, r=20, t=40, b=40),
                             title_text=f"{column} ({type_name})")
        if self.chart is None:
            self.chart = FigureView(figure)
            self.chart_box.children = [self.chart]
        else:
            self.chart.draw(figure)


def stats_html(table: pd.DataFrame, distinct_error: float) -> str:
    """The statistics table as HTML in a scrolling frame: null fraction as a percentage,
    numbers by `charts.format`, distinct counts marked approximate (≈, ``distinct_error`` the
    relative standard error in the header), a time column's spread (``std``) as a duration,
    missing values blank."""
    import pandas as pd

    from workbench.charts.format import count, percent

    shown = table.copy()
    if "distinct" in shown:
        shown["distinct"] = ["" if pd.isna(d) else f"≈{count(d)}" for d in shown["distinct"]]
        shown = shown.rename(columns={"distinct": f"distinct (±{percent(distinct_error, 2)})"})
    return table_html(shown, STATS_HEIGHT, "workbench-profile")
