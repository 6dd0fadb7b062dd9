"""`InferenceResults`: the latest `_bench` results per model and batch size, and the
compression comparison."""

from __future__ import annotations

import html
import os
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from workbench.lake import Lake

from workbench.widgets.lake_view import (
    BENCH,
    CHART_MARGIN,
    CHART_WIDTH,
    SCROLL_BOX,
    LakeView,
    chart_layout,
    chart_row,
    empty_state,
    number_text,
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
        self._figures: dict[str, dict[str, Any]] = {}  # model (or ALL_MODELS) -> its figures
        self.figures: dict[str, Any] = {}
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
        """The picked model's results, the latest per (model, variant, device, scenario,
        batch size, qps), ordered by those."""
        rows = self.bench if self.model == ALL_MODELS else self.bench[
            self.bench["model"] == self.model]
        keys = ["model", "variant", "device", "scenario", "batch_size", "qps"]
        return rows.drop_duplicates(keys, keep="last").sort_values(keys, ignore_index=True)

    def comparison(self) -> pd.DataFrame:
        """The picked model's latest compression comparison: the rows of the newest bench_id
        whose rows measure a size (empty when there is none)."""
        rows = self.bench if self.model == ALL_MODELS else self.bench[
            self.bench["model"] == self.model]
        sized = rows[rows["size_mb"].notna()]
        if not len(sized):
            return sized
        newest = sized.loc[sized["time"].idxmax(), "bench_id"]
        return sized[sized["bench_id"] == newest].reset_index(drop=True)

    def _on_model(self, change: dict) -> None:
        if not self._quiet:
            self._show()

    def _show(self) -> None:
        latest = self.latest()
        if self.model not in self._figures:
            self._figures[self.model] = _bench_figures(latest, self.comparison())
        self.figures = self._figures[self.model]
        self.charts.children = [self.figures[n] for n in ("percentiles", "cdf", "tradeoff")]
        if "compression" in self.figures:
            comparison = self.comparison()
            self.compression.children = [
                widgets.HTML(f"<h4>Compression comparison &middot; "
                             f"{html.escape(str(comparison['model'].iloc[0]))}</h4>"),
                self.figures["compression"],
                widgets.HTML(_comparison_html(comparison))]
        else:
            self.compression.children = [widgets.HTML(
                "<p><i>No compression comparison for this selection yet: "
                "<code>wb.compress.compare(...).save(lake)</code> adds one (size, latency and "
                "quality of each variant side by side).</i></p>")]
        self.results.value = SCROLL_BOX.format(420, _bench_html(latest))


def bench_label(row: Any, devices: int = 1) -> str:
    """A result's short name: model · variant · scenario · batch, the offered load of a server
    scenario, and the device when results come from several."""
    import math

    qps = "" if math.isnan(row.qps) else f" · {row.qps:g} qps"
    device = f" · {row.device}" if devices > 1 else ""
    return f"{row.model} · {row.variant} · {row.scenario} · b{row.batch_size}{qps}{device}"


def _bench_figures(latest: pd.DataFrame, comparison: pd.DataFrame) -> dict[str, Any]:
    import numpy as np
    import plotly.graph_objects as go

    devices = latest["device"].nunique()
    labels = [bench_label(r, devices) for r in latest.itertuples(index=False)]
    percentiles = go.FigureWidget(
        data=[go.Bar(x=labels, y=latest[f"{q}_ms"], name=q, marker_line_width=0)
              for q in ("p50", "p90", "p95", "p99")],
        layout=chart_layout("Latency percentiles", yaxis_title="ms", barmode="group",
                       xaxis_automargin=True))
    from workbench.bench.records import CDF_QUANTILES

    quantile = CDF_QUANTILES
    cdf = go.FigureWidget(
        data=[go.Scatter(x=np.asarray(row.cdf_ms, dtype=np.float64), y=quantile, name=label,
                         mode="lines")
              for row, label in zip(latest.itertuples(index=False), labels)
              if row.cdf_ms is not None and len(row.cdf_ms)],
        layout=chart_layout("Latency CDF", xaxis_title="latency (ms)", yaxis_title="fraction of "
                       "requests", yaxis_tickformat=".0%"))
    curves = []
    for key, rows in latest.groupby(["model", "variant", "device", "scenario"], sort=True):
        rows = rows.sort_values(["batch_size", "qps"])
        curves.append(go.Scatter(
            x=rows["p99_ms"], y=rows["throughput"], mode="lines+markers",
            name=" · ".join(str(k) for k in (key if devices > 1 else key[:2] + key[3:])),
            customdata=rows[["batch_size", "p50_ms"]].to_numpy(),
            hovertemplate=("batch %{customdata[0]}: %{y:,.1f} samples/s, p99 %{x:.2f} ms, "
                           "p50 %{customdata[1]:.2f} ms")))
    tradeoff = go.FigureWidget(data=curves, layout=chart_layout(
        "Throughput against tail latency", xaxis_title="p99 latency (ms)",
        yaxis_title="samples/s"))
    figures = {"percentiles": percentiles, "cdf": cdf, "tradeoff": tradeoff}
    if len(comparison):
        figures["compression"] = _compression_chart(comparison)
    return figures


def _compression_chart(comparison: pd.DataFrame) -> go.FigureWidget:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    panels = [("size_mb", "size (MB)"), ("p50_ms", "p50 latency (ms)"),
              ("throughput", "samples/s")]
    named = comparison.loc[comparison["metric_name"] != "", "metric_name"]
    if comparison["metric"].notna().any():
        panels.append(("metric", named.iloc[0] if len(named) else "metric"))
    figure = make_subplots(rows=1, cols=len(panels), subplot_titles=[t for _, t in panels])
    for i, (column, _) in enumerate(panels, start=1):
        figure.add_trace(go.Bar(x=comparison["variant"], y=comparison[column],
                                marker_line_width=0, showlegend=False), row=1, col=i)
    figure.update_layout(height=320, width=max(CHART_WIDTH, 260 * len(panels)), margin=CHART_MARGIN)
    return go.FigureWidget(figure)


def _comparison_html(comparison: pd.DataFrame) -> str:
    shown = comparison[["variant", "device", "size_mb", "params", "p50_ms", "p99_ms",
                        "throughput", "metric_name", "metric"]].copy()
    shown["params"] = shown["params"].map(lambda p: f"{p:,}" if p >= 0 else "")
    return shown.to_html(index=False, border=0, na_rep="", float_format=number_text)


def _bench_html(latest: pd.DataFrame) -> str:
    shown = latest[["model", "variant", "device", "scenario", "batch_size", "qps", "p50_ms",
                    "p90_ms", "p95_ms", "p99_ms", "max_ms", "throughput", "samples", "stable",
                    "size_mb", "metric_name", "metric", "time"]].copy()
    shown["time"] = shown["time"].dt.strftime("%Y-%m-%d %H:%M:%S")
    return shown.to_html(index=False, border=0, na_rep="", float_format=number_text,
                         classes="workbench-bench")

