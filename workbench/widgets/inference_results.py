"""`InferenceResults`: the latest `_bench` results per model and batch size, the newest engine
comparison (`wb.bench.compare`), and served endpoints' latency under load."""

from __future__ import annotations

import html
import os
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

if TYPE_CHECKING:
    import pandas as pd

    from workbench.lake import Lake
    from workbench.widgets.figure_view import FigureView

from workbench.widgets.bench import SPEEDUP_TITLE, comparison_html, pick_html, setting_title
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
COMPARE_HOW = ("<code>wb.bench.compare(model, x, engines=[\"eager\", \"onnxruntime\", "
               "\"onnxruntime-int8\"]).save(lake)</code> adds one (each engine's speed-up, "
               "size, latency and quality side by side, and the one to pick)")
SERVED_HOW = ("serve a model with <code>ep = wb.infer.serve(model, example=x)</code> and "
              "measure it over HTTP: <code>wb.bench.latency(ep, x[:1], scenario='server', "
              "qps=200).save(lake)</code>; its rows (engine <code>endpoint (...)</code>) show "
              "here")


class InferenceResults(LakeView):
    """Inference benchmarks from the lake's `_bench` table: latency percentiles, latency CDFs,
    throughput against tail latency, the newest engine comparison (the engine to pick, each
    engine's speed-up over eager, size, latency and quality per variant and engine), served
    endpoints' latency against the offered load, and the table of results; a model picker
    narrows them all."""

    def __init__(self, lake: Lake | str | os.PathLike | None = None, **kwargs: Any) -> None:
        self.model_picker = widgets.Dropdown(description="Model", layout=widgets.Layout(
            width="420px"))
        self.charts = chart_row()
        self.compression = widgets.VBox(layout=widgets.Layout(width="100%"))
        self.endpoints = widgets.VBox(layout=widgets.Layout(width="100%"))
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
                ", or compare inference engines and compressed variants with "
                f"<code>wb.bench.compare(...).save(lake)</code>; each result is a row of "
                f"<code>{BENCH}</code>."))
            return
        bench = self.lake.table(BENCH).to_pandas()
        if not len(bench):
            self._show_empty(empty_state(
                self.lake, f"an empty <code>{BENCH}</code> table",
                "Benchmark a model with <code>wb.bench.latency(model, inputs).save(lake)</code>."))
            return
        self.message.value = ""
        self.bench = bench.sort_values("time", kind="stable", ignore_index=True)
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
        self.body.children = [self.model_picker, self.charts, self.compression, self.endpoints,
                              widgets.HTML("<h4>Results (latest per configuration)</h4>"),
                              self.results]
        self._show()

    def latest(self) -> pd.DataFrame:
        """The picked model's results, the latest per configuration, labelled
        (`records.latest`)."""
        from workbench.bench.records import latest

        return latest(self._picked())

    def comparison(self) -> pd.DataFrame:
        """The picked model's newest engine comparison (`records.comparison`; empty when there
        is none)."""
        from workbench.bench.records import comparison

        return comparison(self._picked())

    def served(self) -> pd.DataFrame:
        """The picked model's served endpoints under load (`records.served`; empty when
        none was measured)."""
        from workbench.bench.records import served

        return served(self._picked())

    def _picked(self) -> pd.DataFrame:
        """The `_bench` rows of the picked model (all of them for ``ALL_MODELS``)."""
        if self.model == ALL_MODELS:
            return self.bench
        return self.bench[self.bench["model"] == self.model]

    def _on_model(self, change: dict) -> None:
        if not self._quiet:
            self._show()

    def _show(self) -> None:
        latest, comparison, served = self.latest(), self.comparison(), self.served()
        if self.model not in self._figures:
            self._figures[self.model] = _bench_figures(latest, comparison, served)
        self.figures = self._figures[self.model]
        self.charts.children = [self.figures[n] for n in ("percentiles", "cdf", "tradeoff")]
        self.compression.children = _comparison_section(comparison, self.figures)
        self.endpoints.children = _served_section(served, self.figures)
        self.results.value = table_html(latest[RESULT_COLUMNS], 420, "workbench-bench")


RESULT_COLUMNS = ["model", "variant", "engine", "device", "scenario", "batch_size", "qps",
                  "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms", "throughput", "samples",
                  "stable", "size_mb", "peak_memory_mb", "metric_name", "metric", "parity_ok",
                  "time"]
SERVED_COLUMNS = ["model", "variant", "engine", "qps", "p50_ms", "p90_ms", "p99_ms",
                  "throughput", "samples", "time"]


def _comparison_section(comparison: pd.DataFrame,
                        figures: dict[str, FigureView]) -> list[widgets.Widget]:
    """The engine comparison's heading, the line naming the pick, its charts and its table; or
    how to make one."""
    from workbench.bench.records import fastest

    if "engines" not in figures:
        return [widgets.HTML(f"<p><i>No engine comparison for this selection yet: "
                             f"{COMPARE_HOW}.</i></p>")]
    model = html.escape(str(comparison["model"].iloc[0]))
    return [widgets.HTML(f"<h4>Engines compared &middot; {model}</h4>"),
            widgets.HTML(pick_html(fastest(comparison), comparison)),
            chart_row([figures["engines"], figures["compression"]]),
            widgets.HTML(comparison_html(comparison))]


def _served_section(served: pd.DataFrame,
                    figures: dict[str, FigureView]) -> list[widgets.Widget]:
    """Served endpoints' latency against the offered load and their rows; or how to measure
    one."""
    if "served" not in figures:
        return [widgets.HTML(f"<p><i>No served endpoint measured under load for this "
                             f"selection yet: {SERVED_HOW}.</i></p>")]
    return [widgets.HTML("<h4>Served endpoints under load</h4>"), figures["served"],
            widgets.HTML(table_html(served[SERVED_COLUMNS], 240, "workbench-served"))]


def _bench_figures(latest: pd.DataFrame, comparison: pd.DataFrame,
                   served: pd.DataFrame) -> dict[str, FigureView]:
    """The dashboard's figures of the latest results, and of the comparison and the served
    endpoints when there are some."""
    from workbench.bench.records import one_setting
    from workbench.charts.compression import compression
    from workbench.charts.engines import engine_speedup
    from workbench.charts.latency import latency_cdf
    from workbench.charts.percentiles import latency_percentiles
    from workbench.charts.served_latency import served_latency
    from workbench.charts.tradeoff import throughput_latency

    figures = {
        "percentiles": dashboard_figure(latency_percentiles(latest), "Latency percentiles",
                                        xaxis_automargin=True),
        "cdf": dashboard_figure(latency_cdf(latest), "Latency CDF"),
        "tradeoff": dashboard_figure(throughput_latency(latest),
                                     "Throughput against tail latency")}
    if len(comparison):
        setting = one_setting(comparison)
        model = str(comparison["model"].iloc[0])
        figures["engines"] = dashboard_figure(engine_speedup(comparison),
                                              SPEEDUP_TITLE.capitalize())
        figures["compression"] = dashboard_figure(compression(setting),
                                                  setting_title(model, setting),
                                                  width=max(CHART_WIDTH, 260 * 4))
    if len(served):
        figures["served"] = dashboard_figure(served_latency(served),
                                             "Latency against the offered load")
    return figures
