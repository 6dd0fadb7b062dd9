"""The dashboards' views: `LakeHealth`, `TrainingRuns` and `InferenceResults`.

Each reads the lake alone (its tables, and the `_runs`, `_run_metrics` and `_bench` tables that
training and the benchmarks record), so a Voila page or a colleague's notebook shows them without
the kernel that produced the data. A lake without such a table shows an empty state that says
what to run. Every figure is built with its data (see `lake_browser._quarantine_chart`: a page
that connects later never sees edits) and kept, so a picker swaps figures instead of editing or
closing the one on screen. The numbers behind the charts are DataFrames on the object (`runs`,
`metrics`, `bench`, `tables`), which tests and notebooks read.
"""

from __future__ import annotations

import html
import os
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import plotly.graph_objects as go

    from workbench.lake import Lake

RUNS, RUN_METRICS, BENCH = "_runs", "_run_metrics", "_bench"  # what training and bench record
STEP_COLUMNS = ("run_id", "rank", "step", "time", "samples", "step_s", "data_s")  # of no records
WINDOWS = 40  # a run's timeline is cut into at most this many windows for its rates and quantiles
ALL_MODELS = "All models"
CHART_WIDTH = 640  # px: two charts side by side on a laptop screen, one under the other below
_BOX = "<div style='overflow:auto; max-height:{}px'>{}</div>"
_MARGIN = {"l": 60, "r": 20, "t": 50, "b": 50}


def _resolve(lake: Lake | str | os.PathLike | None) -> Lake:
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


class _LakeView(widgets.VBox):
    """A heading with a Refresh button, an empty-state message, and a body; subclasses fill
    them in `refresh()`."""

    def __init__(self, lake: Lake | str | os.PathLike | None = None, **kwargs: Any) -> None:
        self.lake = _resolve(lake)
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


class LakeHealth(_LakeView):
    """A lake at a glance: its tables (versions, rows, bytes, quarantined rows), rows per table,
    quarantined rows by reason, every table's versions on a timeline, and a `LakeBrowser` below
    for one table's schema, preview, quarantine and profile."""

    def refresh(self) -> None:
        """Re-read the lake's tables, their histories and quarantine records."""
        import pandas as pd

        from workbench.widgets.lake_browser import LakeBrowser

        self.tables = tables = self.lake.tables()
        self.heading.value = (f"<h3>Lake health &middot; <code>{html.escape(self.lake.uri)}"
                              "</code></h3>")
        if not len(tables):
            self._show_empty(empty_state(
                self.lake, "no tables",
                "Ingest some with <code>lake.ingest(SOURCE, TABLE)</code> or "
                "<code>workbench lake ingest LAKE SOURCE --table TABLE</code>."))
            return
        self.message.value = ""
        # A table that cannot be read is listed with its error and left out of the figures.
        readable = tables[tables["error"].isna()]
        self.unreadable = tables.loc[tables["error"].notna(), ["name", "error"]]
        self.histories = pd.concat(
            [self.lake.table(name).history().assign(table=name) for name in readable["name"]]
            or [pd.DataFrame(columns=["table", "version", "timestamp", "operation",
                                      "rows_written"])], ignore_index=True)
        self.reasons = pd.concat(
            [_reason_counts(self.lake, name) for name in
             readable.loc[readable["quarantined"] > 0, "name"]]
            or [pd.DataFrame(columns=["table", "reason", "rows"])], ignore_index=True)
        broken = (f" &middot; <span style='color:#b00020'>{len(self.unreadable)} unreadable"
                  "</span>" if len(self.unreadable) else "")
        last = (f" &middot; last change {readable['updated'].max():%Y-%m-%d %H:%M} UTC"
                if readable["updated"].notna().any() else "")
        self.summary = widgets.HTML(
            f"<p>{len(tables)} tables &middot; {int(readable['rows'].sum()):,} rows &middot; "
            f"{_bytes(int(readable['bytes'].sum()))} &middot; "
            f"{int(readable['quarantined'].sum()):,} rows quarantined{last}{broken}</p>")
        self.table_list = widgets.HTML(_BOX.format(360, _tables_html(tables)))
        self.rows_chart = _rows_chart(readable)
        self.versions_chart = _versions_chart(self.histories)
        if len(self.reasons):
            self.quarantine_chart: Any = _reasons_chart(self.reasons)
        else:
            self.quarantine_chart = widgets.HTML(
                "<p><i>No rows quarantined in any table: every ingested row fit.</i></p>")
        if getattr(self, "browser", None) is None:  # made once; a refresh re-reads it
            self.browser = LakeBrowser(self.lake)
        else:
            self.browser.refresh()
        self.body.children = [
            self.summary, self.table_list,
            _chart_row([self.rows_chart, self.quarantine_chart]),
            self.versions_chart,
            widgets.HTML("<h4>Explore a table</h4>"), self.browser]


def _reason_counts(lake: Lake, name: str) -> pd.DataFrame:
    counts = lake.table(name).quarantine()["kind"].value_counts()
    return counts.rename_axis("reason").reset_index(name="rows").assign(table=name)


def _tables_html(tables: pd.DataFrame) -> str:
    """The tables as an HTML table; a broken table's row shows its error, the others none."""
    shown = tables.assign(bytes=tables["bytes"].map(_bytes, na_action="ignore"),
                          updated=tables["updated"].dt.strftime("%Y-%m-%d %H:%M:%S"),
                          error=tables["error"].fillna(""))
    return shown.to_html(index=False, border=0, na_rep="", classes="workbench-tables")


def _rows_chart(tables: pd.DataFrame) -> go.FigureWidget:
    import plotly.graph_objects as go

    return go.FigureWidget(
        data=[go.Bar(x=tables["name"], y=tables["rows"], name="rows written",
                     marker_line_width=0),
              go.Bar(x=tables["name"], y=tables["quarantined"], name="quarantined",
                     marker_line_width=0)],
        layout=_layout("Rows per table", yaxis_title="rows (log scale)", yaxis_type="log",
                       barmode="group"))


def _reasons_chart(reasons: pd.DataFrame) -> go.FigureWidget:
    """Quarantined rows by reason, a bar segment per table."""
    import plotly.graph_objects as go

    traces = [go.Bar(y=rows["reason"], x=rows["rows"], name=table, orientation="h",
                     marker_line_width=0)
              for table, rows in reasons.groupby("table", sort=True)]
    height = max(300, 120 + 28 * reasons["reason"].nunique())
    return go.FigureWidget(data=traces, layout=_layout(
        "Quarantined rows by reason", xaxis_title="rows", barmode="stack", height=height,
        yaxis_automargin=True))


def _versions_chart(histories: pd.DataFrame) -> go.FigureWidget:
    """Every table's versions on a timeline: one row per table, one marker per version."""
    import plotly.graph_objects as go

    traces = []
    for table, history in histories.groupby("table", sort=True):
        written = history["rows_written"].fillna(-1).astype("int64")
        traces.append(go.Scatter(
            x=history["timestamp"], y=[table] * len(history), mode="markers", name=table,
            marker={"size": 11}, customdata=list(zip(history["version"], history["operation"],
                                                     written)),
            hovertemplate=("%{y} v%{customdata[0]}: %{customdata[1]}, %{customdata[2]} rows "
                           "written<br>%{x}<extra></extra>")))
    height = max(260, 110 + 30 * histories["table"].nunique())
    return go.FigureWidget(data=traces, layout=_layout(
        "Versions", xaxis_title="commit time (UTC)", height=height, showlegend=False,
        yaxis_automargin=True))


class TrainingRuns(_LakeView):
    """Training runs from the lake's `_runs` and `_run_metrics` tables: a run picker, the run's
    throughput over time (total and per rank), step-time p50/p90/p99, data-wait share, a logged
    metric (loss by default) with a line per rank, and the summary table of every run."""

    def __init__(self, lake: Lake | str | os.PathLike | None = None, **kwargs: Any) -> None:
        self.run_picker = widgets.Dropdown(description="Run", layout=widgets.Layout(
            width="560px"))
        self.metric_picker = widgets.Dropdown(description="Metric", layout=widgets.Layout(
            width="320px"))
        self.run_info = widgets.HTML()
        self.charts = _chart_row()
        self.metric_box = widgets.Box(layout=widgets.Layout(width="100%"))
        self.summary = widgets.HTML()
        self._figures: dict[str, dict[str, Any]] = {}  # run_id -> its figures, kept
        self.figures: dict[str, Any] = {}  # the picked run's figures, by chart name
        self.run_picker.observe(self._on_run, names="value")
        self.metric_picker.observe(self._on_metric, names="value")
        super().__init__(lake, **kwargs)

    @property
    def run_id(self) -> str | None:
        """The picked run."""
        return self.run_picker.value

    def select(self, run_id: str) -> None:
        """Show run ``run_id``."""
        ids = [] if self.runs is None else list(self.runs["run_id"])
        if run_id not in ids:
            raise KeyError(f"lake {self.lake.uri} has no run {run_id!r} in {RUNS}; it has "
                           f"{ids} (refresh() to re-read the lake)")
        self.run_picker.value = run_id

    def refresh(self) -> None:
        """Re-read `_runs` and `_run_metrics`; keeps the picked run when it is still there."""
        import pandas as pd

        self.heading.value = "<h3>Training runs</h3>"
        self.runs: pd.DataFrame | None = None
        self.metrics = pd.DataFrame(columns=list(STEP_COLUMNS))
        if RUNS not in self.lake:
            self._show_empty(empty_state(
                self.lake, f"no training runs (no <code>{RUNS}</code> table)",
                "Train with <code>wb.launch(train)</code>: when a job ends (finished, failed or "
                f"stopped), its summary goes to <code>{RUNS}</code> and its step records to "
                f"<code>{RUN_METRICS}</code> of the default lake (<code>runs_lake=</code> picks "
                "another)."))
            return
        runs = self.lake.table(RUNS).to_pandas().drop_duplicates("run_id", keep="last")
        if not len(runs):
            self._show_empty(empty_state(self.lake, f"an empty <code>{RUNS}</code> table",
                                         "Train with <code>wb.launch(train)</code>."))
            return
        self.message.value = ""
        self.runs = runs.sort_values("started", ascending=False, ignore_index=True)
        if RUN_METRICS in self.lake:
            self.metrics = self.lake.table(RUN_METRICS).to_pandas()
        self._figures.clear()
        statuses = self.runs["status"].value_counts()
        self.heading.value = (
            f"<h3>Training runs &middot; {len(self.runs)} run{'s' * (len(self.runs) != 1)} "
            f"({', '.join(f'{n} {s}' for s, n in statuses.items())})</h3>")
        self.summary.value = _BOX.format(420, _runs_html(self.runs))
        keep = self.run_id
        ids = list(self.runs["run_id"])
        self._quiet = True
        try:
            self.run_picker.options = [(_run_label(r), r.run_id)
                                       for r in self.runs.itertuples(index=False)]
            self.run_picker.value = keep if keep in ids else ids[0]
        finally:
            self._quiet = False
        self.body.children = [self.run_picker, self.run_info, self.charts,
                              widgets.HTML("<h4>All runs</h4>"), self.summary]
        self._show_run()

    def run_metrics(self, run_id: str | None = None) -> pd.DataFrame:
        """The step and metric records of ``run_id`` (default: the picked run)."""
        run_id = run_id or self.run_id
        return self.metrics[self.metrics["run_id"] == run_id]

    def _on_run(self, change: dict) -> None:
        if not self._quiet:
            self._show_run()

    def _on_metric(self, change: dict) -> None:
        if not self._quiet:
            self._show_metric()

    def _show_run(self) -> None:
        from workbench.train.metrics import logged_metrics

        run = self.runs.set_index("run_id").loc[self.run_id]
        self.run_info.value = _run_info_html(self.run_id, run)
        records = self.run_metrics()
        if self.run_id not in self._figures:
            self._figures[self.run_id] = _run_figures(str(run["name"]), records)
        self.figures = self._figures[self.run_id]
        names = [n for n in ("throughput", "step_time", "data_wait") if n in self.figures]
        if not names:
            self.charts.children = [widgets.HTML(
                f"<p><i>No step records for this run in <code>{RUN_METRICS}</code>: it "
                "recorded no training steps.</i></p>")]
        else:
            self.charts.children = [*(self.figures[n] for n in names),
                                    widgets.VBox([self.metric_picker, self.metric_box])]
        metrics = logged_metrics(records)  # as the live monitor lists them
        self._quiet = True
        try:
            self.metric_picker.options = metrics
            self.metric_picker.value = ("loss" if "loss" in metrics
                                        else metrics[0] if metrics else None)
        finally:
            self._quiet = False
        self._show_metric()

    def _show_metric(self) -> None:
        metric = self.metric_picker.value
        if metric is None:
            self.metric_box.children = [widgets.HTML(
                "<p><i>This run logged no metrics (loss, accuracy, ...).</i></p>")]
            return
        key = f"metric:{metric}"
        if key not in self.figures:
            name = str(self.runs.set_index("run_id").at[self.run_id, "name"])
            self.figures[key] = _metric_chart(name, self.run_metrics(), metric)
        self.metric_box.children = [self.figures[key]]

    @property
    def metric_chart(self) -> go.FigureWidget | None:
        """The chart of the picked metric, or None when the run logged none."""
        metric = self.metric_picker.value
        return None if metric is None else self.figures.get(f"metric:{metric}")


def _run_label(run: Any) -> str:
    return (f"{run.name} · {run.status} · {run.started:%Y-%m-%d %H:%M} · {run.nprocs}× "
            f"{run.device} · {run.run_id[:8]}")


def _run_info_html(run_id: str, run: pd.Series) -> str:
    colour = {"succeeded": "#1a7f37", "failed": "#b00020"}.get(str(run["status"]), "#8a6d00")
    parts = [
        f"<b>{html.escape(str(run['name']))}</b> <code>{html.escape(run_id)}</code>",
        f"<span style='color:{colour}'><b>{html.escape(str(run['status']))}</b></span>",
        f"{int(run['nprocs'])} × {html.escape(str(run['device']))} "
        f"({html.escape(str(run['backend']))})",
        f"{_number(run['duration_s'])} s",
        f"{int(run['steps']):,} steps" if run["steps"] >= 0 else "no steps timed",
        f"{_number(run['samples_per_s'])} samples/s",
        f"data wait {_percent(run['data_wait_share']) or 'n/a'}",
    ]
    text = " &middot; ".join(parts)
    if str(run.get("error", "")):
        text += (f"<pre style='color:#b00020; white-space:pre-wrap; max-height:160px; "
                 f"overflow:auto'>{html.escape(str(run['error']))}</pre>")
    return f"<p>{text}</p>"


def _runs_html(runs: pd.DataFrame) -> str:
    shown = runs[["name", "status", "started", "duration_s", "nprocs", "device", "steps",
                  "samples_per_s", "tokens_per_s", "step_p50_s", "step_p90_s", "step_p99_s",
                  "data_wait_share", "straggler_ratio", "peak_memory_bytes", "mfu",
                  "run_id"]].copy()
    shown["started"] = shown["started"].dt.strftime("%Y-%m-%d %H:%M:%S")
    for column in ("step_p50_s", "step_p90_s", "step_p99_s"):
        shown[column] = shown[column] * 1000
    shown["data_wait_share"] = shown["data_wait_share"].map(_percent)
    shown["mfu"] = shown["mfu"].map(_percent)
    shown["peak_memory_bytes"] = shown["peak_memory_bytes"].map(
        lambda b: _bytes(int(b)) if b and b > 0 else "")
    shown = shown.rename(columns={
        "duration_s": "seconds", "samples_per_s": "samples/s", "tokens_per_s": "tokens/s",
        "step_p50_s": "step p50 ms", "step_p90_s": "step p90 ms", "step_p99_s": "step p99 ms",
        "data_wait_share": "data wait", "straggler_ratio": "straggler",
        "peak_memory_bytes": "peak memory", "mfu": "MFU"})
    return shown.to_html(index=False, border=0, na_rep="", float_format=_number,
                         classes="workbench-runs")


def _windows(elapsed: np.ndarray) -> np.ndarray:
    """The window (0..WINDOWS-1) of each record, by its time since the run started."""
    import numpy as np

    span = float(elapsed.max()) if len(elapsed) else 0.0
    if span <= 0:
        return np.zeros(len(elapsed), dtype=np.int64)
    return np.minimum((elapsed / span * WINDOWS).astype(np.int64), WINDOWS - 1)


def run_timeline(records: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """A run's step records cut into time windows: ``throughput`` (samples/s per rank and in
    total), ``step_time`` (p50/p90/p99 of every rank's step times, ms) and ``data_wait`` (data
    time over step time); each indexed by the window's mid time in seconds since the start."""
    import numpy as np
    import pandas as pd

    from workbench.kernels import quantiles

    steps = records[records["step_s"].notna()]
    if not len(steps):
        return {}
    start = float((steps["time"] - steps["step_s"]).min())
    elapsed = (steps["time"] - start).to_numpy(np.float64)
    steps = steps.assign(window=_windows(elapsed), elapsed=elapsed)
    mids = steps.groupby("window")["elapsed"].mean().rename("seconds")
    per_rank = steps.groupby(["window", "rank"])[["samples", "step_s"]].sum()
    rate = (per_rank["samples"] / per_rank["step_s"]).unstack("rank")
    rate.columns = [f"rank {r}" for r in rate.columns]
    throughput = rate.assign(total=rate.sum(axis=1, min_count=1))
    step_time = pd.DataFrame(
        [quantiles(group.to_numpy(np.float64) * 1000, [0.5, 0.9, 0.99])
         for _, group in steps.groupby("window")["step_s"]],
        index=mids.index, columns=["p50", "p90", "p99"])
    sums = steps.groupby("window")[["data_s", "step_s"]].sum()
    data_wait = (sums["data_s"] / sums["step_s"]).rename("share").to_frame()
    return {name: frame.set_index(mids.loc[frame.index])
            for name, frame in (("throughput", throughput), ("step_time", step_time),
                                ("data_wait", data_wait))}


def _run_figures(name: str, records: pd.DataFrame) -> dict[str, Any]:
    import plotly.graph_objects as go

    timeline = run_timeline(records)
    if not timeline:
        return {}
    throughput = timeline["throughput"]
    lines = [go.Scatter(x=throughput.index, y=throughput["total"], name="total",
                        mode="lines+markers", line={"width": 3})]
    if throughput.shape[1] > 2:  # more than one rank: a line each
        lines += [go.Scatter(x=throughput.index, y=throughput[c], name=c, mode="lines",
                             line={"width": 1, "dash": "dot"})
                  for c in throughput.columns if c != "total"]
    step_time, data_wait = timeline["step_time"], timeline["data_wait"]
    return {
        "throughput": go.FigureWidget(data=lines, layout=_layout(
            f"Throughput · {name}", xaxis_title="seconds since start",
            yaxis_title="samples/s")),
        "step_time": go.FigureWidget(
            data=[go.Scatter(x=step_time.index, y=step_time[q], name=q, mode="lines+markers")
                  for q in ("p50", "p90", "p99")],
            layout=_layout(f"Step time · {name}", xaxis_title="seconds since start",
                           yaxis_title="ms")),
        "data_wait": go.FigureWidget(
            data=[go.Scatter(x=data_wait.index, y=data_wait["share"], name="data wait",
                             mode="lines+markers", fill="tozeroy")],
            layout=_layout(f"Data-wait share · {name}", xaxis_title="seconds since start",
                           yaxis_title="share of step time", yaxis_tickformat=".0%",
                           yaxis_range=[0, 1])),
    }


def _metric_chart(name: str, records: pd.DataFrame, metric: str) -> go.FigureWidget:
    import plotly.graph_objects as go

    values = records[records[metric].notna()].sort_values("step")
    traces = [go.Scatter(x=rows["step"], y=rows[metric], name=f"rank {rank}", mode="lines")
              for rank, rows in values.groupby("rank", sort=True)]
    return go.FigureWidget(data=traces, layout=_layout(
        f"{metric} · {name}", xaxis_title="step", yaxis_title=metric))


class InferenceResults(_LakeView):
    """Inference benchmarks from the lake's `_bench` table: latency percentiles, latency CDFs,
    throughput against tail latency, the latest compression comparison (size, latency and
    quality per variant), and the table of results; a model picker narrows them all."""

    def __init__(self, lake: Lake | str | os.PathLike | None = None, **kwargs: Any) -> None:
        self.model_picker = widgets.Dropdown(description="Model", layout=widgets.Layout(
            width="420px"))
        self.charts = _chart_row()
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
        self.results.value = _BOX.format(420, _bench_html(latest))


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
        layout=_layout("Latency percentiles", yaxis_title="ms", barmode="group",
                       xaxis_automargin=True))
    from workbench.bench.records import CDF_QUANTILES

    quantile = CDF_QUANTILES
    cdf = go.FigureWidget(
        data=[go.Scatter(x=np.asarray(row.cdf_ms, dtype=np.float64), y=quantile, name=label,
                         mode="lines")
              for row, label in zip(latest.itertuples(index=False), labels)
              if row.cdf_ms is not None and len(row.cdf_ms)],
        layout=_layout("Latency CDF", xaxis_title="latency (ms)", yaxis_title="fraction of "
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
    tradeoff = go.FigureWidget(data=curves, layout=_layout(
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
    figure.update_layout(height=320, width=max(CHART_WIDTH, 260 * len(panels)), margin=_MARGIN)
    return go.FigureWidget(figure)


def _comparison_html(comparison: pd.DataFrame) -> str:
    shown = comparison[["variant", "device", "size_mb", "params", "p50_ms", "p99_ms",
                        "throughput", "metric_name", "metric"]].copy()
    shown["params"] = shown["params"].map(lambda p: f"{p:,}" if p >= 0 else "")
    return shown.to_html(index=False, border=0, na_rep="", float_format=_number)


def _bench_html(latest: pd.DataFrame) -> str:
    shown = latest[["model", "variant", "device", "scenario", "batch_size", "qps", "p50_ms",
                    "p90_ms", "p95_ms", "p99_ms", "max_ms", "throughput", "samples", "stable",
                    "size_mb", "metric_name", "metric", "time"]].copy()
    shown["time"] = shown["time"].dt.strftime("%Y-%m-%d %H:%M:%S")
    return shown.to_html(index=False, border=0, na_rep="", float_format=_number,
                         classes="workbench-bench")


def _layout(title: str, **kwargs: Any) -> go.Layout:
    """A chart's layout: a fixed size, since a FigureWidget keeps the width it was first drawn
    with rather than following its box."""
    import plotly.graph_objects as go

    kwargs.setdefault("height", 320)
    kwargs.setdefault("width", CHART_WIDTH)
    return go.Layout(title_text=title, margin=_MARGIN, **kwargs)


def _chart_row(children: list[Any] | None = None) -> widgets.Box:
    """Charts side by side, wrapping onto the next line when the page is narrow."""
    return widgets.Box(children or [], layout=widgets.Layout(
        display="flex", flex_flow="row wrap", grid_gap="8px", width="100%"))


def _bytes(n: float) -> str:
    if abs(n) < 1024:
        return f"{n:,.0f} B"
    for unit in ("KB", "MB", "GB"):
        n /= 1024
        if abs(n) < 1024:
            return f"{n:,.1f} {unit}"
    return f"{n / 1024:,.1f} TB"


def _percent(value: Any) -> str:
    import math

    return "" if value is None or math.isnan(value) else f"{value:.1%}"


def _number(value: float) -> str:
    """Four significant digits, whole numbers with thousands separators past 1,000; "n/a" for
    NaN."""
    import math

    if math.isnan(value):
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
