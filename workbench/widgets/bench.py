"""`LatencyView` and `CompareView`: inference benchmarks as widgets.

Plotly FigureWidgets built with their data given to the constructor (a front end that connects
later, as Voila's does, never sees edits made before it connected), one per chart and kept.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

if TYPE_CHECKING:
    import numpy as np

    from workbench.bench.harness import LatencyResult
    from workbench.compress.comparison import CompareResult

_SCROLL = "<div style='overflow-x:auto; max-width:100%'>{}</div>"
_MARGIN = dict(l=55, r=20, t=50, b=45)
HISTOGRAM_BINS = 60
CDF_POINTS = 501
SHOWN_QUANTILE = 0.999  # the histogram's range ends here; slower requests are counted aside


class LatencyView(widgets.VBox):
    """A `LatencyResult`: the percentiles table, the latency histogram and CDF of the batch size
    picked in `batch_picker` (drawn in `figure`, percentiles marked), and throughput against p99
    latency across batch sizes (`tradeoff`)."""

    def __init__(self, result: LatencyResult, **kwargs: Any) -> None:
        self.result = result
        self.header, self.stats = _heading("Latency</b> of", result)
        self.batch_picker = widgets.Dropdown(options=result.batch_sizes, description="Batch size",
                                             layout=widgets.Layout(width="240px"))
        self.figure: Any = None
        self._figures: dict[int, Any] = {}
        self.chart_box = widgets.Box()
        self.tradeoff = tradeoff_figure(result)
        self.batch_picker.observe(lambda _: self._draw(), names="value")
        self._draw()
        super().__init__(children=[self.header, self.stats, self.batch_picker, self.chart_box,
                                   self.tradeoff], **kwargs)

    def _draw(self) -> None:
        b = self.batch_picker.value
        if b is None:
            return
        if b not in self._figures:
            self._figures[b] = distribution_figure(self.result, b)
        self.figure = self._figures[b]
        self.chart_box.children = [self.figure]


def distribution_figure(result: LatencyResult, batch_size: int) -> Any:
    """Histogram (left) and CDF (right) of one batch size's latencies, p50/p90/p99 marked."""
    import numpy as np
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from workbench.kernels import quantiles

    samples = result.samples[batch_size]
    row = result.table.set_index("batch_size").loc[batch_size]
    top = float(quantiles(samples, SHOWN_QUANTILE))
    shown = samples[samples <= top]
    counts, edges = np.histogram(shown, bins=HISTOGRAM_BINS)
    hidden = len(samples) - len(shown)
    qs = np.linspace(0.0, 1.0, CDF_POINTS)
    cdf_x = quantiles(samples, qs)
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=("histogram" + (f" ({hidden} slower not shown, max "
                                                       f"{row['max_ms']:.4g} ms)" if hidden
                                                       else ""), "CDF"))
    fig.add_trace(go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=counts, width=np.diff(edges),
                         marker_line_width=0, name="requests",
                         customdata=np.column_stack([edges[:-1], edges[1:]]),
                         hovertemplate="%{customdata[0]:.4g} to %{customdata[1]:.4g} ms: "
                                       "%{y} requests<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Scatter(x=cdf_x, y=qs, mode="lines", name="CDF",
                             hovertemplate="%{y:.1%} within %{x:.4g} ms<extra></extra>"),
                  row=1, col=2)
    marks = [("p50", row["p50_ms"]), ("p90", row["p90_ms"]), ("p99", row["p99_ms"])]
    fig.add_trace(go.Scatter(x=[v for _, v in marks], y=[0.50, 0.90, 0.99],
                             mode="markers+text", text=[f"{n} {v:.3g} ms" for n, v in marks],
                             textposition="middle right", name="percentiles",
                             marker=dict(size=9)), row=1, col=2)
    for name, value in marks:
        fig.add_vline(x=value, line_dash="dot", line_width=1, row=1, col=1,
                      annotation_text=name, annotation_position="top")
    fig.update_xaxes(title_text="latency (ms)")
    fig.update_yaxes(title_text="requests", row=1, col=1)
    fig.update_yaxes(title_text="share of requests", range=[0, 1.02], row=1, col=2)
    fig.update_layout(height=320, margin=_MARGIN, showlegend=False, bargap=0,
                      title_text=f"batch size {batch_size}: {len(samples):,} requests, "
                                 f"{row['throughput']:.4g} samples/s")
    return go.FigureWidget(fig)


def tradeoff_figure(result: LatencyResult) -> Any:
    """Throughput (samples/s) against p99 latency, one point per batch size, in order."""
    import plotly.graph_objects as go

    table = result.table
    return go.FigureWidget(
        data=[go.Scatter(x=table["p99_ms"], y=table["throughput"], mode="lines+markers+text",
                         text=[f"b={b}" for b in table["batch_size"]],
                         textposition="top left", marker=dict(size=9),
                         hovertemplate="p99 %{x:.4g} ms, %{y:.4g} samples/s"
                                       "<extra>%{text}</extra>")],
        layout=go.Layout(height=300, margin=_MARGIN, showlegend=False,
                         title_text="throughput against p99 latency across batch sizes",
                         xaxis_title="p99 latency (ms)", yaxis_title="samples/s"))


def _heading(label: str, result: Any) -> tuple[widgets.HTML, widgets.HTML]:
    """A result's title line (`label` is its bold start) and its table, scrollable: the top of
    both views."""
    header = widgets.HTML(f"<b>{label} {html.escape(result._title())} "
                          f"<small>({html.escape(result.bench_id)})</small>")
    stats = widgets.HTML(_SCROLL.format(
        result.table.to_html(index=False, border=0, float_format=lambda v: f"{v:.4g}")))
    return header, stats


class CompareView(widgets.VBox):
    """A `CompareResult`: the side-by-side table and one bar chart per figure (size, p50, p99,
    throughput, the metric), variants on the x axis, in `figure`."""

    def __init__(self, result: CompareResult, **kwargs: Any) -> None:
        self.result = result
        self.header, self.stats = _heading("Compare</b>", result)
        self.figure = compare_figure(result)
        super().__init__(children=[self.header, self.stats, self.figure], **kwargs)


def compare_figure(result: CompareResult) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    table = result.table
    panels = [("size_mb", "size (MB)"), ("p50_ms", "p50 (ms)"), ("p99_ms", "p99 (ms)"),
              ("throughput", "samples/s")]
    if result.metric_name:
        panels.append((result.metric_name, result.metric_name))
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[t for _, t in panels],
                        horizontal_spacing=0.06)
    variants = table["variant"].tolist()
    for i, (column, title) in enumerate(panels, start=1):
        values: np.ndarray = table[column].to_numpy(dtype=float)
        fig.add_trace(go.Bar(x=variants, y=values, name=title, text=[f"{v:.3g}" for v in values],
                             textposition="auto",
                             hovertemplate=f"%{{x}}: %{{y:.4g}} {html.escape(title)}"
                                           "<extra></extra>"), row=1, col=i)
    fig.update_layout(height=320, margin=_MARGIN, showlegend=False,
                      title_text=f"{result.model}: variants side by side (batch size "
                                 f"{result.batch_size})")
    return go.FigureWidget(fig)
