"""The chart functions the server's figures come from (workbench.charts): each a pure function
of a result table, sized for a panel, with nothing but the data and its labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.charts import histogram, loss, throughput
from workbench.charts.format import PANEL_HEIGHT


def test_histogram_bars_sit_on_their_bins():
    fig = histogram(np.array([0.0, 1.0, 3.0]), np.array([5, 7]), column="age", type_name="int64")
    (bars,) = fig.data
    assert list(bars.x) == [0.5, 2.0] and list(bars.width) == [1.0, 2.0]
    assert list(bars.y) == [5, 7] and [list(c) for c in bars.customdata] == [["0", "1"],
                                                                              ["1", "3"]]
    assert fig.layout.xaxis.title.text == "age" and fig.layout.yaxis.title.text == "rows"
    assert fig.layout.height == PANEL_HEIGHT and fig.layout.title.text is None
    assert fig.layout.bargap == 0


def test_histogram_of_a_time_column_has_datetime_bins():
    day_us = 86_400 * 10**6
    fig = histogram(np.array([0, day_us, 2 * day_us], dtype=float), np.array([1, 2]),
                    column="when", type_name="timestamp[us, tz=UTC]")
    (bars,) = fig.data
    assert str(bars.x[0]).startswith("1970-01-01T12:00") and list(bars.width) == [8.64e7] * 2
    assert bars.customdata[1][0] == "1970-01-02 00:00:00"


def test_histogram_refuses_edges_that_do_not_fit_the_counts():
    with pytest.raises(ValueError, match="3 counts need 4 edges, not 3"):
        histogram(np.arange(3.0), np.arange(3), column="x")


def test_loss_has_one_line_per_rank_and_skips_records_without_it():
    records = pd.DataFrame({"rank": [1, 0, 0, 1, 0], "step": [0, 0, 1, 1, 2],
                            "time": [0.0, 0.1, 0.2, 0.3, 0.4],
                            "loss": [2.0, 1.0, 0.5, 1.5, None]})
    fig = loss(records)
    assert [t.name for t in fig.data] == ["rank 0", "rank 1"]
    assert list(fig.data[0].x) == [0, 1] and list(fig.data[0].y) == [1.0, 0.5]
    assert fig.layout.showlegend and fig.layout.yaxis.title.text == "loss"
    assert loss(records, "accuracy").data == ()  # never logged: an empty chart


def test_throughput_is_drawn_over_seconds_since_its_first_point():
    series = pd.DataFrame({"time": [100.0, 101.0, 103.0], "samples_per_s": [10.0, 20.0, 15.0]})
    (line,) = throughput(series).data
    assert list(line.x) == [0.0, 1.0, 3.0] and list(line.y) == [10.0, 20.0, 15.0]
    empty = throughput(series.iloc[0:0])
    assert len(empty.data[0].x) == 0
