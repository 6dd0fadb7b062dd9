"""`TrainingRuns`: the runs recorded in the lake's `_runs` and `_run_metrics`, a run's
timeline (throughput, step time, data wait, metrics) and its details."""

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

from workbench.widgets.lake_view import (
    RUN_METRICS,
    RUNS,
    SCROLL_BOX,
    LakeView,
    bytes_text,
    chart_layout,
    chart_row,
    empty_state,
    number_text,
    percent_text,
)

STEP_COLUMNS = ("run_id", "rank", "step", "time", "samples", "step_s", "data_s")  # of no records



WINDOWS = 40  # a run's timeline is cut into at most this many windows for its rates and quantiles


class TrainingRuns(LakeView):
    """Training runs from the lake's `_runs` and `_run_metrics` tables: a run picker, the run's
    throughput over time (total and per rank), step-time p50/p90/p99, data-wait share, a logged
    metric (loss by default) with a line per rank, and the summary table of every run."""

    def __init__(self, lake: Lake | str | os.PathLike | None = None, **kwargs: Any) -> None:
        self.run_picker = widgets.Dropdown(description="Run", layout=widgets.Layout(
            width="560px"))
        self.metric_picker = widgets.Dropdown(description="Metric", layout=widgets.Layout(
            width="320px"))
        self.run_info = widgets.HTML()
        self.charts = chart_row()
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
        self.summary.value = SCROLL_BOX.format(420, _runs_html(self.runs))
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
        f"{number_text(run['duration_s'])} s",
        f"{int(run['steps']):,} steps" if run["steps"] >= 0 else "no steps timed",
        f"{number_text(run['samples_per_s'])} samples/s",
        f"data wait {percent_text(run['data_wait_share']) or 'n/a'}",
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
    shown["data_wait_share"] = shown["data_wait_share"].map(percent_text)
    shown["mfu"] = shown["mfu"].map(percent_text)
    shown["peak_memory_bytes"] = shown["peak_memory_bytes"].map(
        lambda b: bytes_text(int(b)) if b and b > 0 else "")
    shown = shown.rename(columns={
        "duration_s": "seconds", "samples_per_s": "samples/s", "tokens_per_s": "tokens/s",
        "step_p50_s": "step p50 ms", "step_p90_s": "step p90 ms", "step_p99_s": "step p99 ms",
        "data_wait_share": "data wait", "straggler_ratio": "straggler",
        "peak_memory_bytes": "peak memory", "mfu": "MFU"})
    return shown.to_html(index=False, border=0, na_rep="", float_format=number_text,
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
        "throughput": go.FigureWidget(data=lines, layout=chart_layout(
            f"Throughput · {name}", xaxis_title="seconds since start",
            yaxis_title="samples/s")),
        "step_time": go.FigureWidget(
            data=[go.Scatter(x=step_time.index, y=step_time[q], name=q, mode="lines+markers")
                  for q in ("p50", "p90", "p99")],
            layout=chart_layout(f"Step time · {name}", xaxis_title="seconds since start",
                           yaxis_title="ms")),
        "data_wait": go.FigureWidget(
            data=[go.Scatter(x=data_wait.index, y=data_wait["share"], name="data wait",
                             mode="lines+markers", fill="tozeroy")],
            layout=chart_layout(f"Data-wait share · {name}", xaxis_title="seconds since start",
                           yaxis_title="share of step time", yaxis_tickformat=".0%",
                           yaxis_range=[0, 1])),
    }


def _metric_chart(name: str, records: pd.DataFrame, metric: str) -> go.FigureWidget:
    import plotly.graph_objects as go

    values = records[records[metric].notna()].sort_values("step")
    traces = [go.Scatter(x=rows["step"], y=rows[metric], name=f"rank {rank}", mode="lines")
              for rank, rows in values.groupby("rank", sort=True)]
    return go.FigureWidget(data=traces, layout=chart_layout(
        f"{metric} · {name}", xaxis_title="step", yaxis_title=metric))

