"""A logged metric (the loss by default) per rank, over the steps or the run's time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.charts.format import describe
from workbench.charts.lines import line_figure, lines

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go


def loss(records: pd.DataFrame, metric: str = "loss", *, x: str = "step",
         names: tuple[str, ...] = ()) -> go.Figure:
    """One line per rank of ``metric`` against ``x`` ("step" or "time"), from a run's records
    (columns rank, step, time and the logged metrics; as `wb.train.read_run` returns) or from
    that metric's long table (columns series, step, time, value; as
    `wb.train.series.metric_series` returns). Records without a number for ``metric`` are
    left out; a run that never logged it gives an empty chart. ``names``: lines drawn even
    without rows."""
    from workbench.train.series import SERIES_COLUMNS, metric_series

    if "series" not in records:
        records = (metric_series(records, metric) if metric in records
                   else records.iloc[0:0].reindex(columns=list(SERIES_COLUMNS)))
    column = describe(metric)
    return line_figure(lines(records, column.axis(), x=x, factor=column.factor,
                             unit=column.unit, names=names),
                       column.axis(), x)
