"""`TrainingMonitor`: the live view of a training job (`job.monitor()`), or the replay of a run.

One plotly FigureWidget with a chart per subplot: throughput per rank and in total, step-time
p50/p90/p99 over a rolling window of steps, the data-wait share per rank, a logged metric
(picked from a dropdown of every one; a line per rank) and, for a job on GPUs, their
utilisation and memory. Around it: a progress bar, a Stop button, the summary table and, when
a rank failed, its traceback.

How it stays cheap and renders everywhere:

- The numbers come from pure functions of the metrics DataFrame (`throughput_series`,
  `step_time_percentiles`, `data_wait_series`, `metric_series`, `gpu_series`, `progress`), each
  returning a long frame (series, step, time, value): tests and notebooks read the same numbers
  the charts draw (`monitor.series`, `monitor.metric_series`).
- A daemon thread polls the job at most `MAX_UPDATES_PER_S` times a second. An idle poll is a
  length check of the job's live records (no DataFrame is built); a changed one rebuilds the
  series and pushes every line inside one `fig.batch_update()`. Lines are thinned to
  `max_points` points each, so a long, fast job cannot flood the browser. The thread ends after
  the update that follows the job's end (and the resends below), or when the widget is closed.
- The figure is built with its data, and after each update its synced `_widget_data` and
  `_widget_layout` are set to what it shows: edits travel as one-off messages that a front end
  connecting later (Voila, a reloaded page) never receives, while it does receive the state.
- A page that connects while the job ends can still lose the last update: ipywidgets' front end
  asks the kernel for every widget's state and only then listens to each widget, so what is
  sent in between (seconds, while plotly's bundle travels) is dropped. The monitor therefore
  sends its final state again `SETTLE_S` seconds after the end. A live job's figure has every
  rank's (every GPU's) lines from the start, so a resend restyles lines every page has.
- One figure rather than one per chart: each FigureWidget's front end loads plotly's 5 MB
  bundle anew, and anywidget ignores every later update of a model whose loading took over
  2 s, which several figures loading at once can take on a busy machine.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import threading
import time
from copy import deepcopy
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from workbench.train.metrics import logged_metrics

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import plotly.graph_objects as go

    from workbench.train.launcher import Job
    from workbench.train.summary import Summary

__all__ = ["MAX_UPDATES_PER_S", "Failure", "TrainingMonitor", "data_wait_series",
           "gpu_series", "metric_series", "progress", "step_time_percentiles",
           "summary_rows", "throughput_series"]

MAX_UPDATES_PER_S = 4  # the most widget updates a monitor pushes per second
MIN_INTERVAL_S = 1 / MAX_UPDATES_PER_S
SETTLE_S = (1.0, 2.0, 4.0, 8.0)  # after the final update, its state is sent again at these delays
SERIES_COLUMNS = ("series", "step", "time", "value")
QUANTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99}
JOB_FILE = "job.json"  # as `workbench.train.launcher.JOB_FILE`, without importing torch's side
_BAR_STYLES = {"running": "info", "succeeded": "success", "failed": "danger",
               "stopped": "warning"}
_ERROR_FILE = re.compile(r"error-rank(\d+)\.json")
_MAX_FAILURES = 20  # updates failing in a row before the live view gives up
CHARTS = ("throughput", "step_time", "data_wait", "metric", "gpu")  # the figure's subplots
_CHART_TITLES = {"throughput": "Throughput (samples/s)", "step_time": "Step time (s)",
                 "data_wait": "Data-wait share (data time / step time)",
                 "metric": "Logged metrics: none yet (run.log(loss=...) in the loop)",
                 "gpu": "GPU utilisation and memory (%)"}
_GPU_WAITING = ": no samples yet (NVML samples every second)"
_FIXED_COLORS = {"total": "#222222", "p50": "#1f77b4", "p90": "#ff7f0e", "p99": "#d62728"}
_PALETTE = ("#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692",
            "#b6e880", "#ff97ff", "#fecb52")  # plotly's default colours, one per rank or GPU


@dataclass(frozen=True)
class Failure:
    """Why a run failed: the rank that failed first, a one-line headline (rank and exit) and
    that rank's traceback (empty when the process died without writing one)."""

    rank: int
    headline: str
    traceback: str


# ---------------------------------------------------------------------------------------------
# The numbers: pure functions of the metrics DataFrame (`job.metrics`, `read_run(run_dir)`).


def step_records(metrics: pd.DataFrame) -> pd.DataFrame:
    """The records `run.steps()` wrote (those with `step_s`), each rank's in step order."""
    if "step_s" not in metrics:
        return metrics.iloc[0:0]
    steps = metrics[metrics["step_s"].notna()]
    return steps.sort_values(["rank", "step"], kind="stable")


def origin(metrics: pd.DataFrame) -> float:
    """The time every chart's elapsed seconds count from: the run's first record (NaN if none)."""
    return float(metrics["time"].min()) if len(metrics) else math.nan


def throughput_series(metrics: pd.DataFrame, window: int = 20,
                      t0: float | None = None) -> pd.DataFrame:
    """Samples per second of each rank over its last `window` steps (samples summed over step
    time summed: a rolling mean that weighs slow steps right), as series "rank R"; with more
    than one rank also "total", their sum at each step every rank has reached (at the time the
    last rank finished it). Columns `SERIES_COLUMNS`; `time` is seconds since `t0` (default
    the first record)."""
    import pandas as pd

    steps = step_records(metrics)
    if steps.empty or "samples" not in steps or steps["samples"].isna().all():
        return _empty()
    start = origin(metrics) if t0 is None else t0
    parts = _rolling_per_rank(steps, "samples", window, start)
    if len(parts) > 1:
        wide = pd.concat(parts).groupby(["step", "series"])[["time", "value"]].last()
        wide = wide.unstack("series")
        complete = wide["value"].notna().all(axis=1)
        parts.append(pd.DataFrame({"series": "total", "step": wide.index[complete].to_numpy(),
                                   "time": wide["time"][complete].max(axis=1).to_numpy(),
                                   "value": wide["value"][complete].sum(axis=1).to_numpy()}))
    return _long(parts)


def step_time_percentiles(metrics: pd.DataFrame, window: int = 50, t0: float | None = None,
                          max_points: int | None = None) -> pd.DataFrame:
    """Step-time p50, p90 and p99 (series named so) at each step s, over every rank's steps in
    the window (s - `window`, s]: the pooled percentiles `job.summary()` reports for the whole
    run, made local. `time` is when the last rank finished step s. `max_points` evaluates only
    that many steps, evenly spread (the last one always), to bound the cost of a long run."""
    import numpy as np
    import pandas as pd

    from workbench.kernels import quantiles

    steps = step_records(metrics).sort_values("step", kind="stable")
    if steps.empty:
        return _empty()
    start = origin(metrics) if t0 is None else t0
    step = steps["step"].to_numpy()
    seconds = steps["step_s"].to_numpy(np.float64)
    finished = steps.groupby("step")["time"].max()
    at = finished.index.to_numpy()
    if max_points is not None:
        at = at[_thin(len(at), max_points)]
    lo = np.searchsorted(step, at - window + 1, side="left")
    hi = np.searchsorted(step, at, side="right")
    values = np.array([quantiles(seconds[a:b], list(QUANTILES.values()))
                       for a, b in zip(lo, hi)])
    times = finished.loc[at].to_numpy() - start
    return _long([pd.DataFrame({"series": name, "step": at, "time": times,
                                "value": values[:, i]}) for i, name in enumerate(QUANTILES)])


def data_wait_series(metrics: pd.DataFrame, window: int = 20,
                     t0: float | None = None) -> pd.DataFrame:
    """The share of each rank's step time spent waiting for its next batch, over its last
    `window` steps (data seconds summed over step seconds summed), as series "rank R"."""

    steps = step_records(metrics)
    if steps.empty or "data_s" not in steps:
        return _empty()
    start = origin(metrics) if t0 is None else t0
    return _long(_rolling_per_rank(steps, "data_s", window, start))


def _rolling_per_rank(steps: pd.DataFrame, column: str, window: int,
                      start: float) -> list[pd.DataFrame]:
    """Per rank, `column` summed over the last `window` steps divided by the step seconds
    summed over the same steps: one long frame ("rank R", step, time, value) each."""
    import pandas as pd

    parts = []
    for rank, group in steps.groupby("rank", sort=True):
        total = group[column].astype(float).rolling(window, min_periods=1).sum()
        seconds = group["step_s"].astype(float).rolling(window, min_periods=1).sum()
        parts.append(pd.DataFrame({"series": f"rank {rank}", "step": group["step"].to_numpy(),
                                   "time": group["time"].to_numpy() - start,
                                   "value": (total / seconds).to_numpy()}))
    return parts


def metric_series(metrics: pd.DataFrame, name: str, t0: float | None = None) -> pd.DataFrame:
    """Logged metric `name` as series "rank R", one point per record that has it (non-numeric
    values are left out)."""
    import pandas as pd

    if name not in metrics:
        raise KeyError(f"no metric {name!r} was logged; logged: {logged_metrics(metrics)}")
    values = pd.to_numeric(metrics[name], errors="coerce")
    kept = metrics[values.notna()]
    start = origin(metrics) if t0 is None else t0
    parts = [pd.DataFrame({"series": f"rank {rank}", "step": group["step"].to_numpy(),
                           "time": group["time"].to_numpy() - start,
                           "value": values[group.index].to_numpy(float)})
             for rank, group in kept.groupby("rank", sort=True)]
    return _long(parts)


def gpu_series(gpu: pd.DataFrame, t0: float | None = None) -> pd.DataFrame:
    """GPU samples (`GpuSampler.COLUMNS`, as `job.gpu`) as series "GPU i util %" and "GPU i
    memory %" (memory used over total), against seconds since `t0` (default: the first
    sample); `step` is NaN (samples are taken by the clock, not per step)."""
    import pandas as pd

    if gpu.empty:
        return _empty()
    start = float(gpu["time"].min()) if t0 is None or math.isnan(t0) else t0
    parts = []
    for index, group in gpu.groupby("gpu", sort=True):
        elapsed = group["time"].to_numpy(float) - start
        memory = 100.0 * group["memory_used_bytes"].to_numpy(float) / group[
            "memory_total_bytes"].to_numpy(float)
        parts += [pd.DataFrame({"series": f"GPU {index} util %", "step": math.nan,
                                "time": elapsed, "value": group["util"].to_numpy(float)}),
                  pd.DataFrame({"series": f"GPU {index} memory %", "step": math.nan,
                                "time": elapsed, "value": memory})]
    return _long(parts)


def progress(metrics: pd.DataFrame) -> tuple[int, int | None]:
    """(steps done, total steps): done is the highest step any rank finished, plus one; total
    is the latest `total_steps` announced by `run.steps()` (None when no loader had a length
    and no `total` was given)."""
    steps = step_records(metrics)
    done = int(steps["step"].max()) + 1 if len(steps) else 0
    total = None
    if "total_steps" in metrics:
        announced = metrics[metrics["total_steps"].notna()]
        if len(announced):
            total = int(announced.sort_values("time", kind="stable")["total_steps"].iloc[-1])
    return done, total


def summary_rows(summary: Summary | None) -> list[tuple[str, str]]:
    """The summary's figures as (name, shown value) rows; every value "n/a" when there is no
    summary yet (no step finished)."""
    from workbench.train.summary import Summary

    rows = []
    for field in fields(Summary):
        value = None if summary is None else getattr(summary, field.name)
        rows.append((field.name, _show(field.name, value)))
    return rows


def _show(name: str, value: Any) -> str:
    if value is None:
        return "n/a"
    if name in ("data_wait_share", "mfu"):
        return f"{value:.1%}"
    if name == "peak_memory_bytes":
        return f"{value / 2**20:,.1f} MiB"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return f"{value:,}" if isinstance(value, int) else str(value)


def _empty() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({"series": pd.Series(dtype=object), "step": pd.Series(dtype="int64"),
                         "time": pd.Series(dtype=float), "value": pd.Series(dtype=float)})


def _long(parts: list[pd.DataFrame]) -> pd.DataFrame:
    import pandas as pd

    if not parts:
        return _empty()
    return pd.concat(parts, ignore_index=True)[list(SERIES_COLUMNS)]


def _thin(n: int, max_points: int) -> np.ndarray:
    """At most `max_points` indices of range(n), evenly spread, first and last included."""
    import numpy as np

    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max(max_points, 2)).round().astype(np.int64))


# ---------------------------------------------------------------------------------------------
# Where the numbers come from: a live job, or a run directory on disk.


class _LiveJob:
    """Reads a running (or ended) `Job`."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.run_dir = Path(job.run_dir)
        self.name, self.backend, self.device = job.name, job.backend, job.device
        self.nprocs: int | None = job.nprocs
        self.live = True

    def status(self) -> str:
        return self.job.status

    def record_count(self) -> int | None:
        """Records received so far, read without building a frame (`Job.records`); None for a
        job-like object without it (then every poll reads the metrics)."""
        return getattr(self.job, "records", None)

    def metrics(self) -> pd.DataFrame:
        return self.job.metrics

    def gpu(self) -> pd.DataFrame:
        return self.job.gpu

    def gpu_count(self) -> int:
        """GPU samples so far, without a frame where the job can say (`Job.gpu_samples`)."""
        count = getattr(self.job, "gpu_samples", None)
        return len(self.job.gpu) if count is None else count

    def failure(self) -> Failure | None:
        err = self.job.error
        if err is None:
            return None
        return Failure(err.rank, str(err).splitlines()[0].rstrip(":"), err.traceback)

    def stop(self) -> None:
        self.job.stop()


class _Replay:
    """Reads a run directory after the fact: `read_run` and `job.json` (status, error)."""

    def __init__(self, run_dir: Path) -> None:
        from workbench.train.metrics import read_run

        self.run_dir = run_dir
        self._metrics = read_run(run_dir)  # raises FileNotFoundError naming a missing dir
        path = run_dir / JOB_FILE
        self.info: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        self.name = str(self.info.get("name", run_dir.name))
        self.backend = str(self.info.get("backend", "?"))
        self.device = str(self.info.get("device", "?"))
        nprocs = self.info.get("nprocs")
        self.nprocs = int(nprocs) if nprocs is not None else (
            int(self._metrics["rank"].nunique()) or None)
        self.live = False

    def status(self) -> str:
        """As `wb.runs()` reads it (a "running" run whose launcher died is "stopped"), else what
        `job.json` says (a directory given without one: "unknown")."""
        from workbench.train.runs import runs

        listed = runs(self.run_dir.parent)
        found = listed.loc[listed["id"] == self.run_dir.name, "status"]
        return str(found.iloc[0]) if len(found) else str(self.info.get("status", "unknown"))

    def record_count(self) -> int:
        return len(self._metrics)

    def metrics(self) -> pd.DataFrame:
        return self._metrics

    def gpu(self) -> pd.DataFrame:
        import pandas as pd

        from workbench.compute.gpus import GpuSampler

        return pd.DataFrame(columns=list(GpuSampler.COLUMNS))  # not kept on disk

    def gpu_count(self) -> int:
        return 0

    def failure(self) -> Failure | None:
        """The first rank to fail, from the error files the ranks left (as the launcher picks
        it), with the headline `job.json` recorded."""
        reports = []
        for path in self.run_dir.iterdir():
            match = _ERROR_FILE.fullmatch(path.name)
            if match:
                report = json.loads(path.read_text())
                reports.append((report.get("time", math.inf), int(match.group(1)), report))
        text = str(self.info.get("error") or "")
        if not reports and not text:
            return None
        if reports:
            _, rank, report = min(reports, key=lambda item: item[:2])
            traceback = str(report.get("traceback", ""))
        else:
            found = re.match(r"rank (\d+)", text)
            rank = int(found.group(1)) if found else -1
            traceback = text.partition("\n")[2]
        headline = text.splitlines()[0].rstrip(":") if text else f"rank {rank} failed"
        return Failure(rank, headline, traceback)

    def stop(self) -> None:
        raise RuntimeError(f"{self.run_dir} is a replay: there is no job to stop")


# ---------------------------------------------------------------------------------------------
# The widget.


class TrainingMonitor(widgets.VBox):
    """The live view of `job` (a `wb.launch` Job), or the replay of a run directory.

    `x`: "step" or "time" (seconds since the first record) on every step chart. `window`: the
    steps each rolling figure spans. `interval`: seconds between updates (at least
    1 / `MAX_UPDATES_PER_S`). `max_points`: the most points a trace sends. `flops_per_sample`
    and `dtype` give the summary its MFU, as in `job.summary()`. `settle`: delays after the
    job's end at which the final state is sent again, for pages that were connecting.

    Read back: `figure` (one FigureWidget, a subplot per chart; `traces(chart)` its lines),
    `series` (throughput, step_time, data_wait, gpu frames), `metric_series` (one frame per
    logged metric; `metric_picker` picks the one charted), `metrics`, `summary`, `status`,
    `failure`, `updates` (widget updates pushed so far, the first at construction),
    `resyncs`.
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
        self.source: _LiveJob | _Replay = (
            _Replay(Path(job)) if isinstance(job, (str, os.PathLike)) else _LiveJob(job))
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
        self._grown = False  # whether traces were added to the figure after it was built
        self._index: dict[tuple[str, str], int] = {}  # (chart, line name) -> trace index

        self.title = widgets.HTML()
        self.stop_button = widgets.Button(description="Stop", icon="stop", button_style="danger",
                                          tooltip="Ask every rank to stop (job.stop())",
                                          disabled=not self.source.live)
        self.stop_button.on_click(lambda _: self.stop())
        self.progress_bar = widgets.IntProgress(value=0, min=0, max=1, bar_style="info",
                                                layout=widgets.Layout(width="420px"))
        self.progress_label = widgets.HTML()
        self.error_box = widgets.HTML(layout=widgets.Layout(display="none"))
        self.notice = widgets.HTML()  # why the view could not refresh, while it retries
        self.metric_picker = widgets.Dropdown(description="Metric", options=[], disabled=True,
                                              layout=widgets.Layout(width="320px"))
        self.metric_picker.observe(self._on_metric, names="value")
        self.summary_table = widgets.HTML()
        self._read()
        self._show_metric_names()
        self._expected = self._expected_lines()
        self.figure = self._build_figure()
        # A one-column grid: plotly sizes the figure to its container, which this stretches.
        self.chart_box = widgets.GridBox([self.figure], layout=widgets.Layout(
            grid_template_columns="minmax(0, 1fr)", width="100%"))
        # Without GPU samples to chart, a note says why.
        self.gpu_note = widgets.HTML("" if self._gpu_row else self._no_gpu_text())
        rows = [widgets.HBox([self.title, self.stop_button],
                             layout=widgets.Layout(justify_content="space-between")),
                widgets.HBox([self.progress_bar, self.progress_label]),
                widgets.HBox([self.summary_table, self.gpu_note])]
        self._parts = [*rows, self.title, self.stop_button, self.progress_bar,
                       self.progress_label, self.error_box, self.notice, self.metric_picker,
                       self.summary_table, self.gpu_note, self.figure, self.chart_box]
        super().__init__(children=[*rows[:2], self.notice, self.error_box, self.metric_picker,
                                   self.chart_box, rows[2]], **kwargs)
        self._show()
        if self.source.live and not self._ended.is_set():
            self._thread = threading.Thread(target=self._poll, daemon=True,
                                            name=f"TrainingMonitor {self.source.run_dir.name}")
            self._thread.start()

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
        return {name: self.figure.data[i] for (part, name), i in self._index.items()
                if part == chart}

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
                key = (self.source.record_count(), self.source.gpu_count())
                if ended or key != self._seen:
                    with self._lock:
                        if self._closed:
                            return
                        self._read()
                        self._show()
            except Exception as err:
                failures += 1
                self._seen = None  # so the next tick tries again
                self.notice.value = _notice_html(err, failures)
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
        status = self.source.status()  # before the metrics: an ended job's are complete
        count = self.source.record_count()
        metrics = self.source.metrics()
        gpu = self.source.gpu()
        self._seen = (len(metrics) if count is None else count, len(gpu))
        self.status, self.metrics = status, metrics
        self.failure = self.source.failure() if status in ("failed", "unknown") else None
        # Seconds count from the first record or GPU sample, whichever came first.
        starts = [t for t in (origin(metrics), float(gpu["time"].min()) if len(gpu)
                              else math.nan) if not math.isnan(t)]
        t0 = min(starts, default=math.nan)
        self.series = {
            "throughput": throughput_series(metrics, self.window, t0),
            "step_time": step_time_percentiles(metrics, self.window, t0, self.max_points),
            "data_wait": data_wait_series(metrics, self.window, t0),
            "gpu": gpu_series(gpu, t0),
        }
        self.metric_series = {name: metric_series(metrics, name, t0)
                              for name in logged_metrics(metrics)}
        self.summary = self._summarize(metrics)

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
            self.error_box.value = _failure_html(self.failure)
            self.error_box.layout.display = None
        self._show_metric_names()
        self._draw()
        self.summary_table.value = _summary_html(self.summary)
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
            fig = self.figure
            fig._send_relayout_msg({_js_key(path): text for path, text in self._titles().items()})
            if fig.data and not self._grown:
                fig._send_restyle_msg({"x": [trace.x for trace in fig.data],
                                       "y": [trace.y for trace in fig.data]},
                                      trace_indexes=list(range(len(fig.data))))
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
                    self._draw()

    # -- the figure --------------------------------------------------------------------------

    @property
    def _gpu_row(self) -> bool:
        """Whether the figure has a GPU chart: a live job on GPUs (its samples come later)."""
        return self.source.live and self.source.backend == "nccl"

    def _frames(self) -> dict[str, pd.DataFrame]:
        """Each chart's series; the metric chart's is the picked metric's."""
        metric = self.metric_series.get(self.metric_picker.value, _empty())
        return {**self.series, "metric": metric}

    def _expected_lines(self) -> dict[str, list[str]]:
        """The lines a live job's charts have from the start (see the module docstring)."""
        if not self.source.live:
            return {chart: [] for chart in CHARTS}
        ranks = [f"rank {r}" for r in range(self.source.nprocs or 0)]
        gpus = _visible_gpus() if self._gpu_row else []
        return {"throughput": ranks + ["total"] * (len(ranks) > 1), "step_time": list(QUANTILES),
                "data_wait": ranks, "metric": ranks,
                "gpu": [f"GPU {g['index']} {what} %" for g in gpus for what in ("util", "memory")]}

    def _lines(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(chart, name, x and y) of every line to draw: each chart's expected lines, then the
        other series its frame has."""
        frames, expected = self._frames(), self._expected
        lines = []
        for chart in self._charts:
            frame = frames[chart]
            names = expected[chart] + [name for name in frame["series"].unique()
                                       if name not in expected[chart]]
            column = "time" if chart == "gpu" else self.x
            for name in names:
                part = frame[frame["series"] == name]
                keep = _thin(len(part), self.max_points)
                lines.append((chart, str(name), {"x": part[column].to_numpy()[keep],
                                                 "y": part["value"].to_numpy()[keep]}))
        return lines

    @property
    def _charts(self) -> tuple[str, ...]:
        return CHARTS if self._gpu_row else CHARTS[:-1]

    def _build_figure(self) -> go.FigureWidget:
        """One FigureWidget for every chart (subplots; see the module docstring for why one),
        its lines given to the constructor."""
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        charts = self._charts
        rows = (len(charts) + 1) // 2
        specs: list[list[dict | None]] = [[{}, {}], [{}, {}]]
        if "gpu" in charts:
            specs.append([{"colspan": 2}, None])
        grid = make_subplots(rows=rows, cols=2, specs=specs, horizontal_spacing=0.08,
                             vertical_spacing=0.3 / rows,
                             subplot_titles=[_CHART_TITLES[c] for c in charts])
        layout = grid.layout
        layout.annotations[CHARTS.index("step_time")].text = (
            f"Step time (s): p50, p90, p99 over {self.window} steps")
        layout.update(height=320 * rows, margin={"l": 60, "r": 20, "t": 40, "b": 40},
                      hovermode="x unified", legend={"tracegroupgap": 2})
        for n, chart in enumerate(charts, start=1):
            x_title = ("seconds since the first record" if chart == "gpu" or self.x == "time"
                       else "step")
            layout[f"xaxis{n}"].title.text = x_title
            layout[f"yaxis{n}"].rangemode = "tozero"
        layout[f"yaxis{CHARTS.index('data_wait') + 1}"].tickformat = "~%"
        traces = []
        for chart, name, xy in self._lines():
            self._index[(chart, name)] = len(traces)
            traces.append(self._trace(chart, name, xy, shown={t["legendgroup"] for t in traces}))
        _set_titles(layout, self._titles())
        return go.FigureWidget(data=traces, layout=layout)

    def _trace(self, chart: str, name: str, xy: dict[str, Any],
               shown: set[str]) -> dict[str, Any]:
        """A line of `chart`; a rank (a GPU) keeps its colour on every chart and one legend
        entry that shows or hides all its lines."""
        n = CHARTS.index(chart) + 1
        group = name.rsplit(" ", 2)[0] if chart == "gpu" else name  # "GPU 0" for both lines
        number = re.search(r"\d+", name)
        color = _FIXED_COLORS.get(name) or (
            _PALETTE[int(number.group()) % len(_PALETTE)] if number else "#444")
        line: dict[str, Any] = {"color": color, "width": 3 if name == "total" else 1.8}
        if name.endswith("memory %"):
            line["dash"] = "dot"
        return {"type": "scatter", "mode": "lines", "name": name, "meta": chart, **xy,
                "xaxis": f"x{n if n > 1 else ''}", "yaxis": f"y{n if n > 1 else ''}",
                "legendgroup": group, "showlegend": group not in shown, "line": line}

    def _titles(self) -> dict[tuple, str]:
        """The titles that change (layout paths -> text): the metric chart is named after the
        picked metric, and the GPU chart carries a waiting note until samples arrive."""
        n = CHARTS.index("metric")
        picked = self.metric_picker.value
        titles = {("annotations", n, "text"): picked or _CHART_TITLES["metric"]}
        if "gpu" in self._charts:
            waiting = self.series["gpu"].empty
            titles[("annotations", CHARTS.index("gpu"), "text")] = (
                _CHART_TITLES["gpu"] + (_GPU_WAITING if waiting else ""))
        return titles

    def _draw(self) -> None:
        """Push every line and title to the figure in one batch (lines matched by chart and
        name; a line with no data now is emptied; a new series adds a trace), then make the
        figure's synced state what it now shows, for front ends that connect later."""
        fig = self.figure
        fresh = []
        drawn = set()
        with fig.batch_update():
            for chart, name, xy in self._lines():
                index = self._index.get((chart, name))
                if index is None:
                    fresh.append((chart, name, xy))
                    continue
                drawn.add(index)
                fig.data[index].x, fig.data[index].y = xy["x"], xy["y"]
            for index, trace in enumerate(fig.data):
                if index not in drawn and trace.meta == "metric":
                    trace.x, trace.y = [], []  # a rank without values for the picked metric
            _set_titles(fig.layout, self._titles())
        if fresh:
            shown = {trace.legendgroup for trace in fig.data}
            for chart, name, xy in fresh:
                self._index[(chart, name)] = len(fig.data)
                fig.add_traces([self._trace(chart, name, xy, shown)])
                shown.add(fig.data[-1].legendgroup)
            self._grown = True  # see _resync
        fig._widget_data = deepcopy(fig._data)
        fig._widget_layout = deepcopy(fig._layout_obj._props)

    def _no_gpu_text(self) -> str:
        if not self.source.live:
            why = "GPU samples are not kept on disk: only a live job shows them."
        else:
            why = "No GPU: this job runs on CPU."
        return f"<div style='padding:12px; color:#555'><b>GPU</b><br><i>{why}</i></div>"

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
        error = _failure_html(self.failure) if self.failure else ""
        return (f"<div>{self.title.value}<br>{done:,} / {total if total else '?'} steps"
                f"{error}{_summary_html(self.summary)}</div>")

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs)
        bundle["text/html"] = self._repr_html_()
        return bundle


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


def _visible_gpus() -> list[dict[str, Any]]:
    """The GPUs this process sees (their NVML indices name the GPU sampler's rows)."""
    from workbench.compute.gpus import gpus

    return gpus()


def _failure_html(failure: Failure) -> str:
    trace = failure.traceback or "(the process left no traceback: killed, out of memory, or a " \
        "crash in native code)"
    return ("<div class='workbench-failure' style='border:1px solid #b00020; padding:8px; "
            f"margin:6px 0'><b style='color:#b00020'>Rank {failure.rank} failed</b>: "
            f"{html.escape(failure.headline)}<pre style='max-height:320px; overflow:auto; "
            f"white-space:pre-wrap; font-size:12px'>{html.escape(trace)}</pre></div>")


def _notice_html(err: Exception, failures: int) -> str:
    what = (f"stopped refreshing after {failures} failed updates in a row"
            if failures >= _MAX_FAILURES else "retrying")
    return (f"<div style='color:#8a5a00'>The view could not refresh at "
            f"{time.strftime('%H:%M:%S')} ({what}): {html.escape(type(err).__name__)}: "
            f"{html.escape(str(err))}</div>")


def _summary_html(summary: Summary | None) -> str:
    rows = "".join(f"<tr><td>{html.escape(name)}</td><td>{html.escape(value)}</td></tr>"
                   for name, value in summary_rows(summary))
    return ("<table class='workbench-summary'><tr><th>figure</th><th>value</th></tr>"
            f"{rows}</table>")
