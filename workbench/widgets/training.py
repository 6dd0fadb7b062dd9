"""`TrainingMonitor`: the live view of a training job (`job.monitor()`), or the replay of a run.

One plotly FigureWidget with a chart per subplot (`training_figure`): throughput per rank and in
total, step-time p50/p90/p99 over a rolling window of steps, the data-wait share per rank, a
logged metric (picked from a dropdown of every one; a line per rank) and, for a job on GPUs,
their utilisation and memory. Around it: a progress bar, a Stop button, a banner of the alerts
firing now (`alert_banner`; each alert that fired is also a line on the charts at its start),
the summary table with utilisation R per rank and, when a rank failed, its traceback.

How it stays cheap and renders everywhere:

- The numbers are `workbench.train.series` frames of the job's metrics (`monitor.series`,
  `monitor.metric_series`): tests and notebooks read the same numbers the charts draw, and
  each subplot is drawn by the chart function every other view calls (`workbench.charts`).
- A daemon thread polls the job at most `MAX_UPDATES_PER_S` times a second. An idle poll is a
  length check of the job's live records (no DataFrame is built); a changed one rebuilds the
  series and pushes every line in one batch, each thinned to `max_points` points so a long,
  fast job cannot flood the browser. The thread ends after the update that follows the job's
  end (and the resends below), or when the widget is closed.
- A page that connects while the job ends can still lose the last update: ipywidgets' front end
  asks the kernel for every widget's state and only then listens to each widget, so what is
  sent in between (seconds, while plotly's bundle travels) is dropped. The monitor therefore
  sends its final state again `SETTLE_S` seconds after the end.
"""

from __future__ import annotations

import html
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from workbench.train.alert_log import alert_marks
from workbench.train.series import empty, origin, progress, run_series
from workbench.train.source import Failure, open_run
from workbench.train.summary import STEP_QUANTILES
from workbench.widgets.alert_banner import alert_banner_html, alerts_of
from workbench.widgets.training_figure import CHARTS, MonitorFigure
from workbench.widgets.training_text import failure_html, no_gpu_html, notice_html, summary_html

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from workbench.train.launcher import Job
    from workbench.train.source import LiveJob, Replay
    from workbench.train.summary import Summary

__all__ = ["MAX_UPDATES_PER_S", "TrainingMonitor"]

MAX_UPDATES_PER_S = 4  # the most widget updates a monitor pushes per second
MIN_INTERVAL_S = 1 / MAX_UPDATES_PER_S
SETTLE_S = (1.0, 2.0, 4.0, 8.0)  # after the final update, its state is sent again at these delays
_BAR_STYLES = {"running": "info", "succeeded": "success", "failed": "danger",
               "stopped": "warning"}
_MAX_FAILURES = 20  # updates failing in a row before the live view gives up


class TrainingMonitor(widgets.VBox):
    """The live view of `job` (a `wb.launch` Job), or the replay of a run directory.

    `x`: "step" or "time" (seconds since the first record) on every step chart. `window`: the
    steps each rolling figure spans. `interval`: seconds between updates (at least
    1 / `MAX_UPDATES_PER_S`). `max_points`: the most points a trace sends. `flops_per_sample`
    and `dtype` give the summary its MFU, as in `job.summary()`. `settle`: delays after the
    job's end at which the final state is sent again, for pages that were connecting.

    Read back: `figure` (one FigureWidget, a subplot per chart; `traces(chart)` its lines),
    `series` (throughput, step_time, data_wait, gpu frames), `metric_series` (one frame per
    logged metric; `metric_picker` picks the one charted), `metrics`, `summary`,
    `utilisation` (R per rank and "all"), `alerts` (as `job.alerts`), `status`, `failure`,
    `updates` (widget updates pushed so far, the first at construction), `resyncs`.
    """

    def __init__(self, job: Job | str | os.PathLike[str], *, x: str = "step", window: int = 20,
                 interval: float = MIN_INTERVAL_S, max_points: int = 1000,
                 flops_per_sample: float | None = None, dtype: Any = "bf16",
                 settle: tuple[float, ...] = SETTLE_S, **kwargs: Any) -> None:
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._ended = threading.Event()  # set once the final update is done
        self._closed = False
        self._thread: threading.Thread | None = None
        self._parts: list[widgets.Widget] = []  # what close() closes
        if x not in ("step", "time"):
            raise ValueError(f"x must be 'step' or 'time', not {x!r}")
        if interval < MIN_INTERVAL_S:
            raise ValueError(f"interval={interval} s would update more than "
                             f"{MAX_UPDATES_PER_S} times a second; use at least "
                             f"{MIN_INTERVAL_S} s")
        if int(window) < 1 or int(max_points) < 2:
            raise ValueError(f"window must be >= 1 and max_points >= 2, not {window} and "
                             f"{max_points}")
        self.source: LiveJob | Replay = open_run(job)
        self.job = job if self.source.live else None
        self.x, self.window, self.interval = x, int(window), float(interval)
        self.max_points = int(max_points)
        self.flops_per_sample, self.dtype = flops_per_sample, dtype
        self.settle = tuple(sorted(float(delay) for delay in settle))
        self.updates = 0
        self.resyncs = 0  # final-state resends (see SETTLE_S)
        self.status = "unknown"
        self.failure: Failure | None = None
        self.summary: Summary | None = None
        self.metrics: pd.DataFrame | None = None
        self.series: dict[str, pd.DataFrame] = {}
        self.metric_series: dict[str, pd.DataFrame] = {}
        self._seen: tuple | None = None
        self._quiet = False  # set while the monitor itself rewrites the metric picker
        super().__init__(children=self._build_widgets(), **kwargs)
        self._show()
        if self.source.live and not self._ended.is_set():
            self._thread = threading.Thread(target=self._poll, daemon=True,
                                            name=f"TrainingMonitor {self.source.run_dir.name}")
            self._thread.start()

    def _build_widgets(self) -> list[widgets.Widget]:
        """The monitor's parts, the figure built with the job's first read; its children."""
        self.title = widgets.HTML()
        self.stop_button = widgets.Button(description="Stop", icon="stop", button_style="danger",
                                          tooltip="Ask every rank to stop (job.stop())",
                                          disabled=not self.source.live)
        self.stop_button.on_click(lambda _: self.stop())
        self.progress_bar = widgets.IntProgress(value=0, min=0, max=1, bar_style="info",
                                                layout=widgets.Layout(width="420px"))
        self.progress_label = widgets.HTML()
        self.error_box = widgets.HTML(layout=widgets.Layout(display="none"))
        self.alert_banner = widgets.HTML()  # the alerts firing now (`alert_banner_html`)
        self.notice = widgets.HTML()  # why the view could not refresh, while it retries
        self.metric_picker = widgets.Dropdown(description="Metric", options=[], disabled=True,
                                              layout=widgets.Layout(width="320px"))
        self.metric_picker.observe(self._on_metric, names="value")
        self.summary_table = widgets.HTML()
        self._read()
        self._show_metric_names()
        self._figure = MonitorFigure(
            self._frames(), self.metric_picker.value, x=self.x, window=self.window,
            max_points=self.max_points, expected=self._expected_lines(),
            charts=CHARTS if self._gpu_row else CHARTS[:-1])
        self.figure: go.FigureWidget = self._figure.widget
        # A one-column grid: plotly sizes the figure to its container, which this stretches.
        self.chart_box = widgets.GridBox([self.figure], layout=widgets.Layout(
            grid_template_columns="minmax(0, 1fr)", width="100%"))
        # Without GPU samples to chart, a note says why.
        self.gpu_note = widgets.HTML("" if self._gpu_row else no_gpu_html(self.source.live))
        rows = [widgets.HBox([self.title, self.stop_button],
                             layout=widgets.Layout(justify_content="space-between")),
                widgets.HBox([self.progress_bar, self.progress_label]),
                widgets.HBox([self.summary_table, self.gpu_note])]
        self._parts = [*rows, self.title, self.stop_button, self.progress_bar,
                       self.progress_label, self.error_box, self.notice, self.metric_picker,
                       self.summary_table, self.gpu_note, self.figure, self.chart_box,
                       self.alert_banner]
        return [*rows[:2], self.notice, self.error_box, self.alert_banner, self.metric_picker,
                self.chart_box, rows[2]]

    @property
    def run_dir(self) -> Path:
        return self.source.run_dir

    @property
    def ended(self) -> bool:
        """True once the job ended and the final update is shown (always, for a replay)."""
        return self._ended.is_set()

    def traces(self, chart: str) -> dict[str, Any]:
        """The lines of one chart ("throughput", "step_time", "data_wait", "metric", "gpu"),
        by name: the plotly traces of `figure`."""
        if chart not in CHARTS:
            raise KeyError(f"no chart {chart!r}; the charts are {list(CHARTS)}")
        return self._figure.traces(chart)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ended and the monitor showed its final state (its thread then
        lingers to resend it, see `settle`); False on timeout, or when the monitor was closed
        or gave up before the job ended."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._ended.is_set() and self._thread is not None and self._thread.is_alive():
            left = 0.1 if deadline is None else min(0.1, deadline - time.monotonic())
            if left <= 0:
                break
            self._ended.wait(left)
        return self._ended.is_set()

    def stop(self) -> None:
        """The Stop button: `job.stop()`; the button stays disabled from then on."""
        self.source.stop()
        self.stop_button.disabled = True
        self.stop_button.description = "Stopping…"

    def show_metric(self, name: str) -> None:
        """Chart logged metric `name` (as picking it in `metric_picker` does)."""
        if name not in self.metric_series:
            raise KeyError(f"no metric {name!r} was logged; logged: {list(self.metric_series)}")
        self.metric_picker.value = name

    def close(self) -> None:
        """Stop polling and close the monitor's widgets and its figure."""
        self._stop.set()
        with self._lock:
            self._closed = True
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        for part in self._parts:
            part.close()
        super().close()

    # -- the update loop ------------------------------------------------------------------

    def _poll(self) -> None:
        """Update at most every `interval` seconds while something changed; one last update
        once the job ended, then resend it at the `settle` delays and stop. A failed update is
        shown in `notice` and retried at the next tick (the live view outlives a transient
        error); `_MAX_FAILURES` in a row end it."""
        last = time.monotonic()
        failures = 0
        while not self._stop.wait(max(0.0, last + self.interval - time.monotonic())):
            last = time.monotonic()
            try:
                ended = self.source.status() != "running"
                alerts = alerts_of(self.job, self.run_dir)  # a stall fires with no new record
                key = (self.source.record_count(), self.source.gpu_count(),
                       tuple(zip(alerts["rule"], alerts["rank"], alerts["state"])))
                if ended or key != self._seen:
                    with self._lock:
                        if self._closed:
                            return
                        self._read()
                        self._show()
            except Exception as err:
                failures += 1
                self._seen = None  # so the next tick tries again
                self.notice.value = notice_html(err, failures, _MAX_FAILURES)
                if failures >= _MAX_FAILURES:
                    return
                continue
            if failures:
                failures, self.notice.value = 0, ""
            if ended:
                break
        end = time.monotonic()
        for delay in self.settle:
            if self._stop.wait(max(0.0, end + delay - time.monotonic())):
                return
            self._resync()

    def _read(self) -> None:
        """Read the job once: status, metrics, GPU samples; compute every series and the
        summary."""
        from workbench.train.summary import utilisation

        status = self.source.status()  # before the metrics: an ended job's are complete
        count = self.source.record_count()
        metrics = self.source.metrics()
        gpu = self.source.gpu()
        self.alerts = alerts = alerts_of(self.job, self.run_dir)
        self._seen = (len(metrics) if count is None else count, len(gpu),
                      tuple(zip(alerts["rule"], alerts["rank"], alerts["state"])))
        self.status, self.metrics = status, metrics
        self.failure = self.source.failure() if status in ("failed", "unknown") else None
        self.series, self.metric_series = run_series(metrics, gpu, self.window,
                                                     self.max_points)
        self.summary = self._summarize(metrics)
        self.utilisation = None if self.summary is None else utilisation(metrics)
        t0 = min(origin(metrics), origin(gpu)) if len(gpu) else origin(metrics)
        self._figure_marks = alert_marks(alerts, metrics, t0)

    def _show(self) -> None:
        """Push what `_read` found to the widgets; the figure in one batch."""
        src, status = self.source, self.status
        ranks = f"{src.nprocs} rank{'s' * (src.nprocs != 1)}" if src.nprocs else "ranks ?"
        self.title.value = (
            f"<b>Training {html.escape(src.name)}</b> &middot; <b>{html.escape(status)}</b> "
            f"&middot; {html.escape(src.backend)} &middot; {html.escape(src.device)} &middot; "
            f"{ranks}{'' if src.live else ' &middot; replay'}<br>"
            f"<code>{html.escape(str(src.run_dir))}</code>")
        done, total = progress(self.metrics)
        self.progress_bar.max = max(total or done, 1)
        self.progress_bar.value = min(done, self.progress_bar.max)
        self.progress_bar.bar_style = _BAR_STYLES.get(status, "")
        self.progress_label.value = (
            f"&nbsp;{done:,} / {total:,} steps ({min(done / total, 1.0) if total else 0:.0%})"
            if total else f"&nbsp;{done:,} steps (total unknown)")
        if status != "running":
            self.stop_button.disabled = True
            self.stop_button.description = "Stop"
        if self.failure is not None:
            self.error_box.value = failure_html(self.failure)
            self.error_box.layout.display = None
        self._show_metric_names()
        self.alert_banner.value = alert_banner_html(self.alerts)
        self._figure.marks = self._figure_marks
        self._figure.draw(self._frames(), self.metric_picker.value)
        self.summary_table.value = summary_html(self.summary, self.utilisation)
        self.updates += 1
        if status != "running":
            self._ended.set()

    def _resync(self) -> None:
        """Send the shown state again: every widget's state, and the figure's titles and lines
        as a relayout and a restyle (plotly's public setters send only what changed, and a
        page that lost the last change needs it again). After traces were added to a live
        figure no restyle is sent: a page that lost the addition has fewer traces than it
        would name."""
        with self._lock:
            if self._closed:
                return
            for part in (*self._parts, self.error_box.layout):
                if part is not self.figure:  # its state holds plotly's 5 MB bundle
                    part.send_state()
            self._figure.resync(self._frames(), self.metric_picker.value)
            self.resyncs += 1

    def _summarize(self, metrics: pd.DataFrame) -> Summary | None:
        from workbench.train.summary import summarize

        if "step_s" not in metrics or not metrics["step_s"].notna().any():
            return None
        device = self.source.device.partition("(")[2].rstrip(")") or None
        return summarize(metrics, flops_per_sample=self.flops_per_sample, device_name=device,
                         dtype=self.dtype)

    # -- the metric picker -------------------------------------------------------------------

    def _show_metric_names(self) -> None:
        """The picker offers every logged metric; it keeps its pick, or takes loss (else the
        first) when it had none."""
        names = list(self.metric_series)
        if tuple(names) == tuple(self.metric_picker.options):
            return
        keep = self.metric_picker.value
        self._quiet = True
        try:
            self.metric_picker.options = names
            self.metric_picker.value = (keep if keep in names else "loss" if "loss" in names
                                        else names[0] if names else None)
            self.metric_picker.disabled = not names
        finally:
            self._quiet = False

    def _on_metric(self, change: dict) -> None:
        if not self._quiet:
            with self._lock:
                if not self._closed:
                    self._figure.draw(self._frames(), self.metric_picker.value)

    # -- the figure --------------------------------------------------------------------------

    @property
    def _gpu_row(self) -> bool:
        """Whether the figure has a GPU chart: a live job on GPUs (its samples come later)."""
        return self.source.live and self.source.backend == "nccl"

    def _frames(self) -> dict[str, pd.DataFrame]:
        """Each chart's series; the metric chart's is the picked metric's."""
        metric = self.metric_series.get(self.metric_picker.value, empty())
        return {**self.series, "metric": metric}

    def _expected_lines(self) -> dict[str, list[str]]:
        """The lines a live job's charts have from the start (see `training_figure`)."""
        if not self.source.live:
            return {chart: [] for chart in CHARTS}
        ranks = [f"rank {r}" for r in range(self.source.nprocs or 0)]
        gpus = _visible_gpus() if self._gpu_row else []
        return {"throughput": ranks + ["total"] * (len(ranks) > 1),
                "step_time": list(STEP_QUANTILES), "data_wait": ranks, "metric": ranks,
                "gpu": [f"GPU {g['index']} {what} %" for g in gpus for what in ("util", "memory")]}

    # -- reprs ----------------------------------------------------------------------------

    def __repr__(self) -> str:
        done, total = progress(self.metrics) if self.metrics is not None else (0, None)
        where = "live" if self.source.live else "replay"
        return (f"<TrainingMonitor {self.source.name} {self.status} ({where}) step "
                f"{done}/{total if total else '?'} updates={self.updates} "
                f"run_dir={str(self.run_dir)!r}>")

    def _repr_html_(self) -> str:
        """A static view for front ends without widgets: status, progress, error, summary."""
        done, total = progress(self.metrics)
        error = failure_html(self.failure) if self.failure else ""
        return (f"<div>{self.title.value}<br>{done:,} / {total if total else '?'} steps"
                f"{error}{self.alert_banner.value}"
                f"{summary_html(self.summary, self.utilisation)}</div>")

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs)
        bundle["text/html"] = self._repr_html_()
        return bundle


def _visible_gpus() -> list[dict[str, Any]]:
    """The GPUs this process sees (their NVML indices name the GPU sampler's rows)."""
    from workbench.compute.gpus import gpus

    return gpus()
