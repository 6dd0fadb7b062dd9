"""`InferenceResults`: the latest `_bench` results per model and batch size, and the
compression comparison."""

from __future__ import annotations

import html
import os
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

if TYPE_CHECKING:
    import pandas as pd

    from workbench.lake import Lake
    from workbench.widgets.figure_view import FigureView

from workbench.widgets.bench import comparison_html
from workbench.widgets.lake_view import (
    BENCH,
    CHART_WIDTH,
    LakeView,
    chart_row,
    dashboard_figure,
    empty_state,
    table_html,
)

ALL_MODELS = "All models"


class InferenceResults(LakeView):
    """Inference benchmarks from the lake's `_bench` table: latency percentiles, latency CDFs,
    throughput against tail latency, the latest compression comparison (size, latency and
    quality per variant), and the table of results; a model picker narrows them all."""

    def __init__(self, lake: Lake | str | os.PathLike | None = None, **kwargs: Any) -> None:
        self.model_picker = widgets.Dropdown(description="Model", layout=widgets.Layout(
            width="420px"))
        self.charts = chart_row()
        self.compression = widgets.VBox(layout=widgets.Layout(width="100%"))
        self.results = widgets.HTML()
        self._figures: dict[str, dict[str, FigureView]] = {}  # model (or ALL_MODELS) -> charts
        self.figures: dict[str, FigureView] = {}  # the picked model's charts, by name
        self.bench: pd.DataFrame | None = None
        self.model_picker.observe(self._on_model, names="value")
        super().__init__(lake, **kwargs)

    @property
    def model(self) -> str:
        """The picked model, or ``ALL_MODELS``."""
        return self.model_picker.value

    def refresh(self) -> None:
        """Re-read `_bench`; keeps the picked model when it is still there."""
        self.heading.value = "<h3>Inference benchmarks</h3>"
        self.bench = None
        if BENCH not in self.lake:
            self._show_empty(empty_state(
                self.lake, f"no inference benchmarks (no <code>{BENCH}</code> table)",
                "Benchmark a model with <code>wb.bench.latency(model, inputs).save(lake)</code>"
                ", or compare compressed variants with <code>wb.compress.compare(...).save(lake)"
                f"</code>; each result is a row of <code>{BENCH}</code>."))
            return
        bench = self.lake.table(BENCH).to_pandas()
        if not len(bench):
            self._show_empty(empty_state(
                self.lake, f"an empty <code>{BENCH}</code> table",
                "Benchmark a model with <code>wb.bench.latency(model, inputs).save(lake)</code>."))
            return
        self.message.value = ""
        self.bench = bench.sort_values("time", ignore_index=True)
        self._figures.clear()
        self.heading.value = (f"<h3>Inference benchmarks &middot; {len(self.bench)} results, "
                              f"{self.bench['model'].nunique()} models</h3>")
        keep = self.model
        options = [ALL_MODELS, *sorted(self.bench["model"].unique())]
        self._quiet = True
        try:
            self.model_picker.options = options
            self.model_picker.value = keep if keep in options else ALL_MODELS
        finally:
            self._quiet = False
        self.body.children = [self.model_picker, self.charts, self.compression,
                              widgets.HTML("<h4>Results (latest per configuration)</h4>"),
                              self.results]
        self._show()

    def latest(self) -> pd.DataFrame:
        """The picked model's results, the latest per configuration, labelled
        (`records.latest`)."""
        from workbench.bench.records import latest

        return latest(self._picked())

    def comparison(self) -> pd.DataFrame:
        """The picked model's latest compression comparison (`records.comparison`; empty when
        there is none)."""
        from workbench.bench.records import comparison

        return comparison(self._picked())

    def _picked(self) -> pd.DataFrame:
        """The `_bench` rows of the picked model (all of them for ``ALL_MODELS``)."""
        if self.model == ALL_MODELS:
            return self.bench
        return self.bench[self.bench["model"] == self.model]

    def _on_model(self, change: dict) -> None:
        if not self._quiet:
            self._show()

    def _show(self) -> None:
        latest, comparison = self.latest(), self.comparison()
        if self.model not in self._figures:
            self._figures[self.model] = _bench_figures(latest, comparison)
        self.figures = self._figures[self.model]
        self.charts.children = [self.figures[n] for n in ("percentiles", "cdf", "tradeoff")]
        if "compression" in self.figures:
            self.compression.children = [
                widgets.HTML(f"<h4>Compression comparison &middot; "
                             f"{html.escape(str(comparison['model'].iloc[0]))}</h4>"),
                self.figures["compression"], widgets.HTML(comparison_html(comparison))]
        else:
            self.compression.children = [widgets.HTML(
                "<p><i>No compression comparison for this selection yet: "
                "<code>wb.compress.compare(...).save(lake)</code> adds one (size, latency and "
                "quality of each variant side by side).</i></p>")]
        self.results.value = table_html(latest[RESULT_COLUMNS], 420, "workbench-bench")


RESULT_COLUMNS = ["model", "variant", "device", "scenario", "batch_size", "qps", "p50_ms",
                  "p90_ms", "p95_ms", "p99_ms", "max_ms", "throughput", "samples", "stable",
                  "size_mb", "metric_name", "metric", "time"]


def _bench_figures(latest: pd.DataFrame, comparison: pd.DataFrame) -> dict[str, FigureView]:
    """The dashboard's figures of the latest results, and of the comparison when there is
    one."""
    from workbench.charts.compression import compression
    from workbench.charts.latency import latency_cdf
    from workbench.charts.percentiles import latency_percentiles
    from workbench.charts.tradeoff import throughput_latency

    figures = {
        "percentiles": dashboard_figure(latency_percentiles(latest), "Latency percentiles",
                                        xaxis_automargin=True),
        "cdf": dashboard_figure(latency_cdf(latest), "Latency CDF"),
        "tradeoff": dashboard_figure(throughput_latency(latest),
                                     "Throughput against tail latency")}
    if len(comparison):
        figures["compression"] = dashboard_figure(compression(comparison), "",
                                                  width=max(CHART_WIDTH, 260 * 4))
    return figures
