"""A training run's samples per second over time: in total, or per rank and in total."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.charts.format import SAMPLES_PER_S, axis
from workbench.charts.lines import line_figure, lines

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go


def throughput(series: pd.DataFrame, x: str = "time", names: tuple[str, ...] = ()) -> go.Figure:
    """A line per series of ``series`` (a long table, columns series, step, time, value, as
    `wb.train.series.throughput_series` or `run_timeline` return; ``x`` "step" or "time"), the
    total first; with a single rank, its line is the total and is drawn once. A run's total
    alone (columns time in unix seconds, samples_per_s, as `wb.train.runs.throughput`
    returns) is one line "total" over the seconds since its first point, empty without rows.
    ``names``: lines drawn even without rows (a live figure's every rank)."""
    if "samples_per_s" in series:
        series, names = _total(series), ("total",)
    if "total" in set(series["series"]) and series["series"].nunique() == 2:
        series = series[series["series"] == "total"]  # one rank: the same line twice
    if "total" in names or "total" in set(series["series"]):
        names = ("total", *names)  # drawn first: under the ranks' lines
    yaxis = {**axis(unit=SAMPLES_PER_S), "rangemode": "tozero"}
    return line_figure(lines(series, yaxis, x=x, unit=SAMPLES_PER_S, names=names), yaxis, x)


def _total(series: pd.DataFrame) -> pd.DataFrame:
    """A run's total samples/s as a long table over the seconds since its first point."""
    import pandas as pd

    times = series["time"].to_numpy(float)
    return pd.DataFrame({"series": "total", "step": float("nan"),
                         "time": times - (times[0] if len(times) else 0.0),
                         "value": series["samples_per_s"].to_numpy(float)})
