"""`compare(runs)`: training runs side by side, from the lake's `_runs` and `_run_metrics`, so a
person sees whether a change helped.

`RunComparison.table` has one row per run: the figures `summary.py` computed when the run was
saved (its `_runs` row), the final value of a logged metric (the loss), and each figure's ratio
to the first run's. `RunComparison.series(metric)` is the runs' numbers over training as one long
table, each run's line computed by `series.py`'s functions: what the overlay charts draw.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.display import show, view
from workbench.errors import WorkbenchError
from workbench.train.records import METRICS_TABLE, RUNS_TABLE

if TYPE_CHECKING:
    import pandas as pd

    from workbench.lake import Lake
    from workbench.train.launcher import Job

__all__ = ["FIGURES", "RATIOS", "SERIES_COLUMNS", "CompareRunsError", "RunComparison",
           "compare", "compare_tables", "final_value"]

FIGURES = ("run_id", "name", "status", "started", "duration_s", "steps", "samples_per_s",
           "step_p50_s", "step_p99_s", "data_wait_share")  # from each run's `_runs` row
RATIOS = ("duration_s", "samples_per_s", "step_p50_s", "step_p99_s", "data_wait_share")
SERIES_COLUMNS = ("run", "run_id", "step", "time", "value")
STEP_SERIES = ("step_p50", "step_p90", "step_p99")  # besides "throughput" and logged metrics
MAX_POINTS = 200  # steps at which a run's step-time percentiles are evaluated, at most
LISTED = 20  # run ids an error lists


class CompareRunsError(WorkbenchError, ValueError):
    """The runs cannot be compared: fewer than two, an id the lake does not have, a run still
    running."""


def compare(runs: Iterable[Job | str], lake: Lake | str | os.PathLike[str] | None = None, *,
            metric: str = "loss") -> RunComparison:
    """Compare two or more recorded runs: `runs` are `Job`s (once ended) or run ids as `_runs`
    lists them (a unique prefix will do); the first is the baseline of the ratios. `lake`: where
    they were recorded (default: the default lake). `metric`: the logged metric whose final
    value the table shows."""
    import pandas as pd

    from workbench.lake import Lake, default_lake

    given = _given(runs)
    lake = default_lake() if lake is None else lake if isinstance(lake, Lake) else Lake(lake)
    if RUNS_TABLE not in lake:
        raise CompareRunsError(f"lake {lake.uri} has no {RUNS_TABLE} table, so no recorded runs "
                               "to compare: runs are recorded there when wb.launch jobs end")
    table = lake.table(RUNS_TABLE).to_pandas().drop_duplicates("run_id", keep="last")
    ids = _resolve(given, list(table["run_id"]), lake.uri)
    metrics = (lake.table(METRICS_TABLE).to_pandas() if METRICS_TABLE in lake
               else pd.DataFrame(columns=["run_id", "rank", "step", "time"]))
    return compare_tables(table, metrics, ids, metric=metric)


def compare_tables(runs: pd.DataFrame, metrics: pd.DataFrame, run_ids: Sequence[str], *,
                   metric: str = "loss") -> RunComparison:
    """A `RunComparison` of `run_ids` from `_runs` and `_run_metrics` already read (as a
    dashboard holds them); each id must be in `runs`."""
    rows = runs.drop_duplicates("run_id", keep="last").set_index("run_id").loc[list(run_ids)]
    records = {run_id: metrics[metrics["run_id"] == run_id].drop(columns="run_id")
               for run_id in run_ids}
    return RunComparison(_table(rows.reset_index(), records, metric), records, metric)


class RunComparison:
    """Runs side by side: `table` (one row per run, ratios to the first), `series(metric)` (a
    long table for overlay charts), `labels` (each run's name in charts), `widget()`."""

    def __init__(self, table: pd.DataFrame, records: dict[str, pd.DataFrame],
                 metric: str) -> None:
        self.table = table
        self.records = records  # each run's `_run_metrics` records, by run id
        self.metric = metric
        self.labels = _labels(table)
        self._series: dict[str, pd.DataFrame] = {}

    @property
    def run_ids(self) -> list[str]:
        return list(self.table["run_id"])

    def series(self, metric: str) -> pd.DataFrame:
        """Each run's `metric` over training (columns `SERIES_COLUMNS`; `run` is its label,
        `time` seconds since its first record): "throughput" (samples/s over each rank's last
        20 steps, summed over ranks), "step_p50", "step_p90", "step_p99" (step seconds over
        the last 50 steps of every rank) or a logged metric (averaged over ranks per step)."""
        if metric not in self._series:
            known = [*("throughput", *STEP_SERIES), *self.logged]
            if metric not in known:
                raise CompareRunsError(f"no series {metric!r} for these runs: pick one of "
                                       f"{known}")
            self._series[metric] = _long([
                _run_series(self.records[run_id], metric).assign(run=label, run_id=run_id)
                for run_id, label in zip(self.run_ids, self.labels)])
        return self._series[metric]

    @property
    def logged(self) -> list[str]:
        """The metrics any of the runs logged (loss, accuracy, ...), in the order first seen."""
        from workbench.train.metrics import logged_metrics

        names = [name for frame in self.records.values() for name in logged_metrics(frame)]
        return list(dict.fromkeys(names))

    def widget(self) -> Any:
        """The table and overlay charts (a `workbench.widgets.RunComparisonView`, found
        through `workbench.display`)."""
        return view(self)

    def _ipython_display_(self) -> None:
        show(self)

    def __repr__(self) -> str:
        return (f"RunComparison({len(self.table)} runs, baseline {self.run_ids[0]!r})\n"
                + self.table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))

    def _repr_html_(self) -> str:
        return (f"<p><b>{len(self.table)} runs side by side</b> <small>(ratios to "
                f"{html.escape(self.run_ids[0])})</small></p>"
                + self.table.to_html(index=False, border=0, na_rep="",
                                     float_format=lambda v: f"{v:.4g}"))


def final_value(records: pd.DataFrame, metric: str) -> float:
    """The last value of logged `metric` in a run's records: each rank's at its highest step,
    averaged over ranks; NaN when the run never logged a number for it."""
    from workbench.train.series import metric_series

    if metric not in records:
        return math.nan
    series = metric_series(records, metric)
    return float(series.groupby("series")["value"].last().mean()) if len(series) else math.nan


def _given(runs: Iterable[Job | str]) -> list[str]:
    """The run ids (or prefixes) of `runs`, at least two."""
    if isinstance(runs, str) or not isinstance(runs, Iterable):
        raise CompareRunsError(f"runs must be a list of Jobs or run ids, not {runs!r}")
    given = [_run_id(run) for run in runs]
    if len(given) < 2:
        raise CompareRunsError(f"compare needs at least two runs, got {len(given)}: "
                               f"{given}")
    return given


def _run_id(run: Job | str) -> str:
    """A run id as given, or an ended `Job`'s, once it is recorded in its lake."""
    if isinstance(run, str):
        return run
    if not hasattr(run, "run_dir") or not hasattr(run, "recorded"):
        raise CompareRunsError(f"runs must be Jobs or run ids (str), not a {type(run).__name__}")
    run_id = Path(run.run_dir).name
    if run.status == "running":
        raise CompareRunsError(f"run {run_id!r} is still running; it reaches the lake when it "
                               "ends: compare it after job.wait()")
    if run.recorded is None:  # waits for the write (and raises its error if it failed)
        raise CompareRunsError(f"run {run_id!r} was not recorded in a lake (launched with "
                               "runs_lake=None): there is nothing to compare it from")
    return run_id


def _resolve(given: list[str], known: list[str], where: str) -> list[str]:
    """Each given id or unique prefix as the `_runs` id it names."""
    out: list[str] = []
    for key in given:
        matches = [key] if key in known else [k for k in known if key and k.startswith(key)]
        if len(matches) != 1:
            listed = ", ".join(known[:LISTED]) + (f", ... ({len(known)} in all)"
                                                  if len(known) > LISTED else "")
            what = "is the start of several" if matches else "is not one of the"
            raise CompareRunsError(f"run {key!r} {what} runs in {where}/{RUNS_TABLE}: "
                                   f"{', '.join(matches) if matches else listed}")
        if matches[0] in out:
            raise CompareRunsError(f"run {matches[0]!r} is given twice")
        out.append(matches[0])
    return out


def _table(rows: pd.DataFrame, records: dict[str, pd.DataFrame], metric: str) -> pd.DataFrame:
    """`FIGURES` of each run, its final `metric` if any run logged it, and each figure's ratio
    to the first run's (`<figure>_vs_first`)."""
    table = rows[list(FIGURES)].reset_index(drop=True)
    steps = table["steps"].astype("Int64")
    table["steps"] = steps.mask(steps < 0)  # -1 in `_runs`: the run timed no steps
    ratios = list(RATIOS)
    finals = [final_value(records[run_id], metric) for run_id in table["run_id"]]
    if not all(math.isnan(value) for value in finals):
        table[f"final_{metric}"] = finals
        ratios.append(f"final_{metric}")
    for name in ratios:
        values = table[name].astype(float)
        table[f"{name}_vs_first"] = values / values.iloc[0]
    return table


def _labels(table: pd.DataFrame) -> list[str]:
    """How charts name each run: its name, with its id where two runs share a name."""
    names = table["name"].astype(str)
    return [name if (names == name).sum() == 1 else f"{name} · {run_id}"
            for name, run_id in zip(names, table["run_id"])]


def _run_series(records: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One run's line of `metric` (columns step, time, value), from `series.py`."""
    from workbench.train import series

    if metric == "throughput":
        lines = series.throughput_series(records)
        total = lines["series"] == "total"
        return lines[total] if total.any() else lines  # one rank: its line is the total
    if metric in STEP_SERIES:
        lines = series.step_time_percentiles(records, max_points=MAX_POINTS)
        return lines[lines["series"] == metric.removeprefix("step_")]
    if metric not in records:
        return series.empty()
    lines = series.metric_series(records, metric)
    by_step = lines.groupby("step", sort=True).agg(time=("time", "max"), value=("value", "mean"))
    return by_step.reset_index()


def _long(parts: list[pd.DataFrame]) -> pd.DataFrame:
    import pandas as pd

    return pd.concat([part[list(SERIES_COLUMNS)] for part in parts], ignore_index=True)
