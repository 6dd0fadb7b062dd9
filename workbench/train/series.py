"""A training run's numbers over time, from its metrics records (`job.metrics`, `read_run`): what
the live monitor, the runs dashboard and a run listing draw or show.

Each series is a long frame, columns `SERIES_COLUMNS` (series, step, time, value): one row per
point of a named line ("rank 0", "total", "p90", "GPU 0 util %"), `time` in seconds since the
run's first record. The numbers are `summary.py`'s, made local: throughput is samples summed over
step seconds summed, per rank and then summed over ranks; step-time percentiles pool every
rank's steps (`STEP_QUANTILES`); the data-wait share is data seconds over step seconds. Rolling
series span each rank's last `window` steps; `run_timeline` cuts a finished run into time
windows instead.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from workbench.kernels import quantiles
from workbench.train.metrics import logged_metrics
from workbench.train.summary import STEP_QUANTILES

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["SERIES_COLUMNS", "WINDOWS", "data_wait_series", "empty", "gpu_series",
           "metric_series", "origin", "progress", "rolling_throughput", "run_series",
           "run_timeline", "step_records",
           "step_time_percentiles", "thin", "thin_lines", "throughput_series", "total_throughput"]

SERIES_COLUMNS = ("series", "step", "time", "value")
WINDOWS = 40  # a run's timeline is cut into at most this many time windows


def step_records(metrics: pd.DataFrame) -> pd.DataFrame:
    """The records `run.steps()` wrote (those with `step_s`), each rank's in step order."""
    if "step_s" not in metrics:
        return metrics.iloc[0:0]
    steps = metrics[metrics["step_s"].notna()]
    return steps.sort_values(["rank", "step"], kind="stable")


def origin(metrics: pd.DataFrame) -> float:
    """The time every series' seconds count from: the first record (or GPU sample) of
    ``metrics``; NaN if none."""
    if "time" not in metrics or not len(metrics):
        return math.nan
    return float(metrics["time"].min())


def _rolling(steps: pd.DataFrame, column: str, window: int) -> np.ndarray:
    """Per rank, `column` summed over its last `window` steps over the step seconds summed over
    the same steps, aligned with `steps` (sorted by rank and step): the one rolling ratio that
    both throughput and the data-wait share are."""
    if window < 1:
        raise ValueError(f"window must be at least 1 step, not {window}")
    ranks = steps["rank"].to_numpy()
    total = steps[column].astype(float).groupby(ranks).rolling(window, min_periods=1).sum()
    seconds = steps["step_s"].astype(float).groupby(ranks).rolling(window, min_periods=1).sum()
    return (total / seconds).to_numpy()  # grouped by rank: the order of `steps`


def rolling_throughput(metrics: pd.DataFrame, window: int = 20) -> pd.DataFrame:
    """Each rank's samples/s over its last `window` steps, at every step record: its samples
    over its step seconds (as `summarize`, on a window). Columns rank, step, time (unix
    seconds), samples_per_s; each rank's rows in step order. A step record without `samples`
    counts none, as in `summarize`."""
    import pandas as pd

    steps = step_records(metrics)
    if "step_s" not in steps:
        steps = steps.assign(step_s=float("nan"))
    steps = steps.assign(samples=(steps["samples"] if "samples" in steps
                                  else steps["step_s"] * 0).astype(float).fillna(0.0))
    return pd.DataFrame({"rank": steps["rank"].to_numpy(dtype="int64"),
                         "step": steps["step"].to_numpy(dtype="int64"),
                         "time": steps["time"].to_numpy(dtype=float),
                         "samples_per_s": _rolling(steps, "samples", window)})


def total_throughput(metrics: pd.DataFrame, window: int = 20) -> pd.DataFrame:
    """The run's samples/s over time: at each step record's time, the sum over ranks of every
    rank's latest `rolling_throughput` (ranks that have not timed a step yet add nothing).
    Columns time (unix seconds), samples_per_s, in time order; the last row is the run's
    recent throughput."""
    import pandas as pd

    per_rank = rolling_throughput(metrics, window).sort_values("time", kind="stable")
    wide = per_rank.pivot_table(index="time", columns="rank", values="samples_per_s",
                                aggfunc="last", sort=True)
    total = wide.ffill().sum(axis=1)
    return pd.DataFrame({"time": total.index.to_numpy(dtype=float),
                         "samples_per_s": total.to_numpy(dtype=float)})


def throughput_series(metrics: pd.DataFrame, window: int = 20,
                      t0: float | None = None) -> pd.DataFrame:
    """`rolling_throughput` as series "rank R"; with more than one rank also "total", their sum
    at each step every rank has reached (at the time the last rank finished it). `time` is
    seconds since `t0` (default: the first record)."""
    import pandas as pd

    if "samples" not in metrics or step_records(metrics)["samples"].isna().all():
        return empty()
    start = origin(metrics) if t0 is None else t0
    rates = rolling_throughput(metrics, window)
    parts = [pd.DataFrame({"series": f"rank {rank}", "step": group["step"].to_numpy(),
                           "time": group["time"].to_numpy() - start,
                           "value": group["samples_per_s"].to_numpy()})
             for rank, group in rates.groupby("rank", sort=True)]
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
    """Step-time p50, p90 and p99 in seconds (series named so) at each step s, over every rank's
    steps in the window (s - `window`, s]: the pooled percentiles `summarize` reports for the
    whole run, made local. `time` is when the last rank finished step s. `max_points` evaluates
    only that many steps, evenly spread (the last one always), to bound a long run's cost."""
    import numpy as np
    import pandas as pd

    steps = step_records(metrics).sort_values("step", kind="stable")
    if steps.empty:
        return empty()
    start = origin(metrics) if t0 is None else t0
    step = steps["step"].to_numpy()
    seconds = steps["step_s"].to_numpy(np.float64)
    finished = steps.groupby("step")["time"].max()
    at = finished.index.to_numpy()
    if max_points is not None:
        at = at[thin(len(at), max_points)]
    lo = np.searchsorted(step, at - window + 1, side="left")
    hi = np.searchsorted(step, at, side="right")
    values = np.array([quantiles(seconds[a:b], list(STEP_QUANTILES.values()))
                       for a, b in zip(lo, hi)])
    times = finished.loc[at].to_numpy() - start
    return _long([pd.DataFrame({"series": name, "step": at, "time": times,
                                "value": values[:, i]}) for i, name in enumerate(STEP_QUANTILES)])


def data_wait_series(metrics: pd.DataFrame, window: int = 20,
                     t0: float | None = None) -> pd.DataFrame:
    """The share of each rank's step time spent waiting for its next batch, over its last
    `window` steps (data seconds summed over step seconds summed), as series "rank R"."""
    import pandas as pd

    steps = step_records(metrics)
    if steps.empty or "data_s" not in steps:
        return empty()
    start = origin(metrics) if t0 is None else t0
    steps = steps.assign(share=_rolling(steps, "data_s", window))
    return _long([pd.DataFrame({"series": f"rank {rank}", "step": group["step"].to_numpy(),
                                "time": group["time"].to_numpy() - start,
                                "value": group["share"].to_numpy()})
                  for rank, group in steps.groupby("rank", sort=True)])


def metric_series(metrics: pd.DataFrame, name: str, t0: float | None = None) -> pd.DataFrame:
    """Logged metric `name` as series "rank R", one point per record that has it (non-numeric
    values are left out); `time` is NaN for records without one."""
    import pandas as pd

    if name not in metrics:
        raise KeyError(f"no metric {name!r} was logged; logged: {logged_metrics(metrics)}")
    values = pd.to_numeric(metrics[name], errors="coerce")
    kept = metrics[values.notna()].sort_values(["rank", "step"], kind="stable")
    start = origin(metrics) if t0 is None else t0
    parts = [pd.DataFrame({"series": f"rank {rank}", "step": group["step"].to_numpy(),
                           "time": (group["time"].to_numpy(float) - start if "time" in group
                                    else math.nan),
                           "value": values[group.index].to_numpy(float)})
             for rank, group in kept.groupby("rank", sort=True)]
    return _long(parts)


def gpu_series(gpu: pd.DataFrame, t0: float | None = None) -> pd.DataFrame:
    """GPU samples (`GpuSampler.COLUMNS`, as `job.gpu`) as series "GPU i util %" and "GPU i
    memory %" (memory used over total), in percent, against seconds since `t0` (default: the
    first sample); `step` is NaN (samples are taken by the clock, not per step)."""
    import pandas as pd

    if gpu.empty:
        return empty()
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


def run_series(metrics: pd.DataFrame, gpu: pd.DataFrame, window: int = 20,
               max_points: int | None = None) -> tuple[dict[str, pd.DataFrame],
                                                       dict[str, pd.DataFrame]]:
    """Every series a live view of a run draws, on one clock (seconds since its first record or
    GPU sample, whichever came first): ({"throughput", "step_time", "data_wait", "gpu": ...},
    {logged metric: its `metric_series`}). `window` steps for the rolling ones; `max_points`
    bounds the step-time percentiles' cost."""
    starts = [t for t in (origin(metrics), origin(gpu)) if not math.isnan(t)]
    t0 = min(starts, default=math.nan)
    series = {"throughput": throughput_series(metrics, window, t0),
              "step_time": step_time_percentiles(metrics, window, t0, max_points),
              "data_wait": data_wait_series(metrics, window, t0),
              "gpu": gpu_series(gpu, t0)}
    return series, {name: metric_series(metrics, name, t0) for name in logged_metrics(metrics)}


def run_timeline(records: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """A finished run's step records cut into at most `WINDOWS` time windows, as series placed
    at each window's mean time (seconds since the run's first step began; `step` NaN):
    ``throughput`` (samples/s, "rank R" and "total"), ``step_time`` (p50/p90/p99 of every
    rank's step seconds) and ``data_wait`` ("all ranks": data time over step time). No step
    records: an empty dict."""
    import numpy as np
    import pandas as pd

    steps = step_records(records)
    if not len(steps):
        return {}
    start = float((steps["time"] - steps["step_s"]).min())
    elapsed = (steps["time"] - start).to_numpy(np.float64)
    steps = steps.assign(window=_windows(elapsed), elapsed=elapsed)
    mids = steps.groupby("window")["elapsed"].mean()
    per_rank = steps.groupby(["window", "rank"])[["samples", "step_s"]].sum()
    rate = (per_rank["samples"] / per_rank["step_s"]).unstack("rank")
    rate.columns = [f"rank {r}" for r in rate.columns]
    wide = {"throughput": rate.assign(total=rate.sum(axis=1, min_count=1)),
            "step_time": pd.DataFrame(
                [quantiles(group.to_numpy(np.float64), list(STEP_QUANTILES.values()))
                 for _, group in steps.groupby("window")["step_s"]],
                index=mids.index, columns=list(STEP_QUANTILES))}
    sums = steps.groupby("window")[["data_s", "step_s"]].sum()
    wide["data_wait"] = (sums["data_s"] / sums["step_s"]).rename("all ranks").to_frame()
    return {name: _long([pd.DataFrame({"series": column, "step": math.nan,
                                       "time": mids.loc[frame.index].to_numpy(),
                                       "value": frame[column].to_numpy(float)})
                         for column in frame.columns])
            for name, frame in wide.items()}


def _windows(elapsed: np.ndarray) -> np.ndarray:
    """The window (0..WINDOWS-1) of each record, by its time since the run started."""
    import numpy as np

    span = float(elapsed.max()) if len(elapsed) else 0.0
    if span <= 0:
        return np.zeros(len(elapsed), dtype=np.int64)
    return np.minimum((elapsed / span * WINDOWS).astype(np.int64), WINDOWS - 1)


def thin(n: int, max_points: int) -> np.ndarray:
    """At most `max_points` indices of range(n), evenly spread, first and last included: the
    points of a line a browser is sent."""
    import numpy as np

    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max(max_points, 2)).round().astype(np.int64))


def thin_lines(table: pd.DataFrame, max_points: int) -> pd.DataFrame:
    """A long table with each series' rows `thin`ned to at most `max_points`."""
    if table.empty:
        return table
    keep = [group.index[thin(len(group), max_points)]
            for _, group in table.groupby("series", sort=False)]
    import numpy as np

    return table.loc[np.concatenate(keep)]


def empty() -> pd.DataFrame:
    """A long series table without rows."""
    import pandas as pd

    return pd.DataFrame({"series": pd.Series(dtype=object), "step": pd.Series(dtype="int64"),
                         "time": pd.Series(dtype=float), "value": pd.Series(dtype=float)})


def _long(parts: list[pd.DataFrame]) -> pd.DataFrame:
    if not parts:
        return empty()
    import pandas as pd

    return pd.concat(parts, ignore_index=True)[list(SERIES_COLUMNS)]
