"""`LatencyView` and `CompareView`: inference benchmarks and engine comparisons as widgets.

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

    from workbench.bench.comparison import Comparison
    from workbench.bench.harness import LatencyResult
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
    """A `Comparison` (`wb.bench.compare`): a line naming the engine to pick per scenario and
    batch size (`pick`, from `records.fastest`), the table (`stats`: ``result.table``, every
    variant x engine x scenario x batch size, an engine that could not run with why), the
    speed-up of each engine over eager per batch size, parity failures marked (`speedup_chart`,
    `engine_speedup`), and size, latency, throughput and the metric of each variant and engine
    at one scenario and batch size (`chart`, `compression`; its figure: `figure`)."""

    def __init__(self, result: Comparison, **kwargs: Any) -> None:
        from workbench.bench.records import comparison, fastest, one_setting
        from workbench.charts.compression import compression
        from workbench.charts.engines import engine_speedup

        self.result = result
        self.comparison = comparison(result.records().to_pandas())
        self.fastest = fastest(self.comparison)
        self.header = _header("Compare</b>", result)
        self.pick = widgets.HTML(pick_html(self.fastest, self.comparison))
        self.stats = widgets.HTML(comparison_html(result.table))
        self.speedup_chart = dashboard_figure(engine_speedup(self.comparison),
                                              f"{result.model}: {SPEEDUP_TITLE}", width=900)
        setting = one_setting(self.comparison)
        self.chart = dashboard_figure(compression(setting), setting_title(result.model, setting),
                                      width=900)
        super().__init__(children=[self.header, self.pick, self.stats, self.speedup_chart,
                                   self.chart], **kwargs)

    @property
    def figure(self) -> go.Figure:
        """The variants' and engines' bar charts at one setting (the figure `chart` shows)."""
        return self.chart.figure


SPEEDUP_TITLE = "speed-up of each engine over eager"


def setting_title(model: str, setting: pd.DataFrame) -> str:
    """The title of `compression`'s panels over ``setting`` (`records.one_setting`)."""
    if not len(setting):
        return f"{model}: nothing timed"
    return (f"{model}: each variant and engine, {setting['scenario'].iloc[0]} at batch size "
            f"{setting['batch_size'].iloc[0]}")


def pick_html(fastest: pd.DataFrame, comparison: pd.DataFrame) -> str:
    """One line naming what to pick per scenario and batch size (`records.fastest`): the
    engine (and variant, when the comparison holds several), its speed-up over the baseline's
    eager and its p50; a line saying why there is no pick when there is none."""
    from workbench.charts import format as fmt

    if not len(fastest):
        return ("<p class='workbench-pick'><i>No engine to pick: none was timed with its "
                "parity holding against an eager row of the first variant.</i></p>")
    base = html.escape(str(comparison["variant"].iloc[0]))
    several = comparison["variant"].nunique() > 1
    picks = [f"<b>{html.escape(str(r.engine))}</b>"
             + (f" ({html.escape(str(r.variant))})" if several else "")
             + f" for {html.escape(str(r.scenario))} at batch {r.batch_size} "
             f"({fmt.number(r.speedup, 2)}x {base} on eager, p50 "
             f"{fmt.latency_ms(r.p50_ms / 1e3)})" for r in fastest.itertuples(index=False)]
    return f"<p class='workbench-pick'>Fastest: {'; '.join(picks)}.</p>"


def comparison_html(comparison: pd.DataFrame) -> str:
    """A comparison (`records.comparison`, or a ``Comparison.table``) as a table, the metric
    under its name, each row's note (why it is slow, failed, or the one to pick) last."""
    shown = comparison.drop(columns=[c for c in ("model", "metric_name", "params")
                                     if c in comparison])
    if "metric" in comparison:
        named = comparison["metric_name"].fillna("") if "metric_name" in comparison else None
        if named is not None and named.ne("").any():
            shown = shown.rename(columns={"metric": named[named.ne("")].iloc[0]})
        else:
            shown = shown.drop(columns="metric")
    if "note" in shown:
        shown = shown[[c for c in shown.columns if c != "note"] + ["note"]]
    return table_html(shown, 360, "workbench-compare")


def _header(label: str, result: Any) -> widgets.HTML:
    """A result's title line; ``label`` is its bold start."""
    return widgets.HTML(f"<b>{label} {html.escape(result._title())} "
                        f"<small>({html.escape(result.bench_id)})</small>")
