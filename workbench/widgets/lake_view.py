"""What the dashboards' views share: a lake resolved from a path or the default, a heading with
a Refresh button and an empty state that says what to run, chart layout and text formats.

Each view reads the lake alone (its tables, and the `_runs`, `_run_metrics` and `_bench` tables
that training and the benchmarks record), so a Voila page or a colleague's notebook shows it
without the kernel that produced the data. Every figure is built with its data (a page that
connects later never sees edits) and kept, so a picker swaps figures instead of editing or closing
the one on screen. The numbers behind the charts are DataFrames on the object.
"""

from __future__ import annotations

import html
import os
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from workbench.lake import Lake

RUNS, RUN_METRICS, BENCH = "_runs", "_run_metrics", "_bench"  # what training and bench record
CHART_WIDTH = 640  # px: two charts side by side on a laptop screen, one under the other below
SCROLL_BOX = "<div style='overflow:auto; max-height:{}px'>{}</div>"
CHART_MARGIN = {"l": 60, "r": 20, "t": 50, "b": 50}


def resolve_lake(lake: Lake | str | os.PathLike | None) -> Lake:
    """The lake a view reads: ``lake`` itself, a path opened as one, or the default lake."""
    from workbench.lake import Lake, default_lake

    if lake is None:
        return default_lake()
    return lake if isinstance(lake, Lake) else Lake(lake)


def empty_state(lake: Lake, missing: str, how: str) -> str:
    """The HTML a dashboard shows when ``lake`` lacks its data: what is missing, what to run,
    and how to point the dashboard at another lake."""
    from workbench.home import home

    where = html.escape(lake.uri)
    absent = "://" not in lake.uri and not os.path.isdir(lake.uri)
    state = (f"There is no lake at <code>{where}</code> yet." if absent
             else f"The lake at <code>{where}</code> has {missing}.")
    return (
        f"<div class='workbench-empty' style='padding:12px; border:1px dashed #999'>"
        f"<p><b>Nothing to show yet.</b> {state}</p><p>{how}</p>"
        "<p>Dashboards read the lake named by <code>WORKBENCH_LAKE</code> (default "
        f"<code>{html.escape(str(home() / 'lake'))}</code>); <code>make demo</code> builds one "
        "with every table, and <code>workbench publish NOTEBOOK --lake PATH</code> publishes a "
        "dashboard on another lake.</p></div>")


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


def chart_layout(title: str, **kwargs: Any) -> go.Layout:
    """A chart's layout: a fixed size, since a FigureWidget keeps the width it was first drawn
    with rather than following its box."""
    import plotly.graph_objects as go

    kwargs.setdefault("height", 320)
    kwargs.setdefault("width", CHART_WIDTH)
    return go.Layout(title_text=title, margin=CHART_MARGIN, **kwargs)


def chart_row(children: list[Any] | None = None) -> widgets.Box:
    """Charts side by side, wrapping onto the next line when the page is narrow."""
    return widgets.Box(children or [], layout=widgets.Layout(
        display="flex", flex_flow="row wrap", grid_gap="8px", width="100%"))


def bytes_text(n: float) -> str:
    if abs(n) < 1024:
        return f"{n:,.0f} B"
    for unit in ("KB", "MB", "GB"):
        n /= 1024
        if abs(n) < 1024:
            return f"{n:,.1f} {unit}"
    return f"{n / 1024:,.1f} TB"


def percent_text(value: Any) -> str:
    import math

    return "" if value is None or math.isnan(value) else f"{value:.1%}"


def number_text(value: float) -> str:
    """Four significant digits, whole numbers with thousands separators past 1,000; "n/a" for
    NaN."""
    import math

    if math.isnan(value):
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"

