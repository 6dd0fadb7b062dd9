"""`TrainingRuns`: the runs recorded in the lake's `_runs` and `_run_metrics`, a run's
timeline (throughput, step time, data wait, metrics) and its details, and the picked run overlaid
with others (`wb.train.compare`'s view)."""

from __future__ import annotations

import html
import os
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

if TYPE_CHECKING:
    import pandas as pd

    from workbench.lake import Lake
    from workbench.widgets.figure_view import FigureView

from workbench.widgets.lake_view import (
    RUN_METRICS,
    RUNS,
    LakeView,
    chart_row,
    dashboard_figure,
    empty_state,
    table_html,
)

STEP_COLUMNS = ("run_id", "rank", "step", "time", "samples", "step_s", "data_s")  # of no records


class TrainingRuns(LakeView):
    """Training runs from the lake's `_runs` and `_run_metrics` tables: a run picker, the run's
    throughput over time (total and per rank), step-time p50/p90/p99, data-wait share, a logged
    metric (loss by default) with a line per rank, the run overlaid with the runs picked in
    `compare_picker` (a `RunComparisonView`: throughput, loss, step p99), and the summary table
    of every run."""

    def __init__(self, lake: Lake | str | os.PathLike | None = None, **kwargs: Any) -> None:
        self.run_picker = widgets.Dropdown(description="Run", layout=widgets.Layout(
            width="560px"))
        self.metric_picker = widgets.Dropdown(description="Metric", layout=widgets.Layout(
            width="320px"))
        self.run_info = widgets.HTML()
        self.charts = chart_row()
        self.metric_box = widgets.Box(layout=widgets.Layout(width="100%"))
        self.summary = widgets.HTML()
        self.compare_picker = widgets.SelectMultiple(
            description="Compare with", rows=4, layout=widgets.Layout(width="560px"))
        self.overlay = widgets.Box(layout=widgets.Layout(width="100%"))
        self._comparisons: dict[tuple[str, ...], Any] = {}  # run ids -> their view, kept
        self._figures: dict[str, dict[str, FigureView]] = {}  # run_id -> its charts, kept
        self.figures: dict[str, FigureView] = {}  # the picked run's charts, by name
        self.run_picker.observe(self._on_run, names="value")
        self.metric_picker.observe(self._on_metric, names="value")
        self.compare_picker.observe(self._on_compare, names="value")
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
        self._comparisons.clear()
        statuses = self.runs["status"].value_counts()
        self.heading.value = (
            f"<h3>Training runs &middot; {len(self.runs)} run{'s' * (len(self.runs) != 1)} "
            f"({', '.join(f'{n} {s}' for s, n in statuses.items())})</h3>")
        self.summary.value = _runs_html(self.runs)
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
                              widgets.HTML("<h4>Compare runs</h4>"), self.compare_picker,
                              self.overlay, widgets.HTML("<h4>All runs</h4>"), self.summary]
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

    def _on_compare(self, change: dict) -> None:
        if not self._quiet:
            self._show_overlay()

    @property
    def comparison_view(self) -> Any:
        """The overlay of the picked run and those in `compare_picker` (a
        `RunComparisonView`), or None when none is picked to compare with."""
        picked = (self.run_id, *self.compare_picker.value)
        return self._comparisons.get(picked) if len(picked) > 1 else None

    def compare_with(self, *run_ids: str) -> None:
        """Overlay the picked run with runs ``run_ids`` (none: no overlay)."""
        others = [value for _, value in self.compare_picker.options]
        unknown = [run_id for run_id in run_ids if run_id not in others]
        if unknown:
            raise KeyError(f"cannot compare run {self.run_id!r} with {unknown}: pick among "
                           f"the other runs in {RUNS}: {others}")
        self.compare_picker.value = tuple(run_ids)

    def _show_overlay(self) -> None:
        """The picked run overlaid with the runs to compare, built once per set of runs."""
        from workbench.train.comparison import compare_tables
        from workbench.widgets.run_comparison import RunComparisonView

        picked = (self.run_id, *self.compare_picker.value)
        if len(picked) < 2:
            self.overlay.children = [widgets.HTML(
                "<p><i>Pick runs to compare with this one: their throughput, loss and step "
                "p99 are drawn over this run's.</i></p>")]
            return
        if picked not in self._comparisons:
            self._comparisons[picked] = RunComparisonView(
                compare_tables(self.runs, self.metrics, picked))
        self.overlay.children = [self._comparisons[picked]]

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
            others = [(label, value) for label, value in self.run_picker.options
                      if value != self.run_id]
            kept = tuple(v for v in self.compare_picker.value  # those still there to pick
                         if v in {value for _, value in others})
            self.compare_picker.options = others
            self.compare_picker.value = kept
        finally:
            self._quiet = False
        self._show_metric()
        self._show_overlay()

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
    def metric_chart(self) -> FigureView | None:
        """The chart of the picked metric, or None when the run logged none."""
        metric = self.metric_picker.value
        return None if metric is None else self.figures.get(f"metric:{metric}")


def _run_label(run: Any) -> str:
    return (f"{run.name} · {run.status} · {run.started:%Y-%m-%d %H:%M} · {run.nprocs}× "
            f"{run.device} · {run.run_id[:8]}")


def _run_info_html(run_id: str, run: pd.Series) -> str:
    from workbench.charts import format as fmt

    colour = {"succeeded": "#1a7f37", "failed": "#b00020"}.get(str(run["status"]), "#8a6d00")
    parts = [
        f"<b>{html.escape(str(run['name']))}</b> <code>{html.escape(run_id)}</code>",
        f"<span style='color:{colour}'><b>{html.escape(str(run['status']))}</b></span>",
        f"{int(run['nprocs'])} × {html.escape(str(run['device']))} "
        f"({html.escape(str(run['backend']))})",
        fmt.duration(run["duration_s"]),
        f"{fmt.count(run['steps'])} steps" if run["steps"] >= 0 else "no steps timed",
        fmt.throughput(run["samples_per_s"]),
        f"data wait {fmt.percent(run['data_wait_share'])}",
    ]
    text = " &middot; ".join(parts)
    error = _last_line(str(run.get("error", "") or ""))
    if error:  # one sentence for a person: the traceback stays in the run's directory
        text += f"<br><span style='color:#b00020'>{html.escape(error)}</span>"
    return f"<p>{text}</p>"


def _last_line(error: str) -> str:
    """The line of a traceback that says what went wrong (its last non-blank one)."""
    lines = [line.strip() for line in error.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _runs_html(runs: pd.DataFrame) -> str:
    """The runs as a table that scrolls, labelled and formatted by `table_html`."""
    return table_html(runs[["name", "status", "started", "duration_s", "nprocs", "device",
                            "steps", "samples_per_s", "tokens_per_s", "step_p50_s",
                            "step_p90_s", "step_p99_s", "data_wait_share", "straggler_ratio",
                            "peak_memory_bytes", "mfu", "run_id"]],
                      height=420, classes="workbench-runs")


def _run_figures(name: str, records: pd.DataFrame) -> dict[str, FigureView]:
    """The run's timeline charts (`run_timeline`), drawn by the chart functions every view
    calls, each titled with the run's name."""
    from workbench.charts import throughput
    from workbench.charts.data_wait import data_wait
    from workbench.charts.step_time import step_time
    from workbench.train.series import run_timeline

    timeline = run_timeline(records)
    if not timeline:
        return {}
    charts = {"throughput": ("Throughput", throughput), "step_time": ("Step time", step_time),
              "data_wait": ("Data-wait share", data_wait)}
    return {key: dashboard_figure(chart(timeline[key]), f"{title} · {name}")
            for key, (title, chart) in charts.items()}


def _metric_chart(name: str, records: pd.DataFrame, metric: str) -> FigureView:
    """The chart of ``metric`` logged by run ``name``, a line per rank (`charts.loss`)."""
    from workbench.charts import loss

    return dashboard_figure(loss(records, metric), f"{metric} · {name}")
