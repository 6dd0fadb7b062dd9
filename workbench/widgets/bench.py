"""`LatencyView` and `CompareView`: inference benchmarks as widgets.

Both read a result's `_bench` rows (`records()`, what `save(lake)` writes and the dashboards
read) and draw them with the chart functions; the numbers come from `bench.records`. Each
chart is a `FigureView` (`dashboard_figure`: plotly's mimetype in an Output, drawn by the page's
one plotly.js), built once with its data and kept.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from workbench.widgets.lake_view import dashboard_figure, table_html

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from workbench.bench.harness import LatencyResult
    from workbench.compress.comparison import CompareResult
    from workbench.widgets.figure_view import FigureView

CHART_WIDTH = 480  # px: the histogram and the CDF side by side


class LatencyView(widgets.VBox):
    """A `LatencyResult`: the percentiles table, the latency histogram (`histogram`) and CDF
    (`cdf`, percentiles marked) of the batch size picked in `batch_picker`, and throughput
    against p99 latency across batch sizes (`tradeoff`)."""

    def __init__(self, result: LatencyResult, **kwargs: Any) -> None:
        from workbench.bench.records import labelled
        from workbench.charts.tradeoff import throughput_latency

        self.result = result
        self.rows = labelled(result.records().to_pandas())
        self.header = _header("Latency</b> of", result)
        self.stats = widgets.HTML(table_html(result.table, 300))
        self.batch_picker = widgets.Dropdown(options=result.batch_sizes, description="Batch size",
                                             layout=widgets.Layout(width="240px"))
        self.histogram: FigureView | None = None
        self.cdf: FigureView | None = None
        self.tail = widgets.HTML()
        self._figures: dict[int, tuple[FigureView, FigureView, str]] = {}
        self.chart_box = widgets.Box(layout=widgets.Layout(flex_flow="row wrap"))
        self.tradeoff = dashboard_figure(throughput_latency(self.rows),
                                         "Throughput against p99 latency across batch sizes")
        self.batch_picker.observe(lambda _: self._draw(), names="value")
        self._draw()
        super().__init__(children=[self.header, self.stats, self.batch_picker, self.chart_box,
                                   self.tail, self.tradeoff], **kwargs)

    def _draw(self) -> None:
        b = self.batch_picker.value
        if b is None:
            return
        if b not in self._figures:
            self._figures[b] = self._distribution(b)
        self.histogram, self.cdf, self.tail.value = self._figures[b]
        self.chart_box.children = [self.histogram, self.cdf]

    def _distribution(self, b: int) -> tuple[FigureView, FigureView, str]:
        """Batch size ``b``'s histogram and CDF figures, and the line on requests left out."""
        from workbench.bench.records import latency_bins, slower_than_shown
        from workbench.charts import format as fmt
        from workbench.charts.latency import latency_cdf, latency_histogram

        samples = self.result.samples[b]
        row = self.rows[self.rows["batch_size"] == b]
        heading = (f"batch size {b}: {fmt.count(len(samples))} requests, "
                   f"{fmt.throughput(row['throughput'].iloc[0])}")
        hidden = slower_than_shown(samples)
        tail = (f"<p><small>{fmt.count(hidden)} slower requests are not in the histogram (the "
                f"slowest took {fmt.latency_ms(row['max_ms'].iloc[0] / 1e3)}).</small></p>"
                if hidden else "")
        return (dashboard_figure(latency_histogram(latency_bins(samples)),
                                 f"Histogram · {heading}", width=CHART_WIDTH),
                dashboard_figure(latency_cdf(row, marks=True), f"CDF · batch size {b}",
                                 width=CHART_WIDTH),
                tail)


class CompareView(widgets.VBox):
    """A `CompareResult`: the variants side by side (`records.comparison`: size, latency,
    throughput, speed-up, the metric, and why a variant is surprisingly slow) and one bar chart
    per figure, variants on the x axis, in `chart` (its figure: `figure`)."""

    def __init__(self, result: CompareResult, **kwargs: Any) -> None:
        from workbench.bench.records import comparison
        from workbench.charts.compression import compression

        self.result = result
        self.comparison = comparison(result.records().to_pandas())
        self.header = _header("Compare</b>", result)
        self.stats = widgets.HTML(comparison_html(self.comparison))
        self.chart = dashboard_figure(
            compression(self.comparison),
            f"{result.model}: variants side by side (batch size {result.batch_size})", width=900)
        super().__init__(children=[self.header, self.stats, self.chart], **kwargs)

    @property
    def figure(self) -> go.Figure:
        """The variants' bar charts (the figure `chart` shows)."""
        return self.chart.figure


def comparison_html(comparison: pd.DataFrame) -> str:
    """A comparison (`records.comparison`) as a table, its metric under the metric's name, and
    each variant's note as a sentence below it."""
    shown = comparison.drop(columns=["model", "note", "metric_name"])
    named = comparison["metric_name"].fillna("")
    if named.ne("").any():
        shown = shown.rename(columns={"metric": named[named.ne("")].iloc[0]})
    else:
        shown = shown.drop(columns="metric")
    notes = "".join(f"<p class='workbench-note'><b>{html.escape(str(v))}</b> is "
                    f"{html.escape(n, quote=False)}.</p>"
                    for v, n in zip(comparison["variant"], comparison["note"]) if n)
    return table_html(shown, 300) + notes


def _header(label: str, result: Any) -> widgets.HTML:
    """A result's title line; ``label`` is its bold start."""
    return widgets.HTML(f"<b>{label} {html.escape(result._title())} "
                        f"<small>({html.escape(result.bench_id)})</small>")
