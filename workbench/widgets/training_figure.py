"""The training monitor's one plotly FigureWidget: a subplot per chart, each subplot's lines and
axes those of the chart function that draws the same table anywhere else (`workbench.charts`).

- One figure rather than one per chart: each FigureWidget's front end loads plotly's 5 MB
  bundle anew, and anywidget ignores every later update of a model whose loading took over
  2 s, which several figures loading at once can take on a busy machine.
- Lines are matched by (chart, name): an update sets their points inside one
  `batch_update()`, a series seen for the first time adds a trace. A live job's figure has
  every rank's (every GPU's) lines from the start, so a resend restyles lines every page has.
- An alert that fired is a dotted vertical line at its start on every subplot (`marks`: rows
  of `workbench.train.alert_log.alert_marks`), named after its rule on the first, coloured by
  its severity; on the step axis it stands at the step its rank had reached.
- After each update the synced `_widget_data` and `_widget_layout` are set to what it shows:
  edits travel as one-off messages that a page connecting later (Voila, a reload) never
  receives, while it does receive the state.
"""

from __future__ import annotations

import re
from copy import deepcopy
from typing import TYPE_CHECKING, Any

from workbench.train.series import thin_lines

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

CHARTS = ("throughput", "step_time", "data_wait", "metric", "gpu")  # the figure's subplots
TITLES = {"throughput": "Throughput", "step_time": "Step time",
          "data_wait": "Data-wait share (data time / step time)",
          "metric": "Logged metrics: none yet (run.log(loss=...) in the loop)",
          "gpu": "GPU utilisation and memory (%)"}
GPU_WAITING = ": no samples yet (NVML samples every second)"


def chart(name: str, frame: pd.DataFrame, *, x: str, metric: str | None,
          names: list[str]) -> go.Figure:
    """Chart ``name`` of ``frame`` as the chart functions draw it everywhere."""
    from workbench import charts
    from workbench.charts.data_wait import data_wait
    from workbench.charts.gpu import gpu
    from workbench.charts.step_time import step_time

    lines = tuple(names)
    if name == "metric":
        return charts.loss(frame, metric or "", x=x, names=lines)
    if name == "gpu":
        return gpu(frame, names=lines)
    draw = {"throughput": charts.throughput, "step_time": step_time, "data_wait": data_wait}
    return draw[name](frame, x, lines)


class MonitorFigure:
    """The FigureWidget (`widget`) of the ``charts`` of a monitor over ``x`` ("step" or
    "time"), each line thinned to ``max_points``; ``expected``: the lines each chart has from
    the start."""

    def __init__(self, frames: dict[str, pd.DataFrame], metric: str | None, *,
                 charts: tuple[str, ...], x: str, window: int, max_points: int,
                 expected: dict[str, list[str]]) -> None:
        self.charts, self.x, self.window = charts, x, window
        self.max_points, self.expected = max_points, expected
        self.index: dict[tuple[str, str], int] = {}  # (chart, line name) -> trace index
        self.grown = False  # whether traces were added after the figure was built
        self.marks: pd.DataFrame | None = None  # the alerts' marks, drawn with the lines
        self.widget = self._build(frames, metric)

    def traces(self, name: str) -> dict[str, Any]:
        """The lines of chart ``name``, by line name: the plotly traces of `widget`."""
        return {line: self.widget.data[i] for (part, line), i in self.index.items()
                if part == name}

    def _charted(self, frames: dict[str, pd.DataFrame],
                 metric: str | None) -> dict[str, go.Figure]:
        return {name: chart(name, thin_lines(frames[name], self.max_points),
                            x="time" if name == "gpu" else self.x, metric=metric,
                            names=self.expected[name]) for name in self.charts}

    def _build(self, frames: dict[str, pd.DataFrame], metric: str | None) -> go.FigureWidget:
        """Every chart's subplot with its axes and lines, given to the constructor."""
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        rows = (len(self.charts) + 1) // 2
        specs: list[list[dict | None]] = [[{}, {}], [{}, {}]]
        if "gpu" in self.charts:
            specs.append([{"colspan": 2}, None])
        grid = make_subplots(rows=rows, cols=2, specs=specs, horizontal_spacing=0.08,
                             vertical_spacing=0.3 / rows,
                             subplot_titles=[TITLES[c] for c in self.charts])
        layout = grid.layout
        layout.annotations[CHARTS.index("step_time")].text = (
            f"Step time: p50, p90, p99 over {self.window} steps")
        layout.update(height=320 * rows, margin={"l": 60, "r": 20, "t": 40, "b": 40},
                      hovermode="x unified", legend={"tracegroupgap": 2})
        traces: list[dict[str, Any]] = []
        for name, figure in self._charted(frames, metric).items():
            self._axes(layout, name, figure)
            for trace in figure.data:
                self.index[(name, trace.name)] = len(traces)
                traces.append(self._trace(name, trace, {t["legendgroup"] for t in traces}))
        _set_titles(layout, self._titles(frames, metric))
        return go.FigureWidget(data=traces, layout=layout)

    def shapes(self) -> list[dict[str, Any]]:
        """The vertical line of each of `marks` on each subplot (see the module)."""
        from workbench.charts.alert_timeline import SEVERITY_COLOURS

        if self.marks is None:
            return []
        lines = []
        for mark in self.marks.itertuples(index=False):
            for i, name in enumerate(self.charts):
                n = CHARTS.index(name) + 1
                at = mark.time if name == "gpu" or self.x == "time" else mark.step
                label = {"text": mark.rule, "textposition": "end", "font": {"size": 10}}
                lines.append({
                    "type": "line", "xref": f"x{n if n > 1 else ''}",
                    "yref": f"y{n if n > 1 else ''} domain", "x0": at, "x1": at, "y0": 0,
                    "y1": 1, "line": {"color": SEVERITY_COLOURS.get(mark.severity, "#e3a008"),
                                      "width": 1, "dash": "dot"},
                    **({"label": label} if i == 0 else {})})
        return lines

    def draw(self, frames: dict[str, pd.DataFrame], metric: str | None) -> None:
        """Push every line and title in one batch (a line with no data now is emptied; a new
        series adds a trace), then make the synced state what the figure shows."""
        fig = self.widget
        fresh, drawn = [], set()
        with fig.batch_update():
            for name, figure in self._charted(frames, metric).items():
                if name == "metric":
                    self._axes(fig.layout, name, figure)  # the picked metric's unit
                for trace in figure.data:
                    index = self.index.get((name, trace.name))
                    if index is None:
                        fresh.append((name, trace))
                        continue
                    drawn.add(index)
                    fig.data[index].update(x=trace.x, y=trace.y,
                                           hovertemplate=trace.hovertemplate)
            for index, trace in enumerate(fig.data):
                if index not in drawn and trace.meta == "metric":
                    trace.x, trace.y = [], []  # a rank without values for the picked metric
            _set_titles(fig.layout, self._titles(frames, metric))
            fig.layout.shapes = self.shapes()
        shown = {trace.legendgroup for trace in fig.data}
        for name, trace in fresh:
            self.index[(name, trace.name)] = len(fig.data)
            fig.add_traces([self._trace(name, trace, shown)])
            shown.add(trace.legendgroup)
            self.grown = True  # see resync
        fig._widget_data = deepcopy(fig._data)
        fig._widget_layout = deepcopy(fig._layout_obj._props)

    def resync(self, frames: dict[str, pd.DataFrame], metric: str | None) -> None:
        """Send the titles and lines again as a relayout and a restyle (plotly's setters send
        only what changed, and a page that lost the last change needs it again). After traces
        were added no restyle is sent: a page that lost the addition has fewer traces than
        it would name."""
        fig = self.widget
        titles = self._titles(frames, metric)
        fig._send_relayout_msg({_js_key(path): text for path, text in titles.items()})
        if fig.data and not self.grown:
            fig._send_restyle_msg({"x": [trace.x for trace in fig.data],
                                   "y": [trace.y for trace in fig.data]},
                                  trace_indexes=list(range(len(fig.data))))

    def _axes(self, layout: Any, name: str, figure: go.Figure) -> None:
        """Chart ``name``'s subplot gets the chart's axes: titles with units, plain ticks."""
        n = CHARTS.index(name) + 1
        for letter in "xy":
            layout[f"{letter}axis{n}"].update(figure.layout[f"{letter}axis"].to_plotly_json())

    def _trace(self, name: str, trace: Any, shown: set[str]) -> dict[str, Any]:
        """A chart's line placed on its subplot; a rank (a GPU) keeps one legend entry that
        shows or hides its lines on every chart."""
        n = CHARTS.index(name) + 1
        return {**trace.to_plotly_json(), "meta": name, "xaxis": f"x{n if n > 1 else ''}",
                "yaxis": f"y{n if n > 1 else ''}", "showlegend": trace.legendgroup not in shown}

    def _titles(self, frames: dict[str, pd.DataFrame], metric: str | None) -> dict[tuple, str]:
        """The titles that change (layout paths -> text): the metric chart is named after the
        picked metric, and the GPU chart carries a waiting note until samples arrive."""
        titles = {("annotations", CHARTS.index("metric"), "text"): metric or TITLES["metric"]}
        if "gpu" in self.charts:
            waiting = GPU_WAITING if frames["gpu"].empty else ""
            titles[("annotations", CHARTS.index("gpu"), "text")] = TITLES["gpu"] + waiting
        return titles


def _set_titles(layout: Any, titles: dict[tuple, str]) -> None:
    """Set each title at its layout path (("annotations", 3, "text") -> text)."""
    for path, text in titles.items():
        node = layout
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = text


def _js_key(path: tuple) -> str:
    """A layout path as plotly.js's relayout spells it: "annotations[3].text"."""
    return re.sub(r"\.(\d+)", r"[\1]", ".".join(str(key) for key in path))
