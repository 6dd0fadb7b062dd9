"""What the dashboards' views share: a lake resolved from a path or the default, a heading with
a Refresh button and an empty state that says what to run, chart layout and text formats.

Each view reads the lake alone (its tables, and the `_runs`, `_run_metrics` and `_bench` tables
that training and the benchmarks record), so a Voila page or a colleague's notebook shows it
without the kernel that produced the data. Charts are `FigureView`s (`dashboard_figure`):
plotly's mimetype output in an Output widget, drawn by the page's one plotly.js. Each is built
once with its data and kept, so a picker swaps charts rather than drawing them again. The numbers
behind the charts are DataFrames on the object.
"""

from __future__ import annotations

import html
import os
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from workbench.lake import Lake
    from workbench.widgets.figure_view import FigureView

RUNS, RUN_METRICS, BENCH = "_runs", "_run_metrics", "_bench"  # what training and bench record
CHART_WIDTH = 640  # px: two charts side by side on a laptop screen, one under the other below
# A table in a fixed frame: it scrolls inside it both ways, the page never widens.
TABLE_FRAME = ("<div class='workbench-table' style='overflow:auto; max-width:100%; "
               "max-height:{}px'>{}</div>")
LIST_SHOWN = 3  # values of a list cell written out; longer lists are summarised
CHART_MARGIN = {"l": 60, "r": 20, "t": 50, "b": 50}


def resolve_lake(lake: Lake | str | os.PathLike | None) -> Lake:
    """The lake a view reads: ``lake`` itself, a path opened as one, or the default lake."""
    from workbench.lake import Lake, default_lake

    if lake is None:
        return default_lake()
    return lake if isinstance(lake, Lake) else Lake(lake)


def lake_name(lake: Lake) -> str:
    """How a page names ``lake``: its last path component ("lake", "sales"), never the server's
    absolute path."""
    return lake.uri.rstrip("/").rsplit("/", 1)[-1] or lake.uri


def data_tables(tables: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``tables`` (as `Lake.tables` returns) that hold data: not the results
    tables whose names start with "_"."""
    return tables[~tables["name"].str.startswith("_")].reset_index(drop=True)


def empty_state(lake: Lake, missing: str, how: str) -> str:
    """The HTML a dashboard shows when ``lake`` lacks its data: what is missing, what to run,
    and how to point the dashboard at another lake (by name: a page shows no server path)."""
    where = html.escape(lake_name(lake))
    absent = "://" not in lake.uri and not os.path.isdir(lake.uri)
    state = (f"There is no lake <code>{where}</code> yet." if absent
             else f"The lake <code>{where}</code> has {missing}.")
    return (
        f"<div class='workbench-empty' style='padding:12px; border:1px dashed #999'>"
        f"<p><b>Nothing to show yet.</b> {state}</p><p>{how}</p>"
        "<p>Dashboards read the lake named by <code>WORKBENCH_LAKE</code> (default: "
        "<code>lake</code> in the workbench home); <code>make demo</code> builds one "
        "with every table, and <code>workbench publish NOTEBOOK --lake PATH</code> publishes a "
        "dashboard on another lake.</p></div>")


def one_sentence(error: str, lake: Lake) -> str:
    """An error as a page shows it: its first sentence of its first line, the lake's path
    replaced by its name (no traceback, no server path)."""
    first = error.strip().splitlines()[0] if error.strip() else "unknown error"
    first = first.replace(lake.uri, lake_name(lake))
    end = first.find(". ")
    return first[: end + 1] if end > 0 else first


class LakeView(widgets.VBox):
    """A heading with a Refresh button, an empty-state message, and a body; subclasses fill
    them in `refresh()`."""

    def __init__(self, lake: Lake | str | os.PathLike | None = None, **kwargs: Any) -> None:
        self.lake = resolve_lake(lake)
        self.heading = widgets.HTML()
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh",
                                             tooltip="Re-read the lake")
        self.message = widgets.HTML()
        self.body = widgets.VBox(layout=widgets.Layout(width="100%"))
        self.refresh_button.on_click(lambda _: self.refresh())
        self._quiet = False  # set while refresh() rewrites a picker's options
        super().__init__(children=[widgets.HBox([self.heading, self.refresh_button]),
                                   self.message, self.body], **kwargs)
        self.refresh()

    @property
    def empty(self) -> bool:
        """Whether the view shows its empty state (the lake has none of its data)."""
        return bool(self.message.value)

    def refresh(self) -> None:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def _show_empty(self, text: str) -> None:
        self.message.value = text
        self.body.children = []


def dashboard_figure(figure: go.Figure, title: str, **layout: Any) -> FigureView:
    """A chart function's figure as a dashboard chart (a `FigureView`: plotly's mimetype in an
    Output, one shared plotly.js per page): titled (unless ``title`` is empty), 320 px high
    unless ``height`` says otherwise, ``width`` px wide (default `CHART_WIDTH`) in a box as wide.
    The width is the figure's own: sized by a wrapping row (`chart_row`) instead, plotly's
    renderer draws the chart 0 px high."""
    from workbench.widgets.figure_view import FigureView

    layout.setdefault("width", CHART_WIDTH)
    return FigureView(dashboard_layout(figure, title, **layout), width=f"{layout['width']}px")


def dashboard_layout(figure: go.Figure, title: str, **layout: Any) -> go.Figure:
    """``figure`` laid out as `dashboard_figure` shows it (to redraw one in place). An empty
    figure whose chart titled it with what is missing keeps that after ``title``."""
    layout.setdefault("height", 320)
    layout.setdefault("width", CHART_WIDTH)
    missing = figure.layout.title.text if not figure.data else None
    if title:
        layout["title_text"] = f"{title} · {missing}" if missing else title
    return figure.update_layout(margin=CHART_MARGIN, **layout)


def chart_row(children: list[Any] | None = None) -> widgets.Box:
    """Charts side by side, wrapping onto the next line when the page is narrow."""
    return widgets.Box(children or [], layout=widgets.Layout(
        display="flex", flex_flow="row wrap", grid_gap="8px", width="100%"))


def table_html(frame: pd.DataFrame, height: int = 420, classes: str = "") -> str:
    """``frame`` as a person reads it, in a frame that scrolls: headers as `format.label`
    writes them, numbers by `format`'s rules (fractions as percentages), times to the second,
    long lists summarised (`cell_text`), missing values blank."""
    import pandas as pd

    from workbench.charts.format import describe, label

    shown = frame.copy()
    for name in shown.columns:
        column = describe(str(name))
        percent = column.unit == "%"
        if column.factor != 1 and pd.api.types.is_numeric_dtype(shown[name]):
            shown[name] = shown[name] * column.factor  # e.g. seconds shown in ms, bytes in MB
        shown[name] = [cell_text(v, percent) for v in shown[name]]
    shown.columns = [label(str(c)) for c in shown.columns]
    return TABLE_FRAME.format(height, shown.to_html(index=False, border=0, classes=classes,
                                                    escape=True))


def cell_text(value: Any, percent: bool = False) -> str:
    """One table cell: numbers by `format` ("12,346", "0.0123", "12.3%" for a fraction),
    timestamps to the second, a duration in its unit ("3 min 20 s"), a list of more than
    `LIST_SHOWN` values as its length and range ("101 values, 0.12 to 3.4")."""
    import datetime

    import numpy as np
    import pandas as pd

    from workbench.charts import format as fmt

    if isinstance(value, (list, tuple, np.ndarray)):
        return list_text(value)
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (datetime.timedelta, np.timedelta64)):
        return fmt.duration(pd.Timedelta(value))
    if isinstance(value, (datetime.datetime, np.datetime64)):
        return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (int, float, np.integer, np.floating)):
        return fmt.percent(value) if percent else fmt.number(value)
    return str(value)


def list_text(values: Any) -> str:
    """A list as a cell: written out up to `LIST_SHOWN` values, else summarised: "101 values,
    0.12 to 3.4" for numbers, "12 values: a, b, c, …" for anything else."""
    import numbers

    items = list(values)
    if len(items) <= LIST_SHOWN:
        return ", ".join(cell_text(v) for v in items)
    if all(isinstance(v, numbers.Real) for v in items):
        return f"{len(items):,} values, {cell_text(min(items))} to {cell_text(max(items))}"
    return f"{len(items):,} values: " + ", ".join(cell_text(v) for v in items[:LIST_SHOWN]) + ", …"
